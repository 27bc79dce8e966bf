"""Model selection for one cell: how the hyper-parameters (and with cross-validation the step
count) are chosen, the same way for every row of a results table.

A strategy works on a *learner* (a :class:`Learner`), which hides what is trained (a remedy's
neural setup, the logistic-regression reference) behind a few members:

* ``axes``: hyper-parameter name → the values of its grid (the grid is their product);
* ``prepare(part, *, seed)``: everything built from a training part (for a remedy: the setup and
  ``remedy.apply``), timed as the cell's ``prep_seconds``;
* ``select_by``: the metric its validation scores are in (default ``accuracy``; a cell sets the one
  it resolved, :attr:`scarce.experiment.plan.CellPlan.select_by`, for every row);
* ``fit(prepared, *, hparams, seed, val, stop_at=None)``: a fit with ``val_score``
  ``(score in select_by, -NLL)``, ``history`` (checks with ``step``, ``val_score``, ``val_nll``) and
  a ``summary`` dict; timed as ``train_seconds``;
* ``fit_grid(prepared, *, points, seed, val)``: one such fit per point, by default one ``fit`` after
  the other; a learner may train them together (the engine trains a grid as one wide model, see
  ``scarce.train.fit_points``);
* ``checks``: how many validation checks one fit makes, when the learner knows it (default ``None``);
* ``score(prepared, fitted, test)``: the test metrics of the kept fit.

Strategies (``SELECTIONS``, created by :func:`create_selection`):

``holdout``
    Prepare once on the training part, fit every grid point with the validation part, keep the
    best validation score (the best checkpoint inside each fit; ties: lower NLL, then grid order).
``cross_validation``
    Stratified k-fold inside the whole subset (training ∪ validation part): for every fold the
    learner is prepared on the fold's training part only (a remedy never sees the held-out fold),
    every grid point is fitted with the fold as validation; the (point, step) with the best mean
    validation score over folds wins (ties: lower mean NLL, then the earlier step, then grid
    order). The learner is then prepared on the whole subset and trained with the chosen point on
    the same schedule, stopped at the chosen step.

``auto`` (:func:`resolve_selection`) is cross-validation when the smallest class of the subset has
2 to ``cv_max_k`` examples (the cell caps the folds at that count), hold-out otherwise. A ``fixed`` point (``tune: first_seed``: the
choice of the first seed's cell) skips the search: hold-out fits that point once; cross-validation
trains once on the whole subset up to the reused step. So does a grid of one point whose fit has one check
(``eval_every`` >= ``steps``, the learner's ``checks``): cross-validation has nothing to choose, so it
trains once on the whole subset.

Both strategies compare the scores the learner computed, so the metric they choose by is the
learner's ``select_by``; :class:`Selected` says how the vote went (its margin and what it was scored
on) and whether the chosen step was an end of the checks (:mod:`scarce.experiment.edges`).
"""

from __future__ import annotations

import abc
import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scarce._checks import check_int
from scarce.data.datasets import LabelledDataset
from scarce.experiment.edges import selectable_steps, step_edge, vote_margin
from scarce.registry import Registry

SELECTIONS = Registry("selection")
AUTO = "auto"


