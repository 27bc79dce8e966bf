"""Image augmentation remedies: ``augment`` (a preset or policy per sample), ``mixup``,
``cutmix`` (batch transforms with soft targets) and ``augment_balance`` (minority classes brought
up with augmented copies).

Example (a recipe's ``remedies:``)::

    - {name: augment, preset: light}
    - {name: augment, preset: randaugment, num_ops: 2, magnitude: 9}
    - {name: cutmix, alpha: 1.0}
    - {name: chain, remedies: [{name: augment, preset: strong}, cutmix]}
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from scarce._checks import check_choice, check_float
from scarce.augment.registry import create_augment, list_augments
from scarce.remedies.base import Remedy, TrainSetup, register_remedy
from scarce.remedies.composition import Changes


def check_preset(preset: str) -> str:
    """``preset`` must be a per-sample image augmentation of the registry."""
    return check_choice("preset", preset, list_augments("image", kind="sample"))


def image_geometry(setup: TrainSetup) -> tuple[tuple[int, int], int]:
    """``((H, W), C)`` of the setup's training images (the first one's), for an augmentation's geometry."""
    if setup.train.modality != "image":
        raise ValueError(f"Image augmentation needs an image dataset, got modality {setup.train.modality!r}.")
    x = np.asarray(setup.train.get(0))
    if x.ndim != 3:
        raise ValueError(f"Images must be (H, W, C) uint8 arrays, got shape {x.shape}.")
    return (int(x.shape[0]), int(x.shape[1])), int(x.shape[2])


def build_augment(preset: str, options: dict, setup: TrainSetup):
    """The per-sample augmentation ``preset`` with ``options`` for the geometry of ``setup``'s images."""
    shape, channels = image_geometry(setup)
    return create_augment(preset, image_shape=shape, channels=channels, **options)


def _then(first, second):
    if first is None:
        return second
    from scarce.augment.image import Sequential

    return Sequential(first, second)


def check_options(preset: str, options: dict) -> None:
    """Build once on a dummy geometry so that bad options fail in the constructor."""
    create_augment(preset, image_shape=(32, 32), channels=3, **options)


@register_remedy("augment",
                 help="per-sample image augmentation: preset light/medium/strong or randaugment/trivialaugment")
@dataclass(frozen=True)
class Augment(Remedy):
    """Per-sample augmentation with a preset (``light``/``medium``/``strong``) or a policy
    (``randaugment``/``trivialaugment``); extra options (``p``, ``hflip``, ``num_ops``,
    ``magnitude``...) go to the preset. Composes after an existing per-sample transform."""

    preset: str = "light"
    options: dict = field(default_factory=dict)
    changes = Changes(wraps={"transform"}, modalities={"image"})

    def __init__(self, *, preset: str = "light", **options: Any) -> None:
        check_preset(preset)
        check_options(preset, options)
        object.__setattr__(self, "preset", preset)
        object.__setattr__(self, "options", dict(options))

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        aug = build_augment(self.preset, self.options, setup)
        return replace(setup, transform=_then(setup.transform, aug)).with_notes(
            augment=self.preset, **{f"augment_{k}": v for k, v in self.options.items()})


@dataclass(frozen=True)
class _BatchMix(Remedy):
    """A batch mixer of the registry (``augment``: its name) built for the setup's classes; its notes
    are named after the remedy (``{name}_alpha``)."""

    alpha: float = 1.0
    p: float = 1.0
    changes = Changes(wraps={"batch_transform", "targets"}, modalities={"image"})
    augment = ""

    def __post_init__(self) -> None:
        check_float("alpha", self.alpha, low=0.0, low_inclusive=False)
        check_float("p", self.p, low=0.0, high=1.0)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        mix = create_augment(self.augment, num_classes=setup.num_classes, alpha=self.alpha, p=self.p)
        if setup.batch_transform is not None:
            mix = _ThenBatch(setup.batch_transform, mix)
        return replace(setup, batch_transform=mix).with_notes(**{f"{self.name}_alpha": self.alpha})


@dataclass(frozen=True)
class _ThenBatch:
    first: Any
    second: Any

    def __call__(self, x, y, *, generator):
        x, y = self.first(x, y, generator=generator)
        return self.second(x, y, generator=generator)


@register_remedy("mixup", help="batch MixUp (per-sample lambda, soft targets)")
@dataclass(frozen=True)
class MixUpRemedy(_BatchMix):
    """Batch MixUp with a per-sample λ ~ Beta(α, α) and soft targets."""

    alpha: float = 0.4
    augment = "mixup"


@register_remedy("cutmix", help="batch CutMix (per-sample box, soft targets)")
@dataclass(frozen=True)
class CutMixRemedy(_BatchMix):
    """Batch CutMix with a per-sample box and area-weighted soft targets."""

    alpha: float = 1.0
    augment = "cutmix"


@register_remedy("augment_balance", help="oversample minority classes with augmented copies")
@dataclass(frozen=True)
class AugmentBalance(Remedy):
    """Bring every class up to ``target`` (``"max"`` or a count) with offline augmented copies of
    its own examples (preset ``preset``), instead of duplicates. ``clean_train`` stays the real
    subset."""

    preset: str = "light"
    target: Any = "max"
    options: dict = field(default_factory=dict)
    changes = Changes(wraps={"train"}, replaces={"class_prior"}, modalities={"image"})

    def __init__(self, *, preset: str = "light", target: Any = "max", **options: Any) -> None:
        check_preset(preset)
        check_options(preset, options)
        if isinstance(target, str) and target != "max":
            raise ValueError(f"`target` must be 'max' or a count per class, got {target!r}.")
        if not isinstance(target, str) and (isinstance(target, bool) or not isinstance(target, int) or target < 1):
            raise ValueError(f"`target` must be 'max' or a positive count per class, got {target!r}.")
        for k, v in (("preset", preset), ("target", target), ("options", dict(options))):
            object.__setattr__(self, k, v)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        from scarce.augment.expand import oversample_by_augmentation

        aug = build_augment(self.preset, self.options, setup)
        train = oversample_by_augmentation(setup.train, aug, target=self.target, seed=seed)
        clean = setup.clean_train if setup.clean_train is not None else setup.train
        return replace(setup, train=train, clean_train=clean).with_notes(
            augment_balance=self.preset, n_augmented=len(train) - len(setup.train))
