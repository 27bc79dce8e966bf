import numpy as np
import pytest
import torch
import torch.nn.functional as F

from scarce.balance import fit_resample, target_counts
from scarce.balance.losses import (
    DeferredReweighting,
    FocalLoss,
    LogitAdjustedLoss,
    PosthocAdjusted,
    WeightedCrossEntropy,
    class_balanced_weights,
    posthoc_adjust,
)

LABELS = np.repeat(np.arange(4), [50, 20, 8, 3])
rng = np.random.default_rng(0)
SHUFFLED = LABELS[rng.permutation(LABELS.size)]


@pytest.mark.parametrize("method, strategy, want", [
    ("over", "auto", [50, 50, 50, 50]),
    ("under", "auto", [3, 3, 3, 3]),
    ("over", 0.5, [50, 25, 25, 25]),
    ("under", 0.25, [12, 12, 8, 3]),
    ("over", {3: 10, 2: 8}, [50, 20, 8, 10]),
    ("under", {0: 5}, [5, 20, 8, 3]),
])
def test_fit_resample_counts_are_exact(method, strategy, want):
    idx = fit_resample(SHUFFLED, method=method, strategy=strategy, seed=0)
    assert np.bincount(SHUFFLED[idx], minlength=4).tolist() == want
    assert target_counts(np.bincount(SHUFFLED), method=method, strategy=strategy).tolist() == want
    if method == "under":
        assert len(set(idx.tolist())) == len(idx)  # without replacement
    else:
        assert set(range(SHUFFLED.size)) <= set(idx.tolist())  # every original kept
    np.testing.assert_array_equal(idx, fit_resample(SHUFFLED, method=method, strategy=strategy, seed=0))
    assert not np.array_equal(fit_resample(SHUFFLED, method="over", seed=1), fit_resample(SHUFFLED, method="over"))


@pytest.mark.parametrize("method, strategy, match", [
    ("under", {0: 60}, "asks under-sampling for 60 examples but class 0 has only 50"),
    ("over", {1: 5}, "use method='under'"),
    ("over", {7: 5}, "names class 7"),
    ("over", 1.5, r"`strategy` must be in \(0, 1\]"),
    ("over", "all", "`strategy` must be one of 'auto'"),
    ("sideways", "auto", "`method` must be one of"),
])
def test_fit_resample_bad_input(method, strategy, match):
    with pytest.raises(ValueError, match=match):
        fit_resample(SHUFFLED, method=method, strategy=strategy)


def test_fit_resample_rejects_one_class():
    with pytest.raises(ValueError, match="at least two classes"):
        fit_resample([2, 2, 2])


def test_class_balanced_weights():
    np.testing.assert_allclose(class_balanced_weights([30, 10], kind="inverse"), [0.5, 1.5])
    en = class_balanced_weights([1000, 10], kind="effective_number", beta=0.999)
    raw = np.array([(1 - 0.999) / (1 - 0.999**1000), (1 - 0.999) / (1 - 0.999**10)])
    np.testing.assert_allclose(en, raw * 2 / raw.sum())
    np.testing.assert_allclose(class_balanced_weights([1000, 10], beta=0.0), [1, 1])
    with pytest.raises(ValueError, match="Class 1 has no example"):
        class_balanced_weights([5, 0, 3])
    with pytest.raises(ValueError, match=r"`beta` must be in \[0, 1\)"):
        class_balanced_weights([5, 3], beta=1.0)


def test_losses_reduce_to_cross_entropy_and_accept_soft_targets():
    x, y = torch.randn(8, 4, generator=torch.Generator().manual_seed(0)), torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    ce = F.cross_entropy(x, y)
    assert torch.isclose(FocalLoss(gamma=0.0)(x, y), ce)
    assert torch.isclose(LogitAdjustedLoss([5, 5, 5, 5], tau=1.0)(x, y), ce)
    assert torch.isclose(WeightedCrossEntropy([1, 1, 1, 1])(x, y), ce)
    soft = F.one_hot(y, 4).float()
    assert torch.isclose(WeightedCrossEntropy([1, 2, 3, 4])(x, soft), WeightedCrossEntropy([1, 2, 3, 4])(x, y))
    assert torch.isclose(FocalLoss(gamma=2.0)(x, soft), FocalLoss(gamma=2.0)(x, y))
    assert FocalLoss(gamma=2.0)(x, y) < ce  # easy examples down-weighted


def test_logit_adjustment_formulas():
    counts = [90, 9, 1]
    x, y = torch.zeros(1, 3), torch.tensor([2])
    prior = torch.tensor(counts, dtype=torch.float32) / 100
    expected = F.cross_entropy(x + 0.5 * prior.log(), y)
    assert torch.isclose(LogitAdjustedLoss(counts, tau=0.5)(x, y), expected)
    model = PosthocAdjusted(torch.nn.Identity(), counts, tau=1.0)
    assert torch.equal(model.train()(x), x)
    adjusted = model.eval()(x)
    assert adjusted.argmax().item() == 2  # the rarest class wins a tie after adjustment
    np.testing.assert_allclose(posthoc_adjust(x.numpy(), counts), adjusted.numpy(), rtol=1e-6)


def test_drw_switches_at_start():
    x, y = torch.randn(6, 2, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 0, 0, 0, 1, 1])
    drw = DeferredReweighting([0.2, 1.8], start=0.75)
    drw.set_progress(0.5)
    assert torch.isclose(drw(x, y), F.cross_entropy(x, y))
    drw.set_progress(0.75)
    assert torch.isclose(drw(x, y), F.cross_entropy(x, y, weight=torch.tensor([0.2, 1.8])))
