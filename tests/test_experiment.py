import json
from dataclasses import dataclass, replace

import numpy as np
import pytest
import yaml

from scarce.remedies import REMEDIES, Baseline, Chain, Remedy, TrainSetup, create_remedy
from scarce.experiment import Experiment
from scarce.report import Results
from scarce.experiment.config import (
    DatasetConfig,
    ExperimentConfig,
    ModelConfig,
    SubsetConfig,
    TrainSection,
    apply_overrides,
    from_dict,
    load_config,
    read_saved_config,
    smoke_config,
)
from scarce.experiment.runner import read_log, validate_config
from scarce.report.ablation import ablate, run_and_report

# hold-out unless a test asks for cross-validation (the default `auto` would cross-validate k=3 and 6)
TINY = dict(name="tiny", sizes=[3, 6], seeds=[0, 1], selection="holdout", references=["logreg"],
            train=TrainSection(steps=4, lr=[1e-2], weight_decay=[1e-4], eval_every=2),
            test_limit=60)


def tiny_config(**kw):
    return ExperimentConfig(**{**TINY, **kw})


@dataclass(frozen=True)
class AddCopies(Remedy):
    """A test remedy: duplicates the training set (no information added)."""

    name = "copies"

    def apply(self, setup, *, seed):
        from scarce.data import ConcatDataset

        return replace(setup, train=ConcatDataset([setup.train, setup.train])).with_notes(copies=2)


@pytest.fixture(autouse=True, scope="module")
def _register_test_remedy():
    REMEDIES.register("copies", AddCopies, help="test only")
    yield
    REMEDIES.unregister("copies")  # other modules see the catalogue as shipped


