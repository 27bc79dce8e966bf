"""``scarce search``: budget parsing, candidates and pairs, the elimination rule, the race through
the runner (a clearly worse remedy is dropped; the log replays on resume), outputs and bad input."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

import numpy as np
import pytest
import yaml

from scarce.cli import main
from scarce.remedies import REMEDIES, Remedy
from scarce.experiment.config import ExperimentConfig, TrainSection, load_config
from scarce.experiment.log import read_log
from scarce.search.race import Budget, Search, candidates, eliminate, parse_budget, round_seeds


@dataclass(frozen=True)
class Scramble(Remedy):
    """A test remedy that destroys the labels (so it loses clearly)."""

    name = "scramble"

    def apply(self, setup, *, seed):
        from scarce.data import ArrayDataset

        rng = np.random.default_rng(seed)
        x = np.stack([np.asarray(setup.train.get(i)) for i in range(len(setup.train))])
        labels = rng.permutation(np.asarray(setup.train.labels))
        return replace(setup, train=ArrayDataset(x, labels, class_names=[str(c) for c in range(setup.num_classes)]))


@pytest.fixture(autouse=True, scope="module")
def _register():
    REMEDIES.register("scramble", Scramble, help="test only")
    yield
    REMEDIES.unregister("scramble")


def config(**kw) -> ExperimentConfig:
    base = dict(name="race", sizes=[5], seeds=[0, 1], selection="holdout", references=[],
                remedies=["baseline", "scramble", {"name": "augment", "preset": "light", "label": "light"}],
                train=TrainSection(steps=16, lr=[3e-2], weight_decay=[1e-4], eval_every=8, batch_size=32),
                test_limit=120)
    return ExperimentConfig(**{**base, **kw})


@pytest.mark.parametrize("text, cells, seconds", [("300cells", 300, None), ("1cell", 1, None), ("2h", None, 7200.0),
                                                  ("90m", None, 5400.0), ("1.5h", None, 5400.0), ("45s", None, 45.0)])
def test_budget_forms(text, cells, seconds):
    assert parse_budget(text) == Budget(cells=cells, seconds=seconds)


@pytest.mark.parametrize("text", ["0", "0h", "0cells", "-1h", "2 days", "", "h", "2.5cells", None, True, "1e3s"])
def test_bad_budget_names_the_flag(text):
    with pytest.raises(ValueError, match="--budget"):
        parse_budget(text)


def test_candidates_are_the_remedies_then_the_pairs_that_compose():
    cfg = config(remedies=["baseline", "mixup", {"name": "augment", "preset": "light", "label": "light"},
                           "crt", "focal", "oversample", "class_weights"])
    ref, cands = candidates(cfg, combine="pairs", modality="image")
    labels = [c.label for c in cands]
    assert ref.label == "baseline" and labels[:6] == ["mixup", "light", "crt", "focal", "oversample", "class_weights"]
    assert "mixup+light" in labels
    assert "focal+crt" in labels and "crt+focal" not in labels  # the order the rules allow
    assert not {"oversample+class_weights", "class_weights+oversample"} & set(labels)  # refused both ways
    chain = next(c for c in cands if c.label == "mixup+light")
    assert chain.spec["name"] == "chain" and chain.spec["remedies"][1]["preset"] == "light"
    assert [c.label for c in candidates(cfg, combine="none", modality="image")[1]] == labels[:6]
    with pytest.raises(ValueError, match="combine"):
        candidates(cfg, combine="all", modality="image")
    with pytest.raises(ValueError, match="besides the reference"):
        candidates(config(remedies=["baseline"]), combine="pairs", modality="image")


def test_eliminate_drops_only_significantly_worse_candidates_holm_adjusted():
    seeds = list(range(7))  # the sign-flip floor at 7 seeds, 2/128, is <= 0.05 after Holm over 2
    values = {"ref": dict(zip(seeds, [0.50, 0.52, 0.49, 0.51, 0.50, 0.48, 0.53])),
              "good": dict(zip(seeds, [0.60, 0.63, 0.58, 0.61, 0.60, 0.59, 0.62])),
              "bad": dict(zip(seeds, [0.30, 0.35, 0.26, 0.33, 0.31, 0.29, 0.34])),
              "close": dict(zip(seeds, [0.61, 0.60, 0.59, 0.62, 0.59, 0.60, 0.61]))}
    leader, dropped = eliminate(values, raced=["good", "bad", "close"], reference="ref", seeds=seeds, alpha=0.05)
    assert leader in ("good", "close")
    assert [d["label"] for d in dropped] == ["bad"]
    assert dropped[0]["p_holm"] >= dropped[0]["p"]
    few = {k: {s: v[s] for s in seeds[:6]} for k, v in values.items()}  # 6 seeds: floor 2/64, 0.0625 after Holm
    assert eliminate(few, raced=["good", "bad", "close"], reference="ref", seeds=seeds[:6], alpha=0.05)[1] == []
    tie = {"ref": {0: 0.5, 1: 0.5}, "a": {0: 0.5, 1: 0.5}}
    assert eliminate(tie, raced=["a"], reference="ref", seeds=[0, 1], alpha=0.05) == ("ref", [])


def test_round_seeds_start_with_the_recipes():
    assert round_seeds(config(seeds=[7, 3]), 4) == [7, 3, 0, 1]


# alpha 0.6: at 3 seeds the sign-flip floor is 0.25, 0.5 after Holm over the 2 rows compared, so a test race
# of a few tiny cells can drop a remedy in its first round allowed to (0.05 would need 7 rounds)
RACE = dict(size=5, combine="none", max_seeds=4, min_seeds=3, alpha=0.6, progress=False)


@pytest.fixture(scope="module")
def race(tmp_path_factory):
    """One finished race (4 rounds at most), shared by the tests that read or replay it."""
    out = tmp_path_factory.mktemp("search") / "race"
    return out, Search(config(), out_dir=out, budget="60cells", **RACE).run()


def _copy(src, dst, keep: int):
    """``dst``: the race folder of ``src`` as a run killed after its first ``keep`` cells."""
    import shutil

    shutil.copytree(src, dst)
    lines = (dst / "results.jsonl").read_text().splitlines()
    (dst / "results.jsonl").write_text("\n".join(lines[:keep]) + "\n")
    return dst


def test_race_drops_the_clearly_worse_remedy_and_writes_its_answer(race):
    out, result = race
    dropped = {d["label"]: r.index for r in result.rounds for d in r.dropped}
    assert dropped.get("scramble") == 3  # the first round allowed to drop
    assert result.winner in ("baseline", "light")
    cells = read_log(out / "results.jsonl")
    assert len(cells) == 3 * 3 + 2 * (len(result.rounds) - 3)  # scramble ran 3 seeds only
    assert {c["remedy"] for c in cells if c["seed"] == round_seeds(config(), 4)[3]} <= {"baseline", "light"}
    for name in ("search.md", "search.json", "race.png", "best.yaml"):
        assert (out / name).exists()
    summary = json.loads((out / "search.json").read_text())
    assert summary["winner"] == result.winner and summary["cells"] == len(cells)
    best = load_config(out / "best.yaml")  # a recipe `scarce ablate` (and `scarce train`) read
    evidence = yaml.safe_load((out / "best.yaml").read_text())["evidence"]  # left out by load_config
    assert evidence["winner"] == result.winner and evidence["cells"] == len(cells)
    assert {r["label"] for r in evidence["standing"]} == {"baseline", "scramble", "light"}
    assert [r if isinstance(r, str) else r.get("label", r["name"]) for r in best.remedies] == [result.winner]
    assert best.sizes == [5] and best.train.lr == [3e-2]
    md = (out / "search.md").read_text()
    assert "scramble" in md and "## Verdicts" in md  # the ablation's rule: the 16-step reference is flagged
    verdict = next(line for line in md.splitlines() if line.startswith("- scramble at k=5: "))
    assert verdict.startswith("- scramble at k=5: not shown, -") and "reference: validation was still improving" in verdict
    win = next(r for r in evidence["standing"] if r["label"] == result.winner)  # what one delivered model scores
    assert win["one_low"] < win["low"] <= win["mean"] <= win["high"] < win["one_high"]
    assert "95% prediction interval" in (out / "search.md").read_text()


def test_killed_search_resumes_to_the_same_answer(race, tmp_path):
    out, full = race
    resumed_dir = _copy(out, tmp_path / "killed", keep=7)  # killed in round 3
    resumed = Search(config(), out_dir=resumed_dir, budget="60cells", **RACE).run()
    assert resumed.winner == full.winner
    assert [(r.seed, r.raced, [d["label"] for d in r.dropped]) for r in resumed.rounds] == \
        [(r.seed, r.raced, [d["label"] for d in r.dropped]) for r in full.rounds]
    a = {c["key"]: c["metrics"] for c in read_log(out / "results.jsonl")}
    b = {c["key"]: c["metrics"] for c in read_log(resumed_dir / "results.jsonl")}
    assert a == b  # the rerun cells equal the uninterrupted ones


def test_cell_budget_stops_the_race_between_rounds(race, tmp_path):
    out, _ = race
    folder = _copy(out, tmp_path / "two_rounds", keep=6)
    result = Search(config(), out_dir=folder, budget="7cells", **RACE).run()
    assert len(result.rounds) == 2 and "budget" in result.stop_reason
    assert len(read_log(folder / "results.jsonl")) == 6  # the third round (3 cells) would not fit


def test_bad_input_is_refused_before_any_work(tmp_path):
    out = tmp_path / "never"
    with pytest.raises(ValueError, match="--size"):
        Search(config(), out_dir=out, budget="60cells", size=10_000, progress=False)
    with pytest.raises(ValueError, match="cannot run one round"):
        Search(config(), out_dir=out, budget="2cells", size=5, combine="none", progress=False)
    with pytest.raises(ValueError, match="max_seeds"):
        Search(config(), out_dir=out, budget="60cells", size=5, max_seeds=1, progress=False)
    assert not out.exists()


def test_cli_refuses_a_zero_budget_before_reading_the_recipe(tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({"name": "r", "remedies": ["baseline", "mixup"]}))
    assert main(["search", str(recipe), "--budget", "0h", "--out", str(tmp_path / "o")]) == 2
    assert "--budget" in capsys.readouterr().err and not (tmp_path / "o").exists()
    assert main(["search", str(recipe), "--budget", "5cells", "--size", "100000", "--out", str(tmp_path / "o")]) == 2
    assert "--size" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_budget_counts_the_races_own_rounds_not_other_cells_in_the_folder(race, tmp_path):
    """A race replayed on a folder holding more cells (a full grid, a killed run) spends what a fresh race
    would: the budget counts each round's cells, not the log's."""
    out, full = race
    folder = _copy(out, tmp_path / "replay", keep=10 ** 6)  # every cell already there
    result = Search(config(), out_dir=folder, budget="7cells", **RACE).run()
    assert len(result.rounds) == 2 and "budget" in result.stop_reason  # 3 + 3 cells; a third round needs 3 more
    assert result.winner == full.rounds[1].leader


def test_best_recipe_carries_the_schedule_of_the_raced_size(race):
    from scarce.search.report import best_recipe

    _, result = race
    cfg = config()
    cfg.train.steps_by_size = {result.size: 7, 10 * result.size: 99}
    train = best_recipe(result, cfg)["train"]
    assert train["steps"] == 7 and train["steps_by_size"] == {}  # what `scarce train` then runs
