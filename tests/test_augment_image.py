"""Contract tests over every augmentation preset/policy, the seeded albumentations wrapper, the
worker/epoch stream regression, offline expansion and bad input."""

import pickle

import numpy as np
import pytest
import torch

A = pytest.importorskip("albumentations")

from scarce.augment.expand import expand, oversample_by_augmentation, oversample_targets  # noqa: E402
from scarce.augment.image import ImageAugment, Sequential, check_image, create_augment, list_augments  # noqa: E402
from scarce.augment.policies import OPS, RandAugment, TrivialAugmentWide, apply_op  # noqa: E402
from scarce.data import ArrayDataset  # noqa: E402

GEOMETRIES = [((32, 32), 3), ((8, 8), 1), ((96, 80), 3)]


def _image(shape, channels, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (*shape, channels), dtype=np.uint8)


def _all():
    for name in list_augments("image", kind="sample"):
        for shape, channels in GEOMETRIES:
            yield pytest.param(name, shape, channels, id=f"{name}-{shape[0]}x{shape[1]}x{channels}")


@pytest.mark.parametrize("name,shape,channels", list(_all()))
def test_preset_contract(name, shape, channels):
    x = _image(shape, channels)
    aug = create_augment(name, image_shape=shape, channels=channels)
    y1 = aug(x, rng=np.random.default_rng(1))
    assert y1.dtype == np.uint8 and y1.shape == x.shape
    assert np.array_equal(y1, aug(x, rng=np.random.default_rng(1)))  # same seed, same output
    outs = [aug(x, rng=np.random.default_rng(s)) for s in range(2, 8)]
    assert any(not np.array_equal(y1, o) for o in outs)  # different draws differ
    clone = pickle.loads(pickle.dumps(aug))
    assert np.array_equal(clone(x, rng=np.random.default_rng(1)), y1)
    identity = create_augment(name, image_shape=shape, channels=channels, p=0.0)
    for s in range(3):
        assert np.array_equal(identity(x, rng=np.random.default_rng(s)), x)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("channels", [1, 3])
def test_policy_ops_keep_dtype_and_shape(op, channels):
    x = _image((16, 12), channels)
    for m in (0.0, 0.5, -0.5) if op not in ("posterize", "solarize") else (4, 128):
        y = apply_op(x, op, m)
        assert y.dtype == np.uint8 and y.shape == x.shape
    if op in ("identity", "shear_x", "rotate", "brightness", "contrast", "sharpness"):
        assert np.array_equal(apply_op(x, op, 0.0), x)  # magnitude 0 is the identity


def test_policy_op_values():
    x = np.full((4, 4, 1), 200, np.uint8)
    assert np.all(apply_op(x, "solarize", 128) == 55)
    assert np.all(apply_op(x, "posterize", 4) == 192)
    assert np.all(apply_op(x, "brightness", -0.5) == 100)
    shifted = apply_op(np.arange(16, dtype=np.uint8).reshape(4, 4, 1), "translate_x", 1)
    assert shifted[0, 1, 0] == 0 and shifted[0, 0, 0] == 0 and shifted[1, 1, 0] == 4 and shifted[0, 0, 0] == 0


def test_randaugment_magnitude_zero_is_identity_for_geometry_and_enhance():
    x = _image((16, 16), 3)
    aug = RandAugment(num_ops=0, magnitude=5)
    assert np.array_equal(aug(x, rng=np.random.default_rng(0)), x)


def test_user_compose_is_seeded_by_rng():
    pipeline = A.Compose([A.Affine(rotate=(-30, 30), p=1.0), A.ColorJitter(p=1.0)])
    aug = ImageAugment(pipeline, channels=3)
    x = _image((32, 32), 3)
    assert np.array_equal(aug(x, rng=np.random.default_rng(5)), aug(x, rng=np.random.default_rng(5)))
    assert not np.array_equal(aug(x, rng=np.random.default_rng(5)), aug(x, rng=np.random.default_rng(6)))
    # a single transform or a list is wrapped into a Compose
    single = ImageAugment(A.HorizontalFlip(p=1.0))
    assert np.array_equal(single(x, rng=np.random.default_rng(0)), x[:, ::-1])
    listed = ImageAugment([A.VerticalFlip(p=1.0)])
    assert np.array_equal(listed(x, rng=np.random.default_rng(0)), x[::-1])


class _RawAlbumentations(torch.utils.data.Dataset):
    """What users write with albumentations alone: the pipeline's own (unseeded) generator."""

    def __init__(self, pipeline, n):
        self.pipeline, self.x = pipeline, np.zeros((n, 16, 16, 1), np.uint8)
        self.x[:, 6:10, 6:10] = 255

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.pipeline(image=self.x[i])["image"]


def _epochs(loader, epochs=2):
    return [torch.stack([b for batch in loader for b in batch]).numpy() for _ in range(epochs)]


def test_raw_albumentations_repeats_per_position_across_epochs_with_workers():
    """The regression our wrapper fixes (albumentations 2.0.8, no seed, num_workers=2)."""
    ds = _RawAlbumentations(A.Compose([A.Affine(translate_px=(-4, 4), rotate=(-40, 40), p=1.0)]), 8)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2)
    first, second = _epochs(loader)
    assert np.array_equal(first, second)


