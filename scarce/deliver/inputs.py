"""What a saved model takes as input, read and checked before any prediction.

:func:`read_inputs` turns what a user gives ``scarce predict`` or ``SavedModel.predict`` (file
paths, folders, in-memory examples) into examples of the model's modality, each with a name for
the output, decoded exactly as the training data were: images to uint8 HWC arrays in the mode of
the training images (``L`` for one channel, ``RGB`` for three) and of their size; texts as
``str`` (a CSV's ``text`` column, or a ``.txt`` file's non-empty lines); audio as float32 mono
waveforms at the training sample rate. Everything is read and checked first, so a wrong modality,
an undecodable file or an image of another size is an error that names the input before any work.

What each modality reads, and how, is its :class:`InputReader` (the ``reader`` plug-in of its
:class:`~scarce.modalities.Modality`); :func:`read_inputs` asks it and holds no per-modality branch.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from scarce.data.audio import AUDIO_EXTENSIONS, check_waveform, read_clip
from scarce.data.datasets import ImageFolderDataset
from scarce.modalities import get_modality, modality_names

IMAGE_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
"""The PIL mode an image file is decoded to, by the number of channels the model takes."""


def _kind(path: Path) -> str | None:
    """The modality whose reader takes ``path``'s extension (``None``: none does)."""
    return next((m for m in modality_names() if path.suffix.lower() in get_modality(m).reader.extensions), None)


def _files(path: Path, modality: str) -> list[Path]:
    """The files of ``modality`` that ``path`` names (itself, or those in a folder)."""
    if not path.exists():
        raise FileNotFoundError(f"Input '{path}' does not exist.")
    takes = f"this model takes {modality} inputs ({', '.join(get_modality(modality).reader.extensions)})"
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and _kind(p) == modality)
        if not found:
            others = sorted({k for p in path.rglob("*") if p.is_file() for k in [_kind(p)] if k})
            held = f"; it holds {' and '.join(others)} files" if others else ""
            raise ValueError(f"Input folder '{path}' holds no usable file: {takes}{held}.")
        return found
    kind = _kind(path)
    if kind != modality:
        what = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} file" if kind else "of no known kind"
        raise ValueError(f"Input '{path}' is {what}: {takes}.")
    return [path]


def _image(x: Any, name: str, spec: Mapping[str, Any]) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim not in (2, 3):
        raise ValueError(f"Input {name} must be a uint8 (H, W, C) image, got {x.dtype} of shape {x.shape}.")
    if x.ndim == 2:
        x = x[..., None]
    want = (spec["height"], spec["width"], spec["channels"])
    if x.shape != want:
        raise ValueError(f"Input {name} is {x.shape[0]}x{x.shape[1]} with {x.shape[2]} channel(s); the model was "
                         f"trained on {want[0]}x{want[1]} images with {want[2]}: resize or convert it first.")
    return x


def _decode_image(path: Path, spec: Mapping[str, Any]) -> np.ndarray:
    from PIL import Image

    mode = IMAGE_MODES.get(int(spec["channels"]))
    if mode is None:
        raise ValueError(f"The model takes images with {spec['channels']} channels; no image file decodes to that.")
    try:
        with Image.open(path) as im:
            x = np.asarray(im.convert(mode), dtype=np.uint8).reshape(im.size[1], im.size[0], -1)
    except (OSError, ValueError, SyntaxError) as err:  # PIL: unidentified, truncated or corrupt files
        raise ValueError(f"Input '{path}' does not decode as an image: {err}") from None
    return _image(x, f"'{path}'", spec)


def _texts(path: Path) -> list[str]:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            if path.suffix.lower() == ".txt":
                return [line.rstrip("\r\n") for line in f if line.strip()]
            reader = csv.DictReader(f)
            if "text" not in (reader.fieldnames or []):
                raise ValueError(f"Input '{path}' must be a CSV with a column named `text`, got columns "
                                 f"{reader.fieldnames or []}.")
            return [row["text"] or "" for row in reader]
    except UnicodeDecodeError as err:
        raise ValueError(f"Input '{path}' is not UTF-8 text ({err.reason} at byte {err.start}).") from None
    except csv.Error as err:
        raise ValueError(f"Input '{path}' is not a readable CSV: {err}.") from None


