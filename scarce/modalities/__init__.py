"""The kinds of data scarce handles, one :class:`Modality` object per kind, in one registry.

Everything that depends on the kind of data lives in its modality object, never in an if-chain on
``"image"``/``"text"``/``"audio"`` spread over the engine:

========================  ===================================================================
``auto_model``            the rule that ``model.name: auto`` follows (:class:`AutoModel`; the
                          ``scarce list models`` line is derived from the same rule)
``preprocessing``         what is done to an input before the model sees it (the model card)
``pipeline``              base model + collate of a training part, ``describe``/``build`` for
                          the card (a :class:`scarce.experiment.pipelines.Pipeline`)
``featurizer``            the raw features of the logistic-regression reference (a factory
                          taking the featurizer's options; ``fit_transform``/``transform``)
``reader``                how a saved model's prediction inputs are read and checked
                          (a :class:`scarce.deliver.inputs.InputReader`)
``display``               how examples and what a remedy does to them are shown in a preview
                          (a :class:`scarce.preview.display.Display`)
========================  ===================================================================

Where it lives, and why: this package is on floor 0, so that every floor can ask a modality
object (``data`` takes its list of names from here, ``models`` its ``auto`` rule, the engine its
pipeline and featurizer, ``deliver`` and ``preview`` their reader and display). The plain aspects
(the ``auto`` rule, the card text) are held directly; the four aspects implemented on higher
floors are lazy ``"module:attr"`` plug-ins (as in :mod:`scarce.remedies.catalogue`), imported
when first asked for, so nothing here imports upward and listing imports nothing heavy.

A new modality is one :func:`register_modality` call with a complete object (every aspect is a
required keyword; the contract tests in ``tests/test_registry_contracts.py`` check what each
plug-in does); no engine code changes.

Example:
    >>> get_modality("image").auto_model.choose(image_size=28)
    'small_cnn'
    >>> get_modality("text").auto_model.help
    'bag_of_embeddings'
    >>> modality_names()
    ('image', 'text', 'audio')
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from scarce._checks import check_int
from scarce.registry import Registry, call_factory

PLUGINS = ("pipeline", "featurizer", "reader", "display")
"""The aspects a modality gives as plug-ins (an object, or a lazy ``"module:attr"`` path to it)."""

MODALITY_REGISTRY = Registry("modality")


@dataclass(frozen=True)
class AutoModel:
    """What ``model.name: auto`` resolves to: ``default``, or ``small`` for images below ``below_px``.

    Args:
        default: the model's registered name.
        small: the model for small images (``None``: the size does not matter).
        below_px: images whose smaller side is below this many pixels take ``small``.
    """

    default: str
    small: str | None = None
    below_px: int | None = None

    def __post_init__(self) -> None:
        if (self.small is None) != (self.below_px is None):
            raise ValueError("`small` and `below_px` must be given together (or neither), got "
                             f"small={self.small!r}, below_px={self.below_px!r}.")
        if self.below_px is not None:
            check_int("below_px", self.below_px, minimum=1)

    def choose(self, *, image_size: int | None = None) -> str:
        """The model name for inputs of ``image_size`` px (``None``: unknown, the default)."""
        if self.small is not None and image_size is not None and image_size < self.below_px:
            return self.small
        return self.default

    @property
    def help(self) -> str:
        """The rule in words (the ``auto`` line of ``scarce list models``)."""
        if self.small is None:
            return self.default
        return f"{self.small} below {self.below_px} px, {self.default} from {self.below_px} px"


def _load(plugin: Any) -> Any:
    if not isinstance(plugin, str):
        return plugin
    module, _, attr = plugin.partition(":")
    return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True, kw_only=True)
class Modality:
    """One kind of data and everything that depends on it (see the module doc for each aspect).

    Every field is a required keyword, so an object lacking an aspect cannot be made.

    Args:
        name: the modality's name (what datasets declare as ``modality``).
        help: one line on what its examples are.
        auto_model: the rule ``model.name: auto`` follows.
        preprocessing: what is done to an input before the model sees it, for the model card.
        pipeline_at: the model pipeline (an object, or a lazy ``"module:attr"`` path to it).
        featurizer_at: the factory of the logistic reference's featurizer (object or path).
        reader_at: the reader of prediction inputs (object or path).
        display_at: the preview display (object or path).

    The properties ``pipeline``, ``reader``, ``display`` and the method ``featurizer`` return the
    plug-ins' objects, importing them first.

    Raises:
        ValueError: a name that is not an identifier, an empty text, a plug-in that is ``None`` or
            a string without ``:``.
    """

    name: str
    help: str
    auto_model: AutoModel
    preprocessing: str
    pipeline_at: Any
    featurizer_at: Any
    reader_at: Any
    display_at: Any

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"`name` must be a lower-case identifier, got {self.name!r}.")
        if not isinstance(self.auto_model, AutoModel):
            raise TypeError(f"`auto_model` must be an AutoModel, got {type(self.auto_model).__name__}.")
        for key in ("help", "preprocessing"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key).strip():
                raise ValueError(f"Modality '{self.name}': `{key}` must be a non-empty string.")
        for aspect in PLUGINS:
            plugin = getattr(self, f"{aspect}_at")
            if plugin is None or (isinstance(plugin, str) and ":" not in plugin):
                raise ValueError(f"Modality '{self.name}': `{aspect}_at` must be an object or a 'module:attr' "
                                 f"path, got {plugin!r}.")

    @property
    def pipeline(self) -> Any:
        """The model pipeline: ``pipeline(model=ModelConfig, train=part, num_classes=C) -> (model_fn, collate)``."""
        return _load(self.pipeline_at)

    @property
    def reader(self) -> Any:
        """The reader of prediction inputs (:class:`scarce.deliver.inputs.InputReader`)."""
        return _load(self.reader_at)

    @property
    def display(self) -> Any:
        """The preview display (:class:`scarce.preview.display.Display`)."""
        return _load(self.display_at)

    def featurizer(self, **options: Any) -> Any:
        """A new featurizer of the logistic reference (``fit_transform(ds)``/``transform(ds)`` -> 2-D
        float arrays); bad ``options`` raise ``ValueError`` naming the modality."""
        return call_factory("raw-feature featurizer", self.name, _load(self.featurizer_at), options)


def register_modality(modality: Modality) -> Modality:
    """Add ``modality`` to the registry (after the built-ins, in the order of registration)."""
    if not isinstance(modality, Modality):
        raise TypeError(f"`modality` must be a Modality, got {type(modality).__name__}.")
    return MODALITY_REGISTRY.register(modality.name, modality, help=modality.help, order=len(MODALITY_REGISTRY.names()))


def get_modality(name: str) -> Modality:
    """The modality object called ``name``; unknown names raise ``ValueError`` with a "did you mean"."""
    return MODALITY_REGISTRY.get(name)


def modality_names() -> tuple[str, ...]:
    """The registered modality names, in the order they were registered (built-ins first)."""
    return tuple(sorted(MODALITY_REGISTRY.names(), key=lambda n: MODALITY_REGISTRY.meta(n)["order"]))


register_modality(Modality(
    name="image", help="images: uint8 (H, W, C) arrays of one size, or image files",
    auto_model=AutoModel(default="resnet18", small="small_cnn", below_px=32),
    preprocessing="decoded to uint8 HWC (mode L for 1 channel, RGB for 3), of the training size; then "
                  "(x / 255 - 0.5) / 0.25, channels first",
    pipeline_at="scarce.experiment.pipelines:IMAGE_PIPELINE",
    featurizer_at="scarce.models.image:FlatPixels",
    reader_at="scarce.deliver.inputs:IMAGE_READER",
    display_at="scarce.preview.display:IMAGE_DISPLAY"))
register_modality(Modality(
    name="text", help="texts: str examples, or CSV / .txt files",
    auto_model=AutoModel(default="bag_of_embeddings"),
    preprocessing="lower-cased word tokens and their n-grams hashed into `buckets` ids (HashedNgrams)",
    pipeline_at="scarce.experiment.pipelines:TEXT_PIPELINE",
    featurizer_at="scarce.models.text:TfidfFeatures",
    reader_at="scarce.deliver.inputs:TEXT_READER",
    display_at="scarce.preview.display:TEXT_DISPLAY"))
register_modality(Modality(
    name="audio", help="audio: float32 mono waveforms at the dataset's sample rate, or audio files",
    auto_model=AutoModel(default="audio_tdnn"),
    preprocessing="float32 mono waveform at `sample_rate`, centre-cropped to `max_seconds`, standardised log-mel "
                  "(LogMelCollate)",
    pipeline_at="scarce.experiment.pipelines:AUDIO_PIPELINE",
    featurizer_at="scarce.models.audio_frontend:MfccStats",
    reader_at="scarce.deliver.inputs:AUDIO_READER",
    display_at="scarce.preview.display:AUDIO_DISPLAY"))
