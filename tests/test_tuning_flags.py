"""Flags that can fire: a choice at an end of a two-value axis or of the validation checks, a close
first-seed vote and a reused point that did not train; each on a tiny fixture and its negative."""

from dataclasses import dataclass

import numpy as np
import pytest

from scarce.data import ArrayDataset
from scarce.data.datasets import Subset
from scarce.experiment.edges import grid_edges, step_edge, vote_margin
from scarce.experiment.selection import CrossValidation, Holdout, Learner
from scarce.report.stats import edge_names, hparam_text, row_flags, tuning_text

COUNTS = [10] * 10  # a balanced test split of 10 classes: chance 10%


def rec(seed=0, *, edges=None, tuning=None, last=1.0, **extra):
    r = {"seed": seed, "size": 5, "test_counts": COUNTS, "hparams": {"lr": 0.01, "weight_decay": 1e-4},
         "hparams_at_edge": list(edges or {}), "edge_reasons": dict(edges or {}),
         "tuning": {"mode": "every_cell", "selection": "holdout", "folds": None, "grid_points": 4,
                    "tuned_on_seed": seed, **(tuning or {})},
         "train_summary": {"steps": 300, "best_step": 150, "train_accuracy": 1.0, "last_train_accuracy": last,
                           "val_improving_late": False}}
    return {**r, **extra}


def test_a_two_value_axis_is_flagged_too_narrow_and_a_one_value_axis_never():
    axes = {"lr": [0.01, 0.03], "weight_decay": [1e-4], "C": [0.1, 1.0, 10.0]}
    assert grid_edges({"lr": 0.03, "weight_decay": 1e-4, "C": 1.0}, axes) == {"lr": "narrow"}
    assert grid_edges({"lr": 0.01, "weight_decay": 1e-4, "C": 10.0}, axes) == {"lr": "narrow", "C": "end"}
    assert grid_edges({"weight_decay": 1e-4}, {"weight_decay": [1e-4]}) == {}  # not tuned: never flagged
    narrow = row_flags([rec(edges={"lr": "narrow"}), rec(1, edges={"lr": "narrow"})])
    assert len(narrow) == 1 and "lr chosen at an end of a two-value grid, too narrow to tell in 2/2 seeds" in narrow[0]
    wide = row_flags([rec(edges={"lr": "end"})])
    assert wide == ["lr chosen at an end of its grid in 1/1 seeds (widen the grid)"]
    assert row_flags([rec(), rec(1)]) == []


def test_an_old_log_edge_without_a_reason_still_reports_as_an_end():
    old = [{"seed": 0, "hparams": {"lr": 0.1}, "hparams_at_edge": ["lr"]}, {"seed": 1, "hparams": {"lr": 0.01}}]
    assert row_flags(old) == ["lr chosen at an end of its grid in 1/2 seeds (widen the grid)"]
    assert edge_names(old) == ["lr: end of grid"] and hparam_text(old)[1] == 1
    assert row_flags([{"seed": 0, "metrics": {}}]) == []  # nothing recorded: nothing flagged


def test_a_step_at_the_first_or_last_check_is_flagged_with_its_reason():
    assert (step_edge(200, [25, 50, 200]), step_edge(25, [25, 50, 200]), step_edge(50, [25, 50, 200])) == (
        "last_check", "first_check", None)
    assert step_edge(200, [200]) is None and step_edge(None, [10, 20]) is None  # one check / no step: nothing chosen
    last = row_flags([rec(edges={"step": "last_check"})])
    assert last == ["step chosen at the last validation check in 1/1 seeds (may still be learning: raise `train.steps`)"]
    first = row_flags([rec(edges={"step": "first_check"})])
    assert "first validation check" in first[0] and "lr too high" in first[0]
    both = [rec(edges={"lr": "narrow", "step": "last_check"}), rec(1, edges={"step": "first_check"})]
    assert edge_names(both) == ["lr: too narrow to tell", "step: last check", "step: first check"]
    assert hparam_text(both)[1] == 2


@dataclass
class _Fit:
    history: list
    val_score: tuple | None
    summary: dict


class PeakLearner(Learner):
    """Checks at steps 10, 20, 30; validation peaks at ``PEAK[lr]``."""

    axes = {"lr": [0.1, 1.0]}
    PEAK = {0.1: 30, 1.0: 10}

    def prepare(self, part, *, seed):
        return part

    def fit(self, prepared, *, hparams, seed, val, stop_at=None):
        peak = self.PEAK[hparams["lr"]]
        hist = [] if val is None else [{"step": s, "val_score": (.9 if s == peak else .5) - .1 * (hparams["lr"] == 1.0),
                                        "val_nll": 1.0} for s in (10, 20, 30)]
        best = max(hist, key=lambda c: c["val_score"]) if hist else None
        return _Fit(hist, (best["val_score"], -1.0) if best else None,
                    {"steps": stop_at or 30, "best_step": best["step"] if best else stop_at or 30})

    def score(self, prepared, fitted, test):
        return {}


def _pool():
    labels = np.repeat([0, 1, 2], 6)
    return Subset(ArrayDataset(np.zeros((18, 2, 2, 1), np.uint8), labels, class_names=["a", "b", "c"]), np.arange(18))


