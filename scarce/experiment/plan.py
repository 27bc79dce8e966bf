"""Where a cell's data comes from: the dataset bundle, the (size, seed) subset, its validation split
or folds, the test set and the setup every row of the cell starts from.

A :class:`CellPlan` is cut once per (size, seed) and used by everything that reads a cell: the cell
itself (:func:`scarce.experiment.cells.run_task`), the runner's checks, the preflight, ``scarce
preview`` and ``scarce search``. Every remedy of a cell sees the same plan, so differences are
paired; the plan never changes with the remedy.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from scarce.data.datasets import LabelledDataset, Subset
from scarce.data.loaders import DatasetBundle, load_dataset, stratified_test_split
from scarce.data.subsets import SubsetSplit, long_tailed_subset, stratified_subset
from scarce.experiment.config import ExperimentConfig, ModelConfig
from scarce.experiment.selection import create_selection, resolve_selection
from scarce.experiment.unlabelled import cell_pool, task_bundle
from scarce.metrics import auto_metric
from scarce.modalities import get_modality
from scarce.train_setup import TrainSetup


@functools.lru_cache(maxsize=4)
def _cached_bundle(name: str, root: str | None, options_json: str) -> DatasetBundle:
    return load_dataset(name, root=root, **json.loads(options_json))


@functools.lru_cache(maxsize=4)
def _task(name: str, root: str | None, options_json: str, classes_json: str) -> DatasetBundle:
    return task_bundle(_cached_bundle(name, root, options_json), json.loads(classes_json))


def get_bundle(config: ExperimentConfig, data_root: str | None) -> DatasetBundle:
    """Load (once per process) the config's dataset: the labelled task, without the classes an
    ``unlabelled.mismatch`` leaves out (:func:`scarce.experiment.unlabelled.task_bundle`)."""
    key = (config.dataset.name, data_root, json.dumps(config.dataset.options, sort_keys=True))
    classes = config.unlabelled.mismatch.classes
    return _task(*key, json.dumps(classes)) if classes else _cached_bundle(*key)


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


def resolve_select_by(select_by: str, *, metric: str, test_counts) -> str:
    """The metric a cell chooses by: ``select_by`` itself unless it is ``auto``, which is the headline
    metric: ``metric`` when the config sets one, else the rule of ``metric: auto``
    (:func:`scarce.metrics.auto_metric`) on ``test_counts``, the test split's class counts.

    Example:
        >>> resolve_select_by("auto", metric="auto", test_counts=[90, 10]), resolve_select_by(
        ...     "auto", metric="macro_f1", test_counts=[90, 10])
        ('balanced_accuracy', 'macro_f1')
    """
    if select_by != "auto":
        return select_by
    return metric if metric != "auto" else auto_metric(test_counts)


def test_set(config: ExperimentConfig, bundle: DatasetBundle) -> LabelledDataset:
    """The fixed test set, or a fixed stratified sample of ``test_limit`` examples of it (seed 0)."""
    test = bundle.test
    if config.test_limit is None or config.test_limit >= len(test):
        return test
    _, keep = stratified_test_split(test.labels, test_fraction=config.test_limit / len(test), seed=0)
    return Subset(test, keep)


def base_setup(part: LabelledDataset, *, model: ModelConfig, num_classes: int,
               unlabelled: LabelledDataset | None = None) -> TrainSetup:
    """The setup built from ``part`` only by its modality's pipeline (model and collate), before any
    remedy, with the cell's ``unlabelled`` pool: what every row of a cell (and ``scarce train``)
    starts from."""
    model_fn, collate = get_modality(part.modality).pipeline(model=model, train=part, num_classes=num_classes)
    return TrainSetup(train=part, num_classes=num_classes, model_fn=model_fn, collate=collate, clean_train=part,
                      unlabelled=unlabelled)


@dataclass(frozen=True)
class CellPlan:
    """One (size, seed) cell's data, cut once and shared by every row of the cell.

    Attributes:
        config: the recipe at this size (``train.steps_by_size`` resolved).
        bundle: the dataset (training pool and test split).
        size, seed: the cell.
        split: the subset's training and validation indices into ``bundle.train``.
        unlabelled_limit: a cap on the unlabelled pool below the recipe's (the preflight's tiny cells).

    Example:
        >>> plan = CellPlan.cut(ExperimentConfig(sizes=[5]), get_bundle(ExperimentConfig(), None), size=5, seed=0)
        >>> len(plan.train) + len(plan.val) == len(plan.pool) == 50, plan.selection
        (True, ('cross_validation', 5))
    """

    config: ExperimentConfig
    bundle: DatasetBundle
    size: int
    seed: int
    split: SubsetSplit
    unlabelled_limit: int | None = None

    @classmethod
    def cut(cls, config: ExperimentConfig, bundle: DatasetBundle, *, size: int, seed: int) -> CellPlan:
        """The plan of cell (``size``, ``seed``): its subset cut from ``bundle`` as every row sees it."""
        return cls(config.at_size(size), bundle, size, seed, cut_subset(config, bundle.train.labels, size, seed))

    @cached_property
    def train(self) -> LabelledDataset:
        """The subset's training part (hold-out selection trains here)."""
        return self.bundle.train.subset(self.split.train)

    @cached_property
    def val(self) -> LabelledDataset:
        """The subset's validation part (empty with ``subset.val_fraction: 0``)."""
        return self.bundle.train.subset(self.split.val)

    @cached_property
    def pool(self) -> LabelledDataset:
        """The whole subset (cross-validation folds it and retrains on all of it)."""
        return self.bundle.train.subset(self.split.all)

    @cached_property
    def unlabelled(self) -> LabelledDataset | None:
        """The cell's unlabelled pool (``None`` without ``unlabelled:``): the same for every row and
        part (:func:`scarce.experiment.unlabelled.cell_pool`)."""
        return cell_pool(self.config.unlabelled, self.bundle, self.split, size=self.size, seed=self.seed,
                         limit=self.unlabelled_limit)

    @cached_property
    def test(self) -> LabelledDataset:
        """The fixed test set (or its fixed sample of ``test_limit`` examples)."""
        return test_set(self.config, self.bundle)

    @cached_property
    def select_by(self) -> str:
        """The metric every row of the cell chooses by (:func:`resolve_select_by` on the test split)."""
        counts = np.bincount(self.test.labels, minlength=self.bundle.num_classes)
        return resolve_select_by(self.config.select_by, metric=self.config.metric, test_counts=counts)

    @cached_property
    def smallest(self) -> int:
        """Examples of the subset's smallest class."""
        return smallest_class(self.bundle.train.labels, self.split)

    @cached_property
    def selection(self) -> tuple[str, int]:
        """The selection strategy of the cell and its folds (:func:`selection_for`)."""
        return selection_for(self.config, smallest=self.smallest)

    @cached_property
    def strategy(self) -> Any:
        """The cell's selection strategy (``SELECTIONS``), built with its folds."""
        name, folds = self.selection
        return create_selection(name, folds=folds)

    def base_setup(self, part: LabelledDataset) -> TrainSetup:
        """:func:`base_setup` of ``part`` (the training part, a fold, or the whole subset)."""
        return base_setup(part, model=self.config.model, num_classes=self.bundle.num_classes,
                          unlabelled=self.unlabelled)
