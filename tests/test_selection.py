"""Model selection strategies (hold-out, cross-validation) on fake learners, and cross-validation
through the runner with a spy remedy that records which rows it was applied to."""

from dataclasses import dataclass

import numpy as np
import pytest

from scarce.data import ArrayDataset
from scarce.data.datasets import Subset
from scarce.remedies import REMEDIES, Remedy
from scarce.experiment import Experiment
from scarce.experiment.config import ExperimentConfig, TrainSection
from scarce.experiment.cells import run_task
from scarce.experiment.edges import at_edge, grid_edges
from scarce.experiment.selection import (
    CrossValidation,
    Holdout,
    Learner,
    choose,
    create_selection,
    grid_points,
    mean_curve,
    resolve_selection,
    selection_names,
)


def test_grid_points_and_edges():
    axes = {"lr": [1e-3, 3e-3, 1e-2], "weight_decay": [0.0]}
    assert grid_points(axes) == [{"lr": 1e-3, "weight_decay": 0.0}, {"lr": 3e-3, "weight_decay": 0.0},
                                 {"lr": 1e-2, "weight_decay": 0.0}]
    assert at_edge({"lr": 1e-2, "weight_decay": 0.0}, axes) == ["lr"]  # a one-value axis is never an edge
    assert at_edge({"lr": 3e-3, "weight_decay": 0.0}, axes) == []
    assert at_edge({"C": 0.01}, {"C": [0.01, 0.1, 1.0]}) == ["C"]
    # a two-value axis has no interior: either choice is an end, flagged as a grid too narrow to tell
    two = {"lr": [1e-3, 3e-3, 1e-2], "weight_decay": [1e-4, 5e-2]}
    assert grid_edges({"lr": 3e-3, "weight_decay": 5e-2}, two) == {"weight_decay": "narrow"}
    assert grid_edges({"lr": 1e-3, "weight_decay": 1e-4}, two) == {"lr": "end", "weight_decay": "narrow"}
    assert grid_edges({"lr": 3e-3, "weight_decay": 0.0}, axes) == {}  # one-value axis: not tuned, never flagged


def _c(step, acc, nll):
    return {"step": step, "val_score": acc, "val_nll": nll}


def test_choose_breaks_ties_by_nll_then_earlier_step_then_grid_order():
    assert choose([[_c(10, .5, 1.0), _c(20, .7, 1.0)], [_c(10, .6, .1)]]) == (0, _c(20, .7, 1.0))
    assert choose([[_c(10, .7, .9)], [_c(10, .7, .8)]]) == (1, _c(10, .7, .8))
    assert choose([[_c(10, .7, .8), _c(20, .7, .8)]]) == (0, _c(10, .7, .8))
    assert choose([[_c(20, .7, .8)], [_c(20, .7, .8)]])[0] == 0


def test_mean_curve_averages_folds_on_common_steps():
    a = [_c(5, .5, 1.0), _c(10, .7, .5)]
    b = [_c(5, .7, 2.0), _c(10, .9, .7), _c(15, 1.0, .1)]  # a fold that checked once more
    assert mean_curve([a, b]) == [_c(5, pytest.approx(.6), pytest.approx(1.5)),
                                  _c(10, pytest.approx(.8), pytest.approx(.6))]


def test_auto_resolution_and_registry():
    assert resolve_selection("auto", smallest=10, cv_max_k=10) == "cross_validation"
    assert resolve_selection("auto", smallest=11, cv_max_k=10) == "holdout"
    assert resolve_selection("auto", smallest=1, cv_max_k=10) == "holdout"  # one example per class: no folds
    assert resolve_selection("holdout", smallest=2, cv_max_k=10) == "holdout"
    assert set(selection_names()) == {"auto", "holdout", "cross_validation"}
    assert create_selection("cross_validation", folds=3).folds == 3
    assert create_selection("holdout", folds=3).folds is None
    with pytest.raises(ValueError, match="Did you mean 'holdout'"):
        create_selection("holdot", folds=3)
    with pytest.raises(ValueError, match="`folds` must be >= 2"):
        CrossValidation(folds=1)


@dataclass
class _Fit:
    history: list
    val_score: tuple | None
    summary: dict


class FakeLearner(Learner):
    """Validation accuracy peaks at step 20 for lr=0.1 and at step 10 for lr=1; records every call."""

    axes = {"lr": [0.1, 1.0]}

    def __init__(self):
        self.prepared, self.fits = [], []

    def prepare(self, part, *, seed):
        self.prepared.append(set(part.indices.tolist()))
        return self.prepared[-1]

    def fit(self, prepared, *, hparams, seed, val, stop_at=None):
        self.fits.append((prepared, hparams, None if val is None else set(val.indices.tolist()), stop_at))
        peak = 20 if hparams["lr"] == 0.1 else 10
        hist = [] if val is None else [_c(s, (.9 if s == peak else .5) - (0 if hparams["lr"] == 0.1 else .1), 1.0)
                                       for s in (10, 20, 30)]
        score = max((h["val_score"], -h["val_nll"]) for h in hist) if hist else None
        return _Fit(hist, score, {"steps": stop_at or 30, "best_step": stop_at or 30, "train_accuracy": 1.0})

    def score(self, prepared, fitted, test):
        return {"metrics": {"accuracy": fitted.val_score[0] if fitted.val_score else 0.0}}


