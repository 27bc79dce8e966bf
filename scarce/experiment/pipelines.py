"""Per-modality wiring of a cell: how to build the model and collate batches for a training
subset, and which raw features the logistic-regression reference uses.

``PIPELINES[modality](model=ModelConfig, train=dataset, num_classes=int) -> (model_fn, collate)``
where ``model_fn(num_classes) -> nn.Module`` (a model of :mod:`scarce.models`) and ``collate``
may be ``None`` (the engine's image collate). ``FEATURIZERS[modality]()`` returns an object with
``fit_transform(ds)`` and ``transform(ds)`` giving 2-D float arrays (scikit-learn style), fitted on
the training part only. Featurizers are registered lazily (``"module:attr"``) so that nothing heavy
is imported before it is needed.
"""

from __future__ import annotations

import numpy as np
import torch

from scarce.models import create_model, resolve_name
from scarce.registry import Registry

PIPELINES = Registry("modality pipeline")
FEATURIZERS = Registry("raw-feature featurizer")

TEXT_TOKENIZER_OPTIONS = ("ngrams", "max_tokens")
AUDIO_FRONT_END_OPTIONS = ("n_mels", "win_seconds", "hop_seconds", "max_seconds")


@PIPELINES.register("image", help="image models of scarce.models on uint8 HWC images")
def image_pipeline(*, model, train, num_classes: int):
    x = np.asarray(train.get(0))
    channels, size = (x.shape[2] if x.ndim == 3 else 1), int(min(x.shape[:2]))
    name = resolve_name(model.name, modality="image", image_size=size)

    def build(n: int):
        return create_model(name, num_classes=n, in_channels=channels, image_size=size, **model.options)

    return build, None


@PIPELINES.register("text", help="hashed n-gram models (bag of embeddings, linear) with their tokenising collate")
def text_pipeline(*, model, train, num_classes: int):
    """Options ``ngrams`` and ``max_tokens`` go to the tokeniser; ``buckets`` to both; the rest to the model."""
    from scarce.models.text import HashedNgrams

    name = resolve_name(model.name, modality="text")
    opts = dict(model.options)
    tok = {k: opts.pop(k) for k in TEXT_TOKENIZER_OPTIONS if k in opts}
    collate = HashedNgrams(buckets=opts.get("buckets", 2**16), **tok)
    with torch.random.fork_rng():  # bad options fail here, cheaply, leaving the caller's RNG as it was
        create_model(name, num_classes=num_classes, **{**opts, "buckets": 16})

    def build(n: int):
        return create_model(name, num_classes=n, **opts)

    return build, collate


@PIPELINES.register("audio", help="log-mel collate (B, 2, mels, T) + audio models")
def audio_pipeline(*, model, train, num_classes: int):
    """Log-mels are computed in the collate (so SpecAugment, a batch transform, acts on them on the
    device). ``model.options`` may hold front-end settings (``n_mels``, ``win_seconds``,
    ``hop_seconds``, ``max_seconds``; see :class:`~scarce.models.audio_frontend.MelConfig`); the rest
    go to the model."""
    from scarce.models.audio_frontend import LogMelCollate, MelConfig

    rate = getattr(train, "sample_rate", None)
    if rate is None:
        raise ValueError("An audio training set must carry `sample_rate` (Hz), got None.")
    name = resolve_name(model.name, modality="audio")
    options = dict(model.options)
    front = {k: options.pop(k) for k in AUDIO_FRONT_END_OPTIONS if k in options}
    cfg = MelConfig(sample_rate=int(rate), **front)

    def build(n: int):
        return create_model(name, num_classes=n, n_mels=cfg.n_mels, **options)

    return build, LogMelCollate(cfg)


FEATURIZERS.register("image", "scarce.models.image:FlatPixels", help="raw pixels, flattened")
FEATURIZERS.register("text", "scarce.models.text:TfidfFeatures", help="TF-IDF of word unigrams and bigrams")
FEATURIZERS.register("audio", "scarce.models.audio_frontend:MfccStats", help="MFCC mean + std per clip")
