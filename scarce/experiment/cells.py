"""One cell of the grid: (remedy, size, seed) → a JSON-able record of test metrics.

Every remedy in a (size, seed) pair gets the same subset, the same validation split, the same
initialisation seed, the same step budget and the same hyper-parameter grid, so differences are
paired and due to the remedy alone.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from scarce.data.datasets import LabelledDataset, Subset
from scarce.data.loaders import DatasetBundle, load_dataset, stratified_test_split
from scarce.data.subsets import SubsetSplit, long_tailed_subset, stratified_subset
from scarce.experiment.config import ExperimentConfig
from scarce.experiment.pipelines import FEATURIZERS, PIPELINES
from scarce.experiment.setup import TrainSetup, create_remedy

LOGREG = "logreg"


@dataclass(frozen=True)
class Task:
    label: str  # the results row: a remedy label, or "logreg"
    spec: Any  # the remedy spec from the config (None for logreg)
    size: int
    seed: int

    @property
    def key(self) -> str:
        return cell_key(self.label, self.size, self.seed)


def cell_key(label: str, size: int, seed: int) -> str:
    return f"{label}|{size}|{seed}"


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


def test_set(config: ExperimentConfig, bundle: DatasetBundle) -> LabelledDataset:
    """The fixed test set, or a fixed stratified sample of ``test_limit`` examples of it (seed 0)."""
    test = bundle.test
    if config.test_limit is None or config.test_limit >= len(test):
        return test
    _, keep = stratified_test_split(test.labels, test_fraction=config.test_limit / len(test), seed=0)
    return Subset(test, keep)


def run_logreg(train: LabelledDataset, val: LabelledDataset, test: LabelledDataset) -> dict:
    """Logistic regression on standardised raw features of the modality (fitted on ``train``),
    C chosen on the validation split."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from scarce.metrics import classification_metrics

    feats = FEATURIZERS.create(train.modality)
    xtr = feats.fit_transform(train)
    xva, xte = feats.transform(val) if len(val) else None, feats.transform(test)
    best = None
    for c in (0.01, 0.1, 1.0, 10.0):
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000)).fit(xtr, train.labels)
        score = clf.score(xva, val.labels) if xva is not None else 0.0
        if best is None or score > best[0]:
            best = (score, c, clf)
        if xva is None:
            break
    metrics = classification_metrics(test.labels, best[2].predict(xte), num_classes=test.num_classes)
    return {"metrics": metrics, "hparams": {"C": best[1]}, "val_accuracy": best[0]}


def run_task(config: ExperimentConfig, data_root: str | None, task: Task) -> dict:
    """Train and test one cell; returns the record written to ``results.jsonl``."""
    from scarce.train import evaluate, fit_tuned, image_collate

    start = time.time()
    bundle = get_bundle(config, data_root)
    split = cut_subset(config, bundle.train.labels, task.size, task.seed)
    train, val, test = bundle.train.subset(split.train), bundle.train.subset(split.val), test_set(config, bundle)
    record = {"key": task.key, "remedy": task.label, "size": task.size, "seed": task.seed,
              "n_train": len(train), "n_val": len(val), "n_test": len(test)}
    if task.label == LOGREG:
        record.update(run_logreg(train, val, test))
    else:
        model_fn, collate = PIPELINES.create(bundle.modality, model=config.model, train=train,
                                             num_classes=bundle.num_classes)
        setup = TrainSetup(train=train, num_classes=bundle.num_classes, model_fn=model_fn, collate=collate,
                           clean_train=train)
        setup = create_remedy(task.spec).apply(setup, seed=task.seed)
        t = config.train
        tc = t.engine_config(lr=t.lr[0], weight_decay=t.weight_decay[0])
        collate = setup.collate or image_collate
        sampler = setup.sampler_fn(setup.train.labels, seed=task.seed) if setup.sampler_fn else None
        result = fit_tuned(lambda: setup.model_fn(setup.num_classes), setup.train, config=tc, lrs=t.lr,
                           weight_decays=t.weight_decay, seed=task.seed, val=val, bn_data=setup.clean_train,
                           transform=setup.transform, batch_transform=setup.batch_transform, sampler=sampler,
                           loss_fn=setup.loss_fn, collate=collate, param_groups_fn=setup.param_groups_fn)
        record.update(metrics=evaluate(result.model, test, collate=collate, device=t.device),
                      hparams={"lr": result.lr, "weight_decay": result.weight_decay},
                      best_step=result.best_step, val_accuracy=result.val_score[0] if result.val_score else None,
                      n_train_after_remedy=len(setup.train), notes=dict(setup.notes))
    record["seconds"] = round(time.time() - start, 3)
    return record
