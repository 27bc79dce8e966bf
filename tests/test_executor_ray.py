"""The Ray executor on a local cluster: same metrics as in-process, a killed worker's cell retried,
a raising cell logged failed; options checked before any work."""

import json
import os
import sys
from pathlib import Path

import pytest

from scarce.experiment import Experiment
from scarce.experiment.config import ExperimentConfig, RunSection, TrainSection
from scarce.executors.local import create_executor
from scarce.report.ablation import ablate

HERE = Path(__file__).resolve().parent


def _config(**kw):
    return ExperimentConfig(**{**dict(name="ray", sizes=[3, 6], seeds=[0], selection="holdout", test_limit=40,
                                      train=TrainSection(steps=2, lr=[1e-2], weight_decay=[1e-4], eval_every=1)),
                               **kw})


def _metrics(out):
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return {r["key"]: r.get("metrics", r.get("error")) for r in lines}, len(lines)


def test_run_section_options_are_checked_before_any_work():
    with pytest.raises(ValueError, match=r"`run.jobs` applies to the local executor only"):
        create_executor(RunSection(executor="ray", jobs=4))
    with pytest.raises(ValueError, match="`run.address` applies to the ray executor only"):
        create_executor(RunSection(address="auto"))
    with pytest.raises(ValueError, match="executor 'rey'"):
        create_executor(RunSection(executor="rey"))


def test_missing_ray_names_the_extra(monkeypatch):
    import importlib.util

    from scarce.executors import ray_cluster as executor_ray

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"pip install 'scarce\[ray\]'"):
        executor_ray.RayExecutor()


def test_ray_bad_resources_are_refused():
    pytest.importorskip("ray", reason="pip install 'scarce[ray]'")
    with pytest.raises(ValueError, match="run.cpus_per_cell"):
        create_executor(RunSection(executor="ray", cpus_per_cell=0))
    with pytest.raises(ValueError, match="run.gpus_per_cell"):
        create_executor(RunSection(executor="ray", gpus_per_cell=-0.5))


@pytest.fixture()
def _plugin_unregistered_after():
    from scarce.remedies import REMEDIES

    yield
    if "die_once" in REMEDIES:  # `run.imports` registered it in this process too
        REMEDIES.unregister("die_once")
    sys.modules.pop("ray_plugin", None)


def test_ray_local_cluster_matches_in_process_retries_a_killed_worker_and_logs_a_raising_cell(
        tmp_path, monkeypatch, _plugin_unregistered_after):
    pytest.importorskip("ray", reason="pip install 'scarce[ray]'")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(HERE), *sys.path]))  # the workers import the plug-in
    monkeypatch.syspath_prepend(str(HERE))
    marker = tmp_path / "died"
    rows = ["baseline", {"name": "die_once", "marker": str(marker), "label": "dies"},
            {"name": "oversample", "strategy": {0: 4}, "label": "over4"}]  # over4 raises at size 6
    cfg = _config(remedies=rows, run=RunSection(imports=["ray_plugin"]))
    marker.write_text("")  # in this process die_once must not die
    ablate(cfg, out_dir=tmp_path / "local", progress=False)
    local, _ = _metrics(tmp_path / "local")
    marker.unlink()
    results = ablate(cfg.with_run(executor="ray"), out_dir=tmp_path / "ray", progress=False)
    ray_metrics, n_lines = _metrics(tmp_path / "ray")
    assert marker.exists()  # a worker died once, and its cell was retried
    assert n_lines == 6 and ray_metrics == local
    assert [r["key"] for r in results.failed] == ["over4|6|0"]
