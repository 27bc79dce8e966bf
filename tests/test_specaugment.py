import pickle

import pytest
import torch

from scarce.augment.specaugment import SpecAugment, apply_params, draw_params


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def intervals(start, width):
    return {i for s, w in zip(start.tolist(), width.tolist()) for i in range(s, s + w)}


def test_masks_have_the_requested_number_and_width_exactly():
    b, f, t = 16, 40, 60
    aug = SpecAugment(freq_masks=2, freq_width=7, time_masks=3, time_width=9)
    out, _ = aug(torch.ones(b, 1, f, t), None, generator=gen(3))
    p = draw_params(batch=b, n_freq=f, lengths=torch.full((b,), t), generator=gen(3), freq_masks=2, freq_width=7,
                    time_masks=3, time_width=9)
    assert p["f0"].shape == (b, 2) and p["t0"].shape == (b, 3)
    assert int(p["fw"].max()) <= 7 and int(p["tw"].max()) <= 9 and p["fw"].max() > 0
    for i in range(b):
        rows = set(torch.nonzero((out[i, 0] == 0).all(1)).flatten().tolist())
        cols = set(torch.nonzero((out[i, 0] == 0).all(0)).flatten().tolist())
        assert rows == intervals(p["f0"][i], p["fw"][i])  # exactly these mel bins
        assert cols == intervals(p["t0"][i], p["tw"][i])  # exactly these frames
        assert int((out[i, 0] == 0).sum()) == len(rows) * t + len(cols) * f - len(rows) * len(cols)


def test_one_mask_of_each_masks_exactly_its_width():
    aug = SpecAugment(freq_masks=1, freq_width=10, time_masks=1, time_width=12)
    out, _ = aug(torch.ones(32, 1, 50, 80), None, generator=gen(1))
    p = draw_params(batch=32, n_freq=50, lengths=torch.full((32,), 80), generator=gen(1), freq_masks=1,
                    freq_width=10, time_masks=1, time_width=12)
    masked_rows = (out[:, 0] == 0).all(2).sum(1)
    masked_cols = (out[:, 0] == 0).all(1).sum(1)
    assert masked_rows.tolist() == p["fw"][:, 0].tolist() and masked_cols.tolist() == p["tw"][:, 0].tolist()
    assert len(set(p["fw"][:, 0].tolist())) > 3  # widths really vary per sample


def test_p0_is_identity_and_p_is_per_sample():
    x = torch.randn(64, 1, 20, 30)
    assert SpecAugment(p=0.0)(x, "y", generator=gen())[0] is x
    out, y = SpecAugment(freq_masks=2, freq_width=5, time_masks=0, p=0.5)(x, "y", generator=gen())
    changed = (out != x).flatten(1).any(1)
    assert y == "y" and 10 < int(changed.sum()) < 54


def test_seeded_streams():
    x = torch.randn(8, 2, 40, 50)
    aug = SpecAugment(freq_masks=2, freq_width=8, time_masks=2, time_width=0.2, time_warp=5)
    a, b, c = (aug(x, None, generator=gen(s))[0] for s in (7, 7, 8))
    assert torch.equal(a, b) and not torch.equal(a, c)
    g = gen(7)
    first, second = aug(x, None, generator=g)[0], aug(x, None, generator=g)[0]
    assert not torch.equal(first, second)  # the stream moves on between batches
    assert torch.equal(pickle.loads(pickle.dumps(aug))(x, None, generator=gen(7))[0], a)


def test_variable_length_batch_masks_stay_inside_each_clip():
    b, f, t = 12, 32, 100
    lengths = torch.tensor([15, 100, 40, 63, 20, 99, 16, 50, 77, 30, 100, 18])
    valid = (torch.arange(t)[None] < lengths[:, None]).float()
    x = torch.stack([torch.randn(b, f, t) * valid[:, None], valid[:, None].expand(b, f, t)], 1)
    aug = SpecAugment(freq_masks=1, freq_width=4, time_masks=2, time_width=0.2, valid_channel=1, mask_value=-5.0)
    out, _ = aug(x, None, generator=gen(2))
    assert torch.equal(out[:, 1], x[:, 1])  # the frame mask itself is never masked
    for i, n in enumerate(lengths.tolist()):
        assert torch.equal(out[i, 0, :, n:], x[i, 0, :, n:])  # padding untouched
        masked_cols = (out[i, 0, :, :n] == -5).all(0).sum()
        assert masked_cols <= 2 * int(0.2 * n)
    p = draw_params(batch=b, n_freq=f, lengths=lengths, generator=gen(2), freq_masks=1, freq_width=4, time_masks=2,
                    time_width=0.2)
    assert ((p["t0"] + p["tw"]) <= lengths[:, None]).all() and (p["tw"] <= (0.2 * lengths[:, None]).long()).all()
    # explicit lengths give the same result as the mask channel
    plain = SpecAugment(freq_masks=1, freq_width=4, time_masks=2, time_width=0.2, mask_value=-5.0)
    direct, _ = plain(x[:, :1], None, generator=gen(2), lengths=lengths)
    assert torch.equal(direct[:, 0] * valid[:, None], out[:, 0])


