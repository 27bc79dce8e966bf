"""What a preview is made of, and the registry of preview makers keyed by what a remedy changes.

A *maker* turns one row's setups (before and after the remedy) into :class:`Block` s: a picture, a
table, playable clips or a sentence. Makers are registered in :data:`PREVIEWS` under a part of the
composition vocabulary (:data:`scarce.remedies.composition.PARTS`: ``train``, ``transform``,
``batch_transform``, ``sampler_fn``, ``loss_fn``, ``model_fn``, ``collate``, ``self_training``,
``prior_correction``...),
so a remedy is shown by what it changes, never by its name; a plug-in remedy that declares its
``changes`` is previewed like a built-in one. Register a maker for a part with
``PREVIEWS.register(part, maker, order=...)`` (one maker per part; the same maker may serve several
parts, it then runs once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scarce.remedies.composition import Changes
from scarce.remedies.base import TrainSetup
from scarce.registry import Registry

PREVIEWS = Registry("preview maker")


@dataclass(frozen=True)
class Block:
    """One thing shown for a row.

    Attributes:
        title: a short heading.
        text: a sentence under the heading (plain text).
        png: a picture (PNG bytes), written to a file and embedded in the page.
        name: the picture's file stem (letters, digits, ``_``).
        table: rows of cells, the first row being the header.
        audio: ``(caption, WAV bytes)`` clips, playable on the page.
    """

    title: str
    text: str = ""
    png: bytes | None = None
    name: str = "figure"
    table: tuple[tuple[str, ...], ...] | None = None
    audio: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class PreviewContext:
    """What a maker sees for one row.

    Attributes:
        label: the row's label.
        before: the cell's setup before the remedy (the training part, the modality's model and collate).
        after: the setup the remedy returned (``preview_apply`` where the remedy defines it).
        examples: positions in ``before.train`` of the handful of examples shown.
        seed: the cell's seed (the remedy's, the per-sample draws' and the batch generator's).
        draws: augmented draws shown per example.
        changes: what the applied remedies declare (combined over a chain's members).
    """

    label: str
    before: TrainSetup
    after: TrainSetup
    examples: tuple[int, ...]
    seed: int
    draws: int
    changes: Changes = field(default_factory=Changes)

    @property
    def modality(self) -> str:
        return self.before.train.modality

    @property
    def class_names(self) -> list[str]:
        names = list(getattr(self.before.train, "class_names", None) or [])
        return names if len(names) == self.before.num_classes else [str(c) for c in range(self.before.num_classes)]

    def originals(self) -> list[tuple[Any, int]]:
        """The handful of untouched examples, ``(x, label)``."""
        return [(self.before.train.get(i), int(self.before.train.labels[i])) for i in self.examples]


def pick_examples(labels: np.ndarray, n: int) -> tuple[int, ...]:
    """``n`` positions taken class by class in turn (the first of each class, then the second...),
    so a handful shows as many classes as it can; fixed for a given subset."""
    labels = np.asarray(labels)
    per_class = [np.flatnonzero(labels == c).tolist() for c in np.unique(labels)]
    out: list[int] = []
    for rank in range(max((len(p) for p in per_class), default=0)):
        out += [p[rank] for p in per_class if rank < len(p)]
        if len(out) >= n:
            break
    return tuple(out[:n])


def makers_for(parts: set[str]) -> list[tuple[str, Any]]:
    """The registered makers for ``parts`` in their ``order``, each once: ``(part, maker)``."""
    seen, out = set(), []
    for part in sorted((p for p in parts if p in PREVIEWS), key=lambda p: (PREVIEWS.meta(p).get("order", 99), p)):
        maker = PREVIEWS.get(part)
        if maker not in seen:
            seen.add(maker)
            out.append((part, maker))
    return out


# The built-in makers (imported when first used).
PREVIEWS.register("train", "scarce.preview.rows:preview_rows", order=0,
                  help="class counts before/after and the new rows (expansion, resampling, synthetic data)")
PREVIEWS.register("transform", "scarce.preview.samples:preview_transform", order=1,
                  help="the handful of examples and a few per-sample augmented draws")
PREVIEWS.register("batch_transform", "scarce.preview.samples:preview_batch", order=2,
                  help="a batch before/after the batch transform (mixed pairs with soft labels, masked log-mels)")
PREVIEWS.register("consistency", "scarce.preview.samples:preview_consistency", order=2,
                  help="the weak and strong views an unlabelled term (FixMatch) draws of examples")
PREVIEWS.register("sampler_fn", "scarce.preview.balance:preview_sampler", order=3,
                  help="class shares of the rows vs one epoch of the sampler's draws")
for _part in ("loss_fn", "model_fn", "prior_correction"):
    PREVIEWS.register(_part, "scarce.preview.balance:preview_class_terms", order=4,
                      help="per-class weights / prior offsets the loss or model applies")
PREVIEWS.register("collate", "scarce.preview.samples:preview_collate", order=5,
                  help="what the model is fed: the collate's output (e.g. a backbone's preprocessed input)")
PREVIEWS.register("self_training", "scarce.preview.pseudo:preview_self_training", order=6,
                  help="the unlabelled examples a stand-in teacher labels most confidently, per class")
