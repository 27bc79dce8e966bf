"""Containment for libraries that draw only from Python's and NumPy's global RNGs.

audiomentations and nlpaug have no seed or generator argument. ``seeded_globals`` seeds both
global RNGs for one call and restores their previous states afterwards, so the call is
reproducible from our seed and no global state leaks out. Not thread-safe: do not call it from
several threads at once (DataLoader workers are processes, so they are fine).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


@contextmanager
def seeded_globals(seed: int) -> Iterator[None]:
    """Seed ``random`` and ``np.random`` with ``seed`` for the block, then restore their states."""
    py_state, np_state = random.getstate(), np.random.get_state()
    random.seed(seed)
    np.random.seed(seed)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
