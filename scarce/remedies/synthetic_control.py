"""Remedy ``synthetic_control``: what ``synthetic`` does on the classifier's side, with no
generated information.

It adds as many rows per class as ``synthetic`` with the same options would (``n_per_class`` /
``ratio`` / ``fill``) and gives them the same ``share`` of every batch, but the rows are copies of
the cell's own real images: augmented with an ``augment`` preset (``source: augment``, the
default: each copy one fixed draw of the preset, as each synthetic image is one fixed draw of the
GAN) or plain duplicates (``source: copy``). The classifier then trains for the same steps on
batches of the same size and the same real/added split; only what the added rows hold differs. A
gain of ``synthetic`` over this control is a gain of the GAN's images, not of "a share of every
batch that is not the plain real rows". The GAN's own fitting time is not matched: it is a cost of
``synthetic`` alone (``notes["gan_seconds"]``).

Example (a recipe's ``remedies:``)::

    - {name: synthetic, n_per_class: 50, share: 0.25, steps: 3000, ngf: 64, ndf: 64}
    - {name: synthetic_control, n_per_class: 50, share: 0.25, preset: light}
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from scarce._checks import check_choice
from scarce.augment.expand import oversample_by_augmentation
from scarce.remedies.added_rows import AddedRows
from scarce.remedies.image import build_augment, check_options, check_preset
from scarce.remedies.base import TrainSetup, register_remedy

SOURCES = ("augment", "copy")


def _unchanged(x, *, rng):
    """The identity transform of ``source: copy`` (duplicates of the real images)."""
    return x


@register_remedy("synthetic_control",
                 help="control for `synthetic`: as many augmented copies of the real images, at the same share of "
                      "every batch")
@dataclass(frozen=True, kw_only=True)
class SyntheticControl(AddedRows):
    """Add augmented copies (or duplicates) of the real images in place of GAN samples.

    Args:
        n_per_class, ratio, fill, share: as for ``synthetic`` (how many rows per class; their share
            of every batch).
        source: ``"augment"`` (copies drawn through ``preset``) or ``"copy"`` (plain duplicates).
        preset: a per-sample image augmentation of the registry (``light``, ``medium``, ...).
        options: options of the preset, e.g. ``{hflip: false}`` for digits.

    Example:
        >>> SyntheticControl(n_per_class=50, share=0.25, options={"hflip": False}).name
        'synthetic_control'
    """

    source: str = "augment"
    preset: str = "light"
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._check_added_rows()
        check_choice("source", self.source, SOURCES)
        check_preset(self.preset)
        if not isinstance(self.options, dict):
            raise ValueError(f"`options` must be a mapping of the preset's options, got {self.options!r}.")
        check_options(self.preset, self.options)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        train = setup.train
        if train.modality != "image":
            raise ValueError(f"`synthetic_control` works on images, got modality {train.modality!r}.")
        real = np.bincount(train.labels, minlength=setup.num_classes)
        per_class = self.counts(real)
        notes = {"n_control": int(per_class.sum()), "control_per_class": per_class.tolist(),
                 "control_source": self.source if self.source == "copy" else f"augment:{self.preset}"}
        if per_class.sum() == 0:
            return setup.with_notes(**notes, control_indices=[len(train), len(train)])
        aug = _unchanged if self.source == "copy" else build_augment(self.preset, self.options, setup)
        target = {c: int(real[c] + k) for c, k in enumerate(per_class) if k > 0}
        combined = oversample_by_augmentation(train, aug, target=target, seed=seed)
        clean = train if setup.clean_train is None else setup.clean_train
        out = replace(setup, train=combined, clean_train=clean).with_notes(
            **notes, control_indices=[len(train), len(combined)])
        return self.with_share(out, start=len(train))
