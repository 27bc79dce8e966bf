"""Verdicts computed from the numbers, never written by hand: a remedy ``helps``, ``hurts``, has ``no
effect`` or is ``not shown`` at a size, by one rule (docs/verdicts.md):

1. any flag on the row or on its reference (under-trained, a choice at an end of the grid...:
   :func:`scarce.report.stats.row_flags`) → ``not shown``, the flags being the reason;
2. Holm-adjusted p ≤ ``ALPHA`` (the paired test of :func:`scarce.metrics.paired_pvalue`) → ``helps``
   or ``hurts`` by the sign of the gain;
3. else ``no effect`` only when an equivalence test passes: TOST at level ``ALPHA`` (the 90%
   t-interval of the gain lies inside ±``margin``) over at least ``MIN_SEEDS_FOR_NULL`` seeds;
4. else ``not shown``: the interval is too wide to tell, or too few seeds for a null (and, when the
   seed count cannot reach ``ALPHA`` after Holm at all, that is said).

A :class:`Comparison` is built from a results summary row (:meth:`Comparison.from_summary`) or by
hand from a published summary; :func:`decide` returns a :class:`Verdict` with a one-line renderer.

Example:
    >>> c = Comparison(label="augment", size=10, gain=0.033, low=0.021, high=0.044, n=8, p_holm=0.01)
    >>> decide(c).line()
    'augment at k=10: helps, +3.3 [+2.1, +4.4] (Holm p 0.010)'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scarce.metrics import EXACT_MAX_PAIRS, PAIRED_TEST, min_attainable_p

ALPHA = 0.05
"""The level of the Holm-adjusted paired test and of the equivalence test (TOST)."""
MIN_SEEDS_FOR_NULL = 5
"""Fewest paired seeds a ``no effect`` verdict rests on: a few identical differences are no evidence."""
DEFAULT_MARGIN = 0.01
"""The equivalence margin (metric units) when no config gives ``equivalence_margin``."""
OUTCOMES = ("helps", "hurts", "no effect", "not shown")
DOC = "docs/verdicts.md"
RULE = (f"A comparison is _not shown_ when the row or its reference is flagged; it _helps_ or _hurts_ when its "
        f"Holm p ≤ {ALPHA}; it has _no effect_ only when its 90% interval lies inside ±the equivalence margin "
        f"(TOST at {ALPHA}) over at least {MIN_SEEDS_FOR_NULL} seeds; anything else is _not shown_ "
        f"(the rule: `{DOC}` in scarce).")
"""The rule in one sentence (markdown-inline), printed above the verdict lines."""
REFERENCE_PREFIX = "reference: "


@dataclass(frozen=True)
class Comparison:
    """A row's paired comparison with its reference at one size, as a verdict needs it.

    Attributes:
        label: the row's label.
        size: the training size (examples per class).
        gain: mean paired difference row − reference (metric units).
        low, high: its 95% t-interval over seeds (NaN with one seed).
        n: the number of paired seeds.
        p_holm: the Holm-adjusted paired p-value (NaN: not compared).
        flags: why the comparison cannot carry a verdict: the row's flags, and the reference's prefixed
            ``"reference: "`` (:func:`comparison_flags`).
        margin: the equivalence margin (metric units, > 0).
        comparisons: how many comparisons the Holm adjustment ran over (for the floor statement).

    Raises:
        ValueError: a field out of range, naming it.
    """

    label: str
    size: Any
    gain: float
    low: float
    high: float
    n: int
    p_holm: float
    flags: tuple[str, ...] = ()
    margin: float = DEFAULT_MARGIN
    comparisons: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise ValueError(f"`n` must be an integer >= 1 (paired seeds), got {self.n!r}.")
        if isinstance(self.comparisons, bool) or not isinstance(self.comparisons, int) or self.comparisons < 1:
            raise ValueError(f"`comparisons` must be an integer >= 1, got {self.comparisons!r}.")
        if not (isinstance(self.margin, (int, float)) and 0 < self.margin < math.inf):
            raise ValueError(f"`margin` must be a number > 0 (metric units), got {self.margin!r}.")
        if not (math.isnan(self.p_holm) or 0 <= self.p_holm <= 1):
            raise ValueError(f"`p_holm` must be in [0, 1] or NaN, got {self.p_holm!r}.")
        if not math.isnan(self.low) and not self.low - 1e-12 <= self.gain <= self.high + 1e-12:
            raise ValueError(f"`gain` must lie in [low, high], got {self.gain!r} outside [{self.low!r}, {self.high!r}].")
        if isinstance(self.flags, str) or not all(isinstance(f, str) for f in self.flags):
            raise ValueError(f"`flags` must be a tuple of strings, got {self.flags!r}.")

    @classmethod
    def from_summary(cls, row: Mapping[str, Any], *, flags: Sequence[str] = (), margin: float = DEFAULT_MARGIN,
                     comparisons: int = 1) -> Comparison:
        """From a row of ``Results.summary`` (``remedy``, ``size``, ``gain``, ``gain_low``, ``gain_high``,
        ``p_holm`` and the win counts, whose sum is the number of paired seeds)."""
        n = int(row["wins"] + row["ties"] + row["losses"])
        return cls(label=str(row["remedy"]), size=row["size"], gain=float(row["gain"]), low=float(row["gain_low"]),
                   high=float(row["gain_high"]), n=n, p_holm=float(row["p_holm"]), flags=tuple(flags),
                   margin=margin, comparisons=comparisons)

    @property
    def interval90(self) -> tuple[float, float]:
        """The 90% t-interval of the gain, derived from the 95% one: se = half-width / t(0.975, n−1),
        then gain ± t(0.95, n−1)·se (NaN with one seed)."""
        if self.n < 2 or math.isnan(self.low):
            return math.nan, math.nan
        se = self._se()
        from scipy import stats

        half = float(stats.t.ppf(0.95, self.n - 1)) * se
        return self.gain - half, self.gain + half

    def _se(self) -> float:
        from scipy import stats

        return (self.high - self.low) / 2 / float(stats.t.ppf(0.975, self.n - 1))

    @property
    def tost_p(self) -> float:
        """The TOST p-value of |gain| < margin: the larger of the two one-sided t-test p-values (NaN
        with one seed; 0 or 1 for a zero-width interval, inside or outside the margin)."""
        if self.n < 2 or math.isnan(self.low):
            return math.nan
        se = self._se()
        if se <= 0:
            return 0.0 if abs(self.gain) < self.margin else 1.0
        from scipy import stats

        df = self.n - 1
        return float(max(stats.t.sf((self.gain + self.margin) / se, df), stats.t.cdf((self.gain - self.margin) / se, df)))


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`decide` (one of ``OUTCOMES``), why, and the comparison it judged."""

    comparison: Comparison
    outcome: str
    reason: str

    def line(self) -> str:
        """One line in points (×100), e.g. ``mixup at k=25: no effect, +0.1 [-0.4, +0.6], inside ±1.0
        (TOST p 0.010)``."""
        c = self.comparison
        text = f"{c.label} at k={c.size}: {self.outcome}, {gain_text(c)}"
        if self.outcome in ("helps", "hurts"):
            return f"{text} (Holm p {_p(c.p_holm)})"
        if self.outcome == "no effect":
            return f"{text}, inside ±{_points(c.margin)} (TOST p {_p(c.tost_p)})"
        return f"{text}: {self.reason}"


