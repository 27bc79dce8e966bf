"""Transfer-learning remedies: a pretrained backbone replaces the from-scratch model.

* ``linear_probe``: frozen backbone features (computed once per image, disk-cached) + a linear head;
* ``finetune``: ``strategy: finetune_last`` (``n_stages``) or ``finetune_all``, pretrained layers at
  a lower rate (``backbone_lr_scale``), optional layer-wise decay (``decay``);
* ``truncate``: the first ``n_stages`` only, frozen (cached features, default) or fine-tuned;
* ``gradual_unfreeze``: head first, then one more stage every ``every`` steps.

Each sets the setup's own ``model_fn`` and ``collate`` (resizing + the backbone's normalisation,
not the engine's ``(x/255-0.5)/0.25``). Greyscale images are repeated to three channels
explicitly (``grayscale: repeat``, the default, noted in the results) or refused
(``grayscale: error``). Augmentation composes with ``finetune``/``gradual_unfreeze`` in a chain;
the frozen-feature remedies exclude a per-sample or batch transform in their ``changes`` (features
would have to be recomputed for every augmented view), so such a chain is refused before any work.

Process-wide caches: the pretrained backbones read so far (at most ``MAX_BACKBONES``, least
recently used dropped first; each is deep-copied per model) and the open feature caches (at most
``MAX_FEATURE_CACHES`` folders). :func:`clear_caches` empties both, e.g. to free memory between
sweeps in one process; nothing numeric depends on them (a dropped entry is read again from disk).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np

from scarce._cache import resolve_cache_dir
from scarce._checks import check_choice, check_float, check_int
from scarce._lru import lru_get
from scarce.remedies.base import Delegate, Remedy, TrainSetup, register_remedy
from scarce.remedies.composition import Changes

MAX_BACKBONES = 2
MAX_FEATURE_CACHES = 4
_CACHES: OrderedDict = OrderedDict()
_BACKBONE_STATE: OrderedDict = OrderedDict()


def clear_caches() -> None:
    """Forget the pretrained backbones and feature caches held by this process."""
    _CACHES.clear()
    _BACKBONE_STATE.clear()


def _cache(cache_dir):
    """The process's open :class:`FeatureCache` for a ``cache_dir`` option (``None``: no cache)."""
    from scarce.backbones.cache import FeatureCache

    folder = resolve_cache_dir(cache_dir, kind="features")
    if folder is None:
        return None
    root = str(folder)
    return lru_get(_CACHES, root, lambda: FeatureCache(root), bound=MAX_FEATURE_CACHES)


def load_backbone(name: str, pretrained, *, download: bool = False):
    """A fresh backbone; the pretrained weights are read once per process and copied after.
    Weights that are not on disk are downloaded only with ``download=True``."""
    import copy

    from scarce.backbones import create_backbone

    state = lru_get(_BACKBONE_STATE, (name, str(pretrained)),
                    lambda: create_backbone(name, pretrained=pretrained, download=download), bound=MAX_BACKBONES)
    return copy.deepcopy(state)


def _channels(setup: TrainSetup) -> int:
    if setup.train.modality != "image":
        raise ValueError(f"Transfer remedies take image data, got modality '{setup.train.modality}'.")
    x = np.asarray(setup.train.get(0))
    return x.shape[2] if x.ndim == 3 else 1


