"""A dataset restricted to some of its classes, relabelled to consecutive indices.

Used to build the labelled task of a mismatch experiment (Oliver et al. 2018): some classes are
left out of the task (its training pool and its test set) and their examples only appear,
unlabelled, in the unlabelled pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from scarce.data.datasets import LabelledDataset


def class_indices(classes: Sequence[Any], class_names: Sequence[str], *, name: str = "classes") -> list[int]:
    """Class indices of ``classes``, each a class name or an index; unknown ones are an error naming them.

    Example:
        >>> class_indices(["cat", 0], ["airplane", "cat", "dog"])
        [1, 0]
    """
    out = []
    for c in classes:
        if isinstance(c, bool) or not isinstance(c, (int, str)):
            raise ValueError(f"`{name}` must hold class names or indices, got {c!r}.")
        if isinstance(c, int):
            if not 0 <= c < len(class_names):
                raise ValueError(f"`{name}`: class index {c} is not in 0..{len(class_names) - 1}.")
            out.append(c)
        elif c in class_names:
            out.append(list(class_names).index(c))
        else:
            raise ValueError(f"`{name}`: '{c}' is not a class of the dataset; its classes are {list(class_names)}.")
    if len(set(out)) != len(out):
        raise ValueError(f"`{name}` names a class twice: {list(classes)}.")
    return out


class ClassView(LabelledDataset):
    """The examples of ``base`` in ``keep`` (class indices), relabelled ``0..len(keep)-1`` in that order.

    Attributes:
        indices: positions in ``base`` of the kept examples.

    Example:
        >>> from scarce.data.datasets import ArrayDataset
        >>> ds = ArrayDataset(np.zeros((4, 2, 2, 1), np.uint8), [0, 1, 2, 1], class_names=["a", "b", "c"])
        >>> v = ClassView(ds, keep=[2, 1])
        >>> v.labels.tolist(), v.class_names, v.indices.tolist()
        ([1, 0, 1], ['c', 'b'], [1, 2, 3])
    """

    def __init__(self, base: LabelledDataset, *, keep: Sequence[int]) -> None:
        keep = [int(c) for c in keep]
        if len(keep) < 2:
            raise ValueError(f"A task needs at least two classes, got {len(keep)} kept.")
        remap = np.full(base.num_classes, -1, np.int64)
        remap[keep] = np.arange(len(keep))
        self.base = base
        self.indices = np.flatnonzero(remap[base.labels] >= 0)
        self.labels = remap[base.labels[self.indices]]
        self.class_names = [base.class_names[c] for c in keep]
        self.modality = base.modality
        self.sample_rate = getattr(base, "sample_rate", None)

    def get(self, index: int) -> Any:
        return self.base.get(int(self.indices[index]))
