"""Scarce training subsets: k examples per class (nested across k) and long-tailed subsets.

Both draw, for each class, one seeded permutation of that class's examples that does not depend on
k or ρ; a subset takes a prefix of it, and each position of the permutation belongs to the training
or the validation part by its rank alone. So for one seed the training part of the 10-per-class
subset is contained in the training part of the 50-per-class subset, and likewise the validation
parts: comparisons across sizes differ only by the added examples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scarce._checks import check_float, check_int
from scarce.data.datasets import validate_labels


@dataclass(frozen=True)
class SubsetSplit:
    """Indices into the training pool: ``train`` to fit on, ``val`` for model selection."""

    train: np.ndarray
    val: np.ndarray

    @property
    def all(self) -> np.ndarray:
        return np.sort(np.concatenate([self.train, self.val]))


def _class_orders(labels: np.ndarray, seed: int) -> list[np.ndarray]:
    """One seeded permutation of each class's positions, independent of the subset size."""
    orders = []
    for c in range(int(labels.max()) + 1):
        members = np.flatnonzero(labels == c)
        rng = np.random.default_rng([seed, c])
        orders.append(members[rng.permutation(members.size)])
    return orders


def _n_val(n: int, val_fraction: float) -> int:
    """Validation examples among the first ``n`` of a class: ``floor(n * f)``, at least one when
    ``f > 0`` and ``n >= 2``, none when ``n == 1``. Non-decreasing in ``n`` by steps of 0 or 1."""
    if val_fraction == 0 or n < 2:
        return 0
    return max(1, int(np.floor(n * val_fraction)))


def _split(orders: list[np.ndarray], counts: list[int], val_fraction: float) -> SubsetSplit:
    """The first ``n`` of each class order, each position assigned to validation or training by
    its rank alone (position ``i`` is validation iff ``_n_val(i + 1) > _n_val(i)``), so that both
    parts are nested across ``n``: growing ``n`` only appends positions to one part or the other."""
    train, val = [], []
    for order, n in zip(orders, counts):
        is_val = np.array([_n_val(i + 1, val_fraction) > _n_val(i, val_fraction) for i in range(n)], dtype=bool)
        chosen = order[:n]
        val.append(chosen[is_val])
        train.append(chosen[~is_val])
    return SubsetSplit(train=np.sort(np.concatenate(train)), val=np.sort(np.concatenate(val)))


def stratified_subset(labels, *, per_class: int, seed: int, val_fraction: float = 0.0) -> SubsetSplit:
    """Take ``per_class`` examples of every class, nested across ``per_class`` for one ``seed``.

    Args:
        labels: class index of each example of the training pool (0..C-1, no empty class).
        per_class: k, the number of examples per class (validation part included).
        seed: seed of the per-class permutations.
        val_fraction: share of each class's k examples held out for validation (at least one per
            class when > 0 and k >= 2; none when k == 1).

    Returns:
        A :class:`SubsetSplit` of positions in ``labels``.

    Raises:
        ValueError: k < 1, k larger than the smallest class (named), bad labels.

    Example:
        >>> s10 = stratified_subset([0, 1] * 50, per_class=10, seed=0, val_fraction=0.2)
        >>> s20 = stratified_subset([0, 1] * 50, per_class=20, seed=0, val_fraction=0.2)
        >>> set(s10.train) <= set(s20.train) and set(s10.val) <= set(s20.val)
        True
    """
    labels = validate_labels(labels)
    per_class = check_int("per_class", per_class, minimum=1)
    val_fraction = check_float("val_fraction", val_fraction, low=0.0, high=1.0, high_inclusive=False)
    counts = np.bincount(labels)
    smallest = int(counts.argmin())
    if per_class > counts[smallest]:
        raise ValueError(
            f"`per_class` must be <= the smallest class size ({counts[smallest]}, class {smallest}), "
            f"got {per_class}."
        )
    return _split(_class_orders(labels, seed), [per_class] * counts.size, val_fraction)


def long_tailed_counts(num_classes: int, *, n_max: int, imbalance_ratio: float) -> list[int]:
    """Exponential CIFAR-10-LT profile: ``n_c = floor(n_max * ρ^(-c/(C-1)))`` for c = 0..C-1."""
    if num_classes == 1:
        return [n_max]
    return [int(np.floor(n_max * imbalance_ratio ** (-c / (num_classes - 1)))) for c in range(num_classes)]


def long_tailed_subset(
    labels, *, imbalance_ratio: float, seed: int, max_per_class: int | None = None, val_fraction: float = 0.0
) -> SubsetSplit:
    """A long-tailed subset with ρ = n_max / n_min and the exponential profile of CIFAR-10-LT.

    Class 0 is the head (``max_per_class`` examples, or as many as class 0 has) and class C-1 the
    tail (``n_max / ρ``).

    Raises:
        ValueError: ρ < 1, a class with fewer examples than the profile asks (named), a tail
            class left with no example.
    """
    labels = validate_labels(labels)
    imbalance_ratio = check_float("imbalance_ratio", imbalance_ratio, low=1.0)
    counts = np.bincount(labels)
    n_max = int(counts[0]) if max_per_class is None else check_int("max_per_class", max_per_class, minimum=1)
    want = long_tailed_counts(counts.size, n_max=n_max, imbalance_ratio=imbalance_ratio)
    for c, (w, have) in enumerate(zip(want, counts)):
        if w > have:
            raise ValueError(
                f"Class {c} has {have} examples but the long-tailed profile (n_max={n_max}, "
                f"imbalance_ratio={imbalance_ratio:g}) asks for {w}; lower `max_per_class`."
            )
    if min(want) < 1:
        raise ValueError(
            f"`imbalance_ratio` {imbalance_ratio:g} leaves the tail class with no example at n_max={n_max}."
        )
    return _split(_class_orders(labels, seed), want, val_fraction)
