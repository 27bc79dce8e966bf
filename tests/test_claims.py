"""The claims table: generated from a claims file and run folders, verdicts by the shared rule, and a
check that fails when a record no longer matches the page (issue 29)."""

import json
from pathlib import Path

import pytest
import yaml

from scarce.cli import main
from scarce.experiment.cells import cell_key
from scarce.experiment.config import ExperimentConfig, dump_config, from_dict
from scarce.report.claims import holds, load_claims, parse_claims, render, evaluate

ROOT = Path(__file__).resolve().parents[1]
COUNTS = [50, 50]


def _rec(remedy, seed, acc):
    return {"key": cell_key(remedy, 10, seed), "remedy": remedy, "size": 10, "seed": seed, "n_test": 100,
            "test_counts": COUNTS, "metrics": {"accuracy": acc, "balanced_accuracy": acc, "macro_f1": acc,
                                               "per_class_recall": [acc, acc]},
            "hparams": {"lr": 0.01}, "hparams_at_edge": [], "seconds": 1.0, "prep_seconds": 0.0,
            "train_seconds": 1.0,
            "train_summary": {"steps": 100, "best_step": 50, "last_train_accuracy": 1.0, "val_improving_late": False}}


def _run(folder: Path, gains: list[float], *, seeds: int = 8) -> Path:
    """A run folder: `baseline` at 0.80 + a small per-seed wobble, `augment` at baseline + gains[seed]."""
    folder.mkdir(parents=True)
    config = from_dict(ExperimentConfig, {"name": "t", "remedies": ["baseline", "augment"], "sizes": [10],
                                          "seeds": list(range(seeds)), "train": {"lr": [0.01]}})
    (folder / "config.yaml").write_text(dump_config(config))
    lines = []
    for seed in range(seeds):
        base = 0.80 + 0.01 * (seed % 3)
        lines += [json.dumps(_rec("baseline", seed, base)), json.dumps(_rec("augment", seed, base + gains[seed]))]
    (folder / "results.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def _claims(tmp_path: Path, extra: list[dict] | None = None) -> Path:
    spec = {"title": "Claims", "intro": "Intro.", "claims": [
        {"id": "1", "claim": "Augmentation helps", "literature": "someone 2020, +3", "expect": "helps",
         "page": "page.md", "run": "runs/aug", "date": "2026-12-07",
         "compare": [{"label": "k=10", "row": "augment", "reference": "baseline", "size": 10}]},
        *(extra or [])]}
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_a_clear_gain_over_eight_seeds_is_helps_and_holds(tmp_path):
    _run(tmp_path / "runs" / "aug", [0.03, 0.04, 0.03, 0.05, 0.04, 0.03, 0.04, 0.05])
    page, claims = load_claims(_claims(tmp_path))
    outcomes = evaluate(claims[0], tmp_path)
    assert outcomes[0].outcome == "helps"
    assert holds(claims[0], outcomes) == "yes"
    text = render(tmp_path / "claims.yaml")
    assert "| 1 | Augmentation helps |" in text and "helps, +3.9" in text and "| yes |" in text


def test_published_summaries_never_beat_the_sign_flip_floor(tmp_path):
    """A page's t-test Holm p of 0.001 over 3 seeds: the sign-flip floor 0.25 decides (not shown)."""
    _run(tmp_path / "runs" / "aug", [0.03] * 8)
    extra = [{"id": "2", "claim": "Probe helps", "literature": "x", "expect": "helps", "page": "p.md",
              "compare": [{"label": "k=10", "row": "probe", "reference": "baseline", "size": 10,
                           "published": {"gain": 21.9, "low": 17.6, "high": 26.1, "n": 3, "p_holm": 0.001}}]}]
    _, claims = load_claims(_claims(tmp_path, extra))
    out = evaluate(claims[1], tmp_path)
    assert out[0].outcome == "not shown" and "records not kept" in out[0].text
    assert holds(claims[1], out) == "not shown"


def test_check_fails_when_a_record_changes(tmp_path, capsys):
    run = _run(tmp_path / "runs" / "aug", [0.03, 0.04, 0.03, 0.05, 0.04, 0.03, 0.04, 0.05])
    spec, page = _claims(tmp_path), tmp_path / "README.md"
    assert main(["claims", str(spec), "--out", str(page)]) in (None, 0)
    assert main(["claims", str(spec), "--out", str(page), "--check"]) in (None, 0)
    log = run / "results.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    for r in records:  # the remedy now loses on every seed
        if r["remedy"] == "augment":
            r["metrics"]["accuracy"] -= 0.08
    log.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    assert main(["claims", str(spec), "--out", str(page), "--check"]) == 1
    assert "no longer matches" in capsys.readouterr().err
    assert "hurts" in render(spec) and "| no |" in render(spec)


def test_untested_comparisons_are_not_shown_and_say_why(tmp_path):
    _run(tmp_path / "runs" / "aug", [0.03] * 8)
    extra = [{"id": "6c", "claim": "tie", "literature": "x", "expect": "no effect", "page": "p.md",
              "compare": [{"label": "A vs B", "untested": "their difference was not tested"}]}]
    _, claims = load_claims(_claims(tmp_path, extra))
    out = evaluate(claims[1], tmp_path)
    assert out[0].outcome == "not shown" and "their difference was not tested" in out[0].text


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["claims"][0].pop("expect"), "claims[0].expect"),
    (lambda d: d["claims"][0].update(expect="maybe"), "claims[0].expect"),
    (lambda d: d["claims"][0].update(margin=-1), "claims[0].margin"),
    (lambda d: d["claims"][0].update(colour="red"), "unknown key"),
    (lambda d: d["claims"][0]["compare"][0].update(published={"gain": 1, "low": 0, "high": 2, "n": 3},
                                                   run="records/b"), "exactly one source"),
    (lambda d: d["claims"][0].pop("run"), "exactly one source"),
    (lambda d: d["claims"][0].update(compare=[]), "claims[0].compare"),
])
def test_bad_claims_files_are_refused_naming_the_key(mutate, message):
    data = {"claims": [{"id": "1", "claim": "c", "literature": "l", "expect": "helps", "page": "p.md",
                        "run": "runs/a", "compare": [{"label": "k", "row": "a", "reference": "b", "size": 1}]}]}
    mutate(data)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_claims(data)


def test_the_published_claims_table_matches_its_claims_file_and_runs():
    """docs/results/README.md is generated: edit a run's record or the claims file and this fails."""
    spec, page = ROOT / "docs" / "results" / "claims.yaml", ROOT / "docs" / "results" / "README.md"
    assert page.read_text(encoding="utf-8") == render(spec), (
        "docs/results/README.md is stale: run `scarce claims docs/results/claims.yaml --out docs/results/README.md`")
