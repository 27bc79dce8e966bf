"""The preflight finds every problem before any cell runs and before ``--out`` is written."""

import dataclasses

import numpy as np
import pytest

from scarce.cli import main
from scarce.remedies.composition import Changes
from scarce.experiment.config import ExperimentConfig, TrainSection
from scarce.remedies.base import Remedy
from scarce.remedies.catalogue import REMEDIES
from scarce.experiment.preflight import PreflightError, cheap_spec
from scarce.experiment.runner import Experiment
from scarce.report.ablation import ablate

TINY = dict(name="pf", sizes=[4], seeds=[0], selection="holdout", test_limit=60,
            train=TrainSection(steps=3, lr=[1e-2], weight_decay=[1e-4], eval_every=1))


def _folder(root, *, corrupt: int = 0):
    from PIL import Image

    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        for c in ("a", "b"):
            d = root / split / c
            d.mkdir(parents=True)
            for i in range(6):
                Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).save(d / f"{i}.png")
    for i in range(corrupt):
        (root / "train" / "a" / f"{i}.png").write_bytes(b"not a png")
    return root


def _config(root, **kw):
    return ExperimentConfig(**{**TINY, "sizes": [6], "test_limit": None,
                               "dataset": {"name": "image_folder",
                                           "options": {"path": str(root / "train"), "test_path": str(root / "test")}},
                               "model": {"name": "small_cnn", "options": {"width": 4}}, **kw})


def test_a_corrupt_image_is_named_before_any_cell_and_nothing_is_written(tmp_path):
    from scarce.experiment.config import from_dict

    cfg = from_dict(ExperimentConfig, dataclasses.asdict(_config(_folder(tmp_path / "data", corrupt=2))))
    out = tmp_path / "out"
    with pytest.raises(PreflightError) as err:
        ablate(cfg, out_dir=out, progress=False)
    assert "0.png" in str(err.value) and "1.png" in str(err.value) and "nothing was run or written" in str(err.value)
    assert not out.exists()


def test_every_row_is_tried_and_each_failure_named(tmp_path, monkeypatch):
    from scarce.experiment import preflight as pf

    calls = []
    real = pf._try_row
    monkeypatch.setattr(pf, "_try_row", lambda row, *a: calls.append(row.label) or real(row, *a))
    cfg = ExperimentConfig(**TINY, remedies=["baseline", "mixup", {"name": "augment", "preset": "light", "label": "aug"}],
                           references=["logreg"])
    assert len(Experiment(cfg, out_dir=tmp_path / "o", progress=False).check()) == 4
    assert calls == ["baseline", "mixup", "aug", "logreg"] and not (tmp_path / "o").exists()


class Breaks(Remedy):
    """A plug-in remedy that fails on the data it is given."""

    name = "breaks"
    changes = Changes(wraps={"train"})

    def apply(self, setup, *, seed):
        raise ValueError("this remedy cannot handle 8x8 images")


def test_a_row_that_fails_on_the_real_data_is_named_with_its_error(tmp_path):
    REMEDIES.register("breaks", Breaks)
    try:
        cfg = ExperimentConfig(**TINY, remedies=["baseline", "breaks", {"name": "breaks", "label": "again"}])
        with pytest.raises(PreflightError) as err:
            ablate(cfg, out_dir=tmp_path / "o", progress=False)
    finally:
        REMEDIES.unregister("breaks")
    assert err.value.problems == [f"row '{r}': ValueError: this remedy cannot handle 8x8 images" for r in ("breaks", "again")]
    assert not (tmp_path / "o").exists()


def test_a_device_this_machine_lacks_is_refused_first(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    cfg = ExperimentConfig(**{**TINY, "train": TrainSection(steps=2, lr=[1e-2], weight_decay=[1e-4], device="cuda")})
    with pytest.raises(PreflightError, match="train.device: `device` is 'cuda' but this machine has 0 CUDA device"):
        Experiment(cfg, out_dir=tmp_path / "o", progress=False).check()


def test_check_flag_runs_the_preflight_alone(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["ablate", "recipes/digits.yaml", "--smoke", "--check", "--quiet", "--out", str(out)]) == 0
    assert "Preflight passed" in capsys.readouterr().out and not out.exists()


def test_remedies_declare_cheap_preflight_options_and_chains_recurse():
    spec = cheap_spec({"name": "chain", "remedies": ["baseline", {"name": "synthetic", "steps": 500}]})
    assert spec["remedies"][1] == {"name": "synthetic", "steps": 1, "cache_dir": None}
    assert cheap_spec("mixup") == {"name": "mixup"}
