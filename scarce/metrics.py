"""Classification metrics and confidence intervals over seeds.

Metrics are computed from a confusion matrix (numpy only). Intervals are Student-t intervals:
over seeds for a mean, and over *paired* seed differences for a remedy's gain over the baseline
(each seed uses the same subset for every remedy, so pairing removes the subset's noise). The paired
test is the exact sign-flip test up to 12 seeds (with its floor, :func:`min_attainable_p`) and the
t-test beyond.
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


def prediction_interval(values: Sequence[float], *, confidence: float = 0.95) -> Interval:
    """Where the metric of *one more* run (e.g. one model trained with another seed) falls: the mean
    of ``values`` and the Student-t prediction interval ``mean ± t·s·sqrt(1 + 1/n)``. Wider than
    :func:`mean_ci`, which covers the mean of runs, not a single run.

    Example:
        >>> iv = prediction_interval([0.90, 0.92, 0.94])
        >>> round(iv.low, 3), round(iv.high, 3)
        (0.821, 1.019)
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    ci = mean_ci(x, confidence=confidence)
    if x.size < 2:
        return ci
    half = float(stats.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) * np.sqrt(1 + 1 / x.size))
    return Interval(ci.mean, ci.mean - half, ci.mean + half, ci.n)


def paired_diff_ci(treated: Sequence[float], control: Sequence[float], *, confidence: float = 0.95) -> Interval:
    """Mean paired difference ``treated - control`` with a t-interval over the pairs (seeds)."""
    a, b = np.asarray(treated, float), np.asarray(control, float)
    if a.shape != b.shape:
        raise ValueError(f"Paired values must match one to one, got {a.size} and {b.size}.")
    return mean_ci(a - b, confidence=confidence)


TIE_TOLERANCE = 1e-9
"""Paired differences closer to each other (or to 0) than this count as equal: metrics are ratios of
counts, so two equal scores may differ by float rounding only."""


def _paired_differences(treated: Sequence[float], control: Sequence[float]) -> np.ndarray:
    a, b = np.asarray(treated, float), np.asarray(control, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"`treated` and `control` must be 1-D and match one to one, got shapes {a.shape} "
                         f"and {b.shape}.")
    if a.size == 0:
        raise ValueError("`treated` and `control` must hold at least one pair, got none.")
    return a - b


EXACT_MAX_PAIRS = 12
"""Up to this many pairs :func:`paired_pvalue` is the exact sign-flip test (2**12 = 4096 assignments);
beyond it, the paired t-test."""

PAIRED_TEST = ("exact two-sided sign-flip (paired permutation) test of the mean paired difference for "
               f"≤ {EXACT_MAX_PAIRS} seeds, paired t-test (normality assumed) beyond")
"""The paired test in one line, for captions."""


def min_attainable_p(n: int) -> float:
    """The smallest p-value :func:`paired_pvalue` can give over ``n`` pairs: ``2 / 2**n`` for the
    exact sign-flip test (``n <= EXACT_MAX_PAIRS``; 1 for one pair), 0 for the t-test beyond.

    Raises:
        ValueError: ``n`` is not an integer >= 1.

    Example:
        >>> min_attainable_p(3), min_attainable_p(5), min_attainable_p(20)
        (0.25, 0.0625, 0.0)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"`n` must be an integer >= 1 (the number of pairs), got {n!r}.")
    return 2.0 / 2 ** int(n) if n <= EXACT_MAX_PAIRS else 0.0


def _sign_flip_pvalue(d: np.ndarray) -> float:
    """Share of the 2**n sign assignments of ``d`` whose |mean| reaches the observed |mean| (ties
    within ``TIE_TOLERANCE`` count as reaching it)."""
    n = d.size
    signs = 1.0 - 2.0 * ((np.arange(2 ** n)[:, None] >> np.arange(n)) & 1)
    means = np.abs(signs @ d) / n
    return float(np.mean(means >= abs(d.mean()) - TIE_TOLERANCE))


def paired_pvalue(treated: Sequence[float], control: Sequence[float]) -> float:
    """Two-sided p-value of the mean paired difference ``treated - control`` being 0.

    Up to ``EXACT_MAX_PAIRS`` pairs (seeds): the exact sign-flip (paired permutation) test. Under the
    null each difference is as likely positive as negative, so p is the share of the ``2**n`` sign
    assignments whose |mean| is at least the observed |mean| (within ``TIE_TOLERANCE``). It assumes
    no normality, is continuous in the data (three identical +0.01 differences give 0.25, and so does
    a nudge of one of them) and never goes below its floor :func:`min_attainable_p` = ``2 / 2**n``: 3
    seeds can never give p < 0.25, 5 seeds never < 0.0625.

    Beyond ``EXACT_MAX_PAIRS`` pairs: the paired t-test, which assumes the mean difference is close to
    normal (floor 0). When every difference is the same non-zero value the t statistic is infinite and
    p is its limit, 0.0 (so p stays continuous as the differences come together).

    Every difference 0 (within ``TIE_TOLERANCE``) gives p = 1 at any n.

    Args:
        treated: the remedy's metric per seed.
        control: the reference's metric for the same seeds, in the same order.

    Returns:
        The p-value in [0, 1].

    Raises:
        ValueError: if the sequences are empty or do not match one to one.

    Example:
        >>> paired_pvalue([0.91, 0.93], [0.90, 0.92])  # two pairs: floor 2 / 2**2
        0.5
        >>> paired_pvalue([0.6, 0.7, 0.8, 0.9, 0.65], [0.5, 0.6, 0.75, 0.8, 0.6])  # all 5 positive: 2 / 2**5
        0.0625
    """
    d = _paired_differences(treated, control)
    if np.all(np.abs(d) <= TIE_TOLERANCE):
        return 1.0
    if d.size <= EXACT_MAX_PAIRS:
        return _sign_flip_pvalue(d)
    if np.ptp(d) <= TIE_TOLERANCE:
        return 0.0
    from scipy import stats

    return float(stats.ttest_1samp(d, 0.0).pvalue)


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm step-down adjusted p-values for a family of comparisons (order kept).

    The i-th smallest of m p-values becomes ``max_{j<=i} min(1, (m - j + 1) * p_(j))``; a comparison
    is significant at level a when its adjusted value is at most a, which keeps the chance of any false
    positive in the family at most a. NaN entries (no comparison) stay NaN and are not counted in m.

    Args:
        pvalues: one p-value per comparison, each in [0, 1] or NaN.

    Returns:
        The adjusted p-values, same length and order.

    Raises:
        ValueError: if a p-value is outside [0, 1].

    Example:
        >>> holm([0.01, 0.04, 0.03]).round(2).tolist()
        [0.03, 0.06, 0.06]
    """
    p = np.asarray(pvalues, dtype=float).reshape(-1)
    bad = ~np.isnan(p) & ((p < 0) | (p > 1))
    if bad.any():
        raise ValueError(f"`pvalues` must be in [0, 1] (or NaN), got {p[bad][0]!r}.")
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    order = idx[np.argsort(p[idx], kind="stable")]
    m = order.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(scaled)
    return out


