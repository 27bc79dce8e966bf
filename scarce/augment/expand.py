"""Offline augmentation: materialise augmented copies, and oversample minority classes with
augmented copies instead of duplicates.

Both return a new in-memory :class:`~scarce.data.ArrayDataset` whose first rows are the original
examples; every copy draws from ``np.random.default_rng([seed, row])``, so the result depends on
``seed`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from scarce._checks import check_int
from scarce.data.datasets import ArrayDataset, LabelledDataset, as_image_array


def _augment_rows(images: np.ndarray, rows: np.ndarray, transform: Callable, seed: int, offset: int) -> np.ndarray:
    out = np.empty((rows.size, *images.shape[1:]), images.dtype)
    for j, i in enumerate(rows):
        y = transform(images[i], rng=np.random.default_rng([seed, offset + j]))
        out[j] = np.asarray(y).reshape(images.shape[1:])
    return out


def expand(ds: LabelledDataset, transform: Callable, *, copies: int, seed: int) -> ArrayDataset:
    """The originals followed by ``copies`` augmented copies of every example (for pipelines that
    cache features once, such as a frozen backbone).

    Args:
        ds: an image dataset (same shape for every image).
        transform: ``transform(x, rng=...) -> x``.
        copies: augmented copies per example (≥ 1).
        seed: seeds every copy.

    Returns:
        An ``ArrayDataset`` of ``len(ds) * (copies + 1)`` rows.

    Example:
        >>> import numpy as np
        >>> from scarce.data import ArrayDataset
        >>> ds = ArrayDataset(np.zeros((4, 8, 8, 1), np.uint8), [0, 1, 0, 1])
        >>> len(expand(ds, lambda x, rng: x, copies=2, seed=0))
        12
    """
    check_int("copies", copies, minimum=1)
    if not callable(transform):
        raise TypeError(f"`transform` must be callable transform(x, rng=...), got {type(transform).__name__}.")
    if len(ds) == 0:
        raise ValueError("`ds` must hold at least one example.")
    images = as_image_array(ds)
    rows = np.tile(np.arange(len(ds)), copies)
    new = _augment_rows(images, rows, transform, seed, 0)
    return ArrayDataset(np.concatenate([images, new]), np.concatenate([ds.labels, ds.labels[rows]]),
                        class_names=ds.class_names)


def oversample_targets(labels: np.ndarray, num_classes: int, target: str | int | Mapping[int, int]) -> np.ndarray:
    """Wanted count per class: ``"max"`` (the largest class), an int (every class at least that),
    or ``{class: count}`` (others unchanged). Counts below the current ones are kept as they are."""
    counts = np.bincount(labels, minlength=num_classes)
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0).tolist()
        raise ValueError(f"Every class needs at least one example to oversample; class(es) {missing} have none.")
    if num_classes < 2:
        raise ValueError(f"Oversampling needs at least two classes, got {num_classes}.")
    if isinstance(target, str):
        if target != "max":
            raise ValueError(f"`target` must be 'max', a count or {{class: count}}, got {target!r}.")
        want = np.full(num_classes, counts.max())
    elif isinstance(target, Mapping):
        want = counts.copy()
        for c, n in target.items():
            c = check_int("target class", c, minimum=0, maximum=num_classes - 1)
            want[c] = check_int(f"target[{c}]", n, minimum=1)
    else:
        want = np.full(num_classes, check_int("target", target, minimum=1))
    return np.maximum(want, counts)


def oversample_by_augmentation(ds: LabelledDataset, transform: Callable, *, target: str | int | Mapping[int, int] = "max",
                               seed: int) -> ArrayDataset:
    """Bring every class up to ``target`` examples with augmented copies of its own examples.

    The members of a class are cycled in a seeded random order, so copies are spread evenly over
    them; each copy is a fresh augmentation (not a duplicate).

    Args:
        ds: an image dataset.
        transform: ``transform(x, rng=...) -> x``.
        target: ``"max"``, a count, or ``{class: count}`` (see :func:`oversample_targets`).
        seed: seeds the order and the augmentations.

    Example:
        >>> import numpy as np
        >>> from scarce.data import ArrayDataset
        >>> ds = ArrayDataset(np.zeros((4, 8, 8, 1), np.uint8), [0, 0, 0, 1])
        >>> np.bincount(oversample_by_augmentation(ds, lambda x, rng: x, seed=0).labels).tolist()
        [3, 3]
    """
    if not callable(transform):
        raise TypeError(f"`transform` must be callable transform(x, rng=...), got {type(transform).__name__}.")
    if len(ds) == 0:
        raise ValueError("`ds` must hold at least one example.")
    labels = np.asarray(ds.labels)
    want = oversample_targets(labels, ds.num_classes, target)
    rng = np.random.default_rng([seed, 1 << 20])
    rows = []
    for c in range(ds.num_classes):
        members = np.flatnonzero(labels == c)
        extra = int(want[c] - members.size)
        if extra > 0:
            order = rng.permutation(members)
            rows.append(np.resize(order, extra))
    images = as_image_array(ds)
    if not rows:
        return ArrayDataset(images, labels, class_names=ds.class_names)
    rows = np.concatenate(rows)
    new = _augment_rows(images, rows, transform, seed, 0)
    return ArrayDataset(np.concatenate([images, new]), np.concatenate([labels, labels[rows]]),
                        class_names=ds.class_names)