def decide(c: Comparison, *, alpha: float = ALPHA, min_seeds: int = MIN_SEEDS_FOR_NULL) -> Verdict:
    """The verdict on one comparison, by the rule of the module docstring (in that order)."""
    if c.flags:
        return Verdict(c, "not shown", "; ".join(c.flags))
    if not math.isnan(c.p_holm) and c.p_holm <= alpha:
        return Verdict(c, "helps" if c.gain > 0 else "hurts", f"Holm p {_p(c.p_holm)} ≤ {alpha}")
    low, high = c.interval90
    inside = not math.isnan(low) and -c.margin < low and high < c.margin
    if inside and c.n >= min_seeds:
        return Verdict(c, "no effect", f"90% interval [{100 * low:+.1f}, {100 * high:+.1f}] inside "
                                       f"±{_points(c.margin)} (TOST p {_p(c.tost_p)} ≤ {alpha})")
    return Verdict(c, "not shown", _undecided(c, low, high, inside, alpha=alpha, min_seeds=min_seeds))


def _undecided(c: Comparison, low: float, high: float, inside: bool, *, alpha: float, min_seeds: int) -> str:
    """Why a comparison with no flag is neither significant nor a shown null: only what would decide it.

    Inside the margin the missing piece is seeds for a null; an interval on one side of 0 lacks
    significance (and, when the seed count can never reach ``alpha`` after Holm, that is the reason);
    an interval across 0 and past the margin is too wide to tell.
    """
    if math.isnan(low):
        return f"{c.n} seed: no interval"
    if inside:
        return f"inside ±{_points(c.margin)} but {c.n} seeds are too few for a null (no effect needs ≥ {min_seeds})"
    unreachable = floor_text(c.n, c.comparisons, alpha=alpha, only_unreachable=True)
    if low > 0 or high < 0:
        if unreachable:
            return f"90% interval [{100 * low:+.1f}, {100 * high:+.1f}] excludes 0, but {unreachable}"
        return f"not significant after Holm (p {_p(c.p_holm)})"
    return (f"interval too wide to tell: 90% interval [{100 * low:+.1f}, {100 * high:+.1f}] spans 0 and passes "
            f"±{_points(c.margin)}" + (f"; {unreachable}" if unreachable else ""))


