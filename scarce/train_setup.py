"""What the training engine trains: a :class:`TrainSetup`, the data and every part a remedy may change.

It is the engine's input (:func:`scarce.train.fit_setup`) and what a remedy transforms
(:class:`scarce.remedies.Remedy`); the test set is deliberately not part of it. It sits below both, so
the engine reads it without knowing remedies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from scarce.data.datasets import LabelledDataset


@dataclass(frozen=True)
class TrainSetup:
    """Everything a remedy may change about training; the test set is deliberately absent.

    Attributes:
        train: the training data (the cell's subset, plus whatever a remedy adds).
        num_classes: number of classes.
        model_fn: ``model_fn(num_classes) -> nn.Module``.
        transform: per-sample ``transform(x, rng=np.random.Generator) -> x``.
        batch_transform: ``batch_transform(x, y, generator=torch.Generator) -> (x, y)`` on device.
        sampler_fn: ``sampler_fn(labels, seed=int)`` → an iterable of indices into ``train``.
        loss_fn: ``loss_fn(logits, targets) -> scalar`` (targets may be soft).
        collate: list of ``(x, y)`` → tensors; ``None`` means the engine's image collate.
        param_groups_fn: ``model -> optimiser param groups`` (freezing, discriminative rates).
        clean_train: the untouched real subset, used for BatchNorm re-estimation; remedies keep it.
        unlabelled: examples without labels the row may use (``scarce.data.UnlabelledDataset``: the
            recipe's ``unlabelled:`` pool, the same for every row and part of a cell; ``None``: none).
            Only semi-supervised remedies read it; selection never scores on it.
        self_training: a request to train with pseudo-labels on ``unlabelled`` (set by ``pseudo_label``
            or ``label_spreading``, :mod:`scarce.remedies.semi_supervised`): the learner trains a
            teacher, labels the pool and trains the student (:mod:`scarce.experiment.selftrain`).
        consistency: an unlabelled loss the engine adds at every step (FixMatch-style consistency on
            a batch of ``unlabelled`` examples; ``None``: none).
        select_from: the share of training before which no checkpoint may be kept (0: any check). A
            remedy that changes training partway (DRW, cRT: their ``start``) raises it, so the
            model a selection keeps is one the remedy shaped, not the plain model before it.
        notes: what the remedy did, for the results log (e.g. ``{"n_synthetic": 500}``).
    """

    train: LabelledDataset
    num_classes: int
    model_fn: Callable[[int], Any]
    transform: Callable | None = None
    batch_transform: Callable | None = None
    sampler_fn: Callable | None = None
    loss_fn: Callable | None = None
    collate: Callable | None = None
    param_groups_fn: Callable | None = None
    clean_train: LabelledDataset | None = None
    unlabelled: LabelledDataset | None = None
    self_training: Any = None
    consistency: Any = None
    select_from: float = 0.0
    notes: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def with_notes(self, **notes: Any) -> "TrainSetup":
        """A copy with ``notes`` added (existing keys are kept unless overwritten)."""
        return replace(self, notes=MappingProxyType({**self.notes, **notes}))