@pytest.mark.parametrize("peak, expected", [(30, "last_check"), (10, "first_check"), (20, None)])
@pytest.mark.parametrize("strategy", [Holdout(), CrossValidation(folds=3)], ids=["holdout", "cross_validation"])
def test_both_strategies_report_a_step_at_an_end_of_the_checks(strategy, peak, expected):
    pool, learner = _pool(), PeakLearner()
    learner.PEAK = {0.1: peak, 1.0: 20}
    sel = strategy.select(learner, train=pool.subset(range(0, 18, 2)), val=pool.subset(range(1, 18, 2)),
                          pool=pool, seed=0)
    assert sel.hparams["lr"] == 0.1 and sel.step_edge == expected
    assert sel.margin == pytest.approx(0.9 - 0.8) and sel.candidates == 2 * 3


def test_a_reused_choice_casts_no_vote():
    pool = _pool()
    sel = Holdout().select(PeakLearner(), train=pool, val=pool, pool=pool, seed=0, fixed={"lr": 1.0})
    assert sel.margin is None and sel.step_edge == "first_check"  # the fit still keeps its best check
    sel = CrossValidation(folds=3).select(PeakLearner(), train=pool, val=pool, pool=pool, seed=0,
                                          fixed={"lr": 1.0, "step": 10})
    assert sel.margin is None and sel.candidates == 0 and sel.step_edge is None
    assert vote_margin([0.8], 0) is None and vote_margin([None, 0.7], 0) is None


def first_seed(seed, *, margin=None, n_val=None, last=1.0, tuned_on=0):
    tuning = {"mode": "first_seed", "tuned_on_seed": tuned_on}
    if margin is not None:
        tuning.update(vote_margin=margin, n_val=n_val)
    return rec(seed, tuning=tuning, last=last)


def test_a_first_seed_vote_decided_by_at_most_one_validation_example_is_fragile():
    close = row_flags([first_seed(0, margin=0.05, n_val=10), first_seed(1), first_seed(2)])
    assert len(close) == 1 and "fragile tuning: the vote on seed 0" in close[0] and "< 1.5/10" in close[0]
    one_example = float(np.float32(0.9)) - float(np.float32(0.8))  # one example of 10, in float32 scores
    assert len(row_flags([first_seed(0, margin=one_example, n_val=10), first_seed(1)])) == 1
    # one example of a fold of 81 in a 5-fold mean over 403 (the digits-LT pool): below 1/403, still one example
    assert len(row_flags([first_seed(0, margin=1 / 405, n_val=403), first_seed(1)])) == 1
    two_examples = float(np.float32(1.0)) - float(np.float32(0.8))
    assert row_flags([first_seed(0, margin=two_examples, n_val=10), first_seed(1)]) == []
    every = rec(0, tuning={"mode": "every_cell", "vote_margin": 0.0, "n_val": 10})
    assert row_flags([every]) == []  # each seed votes: its variance is in the interval


def test_a_reused_point_that_did_not_train_on_another_seed_is_fragile():
    diverged = row_flags([first_seed(0), first_seed(1, last=0.12), first_seed(2)])
    assert diverged[-1] == ("fragile tuning: the reused point did not train on seed 1 (a reused lr diverged? training "
                            "accuracy 12% at the last step, chance 10%)")
    assert sum("reused point" in f for f in diverged) == 1  # (the mean training accuracy is low too: under-trained)
    trained = row_flags([first_seed(0), first_seed(1, last=0.5)])  # trained, if not well: not this flag
    assert trained and not any("reused point" in f for f in trained)
    # the tuning seed did not train either: the point is bad everywhere, the under-training flag says so
    assert not any("reused point" in f for f in row_flags([first_seed(0, last=0.1), first_seed(1, last=0.1)]))


def test_the_tuning_caption_says_what_first_seed_leaves_out_and_when_nothing_was_tuned():
    grid = {"lr": [0.01], "weight_decay": [1e-4]}
    first = tuning_text([first_seed(0), first_seed(1)], grid)
    assert "tuning variance is not in the intervals (one seed's vote reused by every seed)" in first
    assert "variance" not in tuning_text([rec(0), rec(1)], grid)
    one = [rec(s, tuning={"grid_points": 1, "candidates": 1, "select_by": "accuracy"}) for s in (0, 1)]
    assert tuning_text(one, grid) == "nothing was tuned: one grid point; grid lr {0.01} × weight_decay {0.0001}"
    checks = [rec(0, tuning={"grid_points": 1, "candidates": 8, "select_by": "balanced_accuracy"})]
    assert "nothing was tuned" not in tuning_text(checks, grid)  # one point, but the step was chosen
    assert "by validation `balanced_accuracy`" in tuning_text(checks, grid)


def test_a_reused_step_carries_the_tuning_seeds_edge_to_every_seed():
    tuner = first_seed(0)
    tuner.update(hparams_at_edge=["step"], edge_reasons={"step": "last_check"})
    flags = row_flags([tuner, first_seed(1), first_seed(2)])
    assert any("step chosen at the last validation check in 3/3 seeds" in f for f in flags)
    every = [rec(s, tuning={"mode": "every_cell", "tuned_on_seed": s}) for s in range(3)]
    every[0].update(hparams_at_edge=["step"], edge_reasons={"step": "last_check"})
    assert row_flags(every) == []  # each seed chose its own step: one of three at an edge is not the row's
    every[1].update(hparams_at_edge=["step"], edge_reasons={"step": "last_check"})
    assert any("in 2/3 seeds" in f for f in row_flags(every))  # at least half the seeds: a flag
