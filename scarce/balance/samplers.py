"""Class-balanced samplers that scale to 10^8 labels and shard like ``DistributedSampler``.

Sampling is two-stage: draw a class from the strategy's class probabilities, then an example
uniformly inside that class. The labels are sorted once (a stable O(n) radix argsort of the
labels in their smallest unsigned dtype) into class-contiguous blocks of positions stored as int32
when they fit, so memory is O(n) with no per-sample weight vector; an epoch is drawn in chunks of
``CHUNK`` draws, each from its own generator seeded with ``(seed, epoch, chunk)``.

Sharding: the epoch is one global sequence of ``num_samples`` draws (rounded up to a multiple of
``world_size``); rank ``r`` takes the ``r``-th contiguous block of it and only generates the chunks
that block touches. Shards are disjoint, of equal length, and their concatenation over ranks is
exactly the single-process epoch. Call ``set_epoch(e)`` before each epoch, as with
``DistributedSampler``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from scarce._checks import check_int
from scarce.balance.strategies import (
    Strategy,
    check_labels,
    check_strategy_support,
    class_counts,
    resolve_strategy,
)

CHUNK = 1 << 16

try:  # a real torch Sampler when torch is there (DataLoader checks nothing, but isinstance users do)
    from torch.utils.data import Sampler as _Base
except ImportError:  # pragma: no cover - torch is a core dependency
    _Base = object


def check_shard(rank: Any, world_size: Any) -> tuple[int, int]:
    world_size = check_int("world_size", world_size, minimum=1)
    rank = check_int("rank", rank, minimum=0)
    if rank >= world_size:
        raise ValueError(f"`rank` must be < `world_size` ({world_size}), got {rank}.")
    return rank, world_size


class ClassBlocks:
    """Positions of ``labels`` grouped by class: ``order[starts[c]:starts[c] + counts[c]]`` are
    class ``c``'s positions in increasing order."""

    def __init__(self, labels: np.ndarray, counts: np.ndarray) -> None:
        n = labels.size
        order = np.argsort(labels, kind="stable")  # radix sort for uint8/uint16 labels: O(n)
        self.order = order.astype(np.int32) if n < 2**31 else order
        del order
        self.counts = counts.astype(np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)

    def draw(self, rng: np.random.Generator, cdf: np.ndarray, m: int) -> np.ndarray:
        """``m`` positions: a class by inverse CDF, then a uniform offset in the class block."""
        cls = np.searchsorted(cdf, rng.random(m), side="right")
        np.minimum(cls, cdf.size - 1, out=cls)
        size = self.counts[cls]
        off = np.minimum((rng.random(m) * size).astype(np.int64), size - 1)
        return self.order[self.starts[cls] + off]


