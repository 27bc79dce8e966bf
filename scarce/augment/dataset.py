"""Scarce augmentations in a user's own PyTorch loop: a dataset wrapper with reproducible streams.

:class:`AugmentedDataset` applies any per-sample augmentation with scarce's contract
``transform(x, rng=np.random.Generator) -> x`` to a map-style dataset that returns ``(x, y)``
(a scarce ``LabelledDataset`` or any torch dataset). The generator of sample ``index`` in epoch
``epoch`` is seeded from ``(seed, epoch, index)`` only, so the augmented stream is the same with 0,
1 or 8 DataLoader workers, differs per epoch and per index, and needs no ``worker_init_fn``.

The epoch lives in shared memory (:class:`SharedEpoch`): ``set_epoch`` in the main process is
seen by DataLoader workers that hold their own copy of the dataset, including persistent workers
(``persistent_workers=True``) and workers started with ``spawn``. Call it before iterating the
loader for that epoch, as with ``DistributedSampler``.
"""

from __future__ import annotations

import inspect
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from scarce._checks import check_int


class SharedEpoch:
    """An epoch counter in shared memory, visible to every DataLoader worker (fork or spawn,
    persistent or not) that holds a copy of the object.

    Example:
        >>> e = SharedEpoch(0)
        >>> e.set(3)
        >>> e.get()
        3
    """

    def __init__(self, epoch: int = 0) -> None:
        self._value = torch.zeros((), dtype=torch.int64).share_memory_()
        self.set(epoch)

    def get(self) -> int:
        """The current epoch."""
        return int(self._value)

    def set(self, epoch: int) -> None:
        """Set the epoch (an integer >= 0) for this process and every worker."""
        self._value.fill_(check_int("epoch", epoch, minimum=0))


def check_accepts(fn: Any, *, name: str, args: int, keyword: str | None, contract: str) -> Callable:
    """Check that ``fn`` is callable as ``fn(<args positional>, <keyword>=...)`` (no keyword when
    ``keyword`` is ``None``), before any work.

    Raises:
        TypeError: ``fn`` is not callable or its signature cannot take that call; the message
            names the argument and the contract.
    """
    if not callable(fn):
        raise TypeError(f"`{name}` must be a callable {contract}, got {type(fn).__name__}.")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: it is checked on its first call
        return fn
    try:
        signature.bind(*([None] * args), **({keyword: None} if keyword else {}))
    except TypeError:
        raise TypeError(f"`{name}` must be a callable {contract}, got {fn!r} with signature {signature}.") from None
    return fn


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The generator of sample ``index`` in ``epoch``: a ``SeedSequence`` with ``seed`` as entropy and
    ``(epoch, index)`` as spawn key, so distinct keys never share a stream."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(epoch, index)))


class AugmentedDataset(torch.utils.data.Dataset):
    """Apply a per-sample augmentation to a map-style ``(x, y)`` dataset, reproducibly per
    ``(seed, epoch, index)`` whatever the number of DataLoader workers.

    Args:
        dataset: a map-style dataset (``__len__`` and ``__getitem__``) returning ``(x, y)`` pairs,
            e.g. a scarce ``LabelledDataset`` or a torch ``Dataset``.
        transform: ``transform(x, rng=np.random.Generator) -> x``, e.g.
            ``scarce.augment.image.create_augment("light", ...)``.
        seed: seed of every draw (an integer >= 0).
        epoch: the starting epoch (change it with :meth:`set_epoch`).

    Raises:
        TypeError: ``dataset`` is not map-style, ``transform`` does not take ``rng=``, or ``seed`` /
            ``epoch`` is not an integer.
        ValueError: a negative ``seed`` or ``epoch``.

    Example:
        >>> import numpy as np
        >>> from scarce.data import ArrayDataset
        >>> base = ArrayDataset(np.zeros((4, 8, 8, 1), np.uint8), [0, 1, 0, 1])
        >>> noise = lambda x, rng: (x + rng.integers(0, 9, x.shape)).astype(np.uint8)
        >>> ds = AugmentedDataset(base, transform=noise, seed=0)
        >>> ds.set_epoch(1)
        >>> x, y = ds[2]
        >>> bool((x == AugmentedDataset(base, transform=noise, seed=0, epoch=1)[2][0]).all()), y
        (True, 0)
    """

    def __init__(self, dataset: Any, *, transform: Callable, seed: int = 0, epoch: int = 0) -> None:
        if isinstance(dataset, torch.utils.data.IterableDataset) or not (
                hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")):
            raise TypeError(f"`dataset` must be a map-style dataset with __len__ and __getitem__ returning (x, y), "
                            f"got {type(dataset).__name__}.")
        self.dataset = dataset
        self.transform = check_accepts(transform, name="transform", args=1, keyword="rng",
                                       contract="transform(x, rng=np.random.Generator) -> x")
        self.seed = check_int("seed", seed, minimum=0)
        self._epoch = SharedEpoch(epoch)

    @property
    def epoch(self) -> int:
        """The epoch whose draws ``__getitem__`` returns."""
        return self._epoch.get()

    def set_epoch(self, epoch: int) -> None:
        """Draw epoch ``epoch``'s augmentations from now on, in this process and in every worker.

        Call it before iterating the DataLoader for that epoch (workers may prefetch).
        """
        self._epoch.set(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        n = len(self.dataset)
        i = operator.index(index)
        if not -n <= i < n:
            raise IndexError(f"index {i} out of range for a dataset of {n} examples.")
        i %= n
        item = self.dataset[i]
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise ValueError(f"`dataset[{i}]` must be an (x, y) pair, got {type(item).__name__}"
                             f"{f' of length {len(item)}' if isinstance(item, (tuple, list)) else ''}.")
        x, y = item
        return self.transform(x, rng=sample_rng(self.seed, self.epoch, i)), y

    def __repr__(self) -> str:
        return (f"AugmentedDataset(n={len(self)}, transform={self.transform!r}, seed={self.seed}, "
                f"epoch={self.epoch})")
