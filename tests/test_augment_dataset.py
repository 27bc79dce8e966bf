"""AugmentedDataset and MixCollate: streams reproducible from (seed, epoch, index / batch) under any
number of DataLoader workers, persistent workers included."""

import pickle

import numpy as np
import pytest
import torch

from scarce.augment import AugmentedDataset, MixCollate
from scarce.augment.dataset import sample_rng
from scarce.augment.mix import CutMix, MixUp

N = 10


def draw(x, *, rng):
    """A transform that returns the example with one draw of its generator."""
    return x, int(rng.integers(2**62))


class Stream(torch.utils.data.IterableDataset):
    def __iter__(self):
        yield from pairs()


def as_list(batch):
    return batch


def pairs():
    return [(i, i % 3) for i in range(N)]  # a plain list is a map-style (x, y) dataset


def run(ds, *, workers, epochs, persistent=False, context=None, shuffle=False):
    """{(epoch, x): output} over ``epochs`` epochs, calling set_epoch before each."""
    loader = torch.utils.data.DataLoader(
        ds, batch_size=3, shuffle=shuffle, num_workers=workers, collate_fn=as_list,
        persistent_workers=persistent, multiprocessing_context=context,
        generator=torch.Generator().manual_seed(1) if shuffle else None)
    out = {}
    for epoch in range(epochs):
        ds.set_epoch(epoch)
        for batch in loader:
            for (x, token), y in batch:
                out[(epoch, x)] = (token, y)
    return out


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
def test_stream_is_the_same_for_any_number_of_workers_and_differs_per_epoch_and_index():
    ref = run(AugmentedDataset(pairs(), transform=draw, seed=7), workers=0, epochs=2)
    assert ref == {(e, i): (int(sample_rng(7, e, i).integers(2**62)), i % 3) for e in range(2) for i in range(N)}
    assert len({token for token, _ in ref.values()}) == 2 * N  # every (epoch, index) has its own draw
    for workers in (1, 2, 3):
        assert run(AugmentedDataset(pairs(), transform=draw, seed=7), workers=workers, epochs=2) == ref
    shuffled = run(AugmentedDataset(pairs(), transform=draw, seed=7), workers=2, epochs=2, shuffle=True)
    assert shuffled == ref  # the draw follows the index, not the position in the batch
    other = run(AugmentedDataset(pairs(), transform=draw, seed=8), workers=0, epochs=1)
    assert all(other[k] != ref[k] for k in other)


def test_persistent_workers_see_set_epoch():
    ref = run(AugmentedDataset(pairs(), transform=draw, seed=3), workers=0, epochs=3)
    got = run(AugmentedDataset(pairs(), transform=draw, seed=3), workers=2, epochs=3, persistent=True)
    assert got == ref  # a plain attribute would leave the persistent workers at epoch 0


def test_persistent_spawned_worker_sees_set_epoch():
    ref = run(AugmentedDataset(pairs(), transform=draw, seed=3), workers=0, epochs=2)
    got = run(AugmentedDataset(pairs(), transform=draw, seed=3), workers=1, epochs=2, persistent=True,
              context="spawn")
    assert got == ref


def test_image_augmentation_differs_per_epoch_under_workers(tiny_images):
    """Regression: albumentations left to itself repeats one augmentation per batch position
    across epochs under workers; through AugmentedDataset each (epoch, index) draws anew."""
    from scarce.augment.image import create_augment

    aug = create_augment("strong", image_shape=(8, 8), channels=1, hflip=False)

    def images(workers):
        ds = AugmentedDataset(tiny_images, transform=aug, seed=0)
        loader = torch.utils.data.DataLoader(ds, batch_size=8, num_workers=workers, collate_fn=as_list,
                                             persistent_workers=workers > 0)
        epochs = []
        for epoch in range(2):
            ds.set_epoch(epoch)
            epochs.append(np.stack([x for batch in loader for x, _ in batch]))
        return epochs

    (a0, a1), (b0, b1) = images(0), images(2)
    assert np.array_equal(a0, b0) and np.array_equal(a1, b1)
    changed = [not np.array_equal(a0[i], a1[i]) for i in range(len(a0))]
    assert np.mean(changed) > 0.8


