"""Unlabelled data for semi-supervised remedies: examples whose labels are hidden.

An :class:`UnlabelledDataset` has the classes, modality and sample rate of the task but no labels:
its ``labels`` are ``-1`` (never a class index, so code that would count classes on them fails
loudly) and ``ds[i]`` is ``(x, -1)``. One comes from the training pool (:func:`hide_labels`, a view
with no copy) or from a user's own files (:func:`read_unlabelled`, decoded as labelled data is);
:func:`check_unlabelled` decodes every example once so that a bad file fails before any training.
A teacher's labels on some of them make a :class:`scarce.data.pseudo.PseudoLabelled` dataset, which concatenates with
the labelled part. :func:`overlap` finds examples shared with another dataset (e.g. the test split)
by content hash.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scarce._checks import check_int
from scarce.data.audio import check_waveform, read_clip
from scarce.data.datasets import IMAGE_MODES, ConcatDataset, LabelledDataset, Subset, decode_image
from scarce.data.dedup import fingerprints, overlap
from scarce.data.unlabelled_files import NOUNS, modality_files, read_text_file
from scarce.modalities import modality_names

ARG = "`unlabelled.path`"


def positions_in(indices: Any, n: int, name: str) -> np.ndarray:
    """``indices`` as int64 positions in ``0..n-1`` (a 1-D integer list), else ``ValueError`` naming ``name``."""
    idx = np.asarray(indices)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise ValueError(f"`{name}` must be a 1-D list of integer positions, got {idx.dtype} of shape {idx.shape}.")
    idx = idx.astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)][0]
        raise ValueError(f"`{name}` must be positions in 0..{n - 1}, got {bad}.")
    return idx


class UnlabelledDataset(LabelledDataset):
    """Examples whose labels are hidden: ``labels`` is all ``-1`` and ``ds[i]`` is ``(x, -1)``.

    ``class_names``, ``modality`` and ``sample_rate`` are those of the task; ``source`` says where
    the examples came from. Subclasses implement ``get`` (and ``_path`` when an example has a file).

    Args:
        size: the number of examples.
        class_names: the task's classes (the examples carry none of them).
        modality: the task's modality.
        source: where the examples came from (a path, or e.g. "training pool minus the cell's subset").
        sample_rate: the task's sample rate (audio).

    Example:
        >>> import numpy as np
        >>> from scarce.data import ArrayDataset
        >>> pool = hide_labels(ArrayDataset(np.zeros((4, 2, 2, 1), np.uint8), [0, 1, 0, 1]), [1, 3], source="demo")
        >>> len(pool), pool.labels.tolist(), pool[0][1], pool.name_of(1)
        (2, [-1, -1], -1, 'example 1')
    """

    from_path: bool = False  # read from `unlabelled.path` (errors then name that setting)

    def __init__(self, *, size: int, class_names: Sequence[str], modality: str, source: str,
                 sample_rate: int | None = None) -> None:
        check_int("size", size, minimum=0)
        if modality not in modality_names():
            raise ValueError(f"`modality` must be one of {modality_names()}, got {modality!r}.")
        if isinstance(class_names, str) or len(class_names) < 1:
            raise ValueError(f"`class_names` must list the task's classes, got {class_names!r}.")
        if not isinstance(source, str) or not source.strip():
            raise ValueError(f"`source` must say where the examples came from (a non-empty str), got {source!r}.")
        labels = np.full(size, -1, dtype=np.int64)
        labels.setflags(write=False)  # hidden labels are never filled in; a teacher's go in PseudoLabelled
        self.labels, self.class_names, self.modality = labels, list(class_names), modality
        self.source, self.sample_rate = source, sample_rate

    def _path(self, index: int) -> str | None:
        """Where example ``index`` is stored (a file, a file's line), or ``None``."""
        return None

    def name_of(self, index: int) -> str:
        """A name for example ``index`` in error messages: its file when it has one, else "example i"."""
        index = check_int("index", index, minimum=0, maximum=len(self) - 1)
        return self._path(index) or f"example {index}"

    def hidden_classes(self) -> list[str] | None:
        """The class name of every example where the examples came from a labelled dataset with their
        labels hidden, else ``None``: for a harness's measurements after training only (the accuracy
        of pseudo-labels); nothing that trains or selects reads it."""
        return None

    def subset(self, indices: Sequence[int]) -> "UnlabelledDataset":
        """A view on ``indices`` (no copy), still unlabelled."""
        return hide_labels(self, indices, source=self.source)


def _path_in(ds: LabelledDataset, index: int) -> str | None:
    """The file of example ``index`` of ``ds``, looking through views (``None``: none known)."""
    if isinstance(ds, UnlabelledDataset):
        return ds._path(index)
    if isinstance(ds, Subset):
        return _path_in(ds.base, int(ds.indices[index]))
    if isinstance(ds, ConcatDataset):
        part = int(np.searchsorted(ds.offsets, index, side="right")) - 1
        return _path_in(ds.parts[part], index - int(ds.offsets[part]))
    paths = getattr(ds, "paths", None)
    return str(paths[index]) if paths is not None else None


class _View(UnlabelledDataset):
    """Some examples of another dataset, its labels hidden (see :func:`hide_labels`)."""

    def __init__(self, base: LabelledDataset, indices: Any, *, source: str,
                 class_names: Sequence[str] | None = None) -> None:
        idx = positions_in(indices, len(base), "indices")
        names = base.class_names if class_names is None else list(class_names)
        super().__init__(size=len(idx), class_names=names, modality=base.modality, source=source,
                         sample_rate=getattr(base, "sample_rate", None))
        self.base, self.indices = base, idx
        self.from_path = isinstance(base, UnlabelledDataset) and base.from_path

    def get(self, index: int) -> Any:
        return self.base.get(int(self.indices[index]))

    def hidden_classes(self) -> list[str] | None:
        if isinstance(self.base, UnlabelledDataset):
            inner = self.base.hidden_classes()
            return None if inner is None else [inner[i] for i in self.indices]
        return [self.base.class_names[c] for c in self.base.labels[self.indices]]

    def _path(self, index: int) -> str | None:
        return _path_in(self.base, int(self.indices[index]))


def hide_labels(base: LabelledDataset, indices: Sequence[int], *, source: str,
                class_names: Sequence[str] | None = None) -> UnlabelledDataset:
    """A view on ``base`` at ``indices`` (no copy) whose labels are hidden.

    ``get(i)`` is ``base.get(indices[i])``; the base's labels are never read.

    Args:
        base: any dataset (e.g. the training pool).
        indices: positions in ``base``.
        source: where the examples came from, e.g. "training pool minus the cell's subset".
        class_names: the task's classes when they are not the base's (a pool drawn partly from
            classes outside the task; default: the base's).

    Raises:
        TypeError: ``base`` is not a dataset.
        ValueError: ``indices`` not 1-D integer positions of ``base``.

    Example:
        >>> import numpy as np
        >>> from scarce.data import ArrayDataset
        >>> base = ArrayDataset(np.arange(4, dtype=np.uint8).reshape(4, 1, 1, 1), [0, 1, 0, 1])
        >>> pool = hide_labels(base, [3, 0], source="training pool")
        >>> int(pool[0][0][0, 0, 0]), pool[0][1], pool.class_names
        (3, -1, ['0', '1'])
    """
    if not isinstance(base, LabelledDataset):
        raise TypeError(f"`base` must be a dataset (LabelledDataset), got {type(base).__name__}.")
    return _View(base, indices, source=source, class_names=class_names)


class _Files(UnlabelledDataset):
    """One file per example, decoded by ``decoder`` on first access and cached."""

    from_path = True

    def __init__(self, paths: Sequence[Path], decoder: Callable[[Path], Any], *, like: LabelledDataset,
                 source: str) -> None:
        super().__init__(size=len(paths), class_names=like.class_names, modality=like.modality, source=source,
                         sample_rate=getattr(like, "sample_rate", None))
        self.paths, self.decoder = list(paths), decoder
        self._cache: dict[int, Any] = {}

    def get(self, index: int) -> Any:
        if index not in self._cache:
            self._cache[index] = self.decoder(self.paths[index])
        return self._cache[index]

    def _path(self, index: int) -> str:
        return str(self.paths[index])

    def __getstate__(self):  # DataLoader workers get the paths, not the decoded cache
        return {**self.__dict__, "_cache": {}}


class _Texts(UnlabelledDataset):
    """Texts read from a file, each named by its file and line/row."""

    from_path = True

    def __init__(self, texts: list[str], where: list[str], *, like: LabelledDataset, source: str) -> None:
        super().__init__(size=len(texts), class_names=like.class_names, modality="text", source=source)
        self.texts, self.where = texts, where

    def get(self, index: int) -> str:
        return self.texts[index]

    def _path(self, index: int) -> str:
        return self.where[index]


def _read_images(path: Path, like: LabelledDataset, text_column: str) -> UnlabelledDataset:
    files = modality_files(path, "image", arg=ARG)
    first = np.asarray(like.get(0))
    channels = first.shape[-1] if first.ndim == 3 else 1
    if channels not in IMAGE_MODES:
        raise ValueError(f"`like` must hold images with 1, 3 or 4 channels to decode files to, got shape {first.shape}.")
    return _Files(files, functools.partial(decode_image, mode=IMAGE_MODES[channels]), like=like, source=str(path))


def _clip(path: Path, *, sample_rate: int, mono: str) -> np.ndarray:
    x, _ = read_clip(path, sample_rate=sample_rate, mono=mono)
    x.setflags(write=False)
    return x


def _read_clips(path: Path, like: LabelledDataset, text_column: str) -> UnlabelledDataset:
    rate = getattr(like, "sample_rate", None)
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise ValueError(f"`like` must carry the task's sample_rate (a positive int, Hz), got {rate!r}.")
    mono, ds = "require", like
    while ds is not None:  # the labelled files' channel rule ("require" or "mix"), through views
        mono = getattr(ds, "mono", mono)
        ds = getattr(ds, "base", None)
    files = modality_files(path, "audio", arg=ARG)
    return _Files(files, functools.partial(_clip, sample_rate=int(rate), mono=mono), like=like, source=str(path))


def _read_texts(path: Path, like: LabelledDataset, text_column: str) -> UnlabelledDataset:
    texts, where = read_text_file(path, text_column=text_column, arg=ARG)
    return _Texts(texts, where, like=like, source=str(path))


_READERS = {"image": _read_images, "text": _read_texts, "audio": _read_clips}


def read_unlabelled(path: str | os.PathLike, *, like: LabelledDataset, text_column: str = "text") -> UnlabelledDataset:
    """Read a user's unlabelled examples with the decoders and checks of labelled data.

    Images: a folder of image files (directly in it, not in class folders), decoded lazily in the
    mode of ``like``'s images. Texts: a ``.txt`` file (one text per non-blank line) or a ``.csv`` /
    ``.jsonl`` file's ``text_column`` (each also ``.gz``/``.bz2``). Audio: a folder of wav/flac files,
    decoded at ``like.sample_rate``. Run :func:`check_unlabelled` to decode and check every example.

    Args:
        path: the folder or file.
        like: the task's training pool (modality, classes, sample rate, image channels).
        text_column: the column holding the texts in a CSV / JSON-lines file.

    Returns:
        An :class:`UnlabelledDataset` with ``source`` = ``path``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: an empty folder or file, class sub-folders, another modality's files, a missing
            ``text_column``, an empty text (named by line/row).

    Example:
        >>> import numpy as np, tempfile, os
        >>> from PIL import Image
        >>> from scarce.data import ArrayDataset
        >>> d = tempfile.mkdtemp()
        >>> Image.fromarray(np.zeros((4, 4), np.uint8)).save(os.path.join(d, "a.png"))
        >>> like = ArrayDataset(np.zeros((2, 4, 4, 1), np.uint8), [0, 1])
        >>> pool = read_unlabelled(d, like=like)
        >>> len(pool), pool[0][0].shape, pool[0][1], os.path.basename(pool.name_of(0))
        (1, (4, 4, 1), -1, 'a.png')
    """
    if not isinstance(like, LabelledDataset):
        raise TypeError(f"`like` must be the task's training pool (a LabelledDataset), got {type(like).__name__}.")
    if len(like) == 0:
        raise ValueError("`like` must be the task's training pool with at least one example, got an empty dataset.")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{ARG} must be a path to a folder or file, got {type(path).__name__}.")
    if not isinstance(text_column, str) or not text_column:
        raise ValueError(f"`unlabelled.text_column` must be a column name, got {text_column!r}.")
    if like.modality not in _READERS:
        raise ValueError(f"`like` must be an {'/'.join(_READERS)} dataset to read unlabelled data for, got "
                         f"modality {like.modality!r}.")
    where = Path(path).expanduser()
    if not where.exists():
        need = "text file" if like.modality == "text" else f"folder of {NOUNS[like.modality]}"
        raise FileNotFoundError(f"{ARG} must be an existing {need}, got '{where}'.")
    return _READERS[like.modality](where, like, text_column)


def _image_problem(x: Any, ref: Any) -> tuple[str, str, str] | None:
    x, ref = np.asarray(x), np.asarray(ref)
    if x.dtype != np.uint8 or x.shape != ref.shape:
        return (f"images of the training pool's shape {ref.shape} (H, W, C) uint8", f"{x.shape} {x.dtype}",
                f" Resize the folder's images to {ref.shape[1]}x{ref.shape[0]} (W x H) with {ref.shape[-1]} "
                "channel(s) first.")
    return None


def _text_problem(x: Any, ref: Any) -> tuple[str, str, str] | None:
    return None if isinstance(x, str) and x.strip() else ("non-empty texts", f"{x!r:.60}", "")


def _audio_problem(x: Any, ref: Any) -> tuple[str, str, str] | None:
    try:
        check_waveform(x)
    except (TypeError, ValueError) as err:
        return "mono float waveforms", str(err), ""
    return None


_PROBLEMS = {"image": _image_problem, "text": _text_problem, "audio": _audio_problem}
"""Per modality: ``(expected, given, fix)`` for an example that cannot train beside ``like``, else None."""


def check_unlabelled(pool: UnlabelledDataset, *, like: LabelledDataset) -> None:
    """Decode every example of ``pool`` once and check it can train beside ``like``.

    Raises:
        TypeError: ``pool`` is not an :class:`UnlabelledDataset` or ``like`` not a dataset.
        ValueError: an empty pool, another modality than ``like``'s, or an example (named) that does
            not decode, is an image of another shape than ``like``'s, or is an empty text.

    Example:
        >>> import numpy as np
        >>> from scarce.data import ArrayDataset
        >>> like = ArrayDataset(np.zeros((2, 3, 3, 1), np.uint8), [0, 1])
        >>> check_unlabelled(hide_labels(like, [0, 1], source="demo"), like=like) is None
        True
    """
    if not isinstance(pool, UnlabelledDataset):
        raise TypeError(f"`pool` must be an UnlabelledDataset, got {type(pool).__name__}.")
    if not isinstance(like, LabelledDataset):
        raise TypeError(f"`like` must be the task's training pool (a LabelledDataset), got {type(like).__name__}.")
    who = ARG if pool.from_path else f"The unlabelled pool ({pool.source})"
    if len(pool) == 0:
        raise ValueError(f"{who} must hold at least one example, got none.")
    if pool.modality != like.modality:
        raise ValueError(f"{who} must hold {like.modality} data like the task's training pool, got {pool.modality} data.")
    if like.modality not in _PROBLEMS:
        raise ValueError(f"`like` must be an {'/'.join(_PROBLEMS)} dataset, got modality {like.modality!r}.")
    problem, ref, noun = _PROBLEMS[like.modality], like.get(0), NOUNS[like.modality]
    for i in range(len(pool)):
        try:
            x = pool.get(i)
        except (OSError, ValueError) as err:  # decoders name the file; else name it here
            named = "" if pool.name_of(i) in str(err) else f"'{pool.name_of(i)}': "
            raise ValueError(f"{who} must hold {noun} that decode, got one that does not: {named}{err}") from err
        wrong = problem(x, ref)
        if wrong:
            expected, given, fix = wrong
            raise ValueError(f"{who} must hold {expected}, got {given} for '{pool.name_of(i)}'.{fix}")


__all__ = ["UnlabelledDataset", "check_unlabelled", "fingerprints", "hide_labels", "overlap", "positions_in",
           "read_unlabelled"]  # fingerprints and overlap live in scarce.data.dedup
