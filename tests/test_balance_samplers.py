import numpy as np
import pytest
from scipy import stats

from scarce.balance import (
    ClassAwareBatchSampler,
    ClassBalancedSampler,
    ProgressiveSampler,
    effective_number,
    power,
    resolve_strategy,
)

COUNTS = np.array([2000, 700, 250, 90, 30])
LABELS = np.repeat(np.arange(COUNTS.size), COUNTS)


def expected_probs(strategy):
    n = COUNTS.astype(float)
    return {
        "instance": n / n.sum(),
        "inverse": np.full(n.size, 1 / n.size),
        "sqrt": np.sqrt(n) / np.sqrt(n).sum(),
        "power(0.25)": n**0.25 / (n**0.25).sum(),
        "effective_number(0.99)": (w := n * 0.01 / (1 - 0.99**n)) / w.sum(),
    }[strategy]


STRATEGIES = ["instance", "inverse", "sqrt", "power(0.25)", "effective_number(0.99)"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_class_frequencies_match_strategy_chi_square(strategy):
    s = ClassBalancedSampler(LABELS, strategy=strategy, num_samples=50_000, seed=3)
    drawn = np.bincount(LABELS[s.indices()], minlength=COUNTS.size)
    p = expected_probs(strategy)
    np.testing.assert_allclose(s.class_probabilities(), p, rtol=1e-9)
    assert stats.chisquare(drawn, p * drawn.sum()).pvalue > 1e-3
    # a wrong strategy must be rejected by the same test (the check has power)
    other = expected_probs("instance" if strategy != "instance" else "inverse")
    assert stats.chisquare(drawn, other * drawn.sum()).pvalue < 1e-6


def test_within_class_draws_are_uniform():
    s = ClassBalancedSampler(LABELS, strategy="inverse", num_samples=40_000, seed=0)
    idx = s.indices()
    tail = idx[LABELS[idx] == 4] - COUNTS[:4].sum()
    counts = np.bincount(tail, minlength=30)
    assert stats.chisquare(counts).pvalue > 1e-3
    assert idx.min() >= 0 and idx.max() < LABELS.size


@pytest.mark.parametrize("world_size", [2, 3, 7])
def test_shards_are_disjoint_equal_and_cover_the_epoch(world_size):
    total = 150_001  # several chunks, not a multiple of the world size
    shards = [ClassBalancedSampler(LABELS, num_samples=total, seed=5, rank=r, world_size=world_size)
              for r in range(world_size)]
    for s in shards:
        s.set_epoch(2)
    parts = [s.indices() for s in shards]
    assert len({len(p) for p in parts}) == 1 and all(len(s) == len(parts[0]) for s in shards)
    single = ClassBalancedSampler(LABELS, num_samples=len(parts[0]) * world_size, seed=5)
    single.set_epoch(2)
    # the shards are consecutive, non-overlapping blocks of the one global epoch, covering it all
    np.testing.assert_array_equal(np.concatenate(parts), single.indices())
    np.testing.assert_array_equal(list(shards[1]), parts[1])


def test_determinism_per_seed_and_epoch():
    a = ClassBalancedSampler(LABELS, seed=1)
    b = ClassBalancedSampler(LABELS, seed=1)
    assert list(a) == list(b)
    e0 = a.indices()
    a.set_epoch(1)
    assert not np.array_equal(e0, a.indices())
    np.testing.assert_array_equal(a.indices(0), e0)
    assert not np.array_equal(ClassBalancedSampler(LABELS, seed=2).indices(), e0)


def test_progressive_moves_from_instance_to_balanced():
    s = ProgressiveSampler(LABELS, epochs=5, seed=0)
    np.testing.assert_allclose(s.class_probabilities(0), expected_probs("instance"))
    np.testing.assert_allclose(s.class_probabilities(4), expected_probs("inverse"))
    np.testing.assert_allclose(s.class_probabilities(2), (expected_probs("instance") + expected_probs("inverse")) / 2)
    s.set_epoch(4)
    drawn = np.bincount(LABELS[s.indices()])
    assert stats.chisquare(drawn, expected_probs("inverse") * drawn.sum()).pvalue > 1e-3


def test_class_aware_batches():
    b = ClassAwareBatchSampler(LABELS, classes_per_batch=4, per_class=3, seed=0, num_batches=400)
    batches = list(b)
    assert len(batches) == 400
    for batch in batches:
        labels = LABELS[batch]
        assert sorted(np.bincount(labels, minlength=5).tolist()) == [0, 3, 3, 3, 3]
    assert len(set(batches[0])) == 12  # without replacement inside a class
    freq = np.bincount(LABELS[np.concatenate(batches)], minlength=5)
    assert stats.chisquare(freq).pvalue > 1e-3  # classes uniform
    shards = [list(ClassAwareBatchSampler(LABELS, classes_per_batch=4, per_class=3, num_batches=400, rank=r,
                                          world_size=2)) for r in range(2)]
    assert [x for pair in zip(*shards) for x in pair] == batches


def test_strategy_objects_and_strings_agree():
    assert resolve_strategy("power(0.3)") == power(0.3)
    assert resolve_strategy("effective_number(0.9)") == effective_number(0.9)
    assert str(resolve_strategy("sqrt")) == "sqrt"


@pytest.mark.parametrize("labels, kwargs, match", [
    ([0, 0, 2, 2], {}, "Class 1 has no example"),
    ([1, 1, 1], {}, "at least two classes"),
    ([0, -1, 1], {}, "negative label"),
    ([0.0, 1.5, 1.0], {}, "non-integer label"),
    (["a", "b"], {}, "integer class indices"),
    ([[0, 1]], {}, "1-D"),
    ([0, 1], {"strategy": "effective_number(1.0)"}, r"`beta` must be in \[0, 1\)"),
    ([0, 1], {"strategy": "power(-0.5)"}, r"`q` must be in \[0, inf"),
    ([0, 1], {"strategy": "power"}, "needs its parameter"),
    ([0, 1], {"strategy": "invrse"}, "Did you mean 'inverse'"),
    ([0, 1], {"rank": 2, "world_size": 2}, r"`rank` must be < `world_size` \(2\), got 2"),
    ([0, 1], {"world_size": 0}, "`world_size` must be >= 1"),
])
def test_bad_input(labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ClassBalancedSampler(labels, **kwargs)


def test_empty_class_allowed_when_the_strategy_gives_it_no_mass():
    s = ClassBalancedSampler([0, 0, 2, 2, 2], strategy="sqrt", seed=0)
    assert set(s) <= {0, 1, 2, 3, 4}
    assert s.class_probabilities()[1] == 0


def test_large_labels_use_compact_index_blocks():
    labels = np.random.default_rng(0).integers(0, 3, 200_000).astype(np.int64)
    s = ClassBalancedSampler(labels, strategy="inverse")
    assert s.blocks.order.dtype == np.int32
    assert np.all(np.diff(labels[s.blocks.order]) >= 0)  # class-contiguous blocks
