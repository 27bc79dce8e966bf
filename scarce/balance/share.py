"""A sampler that mixes two pools of rows at a fixed share of every batch.

:class:`ShareSampler` takes a boolean mask over the rows (``True``: the *added* pool, e.g.
synthetic images; ``False``: the real rows) and a ``share``. Which slot of the draw stream takes an
added row is fixed by a low-discrepancy rule on the slot's global position ``p`` (counted across
epochs): slot ``p`` is an added one when ``floor((p + 1) * share) > floor(p * share)``. So any run
of ``B`` consecutive draws, wherever it starts, holds ``floor(B * share)`` or ``ceil(B * share)``
added rows: every batch of the engine holds the share exactly (to one image), whatever its batch
size, without the sampler knowing that size. Which row fills a slot is random: each pool is walked
in fresh permutations drawn from ``np.random.default_rng([seed, epoch, pool])``, so every real row
is drawn once per epoch (the default epoch is one pass over the real rows) and the stream is a
function of ``(seed, epoch)`` only.

Sharding, as the class-balanced samplers: the epoch is one global sequence of ``num_samples``
draws (rounded up to a multiple of ``world_size``); rank ``r`` takes its ``r``-th contiguous block.
Inside a block the share holds to one image as above; a batch that straddles two epochs on one rank
of several may be off by one more.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from scarce._checks import check_float, check_int
from scarce.balance.samplers import check_shard

try:  # a real torch Sampler when torch is there, like the other samplers
    from torch.utils.data import Sampler as _Base
except ImportError:  # pragma: no cover - torch is a core dependency
    _Base = object


def check_share(share: Any, *, name: str = "share") -> float:
    """``share`` must be a number strictly between 0 and 1; returns it as a float."""
    return check_float(name, share, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)


def added_slots(start: int, stop: int, share: float) -> np.ndarray:
    """Which global draw positions in ``[start, stop)`` take an added row (a boolean array).

    Example:
        >>> added_slots(0, 8, 0.25).astype(int).tolist()
        [0, 0, 0, 1, 0, 0, 0, 1]
    """
    marks = np.floor(np.arange(start, stop + 1, dtype=np.float64) * share)
    return np.diff(marks) > 0


def _walk(rng: np.random.Generator, rows: np.ndarray, m: int) -> np.ndarray:
    """``m`` rows taken from fresh permutations of ``rows``, one after the other."""
    passes = math.ceil(m / rows.size) if m else 0
    return np.concatenate([rows[rng.permutation(rows.size)] for _ in range(passes)] or [rows[:0]])[:m]


class ShareSampler(_Base):
    """Draw real and added rows so that ``share`` of every batch are added ones.

    Args:
        added: boolean mask over the rows, ``True`` for the added pool (both pools non-empty).
        share: the fraction of draws taken from the added pool, strictly between 0 and 1.
        seed: seeds every draw (with the epoch).
        num_samples: draws per epoch over all ranks (default: ``ceil(real rows / (1 - share))``,
            one pass over the real rows); rounded up to a multiple of ``world_size``.
        rank, world_size: this process's shard, as in ``DistributedSampler``.

    Raises:
        ValueError: ``share`` outside (0, 1), a mask that is not boolean or 1-D, an empty pool,
            ``rank >= world_size``.

    Example:
        >>> s = ShareSampler([False] * 6 + [True] * 30, share=0.25, seed=0)
        >>> idx = np.asarray(list(s))
        >>> len(idx), int((idx[:8] >= 6).sum()), sorted(set(idx[idx < 6].tolist()))
        (8, 2, [0, 1, 2, 3, 4, 5])
    """

    def __init__(self, added: Any, *, share: float, seed: int = 0, num_samples: int | None = None, rank: int = 0,
                 world_size: int = 1) -> None:
        self.share = check_share(share)
        self.rank, self.world_size = check_shard(rank, world_size)
        self.seed = check_int("seed", seed, minimum=0)
        mask = np.asarray(added)
        if mask.ndim != 1 or mask.dtype != bool:
            raise ValueError(f"`added` must be a 1-D boolean mask over the rows, got dtype {mask.dtype} and shape "
                             f"{mask.shape}.")
        self.real, self.added = np.flatnonzero(~mask), np.flatnonzero(mask)
        if not self.real.size or not self.added.size:
            raise ValueError(f"`added` must mark some rows and leave some unmarked (two pools to mix), got "
                             f"{self.added.size} added and {self.real.size} real rows.")
        total = math.ceil(self.real.size / (1.0 - self.share)) if num_samples is None else \
            check_int("num_samples", num_samples, minimum=1)
        self.num_samples = math.ceil(total / self.world_size)  # per rank, like DistributedSampler
        self.total_size = self.num_samples * self.world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the draws of ``epoch`` (the engine calls it before each epoch)."""
        self.epoch = check_int("epoch", epoch, minimum=0)

    def __len__(self) -> int:
        return self.num_samples

    def indices(self, epoch: int | None = None) -> np.ndarray:
        """This rank's row indices for ``epoch`` (default: the current one) as one array."""
        epoch = self.epoch if epoch is None else check_int("epoch", epoch, minimum=0)
        start = epoch * self.total_size
        slots = added_slots(start, start + self.total_size, self.share)
        out = np.empty(self.total_size, np.int64)
        for pool, rows, where in ((0, self.real, ~slots), (1, self.added, slots)):
            out[where] = _walk(np.random.default_rng([self.seed, epoch, pool]), rows, int(where.sum()))
        return out[self.rank * self.num_samples:(self.rank + 1) * self.num_samples]

    def __iter__(self) -> Iterator[int]:
        yield from self.indices().tolist()
