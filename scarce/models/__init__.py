"""The classifiers scarce trains from scratch, for every modality, behind one factory.

``create_model(name, num_classes=..., **inputs)`` builds a registered model; what ``inputs`` it
needs depends on its modality (``in_channels`` and ``image_size`` for images, ``n_mels`` for
audio's log-mel batches, nothing for text's hashed n-gram ids); other keywords are the model's
options. ``"auto"`` with ``modality=`` picks the modality's default (:func:`auto_model`).
``list_models(modality=None)`` lists them. Models are registered lazily, so listing imports no torch.

Example:
    >>> list_models("text")
    ['bag_of_embeddings', 'hashed_linear']
    >>> m = create_model("auto", modality="image", num_classes=10, in_channels=1, image_size=8)
    >>> type(m).__name__
    'Sequential'
"""

from __future__ import annotations

from typing import Any

from scarce._checks import check_choice, check_int
from scarce.modalities import get_modality, modality_names
from scarce.registry import Registry

MODELS = Registry("model")

for _name, _where, _modality, _help in (
    ("small_cnn", "image:small_cnn", "image", "3-block CNN with BatchNorm and global pooling (any size >= 8 px)"),
    ("resnet18", "image:resnet18", "image", "torchvision ResNet-18, no weights, CIFAR stem (3x3, no max-pool)"),
    ("bag_of_embeddings", "text:BagOfEmbeddings", "text",
     "fastText-style mean of hashed n-gram embeddings -> dropout -> linear"),
    ("hashed_linear", "text:HashedLinear", "text",
     "logistic regression on the bag of hashed n-grams (weight decay = its regularisation)"),
    ("audio_tdnn", "audio:AudioTDNN", "audio", "1-D time-delay CNN over log-mels with statistics pooling"),
    ("audio_cnn2d", "audio:AudioCNN2d", "audio", "2-D CNN over (mel, time), masked mean pooling"),
):
    MODELS.register(_name, f"scarce.models.{_where}", modality=_modality, help=_help)


def auto_model(modality: str, *, image_size: int | None = None) -> str:
    """The default model of a modality (what ``"auto"`` means): its modality object's rule
    (:class:`scarce.modalities.AutoModel`, whose ``help`` says it in words)."""
    check_choice("modality", modality, modality_names())
    return get_modality(modality).auto_model.choose(image_size=image_size)


def model_modality(name: str) -> str:
    """The modality a registered model takes; unknown names raise with a "did you mean"."""
    return MODELS.meta(name)["modality"]


def create_model(name: str, *, num_classes: int, modality: str | None = None, **kwargs: Any):
    """Build a registered model (an ``nn.Module`` mapping a batch of its modality to ``(B, num_classes)``).

    Args:
        name: a registered name, or ``"auto"`` (then ``modality`` is needed; for images the
            default depends on ``image_size``).
        num_classes: number of outputs (at least 2).
        modality: only for ``"auto"``, or to check that ``name`` takes that modality.
        kwargs: the modality's inputs (images: ``in_channels`` (3), ``image_size`` (32); audio:
            ``n_mels``) and the model's options (e.g. ``width`` for ``small_cnn``).

    Raises:
        ValueError: unknown name, a model of another modality than ``modality``, bad options.
    """
    check_int("num_classes", num_classes, minimum=2)
    name = resolve_name(name, modality=modality, image_size=kwargs.get("image_size", 32))
    return MODELS.create(name, num_classes=num_classes, **kwargs)


def resolve_name(name: str, *, modality: str | None = None, image_size: int | None = 32) -> str:
    """``name`` with ``"auto"`` resolved for ``modality`` (:func:`auto_model`); a model registered for
    another modality than ``modality`` is refused. Unknown names raise with a "did you mean"."""
    if name == "auto":
        if modality is None:
            raise ValueError("`create_model('auto')` needs `modality=` (one of 'image', 'text', 'audio').")
        return auto_model(modality, image_size=image_size)
    if modality is not None and model_modality(name) != modality:
        raise ValueError(f"Model '{name}' takes {model_modality(name)} data, not {modality} "
                         f"(models for {modality}: {list_models(modality)}).")
    return name


def list_models(modality: str | None = None) -> list[str]:
    """Registered model names (of one modality, if given), sorted."""
    if modality is None:
        return MODELS.names()
    check_choice("modality", modality, modality_names())
    return MODELS.names(modality=modality)
