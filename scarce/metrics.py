"""Classification metrics and confidence intervals over seeds.

Metrics are computed from a confusion matrix (numpy only). Intervals are Student-t intervals:
over seeds for a mean, and over *paired* seed differences for a remedy's gain over the baseline
(each seed uses the same subset for every remedy, so pairing removes the subset's noise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

METRICS = ("accuracy", "balanced_accuracy", "macro_f1")


def confusion_matrix(y_true, y_pred, *, num_classes: int) -> np.ndarray:
    """Counts ``cm[t, p]`` of true class t predicted as p."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"`y_true` and `y_pred` must have the same shape, got {y_true.shape} and {y_pred.shape}.")
    return np.bincount(y_true * num_classes + y_pred, minlength=num_classes**2).reshape(num_classes, num_classes)


def per_class_recall(cm: np.ndarray) -> np.ndarray:
    """Recall of each class (NaN for a class absent from ``y_true``)."""
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / support, np.nan)


def classification_metrics(y_true, y_pred, *, num_classes: int) -> dict:
    """Accuracy, balanced accuracy (mean recall over present classes), macro-F1, per-class recall.

    Example:
        >>> m = classification_metrics([0, 0, 1, 1], [0, 1, 1, 1], num_classes=2)
        >>> m["accuracy"], m["balanced_accuracy"]
        (0.75, 0.75)
    """
    cm = confusion_matrix(y_true, y_pred, num_classes=num_classes)
    recall = per_class_recall(cm)
    predicted = cm.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(predicted > 0, np.diag(cm) / predicted, 0.0)
        f1 = np.where(precision + np.nan_to_num(recall) > 0,
                      2 * precision * recall / (precision + recall), 0.0)
    present = cm.sum(axis=1) > 0
    return {
        "accuracy": float(np.trace(cm) / max(cm.sum(), 1)),
        "balanced_accuracy": float(np.nanmean(recall[present])),
        "macro_f1": float(np.mean(np.nan_to_num(f1[present]))),
        "per_class_recall": [None if np.isnan(r) else float(r) for r in recall],
    }


@dataclass(frozen=True)
class Interval:
    """A mean with its confidence interval; ``low``/``high`` are NaN with fewer than two values."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    @property
    def excludes_zero(self) -> bool:
        return bool(self.n >= 2 and (self.low > 0 or self.high < 0))


def mean_ci(values: Sequence[float], *, confidence: float = 0.95) -> Interval:
    """Mean and Student-t confidence interval of ``values`` (e.g. one metric over seeds)."""
    from scipy import stats

    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("`values` must hold at least one number.")
    m = float(x.mean())
    if x.size < 2:
        return Interval(m, float("nan"), float("nan"), 1)
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return Interval(m, m - half, m + half, int(x.size))


def paired_diff_ci(treated: Sequence[float], control: Sequence[float], *, confidence: float = 0.95) -> Interval:
    """Mean paired difference ``treated - control`` with a t-interval over the pairs (seeds)."""
    a, b = np.asarray(treated, float), np.asarray(control, float)
    if a.shape != b.shape:
        raise ValueError(f"Paired values must match one to one, got {a.size} and {b.size}.")
    return mean_ci(a - b, confidence=confidence)