@dataclass(frozen=True)
class Wins:
    """How often a remedy beat its reference over paired seeds; ``share`` counts a tie as half a win."""

    wins: int
    ties: int
    losses: int

    @property
    def share(self) -> float:
        return (self.wins + self.ties / 2) / (self.wins + self.ties + self.losses)


def paired_wins(treated: Sequence[float], control: Sequence[float]) -> Wins:
    """Count seeds where ``treated`` beat, tied (within ``TIE_TOLERANCE``) or lost to ``control``.

    Example:
        >>> w = paired_wins([0.9, 0.8, 0.7], [0.8, 0.8, 0.75])
        >>> (w.wins, w.ties, w.losses, w.share)
        (1, 1, 1, 0.5)
    """
    d = _paired_differences(treated, control)
    wins, losses = int((d > TIE_TOLERANCE).sum()), int((d < -TIE_TOLERANCE).sum())
    return Wins(wins, d.size - wins - losses, losses)


AUTO_IMBALANCE_RATIO = 1.5
"""``metric: auto`` picks balanced accuracy when the test split's largest class has more than this
many times the examples of its smallest (present) class, accuracy otherwise."""


def _check_counts(counts: Sequence[int]) -> np.ndarray:
    c = np.asarray(counts, dtype=np.int64).reshape(-1)
    if c.size < 2 or (c < 0).any() or c.sum() == 0:
        raise ValueError(f"`counts` must be non-negative class counts for at least 2 classes with some "
                         f"examples, got {list(counts)!r}.")
    return c


def imbalance_ratio(counts: Sequence[int]) -> float:
    """Largest over smallest class count among the classes present (1.0 when balanced)."""
    c = _check_counts(counts)
    present = c[c > 0]
    return float(present.max() / present.min())


def auto_metric(counts: Sequence[int]) -> str:
    """The metric ``metric: auto`` resolves to for a test split with these class counts: balanced
    accuracy when its largest class has more than ``AUTO_IMBALANCE_RATIO`` times the examples of its
    smallest present class, accuracy otherwise. The one statement of the rule: the report's headline
    metric and the metric of model selection (``select_by: auto``) both apply it.

    Example:
        >>> auto_metric([50, 50, 48]), auto_metric([300, 100])
        ('accuracy', 'balanced_accuracy')
    """
    return "balanced_accuracy" if imbalance_ratio(counts) > AUTO_IMBALANCE_RATIO else "accuracy"


def majority_score(counts: Sequence[int], metric: str) -> float:
    """The score, in ``metric``, of always predicting the most frequent class of a split with ``counts``.

    Accuracy: the majority share; balanced accuracy: 1 / (classes present); macro-F1 follows from the
    same definitions as ``classification_metrics``. A model at or below it has not learned anything
    a constant answer would not give.

    Example:
        >>> majority_score([6, 3, 1], "accuracy"), majority_score([6, 3, 1], "balanced_accuracy")
        (0.6, 0.3333333333333333)
    """
    if metric not in METRICS:
        raise ValueError(f"`metric` must be one of {list(METRICS)}, got {metric!r}.")
    c = _check_counts(counts)
    y_true = np.repeat(np.arange(c.size), c)
    y_pred = np.full_like(y_true, int(np.argmax(c)))
    return classification_metrics(y_true, y_pred, num_classes=c.size)[metric]