@dataclass(frozen=True)
class _Common(Remedy):
    backbone: str = "efficientnet_lite0"
    pretrained: bool | str = True
    size: int | None = 96
    grayscale: str = "repeat"
    download: bool = False

    def _check_common(self) -> None:
        from scarce.backbones import BACKBONES

        BACKBONES.get(self.backbone)  # unknown name → "did you mean", before any work
        if self.size is not None:
            check_int("size", self.size, minimum=16)
        check_choice("grayscale", self.grayscale, ("repeat", "error"))
        if not isinstance(self.download, bool):
            raise ValueError(f"`download` must be true or false, got {self.download!r}.")

    def _prepare(self, setup: TrainSetup, *, pretrained=None):
        from scarce.backbones.base import Preprocess

        channels = _channels(setup)
        if channels == 1 and self.grayscale == "error":
            raise ValueError(f"Backbone '{self.backbone}' takes 3-channel images and the data has 1; set "
                             "`grayscale: repeat` to repeat the grey channel explicitly.")
        pretrained = self.pretrained if pretrained is None else pretrained
        bb = load_backbone(self.backbone, pretrained, download=self.download)
        notes = {"backbone": self.backbone, "pretrained": str(self.pretrained), "input_size": self.size or
                 bb.data_config.size}
        if channels == 1:
            notes["grayscale"] = "repeated to 3 channels"
        return bb, Preprocess(bb.data_config, size=self.size, grayscale=self.grayscale), notes

    def preview_apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        """What the backbone is fed, for ``scarce preview``: the setup with the backbone's
        preprocessing (resize, grey channel, normalisation) as its collate. Only the architecture's
        data config is used: no pretrained weights are read and no feature is computed."""
        from scarce.backbones.base import Collate

        _, pre, notes = self._prepare(setup, pretrained=False)
        return replace(setup, collate=Collate(pre)).with_notes(**notes)


def _probe_head(dim: int, mean: np.ndarray, std: np.ndarray, num_classes: int):
    from torch import nn

    from scarce.backbones.strategies import Standardize

    return nn.Sequential(Standardize(mean, std), nn.Linear(dim, num_classes))


class HeadFn:
    """``model_fn`` of a probe: the training features' standardisation + a linear head."""

    def __init__(self, dim, mean, std):
        self.dim, self.mean, self.std = dim, mean, std

    def __call__(self, num_classes: int):
        return _probe_head(self.dim, self.mean, self.std, num_classes)

    def card_part(self, describe) -> dict:
        """Its description for a model card (the statistics are buffers, saved with the weights)."""
        return {"kind": "probe_head", "feature_dim": int(self.dim), "head": "Standardize (training features' mean "
                "and std, saved) then Linear(feature_dim, classes)"}

    @classmethod
    def from_card(cls, description: dict, build) -> "HeadFn":
        dim = int(description["feature_dim"])
        return cls(dim, np.zeros(dim, np.float32), np.ones(dim, np.float32))


class FeatureCollate:
    """``list[(image, label)]`` → (frozen features, labels), through the extractor's cache.

    For a saved model (``scarce.deliver.parts``) it names the registered ``backbone`` its
    extractor runs (the first ``n_stages`` of it; ``None``: all) and hands that frozen backbone to
    the saved model, its own weights included, behind the extractor's preprocessing.
    """

    def __init__(self, extractor, *, backbone: str | None = None, n_stages: int | None = None) -> None:
        self.extractor, self.backbone, self.n_stages = extractor, backbone, n_stages

    def delivered(self):
        """``(collate of raw images, frozen backbone)``: the backbone moves into the saved model."""
        from scarce.backbones.base import Collate

        return Collate(self.extractor.preprocess), self.extractor.backbone.headless()

    def card_part(self, describe) -> dict:
        if self.backbone is None:
            raise ValueError("This FeatureCollate does not name its registered backbone; a saved model cannot "
                             "rebuild it (pass `backbone=`).")
        bb, pre = self.extractor.backbone, self.extractor.preprocess
        return {"kind": "frozen_features", "backbone": self.backbone, "n_stages": self.n_stages,
                "feature_dim": int(bb.num_features), "frozen": "every stage (weights saved in model.safetensors)",
                "preprocess": pre.describe(),
                "what": f"{pre.in_words()}; then the frozen {self.backbone} backbone"
                        + (f" (first {self.n_stages} stages)" if self.n_stages else "") + ", average-pooled"}

    @classmethod
    def from_card(cls, description: dict, build) -> tuple:
        """``(collate, front)``: the preprocessing and a builder of the backbone's architecture
        (no pretrained weights read: the saved weights fill it)."""
        from scarce.backbones import create_backbone
        from scarce.backbones.base import Collate, Preprocess

        name, n = description["backbone"], description["n_stages"]

        def front():
            bb = create_backbone(name, pretrained=False)
            return (bb.truncated(n) if n is not None else bb).headless()

        return Collate(Preprocess.from_description(description["preprocess"])), front

    def __call__(self, batch):
        import torch

        from scarce._torch import labels_to_tensor

        x = torch.from_numpy(self.extractor([b[0] for b in batch]))
        ys = [b[1] for b in batch]
        y = labels_to_tensor(ys)
        return x, y


