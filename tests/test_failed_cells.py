"""A cell whose code raises is logged as failed, the others finish, the report lists it, a rerun retries it."""

import json
from dataclasses import dataclass

import pytest
import yaml

from scarce.cli import FAILED_CELLS, main
from scarce.remedies import REMEDIES, Remedy
from scarce.experiment import Experiment
from scarce.report import Results
from scarce.experiment.config import ExperimentConfig, TrainSection
from scarce.experiment.log import check_record, failed_cells, read_log, read_records
from scarce.report.ablation import ablate, run_and_report

TINY = dict(name="tiny", sizes=[3, 6], seeds=[0, 1], selection="holdout",
            train=TrainSection(steps=2, lr=[1e-2], weight_decay=[1e-4], eval_every=1), test_limit=40)
BROKEN = {"broken": True}
"""Whether ``fail_big`` raises: a test sets it to False to show that a rerun retries the failed cells."""


@dataclass(frozen=True)
class FailBig(Remedy):
    """A test remedy that raises on training sets above ``limit`` rows (digits: size 6, not 3 nor preflight)."""

    limit: int = 30
    name = "fail_big"

    def apply(self, setup, *, seed):
        if BROKEN["broken"] and len(setup.train) > self.limit:
            raise ValueError(f"too many rows: {len(setup.train)}")
        return setup


@pytest.fixture(autouse=True)
def _fail_big():
    REMEDIES.register("fail_big", FailBig, help="test only")
    BROKEN["broken"] = True
    yield
    REMEDIES.unregister("fail_big")


def _lines(out):
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_raising_cell_is_logged_failed_and_the_rest_finish_then_a_rerun_retries_it(tmp_path):
    cfg = ExperimentConfig(**{**TINY, "seeds": [0]}, remedies=["baseline", "fail_big"])
    results = ablate(cfg, out_dir=tmp_path, progress=False)
    lines = _lines(tmp_path)
    assert len(lines) == 4
    failed = {r["key"]: r for r in lines if r.get("status") == "failed"}
    assert sorted(failed) == ["fail_big|6|0"]
    assert all(r["error"] == "ValueError: too many rows: 50" and "metrics" not in r and r["seconds"] >= 0
               and "apply" in r["traceback"] for r in failed.values())
    assert sorted(r["key"] for r in results.records) == ["baseline|3|0", "baseline|6|0", "fail_big|3|0"]
    assert [r["key"] for r in results.failed] == ["fail_big|6|0"]
    md = (tmp_path / "results.md").read_text()
    assert "## Failed cells" in md and "| fail_big | 6 | 0 | ValueError: too many rows: 50 |" in md

    BROKEN["broken"] = False  # fixed: the same command retries the failed cells only
    exp = Experiment(cfg, out_dir=tmp_path, progress=False)
    assert [t.key for t in exp.pending()] == ["fail_big|6|0"]
    results = run_and_report(exp)
    assert len(_lines(tmp_path)) == 5 and len(results.records) == 4 and results.failed == []
    assert "Failed cells" not in (tmp_path / "results.md").read_text()


def test_first_seed_dependents_of_a_failed_cell_are_failed_naming_it(tmp_path):
    cfg = ExperimentConfig(**{**TINY, "tune": "first_seed"}, remedies=["baseline", "fail_big"])
    results = ablate(cfg, out_dir=tmp_path, progress=False)
    failed = {r["key"]: r["error"] for r in results.failed}
    assert failed["fail_big|6|0"].startswith("ValueError")
    assert failed["fail_big|6|1"].startswith("FirstSeedFailed: cell fail_big|6|0 failed (ValueError: too many")
    assert len(results.records) == 6 and {r["key"] for r in results.records}.isdisjoint(failed)


def test_cli_with_jobs_logs_the_failed_cell_and_exits_1_with_results_written(tmp_path, capsys):
    # a built-in remedy given an option that only fails inside training (size 6: class 0 already has 5 rows),
    # so that the spawned workers of --jobs know it
    cfg = {"name": "jobs", "sizes": [3, 6], "seeds": [0], "selection": "holdout", "test_limit": 40,
           "train": {"steps": 2, "lr": [1e-2], "weight_decay": [1e-4], "eval_every": 1},
           "remedies": ["baseline", {"name": "oversample", "strategy": {0: 4}, "label": "over4"}]}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    code = main(["ablate", str(path), "--out", str(tmp_path / "out"), "--jobs", "2", "--quiet"])
    err = capsys.readouterr().err
    assert code == FAILED_CELLS == 1
    assert "1 cell(s) failed" in err and "over4|6|0" in err and "over-sampling" in err
    records = read_records(tmp_path / "out" / "results.jsonl")
    assert len(records) == 4 and [r["key"] for r in failed_cells(records)] == ["over4|6|0"]
    assert "## Failed cells" in (tmp_path / "out" / "results.md").read_text()
    assert len(Results.from_dir(tmp_path / "out").records) == 3


def test_log_schema_accepts_failed_records_and_never_counts_them_as_finished(tmp_path):
    failed = {"key": "a|5|0", "remedy": "a", "size": 5, "seed": 0, "status": "failed", "error": "ValueError: x"}
    assert check_record(failed) is None
    assert check_record({**failed, "status": "done"}) == "`status` must be 'failed' when present"
    assert check_record({**failed, "error": 3}) == "`error` must be a string"
    assert "missing error" in check_record({k: v for k, v in failed.items() if k != "error"})
    ok = {"key": "a|5|0", "remedy": "a", "size": 5, "seed": 0,
          "metrics": {"accuracy": 0.5, "balanced_accuracy": 0.5, "macro_f1": 0.5}}
    log = tmp_path / "results.jsonl"
    log.write_text("\n".join(json.dumps(r) for r in (failed, {**failed, "key": "a|5|1", "seed": 1}, ok)) + "\n")
    assert read_log(log) == [ok]
    assert [r["key"] for r in failed_cells(read_records(log))] == ["a|5|1"]  # a|5|0 finished since
