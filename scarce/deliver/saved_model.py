"""A model saved by ``scarce train``: a folder holding ``model.safetensors`` and ``card.json``.

Loading never unpickles: the card is JSON, the weights are safetensors, and the weights' SHA-256
is checked against the card before they are used. The model is rebuilt from the card alone (the
pipeline description: model name and options, the inputs the pipeline inferred, the collate's
settings; and ``model_parts``, what a remedy built in their place, see
:mod:`scarce.deliver.parts`), so neither the training data nor pretrained weights are
needed; predictions use the collate of training (the
same standardisation, tokeniser or log-mel front end) in eval mode through
:func:`scarce.inference.predict` (device auto; AMP on CUDA).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scarce._io import atomic_write_text
from scarce.deliver.inputs import read_inputs
from scarce.modalities import get_modality

CARD, WEIGHTS = "card.json", "model.safetensors"
FORMAT, FORMAT_VERSION = "scarce-model", 1

CARD_FIELDS = {
    "format": (str, "the string 'scarce-model'"),
    "format_version": (int, "the card format's version"),
    "modality": (str, "image, text or audio"),
    "classes": (list, "the class names, in the model's output order"),
    "pipeline": (dict, "how to rebuild the model: model, model_options, collate, inputs"),
    "weights": (dict, "the weights file and its sha256"),
    "dataset": (dict, "the training data"),
    "remedy": (dict, "the remedy applied in training"),
    "train": (dict, "the training settings and seed"),
    "versions": (dict, "library versions"),
    "created": (str, "the creation date"),
}
"""The fields every card holds: ``name: (type, what it is)``; a card without one is refused."""

PIPELINE_FIELDS = ("model", "model_options", "collate", "inputs")


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _refuse(where: Path, problem: str) -> ValueError:
    return ValueError(f"Model card '{where}' {problem}; re-create the model folder with `scarce train`.")


def read_card(model_dir: str | Path) -> dict:
    """The card of a model folder, checked: it parses and holds every field of :data:`CARD_FIELDS`.

    Raises:
        FileNotFoundError: no such folder, or no ``card.json`` / ``model.safetensors`` in it.
        ValueError: the card is not JSON, lacks a field or holds one of the wrong type.
    """
    folder = Path(model_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"Model folder '{folder}' does not exist (write one with `scarce train`).")
    for name in (CARD, WEIGHTS):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"Model folder '{folder}' has no {name}: not a complete `scarce train` output.")
    where = folder / CARD
    try:
        card = json.loads(where.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise _refuse(where, f"does not parse as JSON ({err})") from None
    if not isinstance(card, dict):
        raise _refuse(where, f"must hold a JSON object, got {type(card).__name__}")
    for key, (kind, what) in CARD_FIELDS.items():
        if key not in card:
            raise _refuse(where, f"lacks the field `{key}` ({what})")
        if not isinstance(card[key], kind) or isinstance(card[key], bool):
            raise _refuse(where, f"field `{key}` must be a {kind.__name__} ({what}), got {card[key]!r:.80}")
    if card["format"] != FORMAT or card["format_version"] != FORMAT_VERSION:
        raise _refuse(where, f"is format {card['format']!r} version {card['format_version']!r}; this scarce reads "
                             f"{FORMAT!r} version {FORMAT_VERSION}")
    parts = card.get("model_parts")  # absent: the pipeline's model and collate
    if parts is not None and not (isinstance(parts, dict) and all(
            isinstance(parts.get(k), dict) and isinstance(parts[k].get("kind"), str) for k in ("model", "collate"))):
        raise _refuse(where, "field `model_parts` must map `model` and `collate` to descriptions with a `kind`")
    missing = [k for k in PIPELINE_FIELDS if k not in card["pipeline"]]
    if missing:
        raise _refuse(where, f"lacks the field `pipeline.{missing[0]}`")
    if not isinstance(card["weights"].get("sha256"), str):
        raise _refuse(where, "lacks the field `weights.sha256` (the checksum of model.safetensors)")
    if len(card["classes"]) < 2 or not all(isinstance(c, str) for c in card["classes"]):
        raise _refuse(where, f"field `classes` must list two or more class names, got {card['classes']!r:.80}")
    return card


class SavedModel:
    """A trained classifier loaded from a model folder (see :func:`load_model`).

    Attributes:
        classes: the class names, in the order of :meth:`predict_proba`'s columns.
        modality: ``image``, ``text`` or ``audio``: what :meth:`predict` takes.
        card: the whole card (dataset, remedy, training settings, evidence, versions...).
        path: the model folder.
    """

    def __init__(self, *, model: Any, collate: Any, card: Mapping[str, Any], path: Path, device: Any) -> None:
        self.model, self.collate, self.card, self.path, self.device = model, collate, dict(card), path, device
        self.classes: list[str] = list(card["classes"])
        self.modality: str = card["modality"]

    def __repr__(self) -> str:
        return f"SavedModel('{self.path}', modality={self.modality!r}, classes={self.classes})"

    def predict_named(self, inputs: Any) -> tuple[list[str], np.ndarray]:
        """``(names, probabilities)``: a name per example (its file, its text) and ``(N, C)`` probabilities."""
        import torch

        from scarce.data.datasets import ArrayDataset
        from scarce.inference import image_collate, predict

        names, examples = read_inputs(inputs, modality=self.modality, spec=self.card["pipeline"]["inputs"])
        data = get_modality(self.modality).reader.stack(examples)
        ds = ArrayDataset(data, np.zeros(len(examples), np.int64), modality=self.modality,
                          sample_rate=self.card["pipeline"]["inputs"].get("sample_rate"))
        logits = predict(self.model, ds, collate=self.collate or image_collate, device=self.device)
        return names, torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy()

    def predict_proba(self, inputs: Any) -> np.ndarray:
        """Class probabilities ``(N, C)`` (columns in :attr:`classes` order; rows sum to 1).

        Args:
            inputs: file paths or folders, or in-memory examples (uint8 ``(H, W, C)`` images,
                strings, float mono waveforms at the training sample rate); see
                :func:`scarce.deliver.inputs.read_inputs`.
        """
        return self.predict_named(inputs)[1]

    def predict(self, inputs: Any) -> list[str]:
        """The predicted class name of every example (see :meth:`predict_proba` for ``inputs``)."""
        return [self.classes[i] for i in self.predict_proba(inputs).argmax(1)]


def load_model(path: str | Path, *, device: str = "auto") -> SavedModel:
    """Load a model folder written by ``scarce train`` (JSON + safetensors, never pickle).

    Args:
        path: the model folder (``card.json`` and ``model.safetensors``).
        device: where to run it (``auto``: CUDA if available, else CPU).

    Returns:
        A :class:`SavedModel` with ``classes``, ``modality``, ``predict`` and ``predict_proba``.

    Raises:
        FileNotFoundError: a missing folder, card or weights file.
        ValueError: a card that does not parse or lacks a field, weights whose SHA-256 differs from
            the card's (altered or corrupted), weights that do not fit the model the card describes.

    Example:
        >>> model = load_model("model/")  # doctest: +SKIP
        >>> model.predict(["photo.png"])  # doctest: +SKIP
        ['cat']
    """
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load as load_safetensors

    from scarce._torch import resolve_device
    from scarce.deliver.parts import rebuild

    folder = Path(path)
    card = read_card(folder)
    pipeline = get_modality(card["modality"]).pipeline
    data = (folder / WEIGHTS).read_bytes()  # hashed and loaded from the same bytes
    if sha256_of(data) != card["weights"]["sha256"]:
        raise ValueError(f"Weights '{folder / WEIGHTS}' do not match the card: their SHA-256 differs from "
                         f"`weights.sha256` in {CARD} (altered or corrupted). Refusing to load them.")
    try:
        state = load_safetensors(data)
    except (SafetensorError, ValueError) as err:
        raise ValueError(f"Weights '{folder / WEIGHTS}' are not a readable safetensors file ({err}).") from None
    base_fn, base_collate = pipeline.build(card["pipeline"])
    try:  # a remedy's parts (a backbone, a probe head, a wrapper), built without any pretrained weight
        model_fn, collate = rebuild(card.get("model_parts"), model_fn=base_fn, collate=base_collate)
    except (KeyError, TypeError, ValueError) as err:
        raise _refuse(folder / CARD, f"field `model_parts` does not describe a model this scarce rebuilds ({err})") from None
    with torch.random.fork_rng():  # initialisation draws are overwritten; the caller's RNG stays as it was
        model = model_fn(len(card["classes"]))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise ValueError(f"Weights '{folder / WEIGHTS}' do not fit the model the card describes ({first}).") from None
    device = resolve_device(device)
    return SavedModel(model=model.to(device).eval(), collate=collate, card=card, path=folder, device=device)


def prediction_table(names: Sequence[str], proba: np.ndarray, classes: Sequence[str], *,
                     top: int | None = None) -> list[list[Any]]:
    """Rows of a predictions CSV, header first: ``input, prediction`` then the probability of every
    class (``p_<class>``), or with ``top`` the ``top`` likeliest classes and their probabilities."""
    if top is None:
        header = ["input", "prediction"] + [f"p_{c}" for c in classes]
        return [header] + [[n, classes[int(p.argmax())]] + [f"{v:.6f}" for v in p] for n, p in zip(names, proba)]
    k = min(top, len(classes))
    header = ["input", "prediction"] + [h for i in range(1, k + 1) for h in (f"top{i}", f"p_top{i}")]
    rows = [header]
    for n, p in zip(names, proba):
        order = np.argsort(-p, kind="stable")[:k]
        rows.append([n, classes[int(order[0])]] + [v for j in order for v in (classes[int(j)], f"{p[j]:.6f}")])
    return rows


def predict_command(model_dir: str | Path, inputs: Sequence[str], *, out: str | Path | None = None,
                    top: int | None = None) -> str:
    """``scarce predict``: the predictions as CSV text, or written to ``out`` (atomically) with a
    one-line message returned instead. Files and folders are the inputs (texts come in a CSV with a
    ``text`` column or a ``.txt`` file)."""
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 1):
        raise ValueError(f"`--top` must be a positive integer, got {top!r}.")
    if out is not None and Path(out).is_dir():
        raise ValueError(f"`--out` must be a CSV file path, got the folder '{out}'.")
    model = load_model(model_dir)
    names, proba = model.predict_named([Path(p) for p in inputs])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(prediction_table(names, proba, model.classes, top=top))
    if out is None:
        return buffer.getvalue().rstrip("\n")
    atomic_write_text(out, buffer.getvalue())
    return f"Wrote {len(names)} prediction(s) to {out}"