@register_remedy("linear_probe", help="frozen pretrained features (disk-cached) + linear head")
@dataclass(frozen=True)
class LinearProbe(_Common):
    """Frozen pretrained features (cached on disk) + a linear head trained by the engine.

    Options: ``backbone``, ``pretrained`` (True/False/path), ``size`` (input px; default 96),
    ``grayscale`` (``repeat``/``error``), ``cache_dir`` (``default``: ``$SCARCE_CACHE/features``,
    i.e. ``~/.cache/scarce/features`` unless set; a folder; ``null`` to recompute), ``n_stages`` (use only the
    first stages: a truncated probe), ``batch_size`` for extraction.
    """

    cache_dir: str | None = "default"
    n_stages: int | None = None
    batch_size: int = 64
    deliverable = True  # its model and collate describe themselves for a card (scarce.deliver.parts)

    changes = Changes(replaces={"model_fn", "collate", "param_groups_fn"},
                      excludes={"transform", "batch_transform", "consistency"}, modalities={"image"},
                      advice="Frozen features are computed once per image (and cached), so they cannot take a "
                      "per-sample or batch augmentation, nor the augmented views of FixMatch; chain the augmentation "
                      "or `fixmatch` with `finetune` instead.")

    def __post_init__(self) -> None:
        self._check_common()
        resolve_cache_dir(self.cache_dir, kind="features")  # a bad value or SCARCE_FEATURE_CACHE fails now
        check_int("batch_size", self.batch_size, minimum=1)
        if self.n_stages is not None:
            check_int("n_stages", self.n_stages, minimum=1)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        from scarce.backbones.cache import FeatureExtractor
        from scarce.backbones.probes import standardization_stats

        bb, pre, notes = self._prepare(setup)
        if self.n_stages is not None:
            check_int("n_stages", self.n_stages, minimum=1, maximum=bb.num_stages)
            bb = bb.truncated(self.n_stages)
            notes["n_stages"] = self.n_stages
        fx = FeatureExtractor(bb, pre, cache_dir=_cache(self.cache_dir), batch_size=self.batch_size, progress=False)
        feats = fx.dataset(setup.train)
        mean, std = standardization_stats(feats)
        collate = FeatureCollate(fx, backbone=self.backbone, n_stages=self.n_stages)
        return replace(setup, model_fn=HeadFn(feats.shape[1], mean, std), collate=collate,
                       param_groups_fn=None).with_notes(**notes, feature_dim=int(feats.shape[1]))


@dataclass(frozen=True)
class FinetuneModelFn:
    """``model_fn`` of the fine-tuning remedies: the backbone (with its pretrained weights) + a new head."""

    backbone: str
    pretrained: bool | str
    strategy: str
    n_stages: int | None
    gradual: int | None
    bn: str
    dropout: float
    download: bool = False

    def __call__(self, num_classes: int):
        from scarce.backbones.strategies import build_transfer_model

        return build_transfer_model(load_backbone(self.backbone, self.pretrained, download=self.download),
                                    num_classes=num_classes,
                                    strategy=self.strategy, n_stages=self.n_stages, gradual=self.gradual, bn=self.bn,
                                    dropout=self.dropout)

    def card_part(self, describe) -> dict:
        """Its description for a model card (every weight, the backbone's included, is saved)."""
        return {"kind": "transfer_model", "backbone": self.backbone, "strategy": self.strategy,
                "n_stages": self.n_stages, "gradual": self.gradual, "bn": self.bn, "dropout": self.dropout,
                "trained_from": f"pretrained weights {self.pretrained!s}"}

    @classmethod
    def from_card(cls, description: dict, build) -> "FinetuneModelFn":
        """The same architecture, built without pretrained weights (the saved weights fill it)."""
        d = description
        return cls(d["backbone"], False, d["strategy"], d["n_stages"], d["gradual"], d["bn"], d["dropout"])