def test_set_epoch_pickles_and_keeps_the_epoch():
    ds = AugmentedDataset(pairs(), transform=draw, seed=1, epoch=2)
    copy = pickle.loads(pickle.dumps(ds))
    assert copy.epoch == 2 and copy[4] == ds[4]
    ds.set_epoch(5)
    assert ds.epoch == 5 and ds[4][0][1] == int(sample_rng(1, 5, 4).integers(2**62))
    assert ds[-1] == ds[N - 1]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(dataset=Stream(), transform=draw), TypeError, "`dataset` must be a map-style"),
    (dict(dataset=pairs(), transform=lambda x: x), TypeError, r"`transform` must be a callable transform\(x, rng="),
    (dict(dataset=pairs(), transform="light"), TypeError, "`transform` must be a callable"),
    (dict(dataset=pairs(), transform=draw, seed=-1), ValueError, "`seed` must be >= 0, got -1"),
    (dict(dataset=pairs(), transform=draw, seed=1.5), TypeError, "`seed` must be an integer"),
    (dict(dataset=pairs(), transform=draw, epoch=-2), ValueError, "`epoch` must be >= 0, got -2"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    dataset = kwargs.pop("dataset")
    with pytest.raises(error, match=match):
        AugmentedDataset(dataset, **kwargs)


def test_bad_items_and_indices_are_named():
    ds = AugmentedDataset([(0, 1, 2)], transform=draw)
    with pytest.raises(ValueError, match=r"`dataset\[0\]` must be an \(x, y\) pair, got tuple of length 3"):
        ds[0]
    with pytest.raises(IndexError, match="index 1 out of range"):
        ds[1]
    with pytest.raises(ValueError, match="`epoch` must be >= 0"):
        ds.set_epoch(-1)


# ---------------------------------------------------------------- MixCollate


def image_pairs():
    rng = np.random.default_rng(0)
    return [(torch.from_numpy(rng.random((1, 6, 6), dtype=np.float32)), i % 4) for i in range(12)]


def mixed(collate, *, workers, epochs=2):
    data = image_pairs()
    loader = torch.utils.data.DataLoader(data, batch_size=4, num_workers=workers, collate_fn=collate,
                                         persistent_workers=workers > 0)
    out = []
    for epoch in range(epochs):
        collate.set_epoch(epoch)
        out.append([(x.clone(), y.clone()) for x, y in loader])
    return out


def test_mix_collate_is_reproducible_under_workers_and_differs_per_batch_and_epoch():
    ref = mixed(MixCollate(CutMix(num_classes=4), seed=0), workers=0)
    for workers in (1, 2):
        got = mixed(MixCollate(CutMix(num_classes=4), seed=0), workers=workers)
        assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
                   for ea, eb in zip(ref, got) for a, b in zip(ea, eb))
    (e0, e1) = ref
    assert all(tuple(y.shape) == (4, 4) for _, y in e0)
    assert not any(torch.equal(a[1], b[1]) for a, b in zip(e0, e1))  # another epoch, other boxes
    assert len({tuple(y.flatten().tolist()) for _, y in e0}) == len(e0)  # every batch its own mix


def test_mix_collate_equals_the_batch_step_with_its_generator():
    collate = MixCollate(MixUp(num_classes=4, alpha=0.4), seed=5)
    batch = image_pairs()[:4]
    x, y = torch.utils.data.default_collate(batch)
    want = MixUp(num_classes=4, alpha=0.4)(x.clone(), y, generator=collate.generator(x, y))
    got = collate(batch)
    assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
    assert not torch.equal(got[0], x)


def test_mix_collate_validates_its_arguments():
    with pytest.raises(TypeError, match=r"`mix` must be a callable mix\(x, y, generator="):
        MixCollate(lambda x, y: (x, y))
    with pytest.raises(TypeError, match="`collate` must be a callable"):
        MixCollate(MixUp(num_classes=2), collate=3)
    with pytest.raises(ValueError, match="`seed` must be >= 0"):
        MixCollate(MixUp(num_classes=2), seed=-3)
    with pytest.raises(ValueError, match="`x` must be a float tensor"):
        MixCollate(MixUp(num_classes=2))([(np.zeros((1, 4, 4), np.uint8), 0), (np.zeros((1, 4, 4), np.uint8), 1)])
