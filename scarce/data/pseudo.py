"""Pool examples labelled by a teacher: the rows self-training adds (:mod:`scarce.experiment.selftrain`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from scarce._checks import check_int
from scarce.data.datasets import LabelledDataset
from scarce.data.unlabelled import UnlabelledDataset, positions_in


class PseudoLabelled(LabelledDataset):
    """Some examples of an unlabelled pool with labels given by a teacher.

    Not every class need be present (a teacher may be confident on a few classes only).

    Args:
        pool: the unlabelled examples.
        positions: positions in ``pool`` of the labelled examples.
        labels: one class index in ``0..num_classes-1`` per position.
        confidence: the teacher's confidence in each label, in [0, 1].

    Raises:
        TypeError: ``pool`` is not an :class:`UnlabelledDataset`.
        ValueError: positions outside the pool, labels that are not class indices, confidences
            outside [0, 1], or lengths that differ.

    Example:
        >>> import numpy as np
        >>> from scarce.data import ArrayDataset, ConcatDataset, hide_labels
        >>> real = ArrayDataset(np.zeros((3, 2, 2, 1), np.uint8), [0, 1, 2])
        >>> pool = hide_labels(real, [0, 1, 2], source="demo")
        >>> pseudo = PseudoLabelled(pool, [2, 0], [2, 2], confidence=[0.9, 0.8])
        >>> ConcatDataset([real, pseudo]).labels.tolist()
        [0, 1, 2, 2, 2]
    """

    def __init__(self, pool: UnlabelledDataset, positions: Sequence[int], labels: Any, *, confidence: Any) -> None:
        if not isinstance(pool, UnlabelledDataset):
            raise TypeError(f"`pool` must be an UnlabelledDataset, got {type(pool).__name__}.")
        pos = positions_in(positions, len(pool), "positions")
        y, c = np.asarray(labels), np.asarray(confidence)
        if y.ndim != 1 or (y.size and y.dtype.kind not in "iu"):
            raise ValueError(f"`labels` must be a 1-D list of integer class indices, got {y.dtype} of shape {y.shape}.")
        y = y.astype(np.int64)
        if y.size and (y.min() < 0 or y.max() >= pool.num_classes):
            bad = y[(y < 0) | (y >= pool.num_classes)][0]
            raise ValueError(f"`labels` must be in 0..{pool.num_classes - 1} for {pool.num_classes} classes, got {bad}.")
        if c.ndim != 1 or (c.size and c.dtype.kind not in "fiu"):
            raise ValueError(f"`confidence` must be a 1-D list of numbers in [0, 1], got {c.dtype} of shape {c.shape}.")
        c = c.astype(np.float64)
        if c.size and not (np.isfinite(c).all() and c.min() >= 0 and c.max() <= 1):
            raise ValueError(f"`confidence` must be in [0, 1], got values from {c.min()} to {c.max()}.")
        if not len(pos) == len(y) == len(c):
            raise ValueError(f"`positions`, `labels` and `confidence` must have one entry per example, got lengths "
                             f"{len(pos)}, {len(y)} and {len(c)}.")
        self.pool, self.positions, self.labels, self.confidence = pool, pos, y, c
        self.class_names, self.modality, self.sample_rate = pool.class_names, pool.modality, pool.sample_rate

    def get(self, index: int) -> Any:
        return self.pool.get(int(self.positions[index]))

    def name_of(self, index: int) -> str:
        """The pool's name for example ``index`` (its file when it has one)."""
        index = check_int("index", index, minimum=0, maximum=len(self) - 1)
        return self.pool.name_of(int(self.positions[index]))


__all__ = ["PseudoLabelled"]
