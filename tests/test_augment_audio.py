import pickle
import random

import numpy as np
import pytest

pytest.importorskip("audiomentations")

from scarce.augment.audio import PRESETS, WaveformAugment, build_preset  # noqa: E402

RATE = 8000


def clip(n=2000, seed=0):
    t = np.arange(n) / RATE
    noise = np.random.default_rng(seed).standard_normal(n) * 0.01
    return (0.4 * np.sin(2 * np.pi * 300 * t) * np.hanning(n) + noise).astype(np.float32)


@pytest.mark.parametrize("preset", PRESETS)
def test_presets_are_seeded_by_rng_and_keep_shape_and_dtype(preset):
    aug = WaveformAugment(preset=preset, sample_rate=RATE)
    x = clip()
    outs = [aug(x, rng=np.random.default_rng(s)) for s in (1, 1, 2, 3, 4)]
    assert np.array_equal(outs[0], outs[1])
    assert sum(not np.array_equal(outs[0], o) for o in outs[2:]) >= 2
    assert all(o.shape == x.shape and o.dtype == np.float32 and np.isfinite(o).all() for o in outs)
    assert np.array_equal(x, clip())  # the input is not modified


def test_global_rng_state_is_restored():
    random.seed(123)
    np.random.seed(123)
    py, npy = random.getstate(), np.random.get_state()
    WaveformAugment(preset="strong", sample_rate=RATE)(clip(), rng=np.random.default_rng(0))
    assert random.getstate() == py
    after = np.random.get_state()
    assert after[0] == npy[0] and np.array_equal(after[1], npy[1]) and after[2:] == npy[2:]


def test_output_does_not_depend_on_global_state():
    aug = WaveformAugment(preset="medium", sample_rate=RATE)
    np.random.seed(1)
    random.seed(1)
    a = aug(clip(), rng=np.random.default_rng(9))
    np.random.seed(2)
    random.seed(2)
    assert np.array_equal(a, aug(clip(), rng=np.random.default_rng(9)))


def test_p0_is_identity_and_pickled_copy_gives_same_stream():
    x = clip()
    assert WaveformAugment(preset="strong", sample_rate=RATE, p=0.0)(x, rng=np.random.default_rng(0)) is x
    aug = WaveformAugment(preset="strong", sample_rate=RATE)
    aug(x, rng=np.random.default_rng(5))  # builds the backend
    copy = pickle.loads(pickle.dumps(aug))  # as in a DataLoader worker
    assert np.array_equal(copy(x, rng=np.random.default_rng(5)), aug(x, rng=np.random.default_rng(5)))


def test_filters_stay_below_nyquist_at_8khz():
    for preset in PRESETS:
        for t in build_preset(preset, sample_rate=RATE).transforms:
            for sub in getattr(t, "transforms", [t]):
                for attr in ("max_cutoff_freq", "max_center_freq"):
                    if hasattr(sub, attr):
                        assert getattr(sub, attr) < RATE / 2


def test_bad_input_and_options():
    aug = WaveformAugment(preset="light", sample_rate=RATE)
    rng = np.random.default_rng(0)
    with pytest.raises(TypeError, match="floating-point waveform, got dtype int16.*32768"):
        aug((clip() * 32767).astype(np.int16), rng=rng)
    with pytest.raises(ValueError, match=r"mono 1-D waveform.*\(2, 2000\).*stereo"):
        aug(np.stack([clip(), clip()]), rng=rng)
    with pytest.raises(ValueError, match="NaN or Inf"):
        aug(np.full(100, np.inf, np.float32), rng=rng)
    with pytest.raises(ValueError, match="empty clip"):
        aug(np.zeros(0, np.float32), rng=rng)
    with pytest.raises(TypeError, match="`rng` must be a numpy.random.Generator"):
        aug(clip(), rng=0)
    with pytest.raises(ValueError, match="`preset` must be one of.*Did you mean 'strong'"):
        WaveformAugment(preset="stron", sample_rate=RATE)
    with pytest.raises(ValueError, match="`sample_rate` must be >= 1000"):
        WaveformAugment(preset="light", sample_rate=8)


def test_same_stream_with_dataloader_workers_and_new_draws_per_epoch():
    """Regression test for the albumentations pitfall: with workers, each epoch must draw anew
    and the stream must not depend on the number of workers."""
    import torch

    from scarce.data import ArrayDataset
    from scarce.steps import Draws, StepBatches

    ds = ArrayDataset([clip(800, s) for s in range(4)], [0, 1, 0, 1], modality="audio", sample_rate=RATE)
    aug = WaveformAugment(preset="strong", sample_rate=RATE)
    keys = [k for batch in StepBatches(4, steps=4, batch_size=2, seed=3) for k in batch]  # 2 epochs of 4 clips

    def run(workers):
        loader = torch.utils.data.DataLoader(Draws(ds, aug, seed=3),
                                             batch_sampler=StepBatches(4, steps=4, batch_size=2, seed=3),
                                             collate_fn=lambda b: b, num_workers=workers)
        return [x for batch in loader for x, _ in batch]

    alone, workers = run(0), run(2)
    assert all(np.array_equal(a, b) for a, b in zip(alone, workers))
    by_clip = {}
    for (index, _), x in zip(keys, alone):
        by_clip.setdefault(index, []).append(x)
    assert sorted(by_clip) == [0, 1, 2, 3] and all(len(v) == 2 for v in by_clip.values())
    assert all(not np.array_equal(a, b) for a, b in by_clip.values())  # a new draw in the second epoch