def floor_text(n: int, comparisons: int, *, alpha: float = ALPHA, only_unreachable: bool = False,
               subject: str = "no row") -> str:
    """The floor of the paired test at ``n`` seeds over ``comparisons`` Holm-adjusted comparisons, as
    a phrase ending, when no p can reach ``alpha`` after Holm, with ``subject`` "can be significant"; with
    ``only_unreachable``, empty unless no p can reach it, and said of the ``n`` seeds.

    Example:
        >>> floor_text(5, 12, only_unreachable=True)
        '5 seeds cannot reach p ≤ 0.05 by a sign-flip test over 12 comparisons (floor 0.0625, 0.75 after Holm)'
    """
    floor = min_attainable_p(n)
    unreachable = floor * comparisons > alpha
    if only_unreachable:
        if not unreachable:
            return ""
        return (f"{n} seed{'s' * (n != 1)} cannot reach p ≤ {alpha} by a sign-flip test over {comparisons} "
                f"comparison{'s' * (comparisons != 1)} (floor {floor:.3g}, {min(1.0, floor * comparisons):.3g} "
                "after Holm)")
    if n > EXACT_MAX_PAIRS:
        return f"with {n} seeds the t-test has no floor"
    text = f"with {n} seed{'s' * (n != 1)} the smallest p a sign-flip test can give is {floor:.3g}"
    if unreachable:
        text += (f" ({min(1.0, floor * comparisons):.3g} after Holm over {comparisons} comparisons): "
                 f"{subject} can be significant")
    return text


def floor_note(ns: Sequence[int], comparisons: int, *, alpha: float = ALPHA) -> str:
    """The gain table's sentence on its test and floor, one clause per distinct seed count."""
    ns = sorted(set(ns))
    clauses = "; ".join(floor_text(n, comparisons, alpha=alpha, subject=f"no row with {n} seeds" if len(ns) > 1
                                   else "no row") for n in ns)
    return f"p: {PAIRED_TEST}; {clauses}" if clauses else f"p: {PAIRED_TEST}"


def comparison_flags(row_flags: Sequence[str], reference_flags: Sequence[str]) -> tuple[str, ...]:
    """The flags of a comparison: the row's, then the reference's prefixed ``"reference: "``."""
    return tuple(row_flags) + tuple(REFERENCE_PREFIX + f for f in reference_flags)


def summary_verdicts(rows: Sequence[Mapping[str, Any]], *, flags: Callable[[str, Any], tuple[str, ...]],
                     margin: float) -> list[Verdict]:
    """The verdict of every compared row of a results summary (rows with ``p_holm``), in order.

    Args:
        rows: ``Results.summary`` rows; the compared ones form the Holm family.
        flags: ``(label, size) → flags`` of that comparison (:func:`comparison_flags`).
        margin: the equivalence margin (metric units).
    """
    compared = [r for r in rows if "p_holm" in r]
    return [decide(Comparison.from_summary(r, flags=flags(r["remedy"], r["size"]), margin=margin,
                                           comparisons=len(compared))) for r in compared]


def section(verdicts: Sequence[Verdict], *, margin: float, metric: str) -> tuple[str, list[str]]:
    """The verdict section's intro (the rule and the margin, markdown-inline) and its lines."""
    intro = (f"{RULE} Equivalence margin ±{_points(margin)} points of {metric.replace('_', ' ')} "
             "(`equivalence_margin`). Gains in points [95% t-interval].")
    return intro, [v.line() for v in verdicts]


def markdown_section(verdicts: Sequence[Verdict], *, margin: float, metric: str) -> list[str]:
    """``## Verdicts``: the rule, then one bullet per comparison (nothing when there are none)."""
    if not verdicts:
        return []
    intro, lines = section(verdicts, margin=margin, metric=metric)
    return ["", "## Verdicts", "", intro, ""] + [f"- {line}" for line in lines]


def gain_text(c: Comparison) -> str:
    """The gain in points with its 95% interval, as in the tables."""
    if math.isnan(c.low):
        return f"{100 * c.gain:+.1f} ({c.n} seed, no interval)"
    return f"{100 * c.gain:+.1f} [{100 * c.low:+.1f}, {100 * c.high:+.1f}]"


def _points(x: float) -> str:
    """``x`` (metric units) in points, one decimal unless that would hide it (0.0005 → 0.05)."""
    text = f"{100 * x:.1f}"
    return text if abs(float(text) - 100 * x) < 1e-9 else f"{100 * x:.3g}"


def _p(p: float) -> str:
    return "–" if math.isnan(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")