def _pool(n_per_class=6):
    labels = np.repeat([0, 1, 2], n_per_class)
    ds = ArrayDataset(np.zeros((labels.size, 2, 2, 1), np.uint8), labels, class_names=["a", "b", "c"])
    return Subset(ds, np.arange(labels.size))


def test_cross_validation_chooses_by_folds_and_never_shows_the_held_out_fold():
    pool, learner = _pool(), FakeLearner()
    sel = CrossValidation(folds=3).select(learner, train=pool, val=pool.subset([]), pool=pool, seed=0)
    assert sel.hparams == {"lr": 0.1, "step": 20} and sel.val_score == pytest.approx(.9)
    assert len(learner.prepared) == 3 + 1 and learner.prepared[-1] == set(range(18))
    fold_fits = learner.fits[:-1]
    assert len(fold_fits) == 3 * 2
    for part, _, held_out, stop_at in fold_fits:
        assert part.isdisjoint(held_out) and part | held_out == set(range(18)) and stop_at is None
    assert sorted(i for _, _, h, _ in fold_fits[::2] for i in h) == list(range(18))  # each row held out once
    final_part, final_hp, final_val, final_stop = learner.fits[-1]
    assert final_part == set(range(18)) and final_hp == {"lr": 0.1} and final_val is None and final_stop == 20
    assert sel.summary["val_improving_late"] is False  # peak at 20 of 30 steps
    assert sel.prep_seconds >= 0 and sel.train_seconds >= 0


def test_cross_validation_with_a_fixed_point_trains_once_on_the_pool():
    pool, learner = _pool(), FakeLearner()
    sel = CrossValidation(folds=3).select(learner, train=pool, val=pool.subset([]), pool=pool, seed=0,
                                          fixed={"lr": 1.0, "step": 10})
    assert learner.fits == [(set(range(18)), {"lr": 1.0}, None, 10)]
    assert sel.hparams == {"lr": 1.0, "step": 10} and sel.val_score is None
    assert sel.summary["val_improving_late"] is None


def test_cross_validation_with_nothing_to_choose_trains_once_on_the_pool():
    """One grid point and one check per fit: folds could choose nothing, so none are trained."""
    pool, learner = _pool(), FakeLearner()
    learner.axes, learner.checks = {"lr": [0.1]}, 1
    sel = CrossValidation(folds=3).select(learner, train=pool, val=pool.subset([]), pool=pool, seed=0)
    assert learner.fits == [(set(range(18)), {"lr": 0.1}, None, None)]
    assert sel.hparams == {"lr": 0.1}
    learner = FakeLearner()
    learner.axes, learner.checks = {"lr": [0.1]}, 3  # several checks: the folds choose the step
    CrossValidation(folds=3).select(learner, train=pool, val=pool.subset([]), pool=pool, seed=0)
    assert len(learner.fits) == 3 + 1


def test_the_learner_defaults_fit_the_grid_point_by_point_and_know_no_check_count():
    pool, learner = _pool(), FakeLearner()
    assert learner.checks is None  # unknown: cross-validation always runs its folds
    points = [{"lr": 1.0}, {"lr": 0.1}, {"lr": 1.0}]
    fits = learner.fit_grid("prepared", points=points, seed=7, val=pool)
    assert [f.val_score for f in fits] == [learner.fit("prepared", hparams=hp, seed=7, val=pool).val_score
                                           for hp in points]
    assert learner.fits[:3] == [("prepared", hp, set(range(18)), None) for hp in points]  # in order, no stop
    learner = FakeLearner()
    learner.axes = {"lr": [0.1]}
    CrossValidation(folds=3).select(learner, train=pool, val=pool.subset([]), pool=pool, seed=0)
    assert len(learner.fits) == 3 + 1


def test_a_selection_refuses_what_is_not_a_learner():
    class DuckLearner:
        axes = {"lr": [0.1]}

        def prepare(self, part, *, seed):
            return part

    pool = _pool()
    for strategy in (Holdout(), CrossValidation(folds=3)):
        with pytest.raises(TypeError, match="trains a scarce.experiment.selection.Learner, got DuckLearner"):
            strategy.select(DuckLearner(), train=pool, val=pool, pool=pool, seed=0)
    with pytest.raises(TypeError, match="abstract"):
        type("NoScore", (Learner,), {"prepare": FakeLearner.prepare, "fit": FakeLearner.fit})()


