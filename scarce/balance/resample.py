"""Random over- and under-sampling on indices, imbalanced-learn style, for any dataset.

``fit_resample(labels, method=..., strategy=...)`` validates the labels, resolves the strategy to
a target count per class, then draws: it returns positions into ``labels`` (never copies data), so
``dataset.subset(indices)`` is the rebalanced dataset.

Strategies (as in ``imblearn``'s ``sampling_strategy``):

* ``"auto"``: over-sampling raises every class to the largest class's count; under-sampling
  lowers every class to the smallest class's count;
* a ratio ``r`` in (0, 1]: over-sampling raises each class to at least ``ceil(r · n_max)``;
  under-sampling lowers each class to at most ``floor(n_min / r)``;
* a dict ``{class: count}``: exactly those counts for the named classes, the others unchanged.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from scarce._checks import check_choice, check_float, check_int
from scarce.balance.strategies import check_labels, class_counts

METHODS = ("over", "under")


def target_counts(counts: np.ndarray, *, method: str, strategy: Any = "auto") -> np.ndarray:
    """Resolve ``strategy`` to the number of examples each class will have.

    Raises:
        ValueError: unknown method; a ratio outside (0, 1]; a dict naming unknown classes, asking
            over-sampling for fewer examples than a class has, or under-sampling for more.
    """
    check_choice("method", method, METHODS)
    counts = np.asarray(counts, dtype=np.int64)
    present = counts > 0
    if isinstance(strategy, str):
        check_choice("strategy", strategy, ("auto",))
        level = counts.max() if method == "over" else counts[present].min()
        return np.where(present, level, 0)
    if isinstance(strategy, numbers.Real) and not isinstance(strategy, bool):
        r = check_float("strategy", strategy, low=0.0, high=1.0, low_inclusive=False)
        if method == "over":
            return np.where(present, np.maximum(counts, math.ceil(r * counts.max() - 1e-9)), 0)
        return np.minimum(counts, math.floor(counts[present].min() / r + 1e-9))
    if isinstance(strategy, Mapping):
        out = counts.copy()
        for cls, want in strategy.items():
            if isinstance(cls, bool) or not isinstance(cls, numbers.Integral) or not 0 <= cls < counts.size \
                    or counts[cls] == 0:
                raise ValueError(f"`strategy` names class {cls!r}, which has no example; classes present: "
                                 f"{np.flatnonzero(present).tolist()}.")
            want = check_int(f"strategy[{cls}]", want, minimum=0)
            if method == "under" and want > counts[cls]:
                raise ValueError(f"`strategy[{cls}]` asks under-sampling for {want} examples but class {cls} has "
                                 f"only {counts[cls]}; use method='over' to add examples.")
            if method == "over" and want < counts[cls]:
                raise ValueError(f"`strategy[{cls}]` asks over-sampling for {want} examples but class {cls} already "
                                 f"has {counts[cls]}; use method='under' to remove examples.")
            out[cls] = want
        return out
    raise TypeError(f"`strategy` must be 'auto', a ratio in (0, 1] or a {{class: count}} dict, got {strategy!r}.")


def fit_resample(labels: Any, *, method: str = "over", strategy: Any = "auto", seed: int = 0) -> np.ndarray:
    """Positions into ``labels`` that over- or under-sample each class to ``strategy``.

    Over-sampling keeps every example and adds draws with replacement from the same class;
    under-sampling keeps a random subset without replacement. The result is sorted, so a class's
    kept originals stay in their order.

    Args:
        labels: class index of each example (0..C-1).
        method: ``"over"`` or ``"under"``.
        strategy: ``"auto"``, a ratio in (0, 1], or ``{class: count}``.
        seed: seed of the draws.

    Returns:
        int64 positions; ``np.bincount(labels[idx])`` equals :func:`target_counts` exactly.

    Example:
        >>> idx = fit_resample([0, 0, 0, 0, 1], method="over", seed=0)
        >>> np.bincount(np.asarray([0, 0, 0, 0, 1])[idx]).tolist()
        [4, 4]
    """
    seed = check_int("seed", seed, minimum=0)
    labels = check_labels(labels)
    counts = class_counts(labels)
    want = target_counts(counts, method=method, strategy=strategy)
    order = np.argsort(labels, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    parts = []
    for c in np.flatnonzero(counts):
        members = order[starts[c]:starts[c] + counts[c]]
        rng = np.random.default_rng([seed, int(c)])
        if want[c] >= counts[c]:
            parts += [members, members[rng.integers(0, counts[c], want[c] - counts[c])]]
        else:
            parts.append(members[rng.choice(counts[c], want[c], replace=False)])
    return np.sort(np.concatenate(parts)).astype(np.int64)


class RandomOverSampler:
    """imblearn-like wrapper: ``RandomOverSampler(strategy="auto", seed=0).fit_resample(labels)``."""

    method = "over"

    def __init__(self, *, strategy: Any = "auto", seed: int = 0) -> None:
        self.strategy, self.seed = strategy, check_int("seed", seed, minimum=0)

    def fit_resample(self, labels: Any) -> np.ndarray:
        return fit_resample(labels, method=self.method, strategy=self.strategy, seed=self.seed)


class RandomUnderSampler(RandomOverSampler):
    """imblearn-like wrapper: ``RandomUnderSampler(strategy="auto", seed=0).fit_resample(labels)``."""

    method = "under"