class ClassBalancedSampler(_Base):
    """Draw indices with replacement so that classes appear with the strategy's probabilities.

    Args:
        labels: class index (0..C-1) of each example; any integer dtype (10^8 uint8 labels: fine).
        strategy: ``"inverse"`` (uniform over classes), ``"sqrt"``, ``"instance"``,
            ``"power(q)"``/``power(q)``, ``"effective_number(β)"``/``effective_number(β)``.
        num_samples: draws per epoch over all ranks (default: ``len(labels)``); rounded up to a
            multiple of ``world_size``.
        seed: seed of every draw (with the epoch and chunk).
        rank, world_size: this process's shard, as in ``DistributedSampler``.
        num_classes: C, when the last classes may be absent from ``labels``.

    Raises:
        ValueError: bad labels (named), one class only, an empty class that the strategy needs,
            β outside [0, 1), q < 0, ``rank >= world_size``.

    Example:
        >>> s = ClassBalancedSampler([0] * 90 + [1] * 10, strategy="inverse", seed=0)
        >>> idx = list(s)
        >>> len(idx), bool(0.4 < np.mean(np.asarray(idx) >= 90) < 0.6)
        (100, True)
    """

    def __init__(self, labels: Any, *, strategy: Any = "inverse", num_samples: int | None = None, seed: int = 0,
                 rank: int = 0, world_size: int = 1, num_classes: int | None = None) -> None:
        self.strategy = resolve_strategy(strategy)
        self.rank, self.world_size = check_shard(rank, world_size)
        self.seed = check_int("seed", seed, minimum=0)
        labels = check_labels(labels)
        total = labels.size if num_samples is None else check_int("num_samples", num_samples, minimum=1)
        self.counts = class_counts(labels, num_classes=num_classes)
        self._check_support()
        self.blocks = ClassBlocks(labels, self.counts)
        self.num_samples = math.ceil(total / self.world_size)  # per rank, like DistributedSampler
        self.total_size = self.num_samples * self.world_size
        self.epoch = 0

    def _check_support(self) -> None:
        check_strategy_support(self.strategy, self.counts)

    def set_epoch(self, epoch: int) -> None:
        """Use the draws of ``epoch`` (call before iterating, on every rank)."""
        self.epoch = check_int("epoch", epoch, minimum=0)

    def class_probabilities(self, epoch: int | None = None) -> np.ndarray:
        """The probability of drawing each class in ``epoch`` (default: the current one)."""
        return self.strategy.probabilities(self.counts)

    def __len__(self) -> int:
        return self.num_samples

    def _chunks(self, epoch: int) -> Iterator[np.ndarray]:
        probs = self.class_probabilities(epoch)
        cdf = np.cumsum(probs)
        cdf /= cdf[-1]
        lo, hi = self.rank * self.num_samples, (self.rank + 1) * self.num_samples
        for j in range(lo // CHUNK, (hi - 1) // CHUNK + 1):
            rng = np.random.default_rng([self.seed, epoch, j])
            draws = self.blocks.draw(rng, cdf, min(CHUNK, self.total_size - j * CHUNK))
            a, b = max(lo - j * CHUNK, 0), min(hi - j * CHUNK, CHUNK)
            yield draws[a:b]

    def indices(self, epoch: int | None = None) -> np.ndarray:
        """This rank's indices for ``epoch`` (default: the current one) as one array."""
        epoch = self.epoch if epoch is None else check_int("epoch", epoch, minimum=0)
        out = np.empty(self.num_samples, dtype=self.blocks.order.dtype)
        pos = 0
        for part in self._chunks(epoch):
            out[pos:pos + part.size] = part
            pos += part.size
        return out

    def __iter__(self) -> Iterator[int]:
        for part in self._chunks(self.epoch):
            yield from part.tolist()


class ProgressiveSampler(ClassBalancedSampler):
    """Progressively-balanced sampling (Kang et al. 2020): class probabilities move linearly from
    instance-balanced at epoch 0 to ``strategy`` (default class-balanced) at ``epochs - 1`` and stay there.

    Example:
        >>> s = ProgressiveSampler([0] * 90 + [1] * 10, epochs=3)
        >>> [round(float(s.class_probabilities(e)[1]), 2) for e in range(4)]
        [0.1, 0.3, 0.5, 0.5]
    """

    def __init__(self, labels: Any, *, epochs: int, strategy: Any = "inverse", **kwargs: Any) -> None:
        self.epochs = check_int("epochs", epochs, minimum=1)
        super().__init__(labels, strategy=strategy, **kwargs)

    def class_probabilities(self, epoch: int | None = None) -> np.ndarray:
        epoch = self.epoch if epoch is None else epoch
        t = 1.0 if self.epochs == 1 else min(epoch / (self.epochs - 1), 1.0)
        start = Strategy("instance").probabilities(self.counts)
        return (1 - t) * start + t * self.strategy.probabilities(self.counts)


class ClassAwareBatchSampler(_Base):
    """Class-aware sampling as a batch sampler: each batch holds ``classes_per_batch`` distinct
    classes (drawn uniformly) and ``per_class`` examples of each (without replacement when the
    class has enough, else with replacement).

    Batches are seeded by ``(seed, epoch, batch)``; rank ``r`` of ``world_size`` takes batches
    ``r, r + world_size, ...`` of the global sequence of ``num_batches`` (rounded up).

    Example:
        >>> b = ClassAwareBatchSampler([0] * 50 + [1] * 5 + [2] * 5, classes_per_batch=2, per_class=4)
        >>> [len(x) for x in b][:2]
        [8, 8]
    """

    def __init__(self, labels: Any, *, classes_per_batch: int, per_class: int, num_batches: int | None = None,
                 seed: int = 0, rank: int = 0, world_size: int = 1) -> None:
        self.rank, self.world_size = check_shard(rank, world_size)
        self.seed = check_int("seed", seed, minimum=0)
        labels = check_labels(labels)
        self.counts = class_counts(labels)
        check_strategy_support(Strategy("inverse"), self.counts)
        c = self.counts.size
        self.classes_per_batch = check_int("classes_per_batch", classes_per_batch, minimum=1, maximum=c)
        self.per_class = check_int("per_class", per_class, minimum=1)
        self.blocks = ClassBlocks(labels, self.counts)
        per_batch = self.classes_per_batch * self.per_class
        total = math.ceil(labels.size / per_batch) if num_batches is None else check_int("num_batches", num_batches,
                                                                                          minimum=1)
        self.num_batches = math.ceil(total / self.world_size)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = check_int("epoch", epoch, minimum=0)

    def __len__(self) -> int:
        return self.num_batches

    def batch(self, epoch: int, b: int) -> list[int]:
        """Global batch ``b`` of ``epoch``."""
        rng = np.random.default_rng([self.seed, epoch, b])
        out = []
        for c in rng.choice(self.counts.size, self.classes_per_batch, replace=False):
            n = int(self.counts[c])
            off = rng.choice(n, self.per_class, replace=n < self.per_class)
            out.append(self.blocks.order[self.blocks.starts[c] + off])
        return np.concatenate(out).tolist()

    def __iter__(self) -> Iterator[list[int]]:
        for i in range(self.num_batches):
            yield self.batch(self.epoch, i * self.world_size + self.rank)
