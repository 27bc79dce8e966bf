"""What a saved model takes as input, read and checked before any prediction.

:func:`read_inputs` turns what a user gives ``scarce predict`` or ``SavedModel.predict`` (file
paths, folders, in-memory examples) into examples of the model's modality, each with a name for
the output, decoded exactly as the training data were: images to uint8 HWC arrays in the mode of
the training images (``L`` for one channel, ``RGB`` for three) and of their size; texts as
``str`` (a CSV's ``text`` column, or a ``.txt`` file's non-empty lines); audio as float32 mono
waveforms at the training sample rate. Everything is read and checked first, so a wrong modality,
an undecodable file or an image of another size is an error that names the input before any work.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from scarce.data.audio import AUDIO_EXTENSIONS, check_waveform, read_clip
from scarce.data.datasets import ImageFolderDataset

IMAGE_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
"""The PIL mode an image file is decoded to, by the number of channels the model takes."""

EXTENSIONS = {"image": ImageFolderDataset.EXTENSIONS, "text": (".csv", ".txt"), "audio": AUDIO_EXTENSIONS}
"""The files each modality reads (a folder is searched for these, recursively)."""

WHAT = {"image": "image files or uint8 (H, W, C) arrays", "text": "strings, a CSV with a `text` column or a .txt file",
        "audio": "audio files or float mono waveforms"}


def _kind(path: Path) -> str | None:
    return next((m for m, exts in EXTENSIONS.items() if path.suffix.lower() in exts), None)


def _files(path: Path, modality: str) -> list[Path]:
    """The files of ``modality`` that ``path`` names (itself, or those in a folder)."""
    if not path.exists():
        raise FileNotFoundError(f"Input '{path}' does not exist.")
    takes = f"this model takes {modality} inputs ({', '.join(EXTENSIONS[modality])})"
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and _kind(p) == modality)
        if not found:
            others = sorted({k for p in path.rglob("*") if p.is_file() for k in [_kind(p)] if k})
            held = f"; it holds {' and '.join(others)} files" if others else ""
            raise ValueError(f"Input folder '{path}' holds no usable file: {takes}{held}.")
        return found
    kind = _kind(path)
    if kind != modality:
        what = f"an {kind} file" if kind in ("image", "audio") else f"a {kind} file" if kind else "of no known kind"
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


def _items(inputs: Any, modality: str) -> list[Any]:
    if isinstance(inputs, (str, Path)) or (isinstance(inputs, np.ndarray) and not (
            modality == "image" and inputs.ndim == 4)):
        return [inputs]
    if isinstance(inputs, np.ndarray):
        return list(inputs)  # a batch of images (N, H, W, C)
    if isinstance(inputs, (list, tuple)):
        return list(inputs)
    raise TypeError(f"`inputs` must be a list of {WHAT[modality]} (or one of them), got {type(inputs).__name__}.")


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
    names, examples = [], []
    for i, item in enumerate(_items(inputs, modality)):
        if isinstance(item, Path) or (isinstance(item, str) and modality != "text"):
            for path in _files(Path(item), modality):
                if modality == "image":
                    names.append(str(path))
                    examples.append(_decode_image(path, spec))
                elif modality == "audio":
                    names.append(str(path))
                    examples.append(read_clip(path, sample_rate=int(spec["sample_rate"]))[0])
                else:
                    texts = _texts(path)
                    names += texts
                    examples += texts
        elif modality == "text" and isinstance(item, str):
            names.append(item)
            examples.append(item)
        elif modality == "image" and isinstance(item, np.ndarray):
            names.append(f"<array {i}>")
            examples.append(_image(item, f"<array {i}>", spec))
        elif modality == "audio" and isinstance(item, np.ndarray):
            names.append(f"<array {i}>")
            examples.append(check_waveform(item, name=f"inputs[{i}]"))
        else:
            raise TypeError(f"`inputs[{i}]` must be one of {WHAT[modality]}, got {type(item).__name__}.")
    if not examples:
        raise ValueError(f"No input to predict: give {WHAT[modality]}.")
    return names, examples
