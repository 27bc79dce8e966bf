import numpy as np
import pytest
from scipy import stats

from scarce.metrics import (
    auto_metric,
    classification_metrics,
    holm,
    imbalance_ratio,
    majority_score,
    mean_ci,
    paired_diff_ci,
    paired_pvalue,
    paired_wins,
)


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


def test_prediction_interval_covers_one_more_run():
    from scarce.metrics import prediction_interval

    x = [0.80, 0.82, 0.85, 0.79, 0.81]
    iv = prediction_interval(x)
    half = stats.t.ppf(0.975, 4) * np.std(x, ddof=1) * np.sqrt(1 + 1 / 5)
    assert (iv.low, iv.high) == pytest.approx((np.mean(x) - half, np.mean(x) + half))
    rng = np.random.default_rng(0)  # coverage: a new draw falls inside about 95% of the time
    hits = [prediction_interval(s[:5]).low <= s[5] <= prediction_interval(s[:5]).high
            for s in rng.normal(0.8, 0.02, size=(2000, 6))]
    assert 0.93 < np.mean(hits) < 0.97


def test_paired_interval_is_narrower_than_unpaired_when_seeds_correlate():
    base = np.array([0.70, 0.80, 0.75, 0.90, 0.65])
    treated = base + np.array([0.02, 0.025, 0.018, 0.022, 0.021])
    g = paired_diff_ci(treated, base)
    assert g.excludes_zero and g.low > 0.015
    assert not (mean_ci(treated).low > mean_ci(base).high)  # the unpaired intervals overlap


def test_single_seed_has_no_interval():
    ci = mean_ci([0.5])
    assert np.isnan(ci.low) and not ci.excludes_zero


# --- p-values, Holm, win shares, majority/chance, metric auto ---------------------------------------

def test_holm_on_a_known_vector():
    # sorted: .005*4=.02, .01*3=.03, .03*2=.06, .04*1=.04 -> running max .02 .03 .06 .06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.6, 0.7]) == pytest.approx([1.0, 1.0])  # capped at 1, monotone
    out = holm([0.01, float("nan"), 0.04])  # NaN is not a comparison: m = 2
    assert out[0] == pytest.approx(0.02) and np.isnan(out[1]) and out[2] == pytest.approx(0.04)
    assert holm([]).size == 0


def test_paired_pvalue_is_the_paired_t_test():
    a, b = [0.81, 0.85, 0.80, 0.90, 0.84], [0.80, 0.82, 0.81, 0.86, 0.80]
    assert paired_pvalue(a, b) == pytest.approx(stats.ttest_rel(a, b).pvalue)


def test_zero_variance_differences_use_the_sign_test_and_are_not_significant_with_few_seeds():
    assert paired_pvalue([0.91, 0.93], [0.90, 0.92]) == pytest.approx(0.5)  # float rounding ignored
    assert paired_pvalue([0.91, 0.93, 0.95], [0.90, 0.92, 0.94]) == pytest.approx(0.25)
    assert paired_pvalue([0.6] * 5, [0.5] * 5) == pytest.approx(0.0625)  # 5 seeds: still > 0.05
    assert paired_pvalue([0.6] * 6, [0.5] * 6) == pytest.approx(0.03125)
    assert paired_pvalue([0.7, 0.8, 0.9], [0.7, 0.8, 0.9]) == 1.0  # exactly 0 everywhere
    assert paired_pvalue([0.7], [0.6]) == 1.0  # one pair: min(1, 2 * 0.5)
    assert paired_diff_ci([0.91, 0.93, 0.95], [0.90, 0.92, 0.94]).half_width == pytest.approx(0, abs=1e-12)


def test_paired_pvalue_rejects_bad_input():
    with pytest.raises(ValueError, match="match one to one"):
        paired_pvalue([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="at least one pair"):
        paired_pvalue([], [])
    with pytest.raises(ValueError, match=r"`pvalues` must be in \[0, 1\]"):
        holm([0.2, 1.5])


def test_paired_wins_counts_ties_as_half():
    w = paired_wins([0.81, 0.70, 0.60, 0.92], [0.80, 0.70, 0.61, 0.90])
    assert (w.wins, w.ties, w.losses) == (2, 1, 1)
    assert w.share == pytest.approx(2.5 / 4)


def test_majority_score_per_metric():
    assert majority_score([6, 3, 1], "accuracy") == pytest.approx(0.6)
    assert majority_score([6, 3, 1], "balanced_accuracy") == pytest.approx(1 / 3)
    assert majority_score([6, 3, 1], "macro_f1") == pytest.approx(2 * 0.6 / 1.6 / 3)  # F1 of the majority class / C
    with pytest.raises(ValueError, match="`metric` must be one of"):
        majority_score([6, 3, 1], "auto")
    with pytest.raises(ValueError, match="`counts` must be non-negative"):
        majority_score([6, -1], "accuracy")


def test_auto_metric_uses_balanced_accuracy_on_imbalanced_counts():
    assert auto_metric([50, 50, 48]) == "accuracy"
    assert auto_metric([150, 100]) == "accuracy"  # exactly 1.5 is not above the threshold
    assert auto_metric([300, 100]) == "balanced_accuracy"
    assert imbalance_ratio([30, 0, 10]) == pytest.approx(3.0)  # an absent class is ignored