class InputReader:
    """How one modality's prediction inputs are read: the ``reader`` plug-in of a
    :class:`~scarce.modalities.Modality` (the built-ins: :data:`IMAGE_READER`, :data:`TEXT_READER`,
    :data:`AUDIO_READER`).

    Attributes:
        extensions: the files it reads (a folder is searched for these, recursively).
        what: what it takes, in words (for error messages).
        strings_are_examples: a ``str`` is an example (a text), not a path (then only a ``Path`` is a file).
    """

    extensions: tuple[str, ...] = ()
    what: str = ""
    strings_are_examples: bool = False

    def is_batch(self, array: np.ndarray) -> bool:
        """Whether an array given as ``inputs`` holds several examples (else it is one)."""
        return False

    def read_file(self, path: Path, spec: Mapping[str, Any]) -> list[tuple[str, Any]]:  # pragma: no cover
        """The ``(name, example)`` pairs a file of :attr:`extensions` holds, decoded as in training."""
        raise NotImplementedError

    def read_item(self, item: Any, *, index: int, spec: Mapping[str, Any]) -> tuple[str, Any]:
        """``(name, example)`` for an in-memory input; one of a type it does not take raises ``TypeError``."""
        raise TypeError(f"`inputs[{index}]` must be one of {self.what}, got {type(item).__name__}.")

    def stack(self, examples: list[Any]) -> Any:
        """The examples as the data of an :class:`~scarce.data.datasets.ArrayDataset` (a list by default)."""
        return examples


class ImageReader(InputReader):
    """Image files decoded in the mode of the training images, or uint8 ``(H, W, C)`` arrays (or one
    ``(N, H, W, C)`` batch), of the training size."""

    extensions = ImageFolderDataset.EXTENSIONS
    what = "image files or uint8 (H, W, C) arrays"

    def is_batch(self, array):
        return array.ndim == 4

    def read_file(self, path, spec):
        return [(str(path), _decode_image(path, spec))]

    def read_item(self, item, *, index, spec):
        if isinstance(item, np.ndarray):
            return f"<array {index}>", _image(item, f"<array {index}>", spec)
        return super().read_item(item, index=index, spec=spec)

    def stack(self, examples):
        return np.stack(examples)


class TextReader(InputReader):
    """Strings, a CSV's ``text`` column or a ``.txt`` file's non-empty lines."""

    extensions = (".csv", ".txt")
    what = "strings, a CSV with a `text` column or a .txt file"
    strings_are_examples = True

    def read_file(self, path, spec):
        return [(text, text) for text in _texts(path)]

    def read_item(self, item, *, index, spec):
        if isinstance(item, str):
            return item, item
        return super().read_item(item, index=index, spec=spec)


class AudioReader(InputReader):
    """Audio files resampled to the training rate, or float mono waveforms at that rate."""

    extensions = AUDIO_EXTENSIONS
    what = "audio files or float mono waveforms"

    def read_file(self, path, spec):
        return [(str(path), read_clip(path, sample_rate=int(spec["sample_rate"]))[0])]

    def read_item(self, item, *, index, spec):
        if isinstance(item, np.ndarray):
            return f"<array {index}>", check_waveform(item, name=f"inputs[{index}]")
        return super().read_item(item, index=index, spec=spec)


IMAGE_READER, TEXT_READER, AUDIO_READER = ImageReader(), TextReader(), AudioReader()


def _items(inputs: Any, reader: InputReader) -> list[Any]:
    if isinstance(inputs, (str, Path)) or (isinstance(inputs, np.ndarray) and not reader.is_batch(inputs)):
        return [inputs]
    if isinstance(inputs, (np.ndarray, list, tuple)):
        return list(inputs)  # e.g. a batch of images (N, H, W, C)
    raise TypeError(f"`inputs` must be a list of {reader.what} (or one of them), got {type(inputs).__name__}.")


def read_inputs(inputs: Any, *, modality: str, spec: Mapping[str, Any]) -> tuple[list[str], list[Any]]:
    """Read and check every input; returns ``(names, examples)``, one name per example.

    Args:
        inputs: one input or a list of them: file paths and folders (``str`` or ``Path``; for a text
            model only a ``Path`` is a file, a ``str`` is a text), uint8 ``(H, W, C)`` arrays (or one
            ``(N, H, W, C)`` batch), strings, float mono waveforms.
        modality: the model's (``image``, ``text``, ``audio``).
        spec: what one example must be (the card's ``pipeline.inputs``: image height, width and
            channels; audio sample rate).

    Returns:
        The names (a file's path, a text itself, ``<array i>`` for in-memory data) and examples.

    Raises:
        FileNotFoundError: a path that does not exist.
        ValueError: an input of another modality, a folder with no usable file, a file that does not
            decode, an image of another size or channel count, an empty input list.
        TypeError: an input of a type the modality does not take.

    Example:
        >>> names, xs = read_inputs(["a fine film"], modality="text", spec={})
        >>> names, xs
        (['a fine film'], ['a fine film'])
    """
    reader = get_modality(modality).reader
    names, examples = [], []
    for i, item in enumerate(_items(inputs, reader)):
        if isinstance(item, Path) or (isinstance(item, str) and not reader.strings_are_examples):
            pairs = [pair for path in _files(Path(item), modality) for pair in reader.read_file(path, spec)]
        else:
            pairs = [reader.read_item(item, index=i, spec=spec)]
        names += [name for name, _ in pairs]
        examples += [x for _, x in pairs]
    if not examples:
        raise ValueError(f"No input to predict: give {reader.what}.")
    return names, examples
