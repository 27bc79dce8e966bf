"""Labelled datasets: images (uint8 HWC arrays or image folders), audio and text.

Every dataset exposes ``labels`` (an int64 array) without decoding any example, ``class_names``
and ``modality``, and returns ``(x, y)`` pairs: an image is a uint8 ``(H, W, C)`` array, an audio
clip a float32 waveform (``sample_rate`` on the dataset), a text a ``str``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scarce.modalities import modality_names

MODALITIES = modality_names()
"""The kinds of data scarce handles (the built-in modality objects of :mod:`scarce.modalities`, in
their order); every dataset, model, augmentation and remedy declares its own. A modality registered
later by a plug-in is in :func:`scarce.modalities.modality_names`, which datasets and models check."""


def validate_labels(labels: Any, *, num_classes: int | None = None, name: str = "labels") -> np.ndarray:
    """Return ``labels`` as int64, checking they are integers in ``0..C-1`` with no empty class.

    Raises:
        ValueError: non-integer or negative labels, labels outside ``0..num_classes-1``, or a
            class in ``0..C-1`` that has no example (named).
    """
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be a 1-D sequence of class indices, got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty.")
    if arr.dtype.kind == "f" and np.all(np.mod(arr, 1) == 0):
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"`{name}` must be integer class indices 0..C-1, got dtype {arr.dtype}.")
    arr = arr.astype(np.int64)
    if arr.min() < 0:
        raise ValueError(f"`{name}` must be class indices 0..C-1, got a negative label {arr.min()}.")
    c = int(arr.max()) + 1 if num_classes is None else num_classes
    if arr.max() >= c:
        raise ValueError(f"`{name}` must be in 0..{c - 1} for {c} classes, got label {arr.max()}.")
    counts = np.bincount(arr, minlength=c)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        raise ValueError(
            f"`{name}` must be class indices 0..C-1 with every class present; class(es) "
            f"{empty.tolist()} have no example. Relabel to consecutive indices."
        )
    return arr


class LabelledDataset:
    """Base class: ``labels``, ``class_names``, ``modality``, ``__len__`` and ``__getitem__``."""

    modality: str = "image"
    labels: np.ndarray
    class_names: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.labels)

    def get(self, index: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[Any, int]:
        index = int(index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} examples.")
        return self.get(index % len(self)), int(self.labels[index])

    def subset(self, indices: Sequence[int]) -> "Subset":
        """A view on ``indices`` (no copy of the examples)."""
        return Subset(self, indices)

    def fingerprint(self) -> str:
        """A content hash (labels and examples) used by caches."""
        h = hashlib.sha1(self.labels.tobytes())
        for i in range(len(self)):
            x = self.get(i)
            h.update(x.encode() if isinstance(x, str) else np.ascontiguousarray(x).tobytes())
        return h.hexdigest()


class ArrayDataset(LabelledDataset):
    """Examples held in memory: a uint8 ``(N, H, W, C)`` image array, a list of texts or clips.

    Example:
        >>> import numpy as np
        >>> ds = ArrayDataset(np.zeros((4, 8, 8, 1), np.uint8), [0, 1, 0, 1], class_names=["a", "b"])
        >>> ds[1][1], ds.num_classes
        (1, 2)
    """

    def __init__(
        self,
        data: np.ndarray | Sequence[Any],
        labels: Any,
        *,
        class_names: Sequence[str] | None = None,
        modality: str = "image",
        sample_rate: int | None = None,
    ) -> None:
        if modality not in modality_names():
            raise ValueError(f"`modality` must be one of {modality_names()}, got {modality!r}.")
        labels = validate_labels(labels, num_classes=None if class_names is None else len(class_names))
        if len(data) != len(labels):
            raise ValueError(f"`labels` must have one entry per example: {len(data)} examples, {len(labels)} labels.")
        if modality == "image":
            data = np.asarray(data)
            if data.dtype != np.uint8 or data.ndim != 4:
                raise ValueError(
                    f"`data` must be a uint8 array of shape (N, H, W, C) for images, got {data.dtype} {data.shape}."
                )
        self.data = data
        self.labels = labels
        self.class_names = list(class_names) if class_names is not None else [str(c) for c in range(labels.max() + 1)]
        self.modality = modality
        self.sample_rate = sample_rate

    def get(self, index: int) -> Any:
        return self.data[index]


def list_class_folders(root: Path, extensions: Sequence[str], *, class_names: Sequence[str] | None = None,
                       what: str = "file", arg: str = "root") -> tuple[list[Path], list[int], list[str]]:
    """Files of ``root/<class>/*`` with one of ``extensions``: (paths, labels, class names).

    Classes are the sub-folders in sorted order unless ``class_names`` fixes them; a missing root,
    no class folder, or an empty class folder is an error naming the folder.
    """
    if not root.is_dir():
        raise FileNotFoundError(f"`{arg}` must be an existing folder of class sub-folders, got '{root}'.")
    names = list(class_names) if class_names is not None else sorted(p.name for p in root.iterdir() if p.is_dir())
    if not names:
        raise ValueError(f"`{arg}` must contain one sub-folder per class, found none in '{root}'.")
    paths, labels = [], []
    for c, name in enumerate(names):
        files = sorted(p for p in (root / name).glob("*") if p.suffix.lower() in extensions)
        if not files:
            raise ValueError(f"Class folder '{root / name}' holds no {what} ({', '.join(extensions)}).")
        paths += files
        labels += [c] * len(files)
    return paths, labels, names


IMAGE_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
"""The PIL mode an image file is converted to, by the channel count of the images it must match."""


def decode_image(path: str | Path, *, mode: str = "RGB") -> np.ndarray:
    """Decode one image file to a uint8 ``(H, W, C)`` array in PIL ``mode`` (``"L"`` gives C = 1).

    Raises:
        OSError: the file is missing, not an image, truncated or corrupt (the file is named).

    Example:
        >>> import tempfile, os
        >>> from PIL import Image
        >>> p = os.path.join(tempfile.mkdtemp(), "a.png")
        >>> Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(p)
        >>> decode_image(p).shape, decode_image(p, mode="L").shape
        ((4, 6, 3), (4, 6, 1))
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert(mode), dtype=np.uint8).reshape(im.size[1], im.size[0], -1)
    except (OSError, SyntaxError) as err:  # PIL: unidentified, truncated or corrupt files
        raise OSError(f"Cannot read image '{path}': {err}") from None


class ImageFolderDataset(LabelledDataset):
    """Images in ``root/<class>/*.{jpg,png,...}``, decoded lazily to uint8 HWC and kept in memory.

    Decoded images are cached so that repeated evaluation does not decode twice.
    """

    EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")

    def __init__(self, root: str | Path, *, class_names: Sequence[str] | None = None, mode: str = "RGB") -> None:
        root = Path(root)
        paths, labels, names = list_class_folders(root, self.EXTENSIONS, class_names=class_names, what="image")
        self.root, self.paths, self.mode = root, paths, mode
        self.labels = np.asarray(labels, dtype=np.int64)
        self.class_names = names
        self._cache: dict[int, np.ndarray] = {}

    def get(self, index: int) -> np.ndarray:
        if index not in self._cache:
            self._cache[index] = decode_image(self.paths[index], mode=self.mode)
        return self._cache[index]


class Subset(LabelledDataset):
    """A view on some examples of another dataset; ``labels`` are taken without decoding."""

    def __init__(self, base: LabelledDataset, indices: Sequence[int]) -> None:
        idx = np.asarray(indices, dtype=np.int64)
        if idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= len(base))):
            raise ValueError(f"`indices` must be a 1-D list of positions in 0..{len(base) - 1}.")
        self.base, self.indices = base, idx
        self.labels = base.labels[idx]
        self.class_names = base.class_names
        self.modality = base.modality
        self.sample_rate = getattr(base, "sample_rate", None)

    def get(self, index: int) -> Any:
        return self.base.get(int(self.indices[index]))


class ConcatDataset(LabelledDataset):
    """Several datasets with the same classes one after another (e.g. real + synthetic)."""

    def __init__(self, parts: Sequence[LabelledDataset]) -> None:
        if not parts:
            raise ValueError("`parts` must hold at least one dataset.")
        if any(p.class_names != parts[0].class_names for p in parts):
            raise ValueError("`parts` must share the same class_names.")
        self.parts = list(parts)
        self.offsets = np.cumsum([0] + [len(p) for p in parts])
        self.labels = np.concatenate([p.labels for p in parts])
        self.class_names = parts[0].class_names
        self.modality = parts[0].modality
        self.sample_rate = getattr(parts[0], "sample_rate", None)

    def get(self, index: int) -> Any:
        part = int(np.searchsorted(self.offsets, index, side="right")) - 1
        return self.parts[part].get(index - int(self.offsets[part]))


def as_image_array(ds: LabelledDataset) -> np.ndarray:
    """Decode all images of ``ds`` into one uint8 ``(N, H, W, C)`` array (same size required)."""
    if ds.modality != "image":
        raise ValueError(f"`ds` must be an image dataset, got modality {ds.modality!r}.")
    if isinstance(ds, ArrayDataset):
        return ds.data
    items = [ds.get(i) for i in range(len(ds))]
    shapes = {x.shape for x in items}
    if len(shapes) != 1:
        raise ValueError(f"Images must share one shape to be stacked, got {sorted(shapes)[:3]}...")
    return np.stack(items)