def test_grid_runs_every_cell_once_and_writes_outputs(tmp_path):
    cfg = tiny_config(remedies=["baseline", "copies"])
    res = ablate(cfg, out_dir=tmp_path, progress=False)
    keys = [r["key"] for r in read_log(tmp_path / "results.jsonl")]
    assert sorted(keys) == sorted(f"{r}|{k}|{s}" for r in ("baseline", "copies", "logreg") for k in (3, 6)
                                  for s in (0, 1))
    for name in ("results.md", "results.csv", "config.yaml", "metric_vs_size.png", "gain_vs_size.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert read_saved_config(tmp_path) == cfg
    copies = [r for r in res.records if r["remedy"] == "copies"]
    assert all(r["n_train_after_remedy"] == 2 * r["n_train"] and r["notes"] == {"copies": 2} for r in copies)
    md = (tmp_path / "results.md").read_text()
    assert "gain in accuracy over `baseline`" in md and "| copies |" in md and "| logreg |" in md


def test_same_subset_for_every_remedy_in_a_cell(tmp_path):
    res = ablate(tiny_config(remedies=["baseline", "copies"]), out_dir=tmp_path, progress=False)
    by_cell = {}
    for r in res.records:
        by_cell.setdefault((r["size"], r["seed"]), set()).add((r["n_train"], r["n_val"]))
    assert all(len(v) == 1 for v in by_cell.values())


def test_resume_skips_finished_cells_and_repairs_partial_line(tmp_path):
    cfg = tiny_config()
    ablate(cfg, out_dir=tmp_path, progress=False)
    log = tmp_path / "results.jsonl"
    lines = log.read_text().splitlines()
    full = {json.loads(line)["key"]: json.loads(line)["metrics"] for line in lines}
    log.write_text("\n".join(lines[:3]) + "\n" + lines[3][:25])  # killed in the middle of a write
    exp = Experiment(cfg, out_dir=tmp_path, progress=False)
    assert len(exp.pending()) == len(lines) - 3
    run_and_report(exp)
    again = read_log(log)
    assert len(again) == len(lines) and len({r["key"] for r in again}) == len(lines)
    assert {r["key"]: r["metrics"] for r in again} == full


def test_out_dir_with_other_config_is_refused(tmp_path):
    ablate(tiny_config(seeds=[0], references=[]), out_dir=tmp_path, progress=False)
    other = tiny_config(seeds=[0], sizes=[3], train=replace(TINY["train"], steps=3))
    with pytest.raises(FileExistsError, match="different config"):
        Experiment(other, out_dir=tmp_path, progress=False)
    relabelled = tiny_config(seeds=[0], remedies=[{"name": "copies", "label": "baseline"}])
    with pytest.raises(FileExistsError, match="different config"):
        Experiment(relabelled, out_dir=tmp_path, progress=False)
    ablate(other, out_dir=tmp_path, overwrite=True, progress=False)
    assert {r["size"] for r in read_log(tmp_path / "results.jsonl")} == {3}


def test_growing_the_grid_keeps_finished_cells(tmp_path):
    ablate(tiny_config(seeds=[0], references=[]), out_dir=tmp_path, progress=False)
    first = {r["key"]: r for r in read_log(tmp_path / "results.jsonl")}
    grown = tiny_config(seeds=[0, 1], remedies=["baseline", "copies"], references=[])
    exp = Experiment(grown, out_dir=tmp_path, progress=False)
    assert {t.key for t in exp.pending()} == {t.key for t in exp.tasks} - set(first)
    res = run_and_report(exp)
    assert len(res.records) == 2 * 2 * 2
    assert all(first[r["key"]] == r for r in res.records if r["key"] in first)
    shrunk = tiny_config(seeds=[1], remedies=["copies"], references=[])
    res = ablate(shrunk, out_dir=tmp_path, progress=False)
    assert {(r["remedy"], r["seed"]) for r in res.records} == {("copies", 1)}


@pytest.mark.parametrize("change, match", [
    (dict(remedies=["baselin"]), "Did you mean 'baseline'"),
    (dict(sizes=[0]), "sizes\\[0\\]"),
    (dict(sizes=[500]), "smallest class size"),
    (dict(metric="acc"), "`metric` must be one of"),
    (dict(remedies=["baseline", "baseline"]), "unique"),
    (dict(remedies=[{"name": "copies", "strength": 2}]), "Bad options for remedy 'copies'"),
    (dict(train=TrainSection(lr=[-1.0])), "`lr` must be in"),
    (dict(model=from_dict(ModelConfig,
                          {"name": "resnet19"})), "Did you mean 'resnet18'"),
    (dict(subset=from_dict(SubsetConfig,
                           {"kind": "longtail"})), "`subset.kind` must be one of"),
    (dict(sizes=[1], train=TrainSection(lr=[1e-3, 1e-2])), "leaves no validation example"),
    (dict(train=TrainSection(lr=[1e-3, 1e-2]), subset=from_dict(
        SubsetConfig, {"val_fraction": 0.0})),
     "needs 'subset.val_fraction'"),
    (dict(train=TrainSection(lr=[])), "'train.lr' and 'train.weight_decay' must each hold at least one value"),
    (dict(selection="crossval"), "`selection` must be one of .* Did you mean 'cross_validation'"),
    (dict(tune="first"), "`tune` must be one of .* Did you mean 'first_seed'"),
    (dict(selection="cross_validation", folds=1), "`folds` must be >= 2"),
    (dict(selection="cross_validation", folds=4), "`folds` must be <= .* size 3 has 3 .* got folds=4"),
    (dict(selection="cross_validation", folds=3, sizes=[20], subset=from_dict(
        SubsetConfig, {"kind": "long_tailed", "imbalance_ratio": 10.0})), "size 20 has 2"),
    (dict(cv_max_k=0), "`cv_max_k` must be >= 1"),
    (dict(train=TrainSection(steps=4, steps_by_size={6: 0})), "steps_by_size\\[6\\]` must be >= 1"),
    (dict(train=TrainSection(steps=4, steps_by_size={"six": 8})), "steps_by_size key"),
])
def test_bad_configs_fail_before_any_work(tmp_path, change, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Experiment(tiny_config(**change), out_dir=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_new_keys_are_accepted():
    cfg = tiny_config(metric="auto", tune="first_seed", selection="auto", folds=3)
    assert len(validate_config(cfg, data_root=None)) == 2 * 2 * 2
    cv = tiny_config(selection="cross_validation", folds=3, train=TrainSection(lr=[1e-3, 1e-2]),
                     subset=from_dict(SubsetConfig, {"val_fraction": 0.0}))
    validate_config(cv, data_root=None)  # cross-validation needs no validation part


def _count_fits(monkeypatch):
    import scarce.train

    calls, real = [], scarce.train.fit_setup  # one entry per point trained (a grid's points train together)
    monkeypatch.setattr(scarce.train, "fit_setup",
                        lambda *a, **k: calls.extend([k.get("stop_at")] * len(k["configs"])) or real(*a, **k))
    return calls


FIRST_SEED = dict(sizes=[3, 6], seeds=[0, 1, 2], tune="first_seed", references=[],
                  model=from_dict(ModelConfig, {"name": "small_cnn", "options": {"width": 8}}),
                  train=TrainSection(steps=2, eval_every=1, lr=[1e-3, 3e-2], weight_decay=[1e-4]))


def test_first_seed_tunes_each_remedy_and_size_once_and_reuses_the_choice(tmp_path, monkeypatch):
    calls = _count_fits(monkeypatch)
    ablate(tiny_config(**FIRST_SEED), out_dir=tmp_path, progress=False)
    assert calls[0] == 1  # the preflight's one-step try of the row, then the cells:
    assert len(calls[1:]) == 2 * (2 + 2)  # per size: the grid on seed 0, one fit per other seed
    recs = read_log(tmp_path / "results.jsonl")
    assert [r["seed"] for r in recs[:2]] == [0, 0]  # the first seed's cells run first
    first = {r["size"]: r for r in recs if r["seed"] == 0}
    for r in recs:
        assert r["tuning"]["mode"] == "first_seed" and r["tuning"]["tuned_on_seed"] == 0
        assert r["hparams"] == first[r["size"]]["hparams"] and r["tuning"]["grid_points"] == 2


def test_first_seed_resumes_after_a_kill_between_the_phases(tmp_path, monkeypatch):
    cfg = tiny_config(**FIRST_SEED)
    ablate(cfg, out_dir=tmp_path, progress=False)
    log = tmp_path / "results.jsonl"
    full = {r["key"]: r for r in read_log(log)}
    log.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in full.values() if r["seed"] == 0))
    calls = _count_fits(monkeypatch)
    ablate(cfg, out_dir=tmp_path, progress=False)
    assert calls == [1] + [None] * 4  # the preflight, then no grid search again: one fit per remaining cell
    again = {r["key"]: r for r in read_log(log)}
    assert again.keys() == full.keys()
    assert all(again[k]["hparams"] == full[k]["hparams"] and again[k]["metrics"] == full[k]["metrics"] for k in full)


def test_records_carry_tuning_summary_counts_and_costs(tmp_path):
    cfg = tiny_config(sizes=[3], seeds=[0], train=TrainSection(steps=2, eval_every=1, lr=[1e-3, 3e-2],
                                                               weight_decay=[1e-4, 5e-2]))
    recs = {r["remedy"]: r for r in ablate(cfg, out_dir=tmp_path, progress=False).records}
    base, lr = recs["baseline"], recs["logreg"]
    assert {k: v for k, v in base["tuning"].items() if k != "vote_margin"} == {
        "mode": "every_cell", "selection": "holdout", "folds": None, "grid_points": 4, "tuned_on_seed": 0,
        "select_by": "accuracy", "candidates": 4 * 2, "n_val": 10}
    assert base["tuning"]["vote_margin"] >= 0  # in the selection metric, over the 10 validation examples
    # two values per axis: every choice is an end, "too narrow to tell" (test_selection covers wider axes)
    assert set(base["hparams"]) == {"lr", "weight_decay"} and base["hparams_at_edge"][:2] == ["lr", "weight_decay"]
    assert {base["edge_reasons"][n] for n in ("lr", "weight_decay")} == {"narrow"}
    assert base["train_summary"]["steps"] == 2 and 0 <= base["train_summary"]["train_accuracy"] <= 1
    assert base["train_summary"]["best_step"] == base["best_step"]
    assert set(lr["hparams"]) == {"C"} and lr["tuning"]["grid_points"] == 4
    for r in recs.values():
        assert sum(r["test_counts"]) == r["n_test"] == 60 and len(r["test_counts"]) == 10
        assert 0 <= r["prep_seconds"] and 0 < r["train_seconds"] <= r["seconds"]


def test_missing_data_root_fails_before_any_work(tmp_path):
    cfg = tiny_config(dataset=DatasetConfig(name="cifar10"))
    with pytest.raises(FileNotFoundError, match="Data root must be an existing folder"):
        Experiment(cfg, out_dir=tmp_path / "out", data_root=str(tmp_path / "nope"), progress=False)
    assert not (tmp_path / "out").exists()


def test_yaml_unknown_key_and_wrong_type(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("sizes: [5]\ntrain: {stpes: 3}\n")
    with pytest.raises(ValueError, match="Unknown config key 'train.stpes'. Did you mean 'steps'"):
        load_config(p)
    p.write_text("sizes: five\n")
    with pytest.raises(ValueError, match="'sizes' must be a list"):
        load_config(p)
    p.write_text("train: {steps: 1.5}\n")
    with pytest.raises(ValueError, match="'train.steps' must be int"):
        load_config(p)
    p.write_text("sizes: [5]\n")
    cfg = load_config(p, overrides=["train.steps=7", "seeds=[3]"])
    assert cfg.train.steps == 7 and cfg.seeds == [3] and cfg.name == "c"
    with pytest.raises(ValueError, match="key=value"):
        apply_overrides({}, ["train.steps"])


def test_smoke_is_one_cell_and_tiny():
    s = smoke_config(load_config("recipes/digits.yaml"))
    assert s.sizes == [5] and s.seeds == [0] and s.train.steps <= 2 and len(s.train.lr) == 1
    assert len(s.train.weight_decay) == 1 and s.folds == 2


def test_chain_and_labels():
    r = create_remedy({"name": "chain", "label": "both", "remedies": ["baseline", {"name": "copies"}]})
    assert r.name == "both"
    setup = TrainSetup(train=None, num_classes=2, model_fn=None)
    assert Chain(Baseline()).apply(setup, seed=0) is setup
    with pytest.raises(ValueError, match="at least one"):
        Chain()


def test_report_rebuilds_from_log(tmp_path):
    ablate(tiny_config(seeds=[0, 1, 2]), out_dir=tmp_path, progress=False)
    (tmp_path / "results.md").unlink()
    res = Results.from_dir(tmp_path)
    res.write(tmp_path)
    rows = [r for r in res.summary("accuracy") if r["remedy"] == "logreg"]
    assert len(rows) == 2 and all(r["n_seeds"] == 3 and "gain" in r for r in rows)
    vals = [r["metrics"]["accuracy"] for r in res.records if r["remedy"] == "baseline" and r["size"] == 3]
    row = next(r for r in res.summary("accuracy") if r["remedy"] == "baseline" and r["size"] == 3)
    assert row["mean"] == pytest.approx(np.mean(vals))
    assert (tmp_path / "results.md").exists()


def test_yaml_exponents_without_a_dot_are_numbers(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train: {lr: [1e-3, 3e-3], weight_decay: [1e-4]}\n")
    assert load_config(path).train.lr == [0.001, 0.003]
    path.write_text("train: {lr: [fast]}\n")
    with pytest.raises(ValueError, match=r"train.lr\[0\]' must be float, got 'fast'"):
        load_config(path)


def test_steps_by_size_sets_each_sizes_schedule_and_old_folders_still_grow(tmp_path):
    train = TrainSection(steps=4, steps_by_size={6: 8}, lr=[1e-2], weight_decay=[1e-4], eval_every=2)
    ablate(tiny_config(references=[], train=train), out_dir=tmp_path / "a", progress=False)
    steps = {r["size"]: r["train_summary"]["steps"] for r in read_log(tmp_path / "a" / "results.jsonl")}
    assert steps == {3: 4, 6: 8}
    assert "steps 4 at k=3, 8 at k=6 (batches of 64)" in (tmp_path / "a" / "results.md").read_text()
    # a folder whose config.yaml predates the key (saved without it) resumes and grows as before
    ablate(tiny_config(seeds=[0], references=[]), out_dir=tmp_path / "b", progress=False)
    saved = yaml.safe_load((tmp_path / "b" / "config.yaml").read_text())
    del saved["train"]["steps_by_size"]
    (tmp_path / "b" / "config.yaml").write_text(yaml.safe_dump(saved))
    ablate(tiny_config(seeds=[0, 1], references=[]), out_dir=tmp_path / "b", progress=False)
    with pytest.raises(FileExistsError, match="different config"):  # a new schedule is a new config
        Experiment(tiny_config(seeds=[0, 1], references=[], train=train), out_dir=tmp_path / "b", progress=False)


def test_model_learner_counts_the_checks_a_selection_can_choose_from():
    from scarce.experiment.learners import ModelLearner

    for steps, every, checks in ((10, 4, 3), (8, 4, 2), (8, 8, 1), (8, 50, 1)):
        cfg = tiny_config(train=TrainSection(steps=steps, eval_every=every))
        assert ModelLearner(cfg, None, create_remedy("baseline")).checks == checks


def test_regrid_decodes_only_the_new_cells_and_refuses_a_change_beyond_the_grid(tmp_path, monkeypatch):
    from scarce.experiment import runner

    seen = []
    real = runner.check_data
    monkeypatch.setattr(runner, "check_data", lambda config, bundle, cells: seen.append(sorted(cells)) or
                        real(config, bundle, cells))
    exp = Experiment(tiny_config(seeds=[0], references=[]), out_dir=tmp_path, progress=False)
    more = exp.regrid(tiny_config(seeds=[0, 1], references=[]))
    assert seen == [[(3, 0), (6, 0)], [(3, 1), (6, 1)]]  # seed 0's examples are not decoded twice
    assert {t.seed for t in more.tasks} == {0, 1} and {t.seed for t in exp.tasks} == {0}
    with pytest.raises(ValueError, match="only in sizes, seeds"):
        exp.regrid(tiny_config(seeds=[0], references=[], folds=3))
