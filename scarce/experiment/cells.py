"""One cell of the grid: (remedy, size, seed) → a JSON-able record of test metrics.

Every remedy in a (size, seed) pair gets the same subset, the same validation split (or the same
folds), the same initialisation seed, the same step budget and the same hyper-parameter grid,
chosen by the same selection strategy (``scarce.experiment.selection``), so differences are paired
and due to the remedy alone. A row is trained by a *learner* (``scarce.experiment.learners``): the
engine on the modality's model for ``remedies`` rows, a registered reference learner for
``references`` rows.

Besides the test metrics a record holds ``hparams`` (+ ``step`` under cross-validation),
``hparams_at_edge`` and ``edge_reasons`` (:mod:`scarce.experiment.edges`), ``tuning`` (mode,
selection, folds, grid_points, tuned_on_seed, select_by, candidates; on a cell that voted between
grid points ``vote_margin`` and ``n_val``), ``val_score`` (``val_accuracy`` too when it is accuracy),
``train_summary``, ``test_counts``, ``prep_seconds``, ``train_seconds`` and ``seconds``.

A cell whose code raises is logged as its own *failed* record (:func:`run_cell`: ``status: "failed"``,
``error: "<Type>: <message>"``, ``traceback``: the innermost frames, ``seconds``) and the sweep goes on.
A failed record never counts as a finished cell (:func:`scarce.experiment.log.read_log` leaves it out),
so rerunning the same command retries the cell; ``Results`` lists the cells still failed in a "Failed
cells" section of ``results.md``. Interrupts (``KeyboardInterrupt``) and exits are not caught.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from scarce.experiment.config import ExperimentConfig
from scarce.experiment.rows import Row
from scarce.experiment.learners import create_learner
from scarce.experiment.log import FAILED, cell_key
from scarce.experiment.plan import CellPlan, get_bundle
from scarce.experiment.edges import grid_edges
from scarce.experiment.selection import create_selection, grid_points
from scarce.experiment.selftrain import ROWS
from scarce.experiment.unlabelled import pseudo_accuracy


@dataclass(frozen=True)
class Task:
    """One cell. ``fixed`` (sorted ``(name, value)`` pairs) is a hyper-parameter point reused from
    the cell of seed ``tuned_on`` (``tune: first_seed``) instead of searching the grid."""

    label: str  # the results row
    spec: Any  # the remedy spec from the config
    size: int
    seed: int
    fixed: tuple | None = None
    tuned_on: int | None = None
    learner: Any = None  # a reference learner's spec (``None``: the engine on the config's model)

    @property
    def row(self) -> Row:
        """The results row this cell belongs to (its label, remedy and learner)."""
        return Row(self.label, self.spec, self.learner)

    @property
    def key(self) -> str:
        return cell_key(self.label, self.size, self.seed)


def run_task(config: ExperimentConfig, data_root: str | None, task: Task) -> dict:
    """Train and test one cell; returns the record written to ``results.jsonl``."""
    start = time.perf_counter()
    plan = CellPlan.cut(config, get_bundle(config, data_root), size=task.size, seed=task.seed)
    config, test = plan.config, plan.test
    record = {"key": task.key, "remedy": task.label, "size": task.size, "seed": task.seed,
              "n_train": len(plan.train), "n_val": len(plan.val), "n_test": len(test),
              "test_counts": np.bincount(test.labels, minlength=plan.bundle.num_classes).tolist()}
    pool_start = time.perf_counter()
    if plan.unlabelled is not None:  # the pool every row of the cell sees (read once per process for a path)
        record.update(n_unlabelled=len(plan.unlabelled), unlabelled_source=plan.unlabelled.source,
                      unlabelled_seconds=round(time.perf_counter() - pool_start, 3))
    learner = create_learner(task.row, plan=plan)
    name, folds = plan.selection
    strategy = create_selection(name, folds=folds)
    fixed = dict(task.fixed) if task.fixed is not None else None
    chosen = strategy.select(learner, train=plan.train, val=plan.val, pool=plan.pool, seed=task.seed, fixed=fixed)
    record.update(learner.score(chosen.prepared, chosen.fitted, test))
    rows = record.get("notes", {}).pop(ROWS, None)
    if rows is not None:  # measured here, after training: no remedy or selection reads the hidden labels
        record["notes"]["pseudo_accuracy"] = pseudo_accuracy(plan.unlabelled, *rows)
    edges = grid_edges(chosen.hparams, learner.axes)
    if chosen.step_edge:
        edges["step"] = chosen.step_edge
    tuning = {"mode": config.tune, "selection": name, "folds": strategy.folds,
              "grid_points": len(grid_points(learner.axes)),
              "tuned_on_seed": task.seed if fixed is None else task.tuned_on,
              "select_by": plan.select_by, "candidates": chosen.candidates}
    if chosen.margin is not None:
        tuning.update(vote_margin=chosen.margin, n_val=chosen.n_val)
    record.update(hparams=chosen.hparams, hparams_at_edge=list(edges), edge_reasons=edges, tuning=tuning,
                  train_summary=chosen.summary, best_step=chosen.summary["best_step"],
                  val_score=chosen.val_score, prep_seconds=round(chosen.prep_seconds, 3),
                  train_seconds=round(chosen.train_seconds, 3))
    if plan.select_by == "accuracy":
        record["val_accuracy"] = chosen.val_score
    record["seconds"] = round(time.perf_counter() - start, 3)
    return record

TRACEBACK_FRAMES = 4
"""Innermost frames of a failed cell's traceback kept in its record."""


def describe(error: BaseException) -> str:
    """``"<Type>: <message>"``, the ``error`` of a failed record (one line)."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def failed_record(task: Task, *, error: str, seconds: float, trace: str | None = None) -> dict:
    """The log record of a failed cell.

    Args:
        task: the cell.
        error: what went wrong, ``"<Type>: <message>"`` (see :func:`describe`).
        seconds: time spent in the cell before it failed.
        trace: the innermost frames of the traceback, if any.

    Example:
        >>> failed_record(Task("baseline", "baseline", 5, 0), error="ValueError: bad", seconds=0.5)["key"]
        'baseline|5|0'
    """
    record = {"key": task.key, "remedy": task.label, "size": task.size, "seed": task.seed, "status": FAILED,
              "error": error, "seconds": round(seconds, 3)}
    if trace:
        record["traceback"] = trace
    return record


def run_cell(config: ExperimentConfig, data_root: str | None, task: Task) -> dict:
    """:func:`scarce.experiment.cells.run_task`, with an exception turned into a failed record."""
    start = time.perf_counter()
    try:
        return run_task(config, data_root, task)
    except Exception as err:  # noqa: BLE001  (any error of a cell's code is that cell's failure)
        trace = "".join(traceback.format_exception(type(err), err, err.__traceback__, limit=-TRACEBACK_FRAMES))
        return failed_record(task, error=describe(err), seconds=time.perf_counter() - start, trace=trace)