def test_holdout_keeps_the_best_validation_point_or_the_fixed_one():
    pool, learner = _pool(), FakeLearner()
    train, val = pool.subset(range(0, 18, 2)), pool.subset(range(1, 18, 2))
    sel = Holdout().select(learner, train=train, val=val, pool=pool, seed=0)
    assert sel.hparams == {"lr": 0.1} and len(learner.prepared) == 1 and len(learner.fits) == 2
    assert all(v == set(val.indices.tolist()) for _, _, v, _ in learner.fits)
    learner = FakeLearner()
    sel = Holdout().select(learner, train=train, val=val, pool=pool, seed=0, fixed={"lr": 1.0})
    assert sel.hparams == {"lr": 1.0} and len(learner.fits) == 1


def _positions(ds):
    """Positions of a (nested) Subset's rows in the underlying dataset."""
    idx = np.arange(len(ds))
    while isinstance(ds, Subset):
        idx, ds = ds.indices[idx], ds.base
    return idx


@dataclass(frozen=True)
class SpyRemedy(Remedy):
    """Records the positions of the rows of every setup it is applied to."""

    name = "spy"
    calls = []

    def apply(self, setup, *, seed):
        type(self).calls.append(set(_positions(setup.train).tolist()))
        return setup


@pytest.fixture()
def spy_remedy():
    REMEDIES.register("spy", SpyRemedy, help="test only")
    yield
    REMEDIES.unregister("spy")


def test_cross_validation_in_a_cell_never_applies_the_remedy_to_the_held_out_fold(tmp_path, spy_remedy):
    SpyRemedy.calls.clear()
    cfg = ExperimentConfig(name="cv", sizes=[4], seeds=[0], remedies=["spy"],
                           selection="cross_validation", folds=4, test_limit=40,
                           train=TrainSection(steps=3, eval_every=1, lr=[1e-3, 1e-2], weight_decay=[1e-4]))
    (task,) = Experiment(cfg, out_dir=tmp_path, progress=False).tasks
    rec = run_task(cfg, None, task)
    *folds, whole = SpyRemedy.calls
    assert len(folds) == 4 and len(whole) == 40  # 4 per class x 10 digits
    for row in whole:
        assert sum(row in part for part in folds) == 3  # each row is left out of exactly one fold's apply
    tuning = {k: v for k, v in rec["tuning"].items() if k not in ("vote_margin", "candidates")}
    assert tuning == {"mode": "every_cell", "selection": "cross_validation", "folds": 4, "grid_points": 2,
                      "tuned_on_seed": 0, "select_by": "accuracy", "n_val": 40}
    assert rec["tuning"]["vote_margin"] >= 0 and rec["tuning"]["candidates"] == 2 * 3
    assert set(rec["hparams"]) == {"lr", "weight_decay", "step"} and 1 <= rec["hparams"]["step"] <= 3
    assert rec["train_summary"]["steps"] == rec["hparams"]["step"] == rec["best_step"]
    assert rec["n_train_after_remedy"] == 40
    assert rec["edge_reasons"]["lr"] == "narrow" and rec["hparams_at_edge"][0] == "lr"  # two lr values: too narrow
    assert rec["val_accuracy"] == rec["val_score"]  # selection by accuracy (a balanced test split)


def test_auto_uses_cross_validation_only_for_small_sizes(tmp_path):
    cfg = ExperimentConfig(name="auto", sizes=[3, 6], seeds=[0], selection="auto", cv_max_k=4, folds=5, references=["logreg"],
                           test_limit=40, train=TrainSection(steps=2, eval_every=1, lr=[1e-2], weight_decay=[1e-4]))
    tasks = Experiment(cfg, out_dir=tmp_path, progress=False).tasks
    recs = {(t.label, t.size): run_task(cfg, None, t) for t in tasks}
    assert {k: r["tuning"]["selection"] for k, r in recs.items()} == {
        ("baseline", 3): "cross_validation", ("logreg", 3): "cross_validation",
        ("baseline", 6): "holdout", ("logreg", 6): "holdout"}
    assert recs[("baseline", 3)]["tuning"]["folds"] == 3  # `auto` caps 5 folds at the 3 examples per class
    assert recs[("logreg", 3)]["tuning"]["grid_points"] == 4 and set(recs[("logreg", 3)]["hparams"]) == {"C"}
    assert recs[("baseline", 6)]["tuning"]["folds"] is None and "step" not in recs[("baseline", 6)]["hparams"]


def test_a_check_marked_unselectable_is_averaged_but_never_chosen():
    """Cross-validation's choice of step honours a remedy's ``select_from`` (checks before it are marked)."""
    early = dict(_c(10, .9, .1), selectable=False)
    assert choose([[early, _c(20, .6, 1.0)], [_c(10, .7, .5)]]) == (1, _c(10, .7, .5))
    assert mean_curve([[early, _c(20, .6, 1.0)], [_c(10, .5, .1), _c(20, .6, 1.0)]]) == [
        dict(_c(10, pytest.approx(.7), pytest.approx(.1)), selectable=False),
        _c(20, pytest.approx(.6), pytest.approx(1.0))]
    with pytest.raises(ValueError, match="no validation check"):
        choose([[early]])