class Learner(abc.ABC):
    """The base of what a strategy trains: ``prepare`` on a training part, ``fit`` a grid point,
    ``score`` on test; the optional members have defaults.

    Attributes:
        axes: hyper-parameter name → the values of its grid (required: a class attribute, a
            property, or set in ``__init__``).
        checks: validation checks in one fit (the step counts a selection can choose from), when the
            learner knows it. Default ``None`` (unknown): cross-validation then always runs its folds;
            with ``1`` and a one-point grid it has nothing to choose and trains once.
        select_by: the metric of its fits' validation scores (one of ``scarce.metrics.METRICS``).
            Default ``accuracy``; a registered reference learner's factory is given the cell's as
            ``select_by=``.
    """

    axes: Mapping[str, Sequence[Any]]
    checks: int | None = None
    select_by: str = "accuracy"

    @abc.abstractmethod
    def prepare(self, part: LabelledDataset, *, seed: int) -> Any:
        """Everything built from the training part ``part`` (e.g. the setup with the remedy applied)."""

    @abc.abstractmethod
    def fit(self, prepared: Any, *, hparams: Mapping[str, Any], seed: int, val: LabelledDataset | None,
            stop_at: int | None = None) -> Any:
        """One fit of the point ``hparams``, checked on ``val`` (``None``: no validation), stopped at
        step ``stop_at`` (``None``: the full schedule)."""

    def fit_grid(self, prepared: Any, *, points: Sequence[Mapping[str, Any]], seed: int,
                 val: LabelledDataset | None) -> list:
        """One fit per point, in the order of ``points``, each with ``seed`` and ``val``. The default
        calls :meth:`fit` point after point; a learner may train the points together."""
        return [self.fit(prepared, hparams=hp, seed=seed, val=val) for hp in points]

    @abc.abstractmethod
    def score(self, prepared: Any, fitted: Any, test: LabelledDataset) -> dict:
        """``{"metrics": ..., ...}`` of the kept fit on ``test``."""


@dataclass
class Selected:
    """What a strategy chose and trained.

    Attributes:
        prepared: the learner prepared on the data the kept model was trained on.
        fitted: the kept fit (its ``model`` is scored on test).
        hparams: the chosen point (+ ``step`` when cross-validation chose a step count).
        val_score: validation score of the choice in the learner's ``select_by`` (mean over folds for
            cross-validation; ``None`` when nothing was scored).
        summary: the training summary of the kept fit (``val_improving_late`` from the fold curves
            for cross-validation).
        prep_seconds, train_seconds: time in ``prepare`` and in ``fit``.
        step_edge: ``first_check`` / ``last_check`` when the kept step is the first / last of the
            validation checks it was chosen among (:func:`scarce.experiment.edges.step_edge`).
        margin: the choice's score minus the best score of any other grid point
            (:func:`~scarce.experiment.edges.vote_margin`; ``None`` without a vote between points).
        n_val: held-out examples the vote was scored on (for cross-validation the whole pool).
        candidates: the (point, check) pairs the choice was made among in this cell (0: reused or
            unscored; 1: nothing to choose).
    """

    prepared: Any
    fitted: Any
    hparams: dict
    val_score: float | None
    summary: dict
    prep_seconds: float
    train_seconds: float
    step_edge: str | None = None
    margin: float | None = None
    n_val: int = 0
    candidates: int = 0


def grid_points(axes: Mapping[str, Sequence[Any]]) -> list[dict]:
    """Every point of the grid spanned by ``axes``, in order (the last axis varies fastest)."""
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*(axes[n] for n in names))]


