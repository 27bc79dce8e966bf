"""Paths, permissions and small inputs: the guards of issue 14's "paths and small things"."""

import os

import numpy as np
import pytest
import torch

from scarce._io import atomic_write_text
from scarce._torch import load_tensors
from scarce.augment.image import check_image
from scarce.experiment.config import ExperimentConfig, TrainSection, load_config
from scarce.experiment.runner import Experiment

TINY = dict(sizes=[3], seeds=[0], selection="holdout", test_limit=30,
            train=TrainSection(steps=2, lr=[1e-2], weight_decay=[1e-4], eval_every=1))


@pytest.mark.parametrize("name", ["../../x", "/tmp/abs", ".hidden", "a/b", "a\\b"])
def test_a_config_name_cannot_leave_the_runs_folder(tmp_path, name):
    with pytest.raises(ValueError, match="Config key 'name' must be a plain name"):
        Experiment(ExperimentConfig(name=name, **TINY), out_dir=tmp_path / "o", progress=False)


def test_an_empty_config_is_an_error_not_the_default_sweep(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n")
    with pytest.raises(ValueError, match="is empty"):
        load_config(path)


def test_a_start_that_crashed_before_any_cell_does_not_block_a_rerun(tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "config.yaml").write_text("name: other\nsizes: [99]\n")  # written, then the first cell crashed
    Experiment(ExperimentConfig(name="x", **TINY), out_dir=out, progress=False)  # not refused
    (out / "results.jsonl").write_text('{"key": "baseline|99|0"}\n')
    with pytest.raises(FileExistsError, match="different config"):
        Experiment(ExperimentConfig(name="x", **TINY), out_dir=out, progress=False)


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "a.txt", "x")
        assert path.stat().st_mode & 0o777 == 0o644
        os.umask(0o077)
        assert atomic_write_text(tmp_path / "b.txt", "x").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_a_file_with_code_is_refused_without_suggesting_to_trust_it(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"w": torch.zeros(1), "x": _Evil()}, path)
    with pytest.raises(ValueError, match="was refused: it holds Python objects") as err:
        load_tensors(path, what="Checkpoint")
    assert "weights_only=False" not in str(err.value) and "corrupted" not in str(err.value)
    (tmp_path / "cut.pt").write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match="cannot be read"):
        load_tensors(tmp_path / "cut.pt", what="Checkpoint")


def test_a_float_image_of_nan_is_refused():
    with pytest.raises(ValueError, match="finite"):
        check_image(np.full((4, 4, 3), np.nan, np.float32))
