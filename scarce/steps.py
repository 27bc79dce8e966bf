"""The fixed step budget as a batch stream: ``steps`` batches of ``(index, draw)`` keys and the
dataset that turns a key into a transformed example, plus the learning-rate schedule over those
steps. The per-sample transform's RNG comes from ``(seed, draw)``, so the stream is reproducible
whatever the number of DataLoader workers and differs per epoch and position.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from scarce.data.datasets import LabelledDataset


class Draws(torch.utils.data.Dataset):
    """Dataset indexed by ``(index, draw)``: the transform's RNG comes from ``(seed, draw)``, so the
    stream is the same whatever the number of workers and differs per epoch and position."""

    def __init__(self, ds: LabelledDataset, transform: Callable | None, seed: int) -> None:
        self.ds, self.transform, self.seed = ds, transform, seed

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, key: tuple[int, int]):
        index, draw = key
        x, y = self.ds[index]
        if self.transform is not None:
            x = self.transform(x, rng=np.random.default_rng([self.seed, draw]))
        return x, y


class StepBatches(torch.utils.data.Sampler):
    """Yields ``steps`` batches of ``(index, draw)`` keys, epoch after epoch of the index order."""

    def __init__(self, n: int, *, steps: int, batch_size: int, seed: int, sampler: Any = None) -> None:
        self.n, self.steps, self.batch_size, self.seed, self.sampler = n, steps, batch_size, seed, sampler

    def _indices(self) -> Iterator[int]:
        for epoch in itertools.count():
            if self.sampler is None:
                yield from np.random.default_rng([self.seed, epoch]).permutation(self.n).tolist()
            else:
                if hasattr(self.sampler, "set_epoch"):
                    self.sampler.set_epoch(epoch)
                yield from (int(i) for i in self.sampler)

    def __iter__(self):
        stream, draw = self._indices(), 0
        for _ in range(self.steps):
            batch = []
            for index in itertools.islice(stream, self.batch_size):
                batch.append((index, draw))
                draw += 1
            yield batch

    def __len__(self) -> int:
        return self.steps


def cosine_with_warmup(steps: int, warmup: float) -> Callable[[int], float]:
    """Learning-rate factor per step: linear warm-up over ``warmup`` of the steps, then cosine to 0."""
    warm = int(round(steps * warmup))

    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))

    return f
