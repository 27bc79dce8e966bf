"""What a selection's choice says about its grid, its schedule and its vote: a choice at an edge, and
how close the vote was.

A record lists the names chosen at an edge (``hparams_at_edge``, ``step`` included) and gives each
its reason code (``edge_reasons``), which the report's flags read (``scarce.report.stats.row_flags``):

* ``end``: the smallest or largest value of an axis of three or more values: the best may lie
  beyond the grid (widen it);
* ``narrow``: either value of a two-value axis: every choice there is an end, so the grid is too
  narrow to tell whether the best lies beyond it;
* ``last_check``: the chosen step is the last validation check of the run: the model may still be
  learning (raise ``train.steps``);
* ``first_check``: the chosen step is the first validation check: the checks start too late or the
  learning rate is too high.

An axis of one value is not tuned and never flagged; nor is the step when a fit made fewer than two
validation checks it could keep.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

REASONS = {
    "end": ("an end of its grid", "widen the grid", "end of grid"),
    "narrow": ("an end of a two-value grid, too narrow to tell", "add values to the grid", "too narrow to tell"),
    "last_check": ("the last validation check", "may still be learning: raise `train.steps`", "last check"),
    "first_check": ("the first validation check", "checks start too late or lr too high: lower `train.eval_every` "
                    "or the lr grid", "first check"),
}
"""Reason code → (where the choice fell, the fix, a tag for a table cell): the phrases the report prints."""


def grid_edges(hparams: Mapping[str, Any], axes: Mapping[str, Sequence[Any]]) -> dict[str, str]:
    """Name → reason code (``end`` or ``narrow``) of each axis whose chosen value is its smallest or largest.

    Example:
        >>> grid_edges({"lr": 0.1, "wd": 0.0, "C": 1.0}, {"lr": [0.01, 0.1], "wd": [0.0], "C": [0.1, 1.0, 10.0]})
        {'lr': 'narrow'}
    """
    out = {}
    for name, values in axes.items():
        distinct = set(values)
        if len(distinct) >= 2 and hparams.get(name) in (min(values), max(values)):
            out[name] = "narrow" if len(distinct) == 2 else "end"
    return out


def at_edge(hparams: Mapping[str, Any], axes: Mapping[str, Sequence[Any]]) -> list[str]:
    """Names whose chosen value is an end of a grid axis of two or more values (:func:`grid_edges`)."""
    return list(grid_edges(hparams, axes))


def step_edge(step: int | None, checks: Sequence[int | None]) -> str | None:
    """``last_check`` or ``first_check`` when ``step`` is the last or first of ``checks`` (the steps of
    the validation checks it was chosen among), ``None`` otherwise or with fewer than two checks.

    Example:
        >>> step_edge(300, [100, 200, 300]), step_edge(100, [100, 200, 300]), step_edge(300, [300])
        ('last_check', 'first_check', None)
    """
    steps = sorted({s for s in checks if s is not None})
    if step is None or len(steps) < 2:
        return None
    return "last_check" if step == steps[-1] else "first_check" if step == steps[0] else None


def selectable_steps(history: Sequence[Mapping[str, Any]]) -> list[int]:
    """Steps of the scored checks of ``history`` that could be kept (not marked ``selectable: False``)."""
    return [c["step"] for c in history if c.get("val_score") is not None and c.get("selectable", True)]


def vote_margin(scores: Sequence[float | None], chosen: int) -> float | None:
    """The chosen point's score minus the best score of any other point (``None`` when nothing else was
    scored): how far the vote was from going another way, in the selection metric.

    Example:
        >>> round(vote_margin([0.80, 0.78, None], 0), 2), vote_margin([0.8], 0)
        (0.02, None)
    """
    others = [s for i, s in enumerate(scores) if i != chosen and s is not None]
    if scores[chosen] is None or not others:
        return None
    return float(scores[chosen] - max(others))
