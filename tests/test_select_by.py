"""Selection by one metric (``select_by``): the cell resolves it, every learner scores validation in it
and both strategies choose by it; a long-tailed validation set where accuracy and balanced accuracy
disagree shows that the choice follows the metric."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from scarce.data import ArrayDataset
from scarce.data.datasets import Subset
from scarce.experiment import Experiment
from scarce.experiment.config import ExperimentConfig, SubsetConfig, TrainSection
from scarce.experiment.learners import LogisticLearner
from scarce.experiment.plan import resolve_select_by
from scarce.experiment.selection import CrossValidation, Holdout, Learner
from scarce.inference import image_collate, val_score
from scarce.metrics import classification_metrics
from scarce.train import TrainConfig


def _images(values, labels):
    """2x2 grey images of one pixel value each, as an ArrayDataset subset (positions 0..n-1)."""
    x = np.repeat(np.asarray(values, np.uint8)[:, None, None, None], 4, axis=1).reshape(-1, 2, 2, 1)
    labels = np.asarray(labels)
    ds = ArrayDataset(x, labels, class_names=[str(c) for c in range(int(labels.max()) + 1)])
    return Subset(ds, np.arange(labels.size))


def test_select_by_auto_is_the_headline_metric():
    assert resolve_select_by("auto", metric="auto", test_counts=[50, 50, 49]) == "accuracy"
    assert resolve_select_by("auto", metric="auto", test_counts=[300, 30, 10]) == "balanced_accuracy"
    assert resolve_select_by("auto", metric="macro_f1", test_counts=[50, 50]) == "macro_f1"
    assert resolve_select_by("accuracy", metric="balanced_accuracy", test_counts=[300, 10]) == "accuracy"


def test_select_by_is_validated_where_it_is_given(tmp_path):
    cfg = ExperimentConfig(name="t", sizes=[5], seeds=[0], select_by="f1", train=TrainSection(steps=2, lr=[1e-3]))
    with pytest.raises(ValueError, match=r"`select_by` must be one of 'auto', 'accuracy', 'balanced_accuracy', "
                                         r"'macro_f1', got 'f1'"):
        Experiment(cfg, out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="`select_by` must be one of"):
        TrainConfig(select_by="balanced")
    with pytest.raises(ValueError, match="`select_by` must be one of .*got 'recall'"):
        LogisticLearner(num_classes=2, select_by="recall")


def test_balanced_scores_average_over_the_classes_a_validation_part_holds():
    m = classification_metrics([0, 0, 1, 1], [0, 2, 1, 1], num_classes=3)  # class 2 absent, but predicted once
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1.0) / 2)
    assert not np.isnan(m["balanced_accuracy"]) and not np.isnan(m["macro_f1"])


class Lookup(nn.Module):
    """Predicts the class written as the image's pixel value (undoing ``image_collate``'s scaling)."""

    def forward(self, x):
        value = ((x[:, 0, 0, 0] * 0.25 + 0.5) * 255).round().long()
        return nn.functional.one_hot(value, 3).float() * 5


def test_the_engine_validation_score_is_in_the_metric_asked_for():
    val = _images([0, 0, 0, 0, 2], [0, 0, 0, 1, 2])  # class 1 predicted as 0; class 2 right
    device = torch.device("cpu")
    acc, nll = val_score(Lookup(), val, image_collate, device)
    assert acc == pytest.approx(4 / 5) and nll < 0
    bal, nll_b = val_score(Lookup(), val, image_collate, device, metric="balanced_accuracy")
    assert bal == pytest.approx((1 + 0 + 1) / 3) and nll_b == nll  # the tie-break is the same NLL


HEAD, FAIR = 0.1, 1.0


@dataclass
class _Fit:
    history: list
    val_score: tuple | None
    summary: dict


class TailLearner(Learner):
    """``lr=0.1`` predicts the head class (0) everywhere; ``lr=1`` gets every tail row right and every head
    row wrong: on long-tailed validation the first wins on accuracy, the second on balanced accuracy."""

    axes = {"lr": [HEAD, FAIR]}

    def __init__(self, select_by):
        self.select_by = select_by

    def prepare(self, part, *, seed):
        return part

    def fit(self, prepared, *, hparams, seed, val, stop_at=None):
        if val is None:
            return _Fit([], None, {"steps": 10, "best_step": 10})
        y = np.asarray(val.labels)
        pred = np.zeros_like(y) if hparams["lr"] == HEAD else np.where(y == 0, 1, y)
        score = classification_metrics(y, pred, num_classes=3)[self.select_by]
        return _Fit([{"step": 10, "val_score": score, "val_nll": 1.0}], (score, -1.0), {"steps": 10, "best_step": 10})

    def score(self, prepared, fitted, test):
        return {}


def _long_tailed_pool():
    """12 head rows, 3 + 3 tail rows."""
    return _images(np.zeros(18), np.r_[np.zeros(12, int), [1, 1, 1, 2, 2, 2]])


@pytest.mark.parametrize("strategy", [Holdout(), CrossValidation(folds=3)], ids=["holdout", "cross_validation"])
def test_selection_by_balanced_accuracy_chooses_another_point_than_by_accuracy(strategy):
    pool = _long_tailed_pool()
    val_rows = [0, 1, 2, 3, 12, 15]
    train, val = pool.subset([i for i in range(18) if i not in val_rows]), pool.subset(val_rows)
    chosen = {}
    for metric in ("accuracy", "balanced_accuracy", "macro_f1"):
        sel = strategy.select(TailLearner(metric), train=train, val=val, pool=pool, seed=0)
        chosen[metric] = sel.hparams["lr"]
        assert sel.n_val == (6 if strategy.name == "holdout" else 18) and sel.margin > 0
    assert chosen == {"accuracy": HEAD, "balanced_accuracy": FAIR, "macro_f1": FAIR}
    sel = strategy.select(TailLearner("accuracy"), train=train, val=val, pool=pool, seed=0)
    assert sel.val_score == pytest.approx(4 / 6) and sel.margin == pytest.approx(4 / 6 - 2 / 6)


def test_logistic_regression_chooses_C_by_its_select_by():
    """Head rows sit at pixel 100, tail rows at 200; three head rows of validation look like the tail.
    A tiny C predicts the head everywhere (best accuracy), a large C finds the tail (best balanced accuracy)."""
    train = _images([100] * 20 + [200] * 2, [0] * 20 + [1] * 2)
    val = _images([100] * 7 + [200] * 3 + [200] * 2, [0] * 10 + [1] * 2)
    chosen = {}
    for metric in ("accuracy", "balanced_accuracy"):
        learner = LogisticLearner(num_classes=2, C=[1e-4, 100.0], select_by=metric)
        sel = Holdout().select(learner, train=train, val=val, pool=train, seed=0)
        chosen[metric] = sel.hparams["C"]
        assert sel.fitted.history[0]["val_score"] == sel.val_score
    assert chosen == {"accuracy": 1e-4, "balanced_accuracy": 100.0}


def test_a_cell_records_its_selection_metric_and_val_accuracy_only_when_it_is_accuracy(tmp_path):
    import dataclasses

    from scarce.experiment.cells import run_task

    cfg = ExperimentConfig(name="t", sizes=[4], seeds=[0], references=["logreg"], remedies=[], test_limit=60,
                           selection="holdout", subset=SubsetConfig(val_fraction=0.5),
                           train=TrainSection(steps=2, lr=[1e-3]))
    (task,) = Experiment(cfg, out_dir=tmp_path, progress=False).tasks
    rec = run_task(cfg, None, task)
    assert rec["tuning"]["select_by"] == "accuracy" and rec["val_accuracy"] == rec["val_score"]  # balanced test split
    rec = run_task(dataclasses.replace(cfg, select_by="balanced_accuracy"), None, task)
    assert rec["tuning"]["select_by"] == "balanced_accuracy" and "val_accuracy" not in rec
    assert rec["tuning"]["n_val"] == 20 and rec["tuning"]["vote_margin"] >= 0 and 0 <= rec["val_score"] <= 1
