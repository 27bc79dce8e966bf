import itertools

import numpy as np
import pytest
from scipy import stats

from scarce.metrics import (
    EXACT_MAX_PAIRS,
    PAIRED_TEST,
    TIE_TOLERANCE,
    auto_metric,
    classification_metrics,
    holm,
    imbalance_ratio,
    majority_score,
    mean_ci,
    min_attainable_p,
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


def brute_sign_flip(d):
    """The sign-flip p-value by an explicit loop over the 2**n assignments (the reference)."""
    d = np.asarray(d, float)
    obs = abs(d.mean())
    hits = sum(abs(np.mean(np.array(signs) * d)) >= obs - TIE_TOLERANCE
               for signs in itertools.product((1, -1), repeat=d.size))
    return hits / 2 ** d.size


def test_paired_pvalue_is_the_exact_sign_flip_test_up_to_12_pairs():
    a, b = [0.81, 0.85, 0.80, 0.90, 0.84], [0.80, 0.82, 0.81, 0.86, 0.80]
    d = np.subtract(a, b)  # +.01 +.03 -.01 +.04 +.04: sum .11; reached by it, by flipping
    # the -.01 (.13), by swapping the signs of the two .01s (.11, a tie), and by the three negations: 6 of 32
    assert paired_pvalue(a, b) == pytest.approx(brute_sign_flip(d)) == pytest.approx(6 / 32)
    assert paired_pvalue(a, b) != pytest.approx(stats.ttest_rel(a, b).pvalue)  # no longer the t-test
    rng = np.random.default_rng(0)
    for n in (2, 4, 7, 9):
        t, c = rng.normal(0.8, 0.05, n), rng.normal(0.78, 0.05, n)
        assert paired_pvalue(t, c) == pytest.approx(brute_sign_flip(t - c))


def test_known_exact_values():
    assert paired_pvalue([0.6, 0.7, 0.8, 0.9, 0.65], [0.5, 0.6, 0.75, 0.8, 0.6]) == pytest.approx(1 / 16)
    assert paired_pvalue([0.6] * 5, [0.5] * 5) == pytest.approx(0.0625)  # 5 seeds: still > 0.05
    assert paired_pvalue([0.6] * 6, [0.5] * 6) == pytest.approx(0.03125)
    assert paired_pvalue([0.91, 0.93], [0.90, 0.92]) == pytest.approx(0.5)  # float rounding ignored
    assert paired_pvalue([0.7, 0.8, 0.9], [0.7, 0.8, 0.9]) == 1.0  # exactly 0 everywhere
    assert paired_pvalue([0.7], [0.6]) == 1.0  # one pair: 2 / 2**1
    assert paired_pvalue([0.5, 0.7], [0.4, 0.8]) == 1.0  # +0.1 and -0.1: every assignment reaches |0|
    assert paired_diff_ci([0.91, 0.93, 0.95], [0.90, 0.92, 0.94]).half_width == pytest.approx(0, abs=1e-12)


def test_paired_pvalue_is_continuous_at_ties():
    base = [0.90, 0.92, 0.94]
    same = paired_pvalue([0.91, 0.93, 0.95], base)
    nudged = paired_pvalue([0.91, 0.93, 0.95 + 1e-7], base)
    assert same == pytest.approx(0.25) and nudged == pytest.approx(0.25)
    for n in (5, 12):  # identical differences and a nudge of one of them give the same p
        ones = [0.01] * n
        assert paired_pvalue(ones, [0.0] * n) == pytest.approx(paired_pvalue([0.01 + 1e-7] + ones[1:], [0.0] * n))
    # beyond 12 pairs: the t-test, and identical differences take its limit 0 (a nudge is next to it)
    assert paired_pvalue([0.01] * 13, [0.0] * 13) == 0.0
    assert paired_pvalue([0.01 + 1e-7] + [0.01] * 12, [0.0] * 13) < 1e-12


@pytest.mark.parametrize("n", range(1, 13))
def test_paired_pvalue_never_goes_below_its_floor(n):
    rng = np.random.default_rng(n)
    floor = min_attainable_p(n)
    assert floor == (1.0 if n == 1 else 2 / 2 ** n)
    ps = [paired_pvalue(rng.normal(0.02 * k, 0.01, n), np.zeros(n)) for k in range(60)]
    assert min(ps) >= floor - 1e-15
    assert min(ps) == pytest.approx(floor)  # the floor is attained (large, one-signed differences)
    assert max(ps) <= 1.0


def test_beyond_12_pairs_the_paired_t_test():
    rng = np.random.default_rng(3)
    for n in (13, 20, 40):
        a, b = rng.normal(0.8, 0.05, n), rng.normal(0.79, 0.05, n)
        assert paired_pvalue(a, b) == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert min_attainable_p(13) == 0.0 and EXACT_MAX_PAIRS == 12
    assert "sign-flip" in PAIRED_TEST and "t-test" in PAIRED_TEST


def test_min_attainable_p_rejects_bad_input():
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="`n` must be an integer >= 1"):
            min_attainable_p(bad)


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