class _Clock:
    """Adds up the time spent preparing and fitting."""

    def __init__(self, learner: Learner) -> None:
        if not isinstance(learner, Learner):
            raise TypeError(f"A selection trains a scarce.experiment.selection.Learner, got {type(learner).__name__}.")
        self.learner, self.prep, self.train = learner, 0.0, 0.0

    def prepare(self, part: LabelledDataset, seed: int) -> Any:
        start = time.perf_counter()
        try:
            return self.learner.prepare(part, seed=seed)
        finally:
            self.prep += time.perf_counter() - start

    def fit(self, prepared: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.learner.fit(prepared, **kwargs)
        finally:
            self.train += time.perf_counter() - start

    def fit_grid(self, prepared: Any, *, points: Sequence[Mapping[str, Any]], seed: int,
                 val: LabelledDataset | None) -> list:
        """One fit per point: a single point through ``fit``, several through the learner's ``fit_grid``."""
        if len(points) == 1:
            return [self.fit(prepared, hparams=points[0], seed=seed, val=val)]
        start = time.perf_counter()
        try:
            return list(self.learner.fit_grid(prepared, points=points, seed=seed, val=val))
        finally:
            self.train += time.perf_counter() - start


class Holdout:
    """Choose on the cell's validation part (see the module docstring); the kept model is trained on
    the subset's training part (``refits_on_pool`` False)."""

    name, folds = "holdout", None
    refits_on_pool = False
    trains_on = "the training split of the subset (hold-out)"

    def check_cell(self, *, size: int, smallest: int, n_val: int, grid_points: int, val_fraction: float) -> None:
        """Refuse, before any work, a cell of ``size`` this strategy cannot tune: a grid of several
        points needs validation examples."""
        if grid_points > 1 and val_fraction == 0:
            raise ValueError("A grid of several (lr, weight_decay) points needs 'subset.val_fraction' > 0 "
                             "(or `selection: cross_validation`).")
        if grid_points > 1 and n_val == 0:
            raise ValueError(f"Size {size} leaves no validation example to tune {grid_points} (lr, weight_decay) "
                             "points on; use sizes >= 2, a single grid point, or a larger 'subset.val_fraction'.")

    def select(self, learner: Learner, *, train: LabelledDataset, val: LabelledDataset, pool: LabelledDataset,
               seed: int, fixed: Mapping[str, Any] | None = None) -> Selected:
        clock = _Clock(learner)
        prepared = clock.prepare(train, seed)
        points = [dict(fixed)] if fixed is not None else grid_points(learner.axes)
        held_out = val if len(val) else None
        points = points if held_out is not None else points[:1]
        fits = clock.fit_grid(prepared, points=points, seed=seed, val=held_out)
        best = 0
        for i, fitted in enumerate(fits):
            if fitted.val_score is not None and (fits[best].val_score is None or fitted.val_score > fits[best].val_score):
                best = i
        fitted, steps = fits[best], [selectable_steps(f.history) for f in fits]
        return Selected(prepared, fitted, dict(points[best]), fitted.val_score[0] if fitted.val_score else None,
                        dict(fitted.summary), clock.prep, clock.train,
                        step_edge=step_edge(fitted.summary.get("best_step"), steps[best]),
                        margin=None if fixed is not None else vote_margin(
                            [f.val_score[0] if f.val_score else None for f in fits], best),
                        n_val=len(val), candidates=sum(len(s) for s in steps))


def mean_curve(histories: Sequence[Sequence[dict]]) -> list[dict]:
    """Mean ``val_score`` / ``val_nll`` per step over folds, on the steps every fold checked; a
    step a fold marks ``selectable: False`` (before a remedy's ``select_from``) stays marked."""
    common = set.intersection(*({c["step"] for c in h if "val_score" in c} for h in histories))
    out = []
    for step in sorted(common, key=lambda s: -1 if s is None else s):
        checks = [next(c for c in h if c["step"] == step) for h in histories]
        out.append({"step": step, "val_score": float(np.mean([c["val_score"] for c in checks])),
                    "val_nll": float(np.mean([c["val_nll"] for c in checks]))})
        if not all(c.get("selectable", True) for c in checks):
            out[-1]["selectable"] = False
    return out


def choose(curves: Sequence[Sequence[dict]]) -> tuple[int, dict]:
    """The (grid index, mean check) with the best mean validation score; ties: lower mean NLL,
    then the earlier step, then the earlier grid point. ``curves[i]`` is :func:`mean_curve` of
    grid point ``i``; a check marked ``selectable: False`` is never chosen."""
    candidates = [((-c["val_score"], c["val_nll"], -1 if c["step"] is None else c["step"], i), i, c)
                  for i, curve in enumerate(curves) for c in curve if c.get("selectable", True)]
    if not candidates:
        raise ValueError("Cross-validation produced no validation check to choose from.")
    _, index, check = min(candidates, key=lambda t: t[0])
    return index, check


@dataclass(frozen=True)
class CrossValidation:
    """Choose the point and the step count by stratified k-fold within the subset (see the module
    docstring); ``folds`` >= 2 and at most the smallest class count of the subset."""

    folds: int = 5
    name = "cross_validation"
    refits_on_pool = True  # the kept model is retrained on the whole subset
    trains_on = "the whole subset (cross-validation retrains on it)"

    def __post_init__(self) -> None:
        check_int("folds", self.folds, minimum=2)

    def check_cell(self, *, size: int, smallest: int, n_val: int, grid_points: int, val_fraction: float) -> None:
        """Refuse, before any work, more folds than the subset's smallest class has examples."""
        if self.folds > smallest:
            raise ValueError(f"`folds` must be <= the smallest class count of every size's subset: size {size} "
                             f"has {smallest} examples in its smallest class, got folds={self.folds} "
                             "(or use `selection: auto`, which caps the folds at that count).")

    def fold_indices(self, labels: np.ndarray, *, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(train, held_out)`` positions of each fold: stratified, shuffled with ``seed``."""
        from sklearn.model_selection import StratifiedKFold

        splitter = StratifiedKFold(n_splits=self.folds, shuffle=True, random_state=seed)
        return list(splitter.split(np.zeros(len(labels)), labels))

    def select(self, learner: Learner, *, train: LabelledDataset, val: LabelledDataset, pool: LabelledDataset,
               seed: int, fixed: Mapping[str, Any] | None = None) -> Selected:
        from scarce.checkpoints import still_improving  # torch only when a cell runs

        clock = _Clock(learner)
        curve, steps, score, margin, candidates = [], None, None, None, 0
        points = grid_points(learner.axes)
        if fixed is None and len(points) == 1 and learner.checks == 1:
            fixed = dict(points[0])  # nothing to choose (one point, one check): no folds, one training
        if fixed is None:
            histories: list[list] = [[] for _ in points]
            for part, held_out in self.fold_indices(pool.labels, seed=seed):
                prepared = clock.prepare(pool.subset(part), seed)
                for i, fitted in enumerate(clock.fit_grid(prepared, points=points, seed=seed,
                                                          val=pool.subset(held_out))):
                    histories[i].append(fitted.history)
                    steps = fitted.summary.get("steps")
            curves = [mean_curve(h) for h in histories]
            index, check = choose(curves)
            hp, step, curve, score = dict(points[index]), check["step"], curves[index], check["val_score"]
            best = [max((c["val_score"] for c in cv if c.get("selectable", True)), default=None) for cv in curves]
            margin, candidates = vote_margin(best, index), sum(len(selectable_steps(cv)) for cv in curves)
        else:
            hp = {k: v for k, v in fixed.items() if k != "step"}
            step = fixed.get("step")
        prepared = clock.prepare(pool, seed)
        fitted = clock.fit(prepared, hparams=hp, seed=seed, val=None, stop_at=step)
        summary = dict(fitted.summary)
        summary["val_improving_late"] = (still_improving(curve, best_step=step, steps=steps)
                                         if curve and step is not None and steps else None)
        chosen = {**hp, "step": step} if step is not None else hp
        return Selected(prepared, fitted, chosen, score, summary, clock.prep, clock.train,
                        step_edge=step_edge(step, selectable_steps(curve)), margin=margin,
                        n_val=len(pool) if curve else 0, candidates=candidates)


def create_selection(name: str, *, folds: int):
    """The strategy registered under ``name`` (``folds`` is used by cross-validation)."""
    return SELECTIONS.create(name, folds=folds)


def selection_names() -> list[str]:
    """Every value the config key ``selection`` accepts."""
    return [*SELECTIONS.names(), AUTO]


def resolve_selection(name: str, *, smallest: int, cv_max_k: int) -> str:
    """``auto`` → ``cross_validation`` when the subset's smallest class holds 2 to ``cv_max_k``
    examples, else ``holdout``; any other name is returned as is."""
    if name != AUTO:
        return name
    return "cross_validation" if 2 <= smallest <= cv_max_k else "holdout"


SELECTIONS.register("holdout", lambda *, folds: Holdout(),
                    help="choose on the cell's validation part (best checkpoint of the best grid point)")
SELECTIONS.register("cross_validation", CrossValidation,
                    help="choose point and step count by stratified k-fold in the subset, retrain on all of it")
