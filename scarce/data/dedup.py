"""Content hashes of examples, and the examples two datasets share.

Used to refuse an unlabelled pool that holds examples of the test split: an example is the same
when its content is (an array's dtype, shape and bytes; a text's UTF-8), whatever its file name.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from scarce.data.datasets import LabelledDataset


def content_hash(x: Any) -> str:
    """The sha1 of one example: of a text's UTF-8, or of an array's dtype, shape and bytes.

    Example:
        >>> import numpy as np
        >>> content_hash(np.zeros((2, 2), np.uint8)) == content_hash(np.zeros((2, 2), np.uint8))
        True
        >>> content_hash(np.zeros((2, 2), np.uint8)) == content_hash(np.zeros((4, 1), np.uint8))
        False
    """
    if isinstance(x, str):
        return hashlib.sha1(x.encode("utf-8")).hexdigest()
    arr = np.ascontiguousarray(np.asarray(x))
    h = hashlib.sha1(f"{arr.dtype.str}{arr.shape}".encode())
    h.update(arr.tobytes())
    return h.hexdigest()


def fingerprints(ds: LabelledDataset) -> list[str]:
    """One content hash per example of ``ds`` (see :func:`content_hash`); decodes every example.

    Example:
        >>> from scarce.data.text import text_dataset
        >>> fp = fingerprints(text_dataset(["a", "b", "a"], [0, 1, 0]))
        >>> fp[0] == fp[2] != fp[1]
        True
    """
    if not isinstance(ds, LabelledDataset):
        raise TypeError(f"`ds` must be a dataset (LabelledDataset), got {type(ds).__name__}.")
    return [content_hash(ds.get(i)) for i in range(len(ds))]


def overlap(a: LabelledDataset, b: LabelledDataset) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` where example ``i`` of ``a`` has the same content as example ``j`` of ``b``.

    Linear in ``len(a) + len(b)`` (plus the pairs found): ``b``'s hashes go into a dict.

    Raises:
        TypeError: ``a`` or ``b`` is not a dataset.
        ValueError: ``a`` and ``b`` have different modalities.

    Example:
        >>> from scarce.data.text import text_dataset
        >>> overlap(text_dataset(["a", "b", "c"], [0, 1, 0]), text_dataset(["c", "d", "c"], [0, 1, 0]))
        [(2, 0), (2, 2)]
    """
    for name, ds in (("a", a), ("b", b)):
        if not isinstance(ds, LabelledDataset):
            raise TypeError(f"`{name}` must be a dataset (LabelledDataset), got {type(ds).__name__}.")
    if a.modality != b.modality:
        raise ValueError(f"`a` and `b` must share a modality, got {a.modality!r} and {b.modality!r}.")
    where: dict[str, list[int]] = {}
    for j, h in enumerate(fingerprints(b)):
        where.setdefault(h, []).append(j)
    return [(i, j) for i, h in enumerate(fingerprints(a)) for j in where.get(h, ())]


__all__ = ["content_hash", "fingerprints", "overlap"]
