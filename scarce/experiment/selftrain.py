"""Self-training, carried out by a row's learner: teacher → pseudo-labels → student.

A ``pseudo_label`` or ``label_spreading`` remedy leaves a
:class:`~scarce.remedies.semi_supervised.SelfTraining` request on the setup; the learner that trains
the row (:mod:`scarce.experiment.learners`) hands this module a :class:`Trainer`, its own way to fit,
predict and add rows, and :func:`self_train` runs the rounds for the grid points it is asked for:

1. the **teacher**: the row's own setup without the request, fitted on the same points with the
   same validation data (one fit per (lr, weight decay) point, the threshold aside); with
   validation the best of them by its validation score is the teacher, without (the final fit of
   cross-validation, stopped at the chosen step) the one fit is. ``label_spreading`` replaces the
   first teacher by a k-NN graph over the features the model reads (the frozen backbone's);
2. the teacher's class probabilities on the unlabelled pool; for each threshold of the grid the
   confident examples (:meth:`SelfTraining.choose`) become pseudo-labelled rows;
3. the **student**: the same setup with those rows added (drawn like the labelled rows, or a fixed
   ``share`` of every batch), fitted on the points of that threshold with the same validation
   data; with ``rounds`` > 1 the best student is the next teacher.

Validation is always labelled data: the pseudo-labels never score a choice. The fits returned are
the last round's students, in the order of the points, each carrying in ``notes`` what the teacher
added (rows, per class, mean confidence, the teacher's validation score).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from scarce.data.datasets import LabelledDataset
from scarce.data.pseudo import PseudoLabelled
from scarce.remedies.semi_supervised import SelfTraining, spread_labels

TUNED = "threshold"
ROWS = "pseudo_rows"
"""The notes key of the pseudo-labelled rows themselves (pool positions and labels, arrays): the cell
measures their accuracy against the labels a ``from: pool`` pool hides
(:func:`scarce.experiment.unlabelled.pseudo_accuracy`) and drops them before the record is written."""


class Trainer(abc.ABC):
    """What :func:`self_train` needs from a learner, on its own ``prepared`` objects."""

    @abc.abstractmethod
    def fit(self, prepared: Any, points: Sequence[Mapping[str, Any]], *, val: LabelledDataset | None,
            stop_at: int | None) -> list:
        """One fit per point, without self-training: dataclasses with ``val_score`` (``(score, -NLL)`` or
        ``None``) and ``notes`` (a dict)."""

    @abc.abstractmethod
    def probabilities(self, prepared: Any, fitted: Any, data: LabelledDataset) -> np.ndarray:
        """``(N, C)`` class probabilities of ``fitted`` on ``data``."""

    @abc.abstractmethod
    def features(self, prepared: Any, data: LabelledDataset) -> np.ndarray:
        """``(N, D)`` features the model reads (for ``label_spreading``)."""

    @abc.abstractmethod
    def labelled(self, prepared: Any) -> tuple[LabelledDataset, np.ndarray]:
        """The labelled training rows and their labels."""

    @abc.abstractmethod
    def with_rows(self, prepared: Any, rows: LabelledDataset, *, share: float | None) -> Any:
        """``prepared`` with ``rows`` added to its training rows (``share``: of every batch)."""


def _best(fits: Sequence) -> int:
    best = 0
    for i, f in enumerate(fits):
        if f.val_score is not None and (fits[best].val_score is None or f.val_score > fits[best].val_score):
            best = i
    return best


def _unique(points: Sequence[Mapping[str, Any]]) -> list[dict]:
    """The distinct points once the threshold is set aside (the teacher's grid), in order."""
    out: list[dict] = []
    for q in map(base_points_of, points):
        if q not in out:
            out.append(q)
    return out


def self_train(trainer: Trainer, prepared: Any, request: SelfTraining, *, unlabelled: LabelledDataset,
               points: Sequence[Mapping[str, Any]], val: LabelledDataset | None, stop_at: int | None = None,
               num_classes: int) -> list:
    """The last round's student fits, one per point of ``points`` (see the module docstring).

    Args:
        trainer: the learner's :class:`Trainer`.
        prepared: the learner's prepared training part (its request already taken off).
        request: the self-training request (its thresholds: the tuned axis ``threshold``).
        unlabelled: the pool the teacher labels.
        points: grid points (each with ``threshold`` when it is tuned).
        val: labelled validation data (``None``: the final fit of cross-validation).
        stop_at: the step every fit stops at (``None``: the full schedule).
        num_classes: classes of the task.
    """
    if unlabelled is None or len(unlabelled) == 0:
        raise ValueError("Self-training needs unlabelled examples; the recipe's `unlabelled:` pool is empty.")
    base_points = _unique(points)
    teacher_score, probs = None, None
    known = np.asarray(trainer.labelled(prepared)[1])
    prior = np.bincount(known, minlength=num_classes) / max(len(known), 1)
    if request.teacher == "label_spreading":
        rows, labels = trainer.labelled(prepared)
        probs = spread_labels(trainer.features(prepared, rows), labels, trainer.features(prepared, unlabelled),
                              num_classes=num_classes, neighbours=request.neighbours, alpha=request.alpha)
    else:
        teachers = trainer.fit(prepared, base_points, val=val, stop_at=stop_at)
        teacher = teachers[_best(teachers)]
        teacher_score = None if teacher.val_score is None else float(teacher.val_score[0])
        probs = trainer.probabilities(prepared, teacher, unlabelled)
    fits: list = [None] * len(points)
    for round_ in range(1, request.rounds + 1):
        for threshold in sorted({float(p.get(TUNED, request.thresholds[0])) for p in points}):
            chosen = [i for i, p in enumerate(points) if float(p.get(TUNED, request.thresholds[0])) == threshold]
            positions, labels, conf = request.at({TUNED: threshold}).choose(probs)
            student = prepared
            if len(positions):
                student = trainer.with_rows(prepared, PseudoLabelled(unlabelled, positions, labels, confidence=conf),
                                            share=request.share)
            notes = {"n_pseudo": int(len(positions)),
                     "pseudo_per_class": np.bincount(labels, minlength=num_classes).tolist(),
                     "pseudo_confidence": round(float(conf.mean()), 4) if len(conf) else None,
                     "pseudo_threshold": threshold, "pseudo_round": round_, "teacher_val_score": teacher_score,
                     "n_unlabelled": len(unlabelled), "pseudo_skew": skew(labels, prior), ROWS: (positions, labels)}
            for i, f in zip(chosen, trainer.fit(student, [base_points_of(points[i]) for i in chosen],
                                                val=val, stop_at=stop_at)):
                fits[i] = replace(f, notes={**f.notes, **notes})
        if round_ < request.rounds:
            teacher = fits[_best(fits)]
            teacher_score = None if teacher.val_score is None else float(teacher.val_score[0])
            probs = trainer.probabilities(prepared, teacher, unlabelled)
    return fits


def skew(labels: np.ndarray, prior: np.ndarray) -> float | None:
    """The total-variation distance between the class shares of the pseudo-labels and ``prior``, those
    of the labelled rows (0: the same shares; 1: disjoint). A pool holding classes outside the task, or
    a teacher biased to a few classes, makes it large; ``None`` without pseudo-labels.

    Example:
        >>> skew(np.array([0, 0, 0, 1]), np.array([0.5, 0.5]))
        0.25
    """
    if len(labels) == 0:
        return None
    shares = np.bincount(labels, minlength=len(prior)) / len(labels)
    return round(float(0.5 * np.abs(shares - prior).sum()), 4)


def base_points_of(point: Mapping[str, Any]) -> dict:
    """A grid point without the self-training threshold (what the trainer's fit reads)."""
    return {k: v for k, v in point.items() if k != TUNED}