@register_remedy("finetune", help="fine-tune a pretrained backbone (last n stages or all) at a lower rate")
@dataclass(frozen=True)
class Finetune(_Common):
    """Fine-tune a pretrained backbone with a new head through the engine.

    Options: ``strategy`` (``finetune_last``/``finetune_all``), ``n_stages`` (for
    ``finetune_last``; default 2), ``backbone_lr_scale`` (pretrained layers' rate relative to the
    head's; default 0.1), ``decay`` (layer-wise decay per stage; 1 = none), ``bn``
    (``train``/``frozen``), ``dropout``, plus ``backbone``, ``pretrained``, ``size``, ``grayscale``.
    """

    strategy: str = "finetune_last"
    n_stages: int | None = 2
    backbone_lr_scale: float = 0.1
    decay: float = 1.0
    bn: str = "train"
    dropout: float = 0.0
    gradual: int | None = None
    deliverable = True  # its model and collate describe themselves for a card (scarce.deliver.parts)
    changes = Changes(replaces={"model_fn", "collate", "param_groups_fn"}, modalities={"image"})

    def __post_init__(self) -> None:
        self._check_common()
        check_choice("strategy", self.strategy, ("finetune_last", "finetune_all", "truncate"))
        if self.n_stages is not None:
            check_int("n_stages", self.n_stages, minimum=1)
        if self.gradual is not None:
            check_int("gradual", self.gradual, minimum=1)
        check_float("backbone_lr_scale", self.backbone_lr_scale, low=0.0, low_inclusive=False)
        check_float("decay", self.decay, low=0.0, high=1.0, low_inclusive=False)
        check_choice("bn", self.bn, ("train", "frozen"))
        check_float("dropout", self.dropout, low=0.0, high=1.0, high_inclusive=False)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        from scarce.backbones.base import Collate
        from scarce.backbones.strategies import ParamGroups

        bb, pre, notes = self._prepare(setup)
        n = None if self.strategy == "finetune_all" else self.n_stages
        if n is not None:
            check_int("n_stages", n, minimum=1, maximum=bb.num_stages)
        model_fn = FinetuneModelFn(self.backbone, self.pretrained, self.strategy, n, self.gradual, self.bn,
                                    self.dropout, self.download)
        notes.update(strategy=self.strategy, n_stages=n, backbone_lr_scale=self.backbone_lr_scale, decay=self.decay,
                     bn=self.bn, gradual=self.gradual)
        return replace(setup, model_fn=model_fn, collate=Collate(pre),
                       param_groups_fn=ParamGroups(backbone_lr_scale=self.backbone_lr_scale, decay=self.decay)
                       ).with_notes(**notes)


@register_remedy("truncate", help="only the first n stages of a pretrained backbone + new head")
@dataclass(frozen=True, init=False)
class Truncate(Delegate):
    """Use only the first ``n_stages`` of the backbone: frozen + cached (``frozen: true``, the default:
    a :class:`LinearProbe` of those stages) or fine-tuned (a :class:`Finetune` of them); the other
    options are theirs."""

    def __init__(self, *, n_stages: int, frozen: bool = True, **options) -> None:
        check_int("n_stages", n_stages, minimum=1)
        inner = (LinearProbe(n_stages=n_stages, **options) if frozen
                 else Finetune(strategy="truncate", n_stages=n_stages, **options))
        object.__setattr__(self, "inner", inner)


@register_remedy("gradual_unfreeze", help="head first, then one more pretrained stage every k steps")
@dataclass(frozen=True, init=False)
class GradualUnfreeze(Delegate):
    """Head alone first, then one more stage (from the top) every ``every`` steps (a :class:`Finetune`
    of every stage; the other options are its)."""

    def __init__(self, *, every: int = 25, **options) -> None:
        check_int("every", every, minimum=1)
        object.__setattr__(self, "inner", Finetune(strategy="finetune_all", gradual=every, **options))
