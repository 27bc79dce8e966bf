"""One cell of the grid: (remedy, size, seed) → a JSON-able record of test metrics.

Every remedy in a (size, seed) pair gets the same subset, the same validation split (or the same
folds), the same initialisation seed, the same step budget and the same hyper-parameter grid,
chosen by the same selection strategy (``scarce.experiment.selection``), so differences are paired
and due to the remedy alone. A row is trained by a *learner* (``scarce.experiment.learners``): the
engine on the modality's model for ``remedies`` rows, a registered reference learner for
``references`` rows.

Besides the test metrics a record holds ``hparams`` (+ ``step`` under cross-validation),
``hparams_at_edge``, ``tuning`` (mode, selection, folds, grid_points, tuned_on_seed),
``train_summary``, ``test_counts``, ``prep_seconds``, ``train_seconds`` and ``seconds``.

A cell whose code raises is logged as its own *failed* record (:func:`run_cell`: ``status: "failed"``,
``error: "<Type>: <message>"``, ``traceback``: the innermost frames, ``seconds``) and the sweep goes on.
A failed record never counts as a finished cell (:func:`scarce.experiment.log.read_log` leaves it out),
so rerunning the same command retries the cell; ``Results`` lists the cells still failed in a "Failed
cells" section of ``results.md``. Interrupts (``KeyboardInterrupt``) and exits are not caught.
"""

from __future__ import annotations

import functools
import json
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from scarce.data.datasets import LabelledDataset, Subset
from scarce.data.loaders import DatasetBundle, load_dataset, stratified_test_split
from scarce.data.subsets import SubsetSplit, long_tailed_subset, stratified_subset
from scarce.experiment.config import ExperimentConfig, Row
from scarce.experiment.learners import create_learner
from scarce.experiment.log import FAILED, cell_key
from scarce.experiment.selection import at_edge, create_selection, grid_points, resolve_selection

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


@functools.lru_cache(maxsize=4)
def _cached_bundle(name: str, root: str | None, options_json: str) -> DatasetBundle:
    return load_dataset(name, root=root, **json.loads(options_json))


def get_bundle(config: ExperimentConfig, data_root: str | None) -> DatasetBundle:
    """Load (once per process) the config's dataset."""
    return _cached_bundle(config.dataset.name, data_root, json.dumps(config.dataset.options, sort_keys=True))


def cut_subset(config: ExperimentConfig, labels: np.ndarray, size: int, seed: int) -> SubsetSplit:
    """The cell's training subset and validation split (same for every remedy)."""
    s = config.subset
    if s.kind == "long_tailed":
        return long_tailed_subset(labels, imbalance_ratio=s.imbalance_ratio, seed=seed, max_per_class=size,
                                  val_fraction=s.val_fraction)
    return stratified_subset(labels, per_class=size, seed=seed, val_fraction=s.val_fraction)


def smallest_class(labels: np.ndarray, split: SubsetSplit) -> int:
    """Examples of the smallest class in a subset (training and validation parts together)."""
    return int(np.bincount(labels[split.all], minlength=int(labels.max()) + 1).min())


def selection_for(config: ExperimentConfig, *, smallest: int) -> tuple[str, int]:
    """The selection strategy a cell uses and its number of folds, given the subset's smallest
    class count (:func:`smallest_class`).

    ``auto`` is resolved from that count, and under ``auto`` the folds are capped at it (k = 3 gets
    3-fold cross-validation when ``folds`` is 5); an explicit ``selection: cross_validation`` keeps
    ``folds`` as given (the runner refuses more folds than k).
    """
    name = resolve_selection(config.selection, smallest=smallest, cv_max_k=config.cv_max_k)
    return name, (min(config.folds, smallest) if config.selection == "auto" else config.folds)


def test_set(config: ExperimentConfig, bundle: DatasetBundle) -> LabelledDataset:
    """The fixed test set, or a fixed stratified sample of ``test_limit`` examples of it (seed 0)."""
    test = bundle.test
    if config.test_limit is None or config.test_limit >= len(test):
        return test
    _, keep = stratified_test_split(test.labels, test_fraction=config.test_limit / len(test), seed=0)
    return Subset(test, keep)


def run_task(config: ExperimentConfig, data_root: str | None, task: Task) -> dict:
    """Train and test one cell; returns the record written to ``results.jsonl``."""
    start = time.perf_counter()
    config = config.at_size(task.size)
    bundle = get_bundle(config, data_root)
    labels = bundle.train.labels
    split = cut_subset(config, labels, task.size, task.seed)
    train, val, test = bundle.train.subset(split.train), bundle.train.subset(split.val), test_set(config, bundle)
    record = {"key": task.key, "remedy": task.label, "size": task.size, "seed": task.seed,
              "n_train": len(train), "n_val": len(val), "n_test": len(test),
              "test_counts": np.bincount(test.labels, minlength=bundle.num_classes).tolist()}
    learner = create_learner(task.row, config=config, bundle=bundle)
    name, folds = selection_for(config, smallest=smallest_class(labels, split))
    strategy = create_selection(name, folds=folds)
    fixed = dict(task.fixed) if task.fixed is not None else None
    chosen = strategy.select(learner, train=train, val=val, pool=bundle.train.subset(split.all), seed=task.seed,
                             fixed=fixed)
    record.update(learner.score(chosen.prepared, chosen.fitted, test))
    record.update(hparams=chosen.hparams, hparams_at_edge=at_edge(chosen.hparams, learner.axes),
                  tuning={"mode": config.tune, "selection": name, "folds": strategy.folds,
                          "grid_points": len(grid_points(learner.axes)),
                          "tuned_on_seed": task.seed if fixed is None else task.tuned_on},
                  train_summary=chosen.summary, best_step=chosen.summary["best_step"],
                  val_accuracy=chosen.val_accuracy, prep_seconds=round(chosen.prep_seconds, 3),
                  train_seconds=round(chosen.train_seconds, 3))
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
