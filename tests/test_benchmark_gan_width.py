"""The GAN width benchmark (benchmarks/gan_width_cost.py) that sizes the synthetic-images recipes."""

import importlib.util
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "gan_width_cost.py"


def test_seconds_per_step_is_positive_and_grows_with_width():
    spec = importlib.util.spec_from_file_location("gan_width_cost", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (40, 16, 16, 3), dtype=np.uint8)
    labels = np.repeat(np.arange(2), 20)
    # ten steps of difference: a few milliseconds of set-up noise cannot make the narrow cost negative
    narrow = module.seconds_per_step(images, labels, width=4, short=1, long=11)
    wide = module.seconds_per_step(images, labels, width=64, short=1, long=11)
    assert 0 < narrow < wide
