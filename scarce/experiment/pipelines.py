"""Per-modality wiring of a cell: how to build the model and collate batches for a training subset.

A modality's pipeline is the ``pipeline`` plug-in of its :class:`~scarce.modalities.Modality`
(``get_modality(m).pipeline``); the built-in ones are the :class:`Pipeline` instances here
(:data:`IMAGE_PIPELINE`, :data:`TEXT_PIPELINE`, :data:`AUDIO_PIPELINE`).
``pipeline(model=ModelConfig, train=dataset, num_classes=int) -> (model_fn, collate)`` where
``model_fn(num_classes) -> nn.Module`` (a model of :mod:`scarce.models`) and ``collate`` may be
``None`` (the engine's image collate). A pipeline works in two steps: :meth:`~Pipeline.describe`
reads what the model needs from the training data (input channels and size, sample rate) into a
JSON-able description, and :meth:`~Pipeline.build` makes ``(model_fn, collate)`` from that
description alone, so that a saved model is rebuilt without its training data (``scarce train`` /
``scarce.load_model``).

The raw features of the logistic-regression reference are the modality's ``featurizer`` plug-in
(``get_modality(m).featurizer(**options)``: ``fit_transform(ds)`` and ``transform(ds)`` giving 2-D
float arrays, fitted on the training part only).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from scarce.models import create_model, resolve_name

TEXT_TOKENIZER_OPTIONS = ("ngrams", "max_tokens")
AUDIO_FRONT_END_OPTIONS = ("n_mels", "win_seconds", "hop_seconds", "max_seconds")


class Pipeline:
    """A modality's wiring in two steps, ``describe`` then ``build``; calling it does both.

    ``describe(model=ModelConfig, train=dataset)`` returns a JSON-able mapping with at least
    ``model`` (the resolved model name), ``model_options`` (every keyword of ``create_model`` but
    ``num_classes``), ``collate`` (the collate's settings) and ``inputs`` (what one input example
    must be, e.g. an image's height, width and channels or a clip's sample rate).
    ``build(description)`` returns ``(model_fn, collate)`` from it alone.
    """

    def describe(self, *, model, train) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def build(self, description: Mapping[str, Any]) -> tuple[Callable[[int], Any], Callable | None]:
        name, options = description["model"], dict(description["model_options"])

        def model_fn(n: int):
            return create_model(name, num_classes=n, **options)

        return model_fn, self.collate(description["collate"])

    def collate(self, settings: Mapping[str, Any]) -> Callable | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, *, model, train, num_classes: int):
        return self.build(self.describe(model=model, train=train))


def _inferred(options: Mapping[str, Any], keys: tuple[str, ...], modality: str) -> None:
    given = sorted(set(options) & set(keys))
    if given:
        raise ValueError(f"`model.options.{given[0]}` is inferred from the {modality} data; remove it from the config.")


class ImagePipeline(Pipeline):
    """Image models of scarce.models on uint8 HWC images (all of one size), the engine's image collate."""

    def describe(self, *, model, train) -> dict:
        x = np.asarray(train.get(0))
        height, width = int(x.shape[0]), int(x.shape[1])
        channels, size = (x.shape[2] if x.ndim == 3 else 1), min(height, width)
        _inferred(model.options, ("in_channels", "image_size"), "image")
        name = resolve_name(model.name, modality="image", image_size=size)
        return {"model": name, "model_options": {**model.options, "in_channels": int(channels), "image_size": size},
                "collate": {"name": "image", "scale": "(x / 255 - 0.5) / 0.25"},
                "inputs": {"height": height, "width": width, "channels": int(channels)}}

    def collate(self, settings):
        return None  # the engine's image_collate


class TextPipeline(Pipeline):
    """Hashed n-gram models (bag of embeddings, linear) with their tokenising collate.

    Options ``ngrams`` and ``max_tokens`` go to the tokeniser; ``buckets`` to both; the rest to the model.
    """

    def describe(self, *, model, train) -> dict:
        name = resolve_name(model.name, modality="text")
        opts = dict(model.options)
        tok = {k: opts.pop(k) for k in TEXT_TOKENIZER_OPTIONS if k in opts}
        tokenizer = self.collate({"buckets": opts.get("buckets", 2**16), **tok})  # bad tokeniser options fail here
        settings = {"name": "hashed_ngrams", "buckets": tokenizer.buckets, "ngrams": tokenizer.ngrams,
                    "max_tokens": tokenizer.max_tokens}
        with torch.random.fork_rng():  # bad options fail here, cheaply, leaving the caller's RNG as it was
            create_model(name, num_classes=train.num_classes, **{**opts, "buckets": 16})
        return {"model": name, "model_options": opts, "collate": settings, "inputs": {}}

    def collate(self, settings):
        from scarce.models.text import HashedNgrams

        return HashedNgrams(**{k: v for k, v in settings.items() if k != "name"})


class AudioPipeline(Pipeline):
    """Log-mel collate (B, 2, mels, T) + audio models.

    Log-mels are computed in the collate (so SpecAugment, a batch transform, acts on them on the
    device). ``model.options`` may hold front-end settings (``n_mels``, ``win_seconds``,
    ``hop_seconds``, ``max_seconds``; see :class:`~scarce.models.audio_frontend.MelConfig`); the rest
    go to the model.
    """

    def describe(self, *, model, train) -> dict:
        from scarce.models.audio_frontend import MelConfig

        rate = getattr(train, "sample_rate", None)
        if rate is None:
            raise ValueError("An audio training set must carry `sample_rate` (Hz), got None.")
        name = resolve_name(model.name, modality="audio")
        options = dict(model.options)
        front = {k: options.pop(k) for k in AUDIO_FRONT_END_OPTIONS if k in options}
        cfg = MelConfig(sample_rate=int(rate), **front)
        settings = {"name": "log_mel", **dataclasses.asdict(cfg)}
        return {"model": name, "model_options": {**options, "n_mels": cfg.n_mels}, "collate": settings,
                "inputs": {"sample_rate": cfg.sample_rate}}

    def collate(self, settings):
        from scarce.models.audio_frontend import LogMelCollate, MelConfig

        return LogMelCollate(MelConfig(**{k: v for k, v in settings.items() if k != "name"}))


IMAGE_PIPELINE = ImagePipeline()
"""Image models of scarce.models on uint8 HWC images."""
TEXT_PIPELINE = TextPipeline()
"""Hashed n-gram models (bag of embeddings, linear) with their tokenising collate."""
AUDIO_PIPELINE = AudioPipeline()
"""Log-mel collate (B, 2, mels, T) + audio models."""
