"""Class-sampling strategies and label validation shared by the samplers, resampling and losses.

A strategy maps per-class counts ``n_c`` to class-sampling probabilities ``p_c``:

* ``instance``: ``p_c ∝ n_c`` (plain shuffling, each example equally likely);
* ``inverse``: ``p_c ∝ 1`` (class-balanced: each example weighted ``1 / n_c``);
* ``sqrt``: ``p_c ∝ n_c^(1/2)``; ``power(q)``: ``p_c ∝ n_c^q`` (q = 1 instance, q = 0 class-balanced);
* ``effective_number(β)``: each example weighted ``(1 - β) / (1 - β^n_c)`` (Cui et al. 2019), so
  ``p_c ∝ n_c (1 - β) / (1 - β^n_c)``; β = 0 is instance sampling, β → 1 class-balanced.

Strings ``"power(0.3)"`` and ``"effective_number(0.999)"`` are accepted as well as the objects.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from scarce._checks import check_choice, check_float

NAMES = ("instance", "inverse", "sqrt", "power", "effective_number")


@dataclass(frozen=True)
class Strategy:
    """A class-sampling strategy: ``kind`` plus its parameter (``q`` or ``beta``)."""

    kind: str
    param: float | None = None

    def __post_init__(self) -> None:
        check_choice("strategy", self.kind, NAMES)
        if self.kind == "power":
            check_float("q", self.param, low=0.0)
        elif self.kind == "effective_number":
            check_float("beta", self.param, low=0.0, high=1.0, high_inclusive=False)

    @property
    def needs_every_class(self) -> bool:
        """Whether a class with no example would still get probability mass (then it is an error)."""
        return not (self.kind in ("instance", "sqrt") or (self.kind == "power" and self.param > 0))

    def class_weights(self, counts: np.ndarray) -> np.ndarray:
        """Unnormalised class-sampling mass ``p_c`` for ``counts`` (0 for empty classes)."""
        n = np.asarray(counts, dtype=np.float64)
        q = {"instance": 1.0, "inverse": 0.0, "sqrt": 0.5}.get(self.kind, self.param)
        if self.kind == "effective_number":
            beta = self.param
            with np.errstate(divide="ignore", invalid="ignore"):
                w = n * (1.0 - beta) / -np.expm1(n * np.log(beta)) if beta > 0 else n.copy()
        else:
            with np.errstate(divide="ignore"):
                w = np.power(n, q)
        return np.where(n > 0, w, 0.0)

    def probabilities(self, counts: np.ndarray) -> np.ndarray:
        w = self.class_weights(counts)
        return w / w.sum()

    def __str__(self) -> str:
        return self.kind if self.param is None else f"{self.kind}({self.param:g})"


def power(q: float) -> Strategy:
    """``p_c ∝ n_c^q`` (q ≥ 0)."""
    return Strategy("power", check_float("q", q, low=0.0))


def effective_number(beta: float) -> Strategy:
    """Effective-number re-weighting (Cui et al. 2019), β in [0, 1)."""
    return Strategy("effective_number", check_float("beta", beta, low=0.0, high=1.0, high_inclusive=False))


_CALL = re.compile(r"^\s*(power|effective_number)\s*\(\s*([-+0-9.eE]+)\s*\)\s*$")


def resolve_strategy(strategy: Any) -> Strategy:
    """A :class:`Strategy` from an object, a name, or ``"power(q)"`` / ``"effective_number(β)"``.

    Example:
        >>> str(resolve_strategy("power(0.5)"))
        'power(0.5)'
    """
    if isinstance(strategy, Strategy):
        return strategy
    if not isinstance(strategy, str):
        raise TypeError(f"`strategy` must be a name or a Strategy, got {strategy!r} ({type(strategy).__name__}).")
    m = _CALL.match(strategy)
    if m:
        return Strategy(m.group(1), float(m.group(2)))
    if strategy in ("power", "effective_number"):
        raise ValueError(f"`strategy` {strategy!r} needs its parameter, e.g. 'power(0.5)' or 'effective_number(0.999)'.")
    return Strategy(check_choice("strategy", strategy, ("instance", "inverse", "sqrt", "power(q)",
                                                         "effective_number(beta)")))


def check_labels(labels: Any, *, name: str = "labels") -> np.ndarray:
    """Labels as a 1-D non-negative integer array in the smallest fitting unsigned dtype (no copy
    when already one). Raises ``ValueError`` on empty, non-integer, negative or not 1-D labels."""
    arr = np.asarray(labels)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be a 1-D sequence of class indices, got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"`{name}` must not be empty.")
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise ValueError(f"`{name}` must be integer class indices 0..C-1, got dtype {arr.dtype}.")
    if arr.dtype.kind == "f":
        if not np.all(np.mod(arr, 1) == 0):
            bad = arr[np.flatnonzero(np.mod(arr, 1) != 0)[0]]
            raise ValueError(f"`{name}` must be integer class indices 0..C-1, got the non-integer label {bad!r}.")
    lo, hi = arr.min(), arr.max()
    if lo < 0:
        raise ValueError(f"`{name}` must be class indices 0..C-1, got a negative label {lo}.")
    dtype = np.uint8 if hi < 2**8 else np.uint16 if hi < 2**16 else np.uint32 if hi < 2**32 else np.uint64
    return arr if arr.dtype == dtype else arr.astype(dtype)


def class_counts(labels: np.ndarray, *, num_classes: int | None = None, name: str = "labels") -> np.ndarray:
    """Per-class counts ``0..C-1``; one class only is an error (nothing to balance)."""
    c = int(labels.max()) + 1
    if num_classes is not None:
        if not isinstance(num_classes, numbers.Integral) or num_classes < c:
            raise ValueError(f"`num_classes` must be an integer >= {c} (the largest label + 1), got {num_classes!r}.")
        c = int(num_classes)
    counts = np.bincount(labels, minlength=c) if labels.size < 2**26 else _chunked_bincount(labels, c)
    if np.count_nonzero(counts) < 2:
        raise ValueError(f"`{name}` must hold at least two classes to balance, got only class {int(np.argmax(counts))}.")
    return counts


def _chunked_bincount(labels: np.ndarray, c: int, chunk: int = 2**24) -> np.ndarray:
    """``np.bincount`` without its int64 copy of the whole array (10^8 labels → 800 MB)."""
    counts = np.zeros(c, dtype=np.int64)
    for start in range(0, labels.size, chunk):
        counts += np.bincount(labels[start:start + chunk], minlength=c)
    return counts


def check_strategy_support(strategy: Strategy, counts: np.ndarray) -> None:
    """A class with no example is an error when the strategy would give it probability mass."""
    empty = np.flatnonzero(counts == 0)
    if empty.size and strategy.needs_every_class:
        raise ValueError(
            f"Class {int(empty[0])} has no example but strategy '{strategy}' needs every class 0..{counts.size - 1}; "
            "relabel to consecutive indices or use a strategy with q > 0."
        )