def test_wrapper_streams_with_workers_are_seeded_and_vary_per_epoch_and_position():
    from scarce.steps import Draws, StepBatches

    x = np.zeros((4, 16, 16, 1), np.uint8)
    x[:, 6:10, 6:10] = 255
    ds = ArrayDataset(x, [0, 1, 0, 1])
    aug = ImageAugment(A.Compose([A.Affine(translate_px=(-4, 4), rotate=(-40, 40), p=1.0)]), channels=1)

    def run(seed, workers):
        loader = torch.utils.data.DataLoader(
            Draws(ds, aug, seed), batch_sampler=StepBatches(4, steps=4, batch_size=2, seed=seed),
            collate_fn=lambda b: (np.stack([x for x, _ in b]), [y for _, y in b]), num_workers=workers)
        return np.concatenate([xb for xb, _ in loader])  # 8 draws = two epochs of 4 images

    out = run(0, 2)
    assert np.array_equal(out, run(0, 2))  # reproducible from the seed
    assert np.array_equal(out, run(0, 0))  # whatever the number of workers
    assert not np.array_equal(out, run(1, 2))
    epoch1, epoch2 = out[:4], out[4:]
    assert not any(np.array_equal(a, b) for a, b in zip(epoch1, epoch2))  # positions differ across epochs
    assert len({a.tobytes() for a in out}) == len(out)  # every draw differs


def test_sequential_applies_in_order_with_p():
    flip = ImageAugment(A.HorizontalFlip(p=1.0))
    vflip = ImageAugment(A.VerticalFlip(p=1.0))
    x = _image((8, 8), 3)
    assert np.array_equal(Sequential(flip, vflip)(x, rng=np.random.default_rng(0)), x[::-1, ::-1])
    assert np.array_equal(Sequential(flip, p=0.0)(x, rng=np.random.default_rng(0)), x)


@pytest.mark.parametrize("bad,match", [
    (np.zeros((8, 8, 3), np.float64), "uint8"),
    (np.full((8, 8, 3), 2.0, np.float32), r"\[0, 1\]"),
    (np.zeros((8, 8), np.uint8), r"\(H, W, C\)"),
    (np.zeros((8, 8, 1), np.uint8), "3 channel"),
    ([[0]], "numpy image"),
])
def test_bad_images_name_the_argument(bad, match):
    aug = create_augment("light", image_shape=(8, 8), channels=3)
    with pytest.raises((ValueError, TypeError), match=match):
        aug(bad, rng=np.random.default_rng(0))


def test_float_images_in_range_are_accepted():
    x = np.random.default_rng(0).random((8, 8, 3), dtype=np.float32)
    assert check_image(x) is x


@pytest.mark.parametrize("make,match", [
    (lambda: create_augment("light", image_shape=(8, 8), channels=3, p=1.5), r"`p` must be in \[0, 1\], got 1.5"),
    (lambda: create_augment("light", image_shape=(8, 8), channels=3, p=-0.1), "`p`"),
    (lambda: create_augment("randaugment", image_shape=(8, 8), channels=3, magnitude=31), "`magnitude` must be <= 30"),
    (lambda: create_augment("randaugment", image_shape=(8, 8), channels=3, magnitude=-1), "`magnitude`"),
    (lambda: RandAugment(num_ops=-1), "`num_ops`"),
    (lambda: TrivialAugmentWide(num_magnitude_bins=1), "`num_magnitude_bins`"),
    (lambda: create_augment("light", image_shape=(8, 8), channels=2), "`channels` must be 1"),
    (lambda: create_augment("lihgt", image_shape=(8, 8), channels=3), "Did you mean 'light'"),
    (lambda: create_augment("light", image_shape=(8, 8), channels=3, strength=2), "Bad options"),
    (lambda: create_augment("light", image_shape=8, channels=3), "`image_shape`"),
    (lambda: ImageAugment(42), "`pipeline`"),
])
def test_bad_options_name_the_argument(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def _ds(counts, shape=(8, 8, 1)):
    labels = np.repeat(np.arange(len(counts)), counts)
    x = np.random.default_rng(0).integers(0, 256, (labels.size, *shape), dtype=np.uint8)
    return ArrayDataset(x, labels)


def test_expand_keeps_originals_and_adds_distinct_copies():
    ds = _ds([3, 2])
    aug = create_augment("medium", image_shape=(8, 8), channels=1, hflip=False)
    out = expand(ds, aug, copies=2, seed=0)
    assert len(out) == 15 and np.array_equal(out.data[:5], ds.data)
    assert np.array_equal(out.labels, np.concatenate([ds.labels] * 3))
    assert not np.array_equal(out.data[5:10], out.data[10:15])  # copies are fresh draws
    assert np.array_equal(expand(ds, aug, copies=2, seed=0).data, out.data)
    assert not np.array_equal(expand(ds, aug, copies=2, seed=1).data, out.data)
    with pytest.raises(ValueError, match="`copies`"):
        expand(ds, aug, copies=0, seed=0)


def test_oversample_by_augmentation_reaches_target_with_augmented_copies():
    ds = _ds([6, 2, 1])
    aug = create_augment("medium", image_shape=(8, 8), channels=1, hflip=False)
    out = oversample_by_augmentation(ds, aug, seed=0)
    assert np.bincount(out.labels).tolist() == [6, 6, 6]
    assert np.array_equal(out.data[:9], ds.data)
    new = out.data[9:]
    originals = {x.tobytes() for x in ds.data}
    assert sum(x.tobytes() in originals for x in new) < len(new) // 2  # copies, not duplicates
    assert np.bincount(oversample_by_augmentation(ds, aug, target=4, seed=0).labels).tolist() == [6, 4, 4]
    assert oversample_targets(ds.labels, 3, {2: 3}).tolist() == [6, 2, 3]
    with pytest.raises(ValueError, match="`target`"):
        oversample_by_augmentation(ds, aug, target="min", seed=0)
    with pytest.raises(ValueError, match="`target`"):
        oversample_by_augmentation(ds, aug, target=0, seed=0)