def test_vectorised_equals_a_per_clip_loop():
    x = torch.randn(10, 1, 24, 40)
    lengths = torch.randint(10, 41, (10,), generator=gen(5))
    p = draw_params(batch=10, n_freq=24, lengths=lengths, generator=gen(4), freq_masks=2, freq_width=6, time_masks=2,
                    time_width=8, p=0.7)
    out = apply_params(x, p, lengths=lengths)
    ref = x.clone()
    for i in range(10):
        if not p["apply"][i]:
            continue
        for s, w in zip(p["f0"][i].tolist(), p["fw"][i].tolist()):
            ref[i, :, s:s + w, :] = 0
        for s, w in zip(p["t0"][i].tolist(), p["tw"][i].tolist()):
            ref[i, :, :, s:s + w] = 0
    assert torch.equal(out, ref)


def test_time_warp_moves_the_warp_point_and_keeps_ends():
    t = 60
    x = torch.arange(t, dtype=torch.float32).expand(2, 1, 4, t).clone()
    lengths = torch.tensor([60, 40])
    p = {"apply": torch.tensor([True, True]), "f0": torch.zeros(2, 0, dtype=torch.long),
         "fw": torch.zeros(2, 0, dtype=torch.long), "t0": torch.zeros(2, 0, dtype=torch.long),
         "tw": torch.zeros(2, 0, dtype=torch.long), "warp_centre": torch.tensor([30, 20]),
         "warp_shift": torch.tensor([5, -4])}
    out = apply_params(x, p, lengths=lengths)
    assert out[0, 0, 0, 35] == pytest.approx(30.0) and out[1, 0, 0, 16] == pytest.approx(20.0)
    assert out[0, 0, 0, 0] == 0 and out[0, 0, 0, 59] == pytest.approx(59.0) and out[1, 0, 0, 39] == pytest.approx(39.0)
    assert torch.equal(out[1, ..., 40:], x[1, ..., 40:])  # past the clip: unchanged
    assert (out[0, 0, 0].diff() >= 0).all()  # monotone resampling


def test_3d_input_and_dtype_device_kept():
    x = torch.randn(4, 16, 20, dtype=torch.float64)
    out, _ = SpecAugment(freq_width=4, time_width=3)(x, None, generator=gen())
    assert out.shape == x.shape and out.dtype == torch.float64 and out.device == x.device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_runs_on_cuda():  # pragma: no cover - needs a GPU
    x = torch.randn(4, 2, 16, 20, device="cuda")
    x[:, 1] = 1
    g = torch.Generator(device="cuda").manual_seed(0)
    out, _ = SpecAugment(freq_width=4, time_width=3, time_warp=2, valid_channel=1)(x, None, generator=g)
    assert out.device.type == "cuda"


def test_bad_input_errors():
    aug = SpecAugment(freq_width=8, time_masks=1, time_width=10)
    g = gen()
    with pytest.raises(ValueError, match="shorter than the time-mask width"):
        aug(torch.zeros(2, 16, 30), None, generator=g, lengths=torch.tensor([30, 6]))
    with pytest.raises(ValueError, match="`freq_width` must be <= the number of mel bins 4"):
        aug(torch.zeros(2, 4, 30), None, generator=g)
    with pytest.raises(ValueError, match="empty clip"):
        aug(torch.zeros(2, 16, 30), None, generator=g, lengths=torch.tensor([30, 0]))
    with pytest.raises(ValueError, match="finite"):
        aug(torch.full((2, 16, 30), float("nan")), None, generator=g)
    with pytest.raises(TypeError, match="floating-point"):
        aug(torch.zeros(2, 16, 30, dtype=torch.int64), None, generator=g)
    with pytest.raises(ValueError, match=r"\(B, F, T\) or \(B, C, F, T\)"):
        aug(torch.zeros(16, 30), None, generator=g)
    with pytest.raises(TypeError, match="`generator` must be a torch.Generator"):
        aug(torch.zeros(2, 16, 30), None, generator=0)
    with pytest.raises(ValueError, match="`valid_channel`=1 but `x` has 1 channel"):
        SpecAugment(valid_channel=1)(torch.zeros(2, 1, 16, 30), None, generator=g)
    with pytest.raises(ValueError, match=r"`p` must be in \[0, 1\], got 1.5"):
        SpecAugment(p=1.5)
    with pytest.raises(ValueError, match="`time_width` must be in"):
        SpecAugment(time_width=1.5)
