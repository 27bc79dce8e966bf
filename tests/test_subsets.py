import numpy as np
import pytest

from scarce.data import long_tailed_counts, long_tailed_subset, stratified_subset, validate_labels

LABELS = np.repeat(np.arange(4), [30, 40, 50, 60])


def test_per_class_counts_and_val_carved_from_subset():
    s = stratified_subset(LABELS, per_class=10, seed=3, val_fraction=0.2)
    assert np.bincount(LABELS[s.train]).tolist() == [8] * 4
    assert np.bincount(LABELS[s.val]).tolist() == [2] * 4
    assert not set(s.train) & set(s.val)


@pytest.mark.parametrize("seed", [0, 1, 7, 123])
@pytest.mark.parametrize("val_fraction", [0.0, 0.2, 0.25, 0.5])
def test_train_and_val_parts_nested_across_k(seed, val_fraction):
    prev = None
    for k in (1, 2, 3, 5, 10, 11, 25, 30):
        cur = stratified_subset(LABELS, per_class=k, seed=seed, val_fraction=val_fraction)
        if prev is not None:
            assert set(prev.train) <= set(cur.train), f"train part at k={k} does not contain the smaller one"
            assert set(prev.val) <= set(cur.val), f"val part at k={k} does not contain the smaller one"
            assert set(prev.all) <= set(cur.all)
        prev = cur


def test_k10_training_images_are_training_images_at_k50():
    # the reported bug: with seed 0 all 80 k=10 training images landed in the k=50 validation part
    labels = np.repeat(np.arange(10), 100)
    s10 = stratified_subset(labels, per_class=10, seed=0, val_fraction=0.2)
    s50 = stratified_subset(labels, per_class=50, seed=0, val_fraction=0.2)
    assert len(s10.train) == 80 and set(s10.train) <= set(s50.train)
    assert not set(s10.train) & set(s50.val)


@pytest.mark.parametrize("k, f, n_val", [(2, 0.2, 1), (4, 0.2, 1), (5, 0.2, 1), (9, 0.2, 1), (10, 0.2, 2),
                                         (30, 0.2, 6), (7, 0.5, 3), (3, 0.0, 0)])
def test_validation_count_per_class(k, f, n_val):
    s = stratified_subset(LABELS, per_class=k, seed=0, val_fraction=f)
    assert np.bincount(LABELS[s.val], minlength=4).tolist() == [n_val] * 4
    assert np.bincount(LABELS[s.train], minlength=4).tolist() == [k - n_val] * 4


@pytest.mark.parametrize("seed", [0, 3])
def test_long_tailed_parts_nested_across_head_size(seed):
    labels = np.repeat(np.arange(5), 200)
    small = long_tailed_subset(labels, imbalance_ratio=10, seed=seed, max_per_class=50, val_fraction=0.2)
    large = long_tailed_subset(labels, imbalance_ratio=10, seed=seed, max_per_class=150, val_fraction=0.2)
    assert set(small.train) <= set(large.train) and set(small.val) <= set(large.val)


def test_seed_changes_subset_and_is_reproducible():
    a = stratified_subset(LABELS, per_class=5, seed=0).all
    assert np.array_equal(a, stratified_subset(LABELS, per_class=5, seed=0).all)
    assert not np.array_equal(a, stratified_subset(LABELS, per_class=5, seed=1).all)


def test_k_one_has_no_validation():
    s = stratified_subset(LABELS, per_class=1, seed=0, val_fraction=0.2)
    assert len(s.val) == 0 and len(s.train) == 4


@pytest.mark.parametrize("k, match", [(31, "smallest class size \\(30, class 0\\)"), (0, ">= 1")])
def test_bad_k(k, match):
    with pytest.raises(ValueError, match=match):
        stratified_subset(LABELS, per_class=k, seed=0)


@pytest.mark.parametrize("labels, match", [([0, 2, 2], "class\\(es\\) \\[1\\]"), ([-1, 0], "negative"),
                                           ([0.5, 1], "integer")])
def test_bad_labels(labels, match):
    with pytest.raises(ValueError, match=match):
        validate_labels(labels)


def test_long_tailed_profile_exponential():
    # CIFAR-10-LT rho=100 class counts (Cao et al. 2019)
    assert long_tailed_counts(10, n_max=5000, imbalance_ratio=100) == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    labels = np.repeat(np.arange(10), 600)
    s = long_tailed_subset(labels, imbalance_ratio=100, seed=0, max_per_class=500)
    counts = np.bincount(labels[s.all])
    assert counts[0] / counts[-1] == 100
    assert counts.tolist() == long_tailed_counts(10, n_max=500, imbalance_ratio=100)


def test_long_tailed_bad_ratio_and_too_few():
    with pytest.raises(ValueError, match="imbalance_ratio"):
        long_tailed_subset(LABELS, imbalance_ratio=0.5, seed=0)
    with pytest.raises(ValueError, match="Class 0 has 30"):
        long_tailed_subset(LABELS, imbalance_ratio=2, seed=0, max_per_class=40)
