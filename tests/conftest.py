import random

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _restore_rng():
    """Tests must not depend on, or leak, global RNG state."""
    py, np_state, torch_state = random.getstate(), np.random.get_state(), torch.random.get_rng_state()
    yield
    random.setstate(py)
    np.random.set_state(np_state)
    torch.random.set_rng_state(torch_state)


@pytest.fixture(scope="session", autouse=True)
def _cache_root(tmp_path_factory):
    """Disk caches ($SCARCE_CACHE) go to a temporary folder, never to the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SCARCE_CACHE", str(tmp_path_factory.mktemp("scarce_cache")))
        mp.delenv("SCARCE_FEATURE_CACHE", raising=False)
        yield


@pytest.fixture
def tiny_images():
    """A 3-class image dataset of 8×8 grey squares whose brightness encodes the class."""
    from scarce.data import ArrayDataset

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    x = (labels[:, None, None, None] * 100 + rng.integers(0, 30, (60, 8, 8, 1))).astype(np.uint8)
    return ArrayDataset(x, labels, class_names=["a", "b", "c"])
