import numpy as np
import pytest
from scipy import stats

from scarce.metrics import classification_metrics, mean_ci, paired_diff_ci


def test_metrics_on_known_confusion():
    y = [0, 0, 0, 0, 1, 1, 2, 2]
    p = [0, 0, 0, 1, 1, 0, 2, 2]
    m = classification_metrics(y, p, num_classes=3)
    assert m["accuracy"] == pytest.approx(6 / 8)
    assert m["per_class_recall"] == pytest.approx([0.75, 0.5, 1.0])
    assert m["balanced_accuracy"] == pytest.approx((0.75 + 0.5 + 1.0) / 3)
    f1 = [2 * 0.75 * 0.75 / 1.5, 2 * 0.5 * 0.5 / 1.0, 1.0]  # precision: 3/4, 1/2, 1
    assert m["macro_f1"] == pytest.approx(np.mean(f1))


def test_mean_ci_matches_t_interval():
    x = [0.80, 0.82, 0.85, 0.79, 0.81]
    ci = mean_ci(x)
    lo, hi = stats.t.interval(0.95, 4, loc=np.mean(x), scale=stats.sem(x))
    assert (ci.low, ci.high) == pytest.approx((lo, hi))


def test_paired_interval_is_narrower_than_unpaired_when_seeds_correlate():
    base = np.array([0.70, 0.80, 0.75, 0.90, 0.65])
    treated = base + np.array([0.02, 0.025, 0.018, 0.022, 0.021])
    g = paired_diff_ci(treated, base)
    assert g.excludes_zero and g.low > 0.015
    assert not (mean_ci(treated).low > mean_ci(base).high)  # the unpaired intervals overlap


def test_single_seed_has_no_interval():
    ci = mean_ci([0.5])
    assert np.isnan(ci.low) and not ci.excludes_zero
