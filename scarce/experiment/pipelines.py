"""Per-modality wiring of a cell: how to build the model and collate batches for a training
subset, and which raw features the logistic-regression reference uses.

``PIPELINES[modality](model=ModelConfig, train=dataset, num_classes=int) -> (model_fn, collate)``
where ``model_fn(num_classes) -> nn.Module`` and ``collate`` may be ``None`` (the engine's image
collate). ``FEATURIZERS[modality]()`` returns an object with ``fit_transform(ds)`` and
``transform(ds)`` giving 2-D float arrays (scikit-learn style), fitted on the training part only.
Other modalities register theirs lazily (``"module:attr"``) so that nothing heavy is imported
before it is needed.
"""

from __future__ import annotations

import numpy as np

from scarce.registry import Registry

PIPELINES = Registry("modality pipeline")
FEATURIZERS = Registry("raw-feature featurizer")


@PIPELINES.register("image", help="models from scarce.models on uint8 HWC images")
def image_pipeline(*, model, train, num_classes: int):
    from scarce.models import create_model

    x = np.asarray(train.get(0))
    channels = x.shape[2] if x.ndim == 3 else 1

    def build(n: int):
        return create_model(model.name, num_classes=n, in_channels=channels, image_size=int(min(x.shape[:2])),
                            **model.options)

    return build, None


class FlatPixels:
    """Raw pixels scaled to [0, 1], flattened."""

    def fit_transform(self, ds):
        return self.transform(ds)

    def transform(self, ds):
        return np.stack([np.asarray(ds.get(i), np.float32).ravel() / 255.0 for i in range(len(ds))])


FEATURIZERS.register("image", FlatPixels, help="raw pixels, flattened")

PIPELINES.register("text", "scarce.text_models:text_pipeline", help="hashed n-gram models (bag of embeddings, linear)")
FEATURIZERS.register("text", "scarce.text_models:TfidfFeatures", help="TF-IDF of word unigrams and bigrams")

PIPELINES.register("audio", "scarce.audio_models:audio_pipeline",
                   help="log-mel collate (B, 2, mels, T) + audio models (audio_tdnn, audio_cnn2d)")
FEATURIZERS.register("audio", "scarce.audio_features:MfccStats", help="MFCC mean + std per clip")
