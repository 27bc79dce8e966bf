"""scarce.synth: DCGAN shapes, DiffAugment, trainer (loss goes down, exact resume, divergence),
checkpoints and bad input."""

import numpy as np
import pytest
import torch

from scarce.synth.checkpoint import load_checkpoint, save_grid
from scarce.synth.dcgan import DCGANConfig, build_discriminator, build_generator, init_weights
from scarce.synth.diffaugment import diff_augment
from scarce.synth.trainer import CHECKPOINT, GANDivergedError, GANTrainConfig, load_generator, sample, train_gan


@pytest.fixture(autouse=True)
def _one_thread():
    """Tiny models: intra-op threads only add overhead (and stall on a loaded machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _data(n=24, size=16, channels=1, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    x = rng.integers(0, 40, (n, size, size, channels)) + (y * 80)[:, None, None, None]
    return x.astype(np.uint8), y


def _arch(**kw):
    return DCGANConfig(**{"image_size": 16, "channels": 1, "nz": 8, "ngf": 4, "ndf": 4, "num_classes": 3, **kw})


def _cfg(**kw):
    return GANTrainConfig(**{"steps": 6, "batch_size": 8, "checkpoint_every": 3, "device": "cpu", **kw})


@pytest.mark.parametrize("size", [16, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("cond", [None, "projection", "embedding"])
def test_shapes_every_size_channel_conditioning(size, channels, cond):
    arch = DCGANConfig(image_size=size, channels=channels, nz=8, ngf=2, ndf=2, num_classes=4 if cond else 0,
                       cond=cond or "projection", spectral_norm=cond == "embedding")
    g, d = build_generator(arch), build_discriminator(arch)
    init_weights(g)
    y = torch.tensor([0, 3]) if cond else None
    x = g(torch.randn(2, 8), y)
    assert x.shape == (2, channels, size, size)
    assert float(x.detach().abs().max()) <= 1.0
    assert d(x, y).shape == (2,)


def test_reference_architecture_widths():
    g = build_generator(DCGANConfig(image_size=64, channels=3, nz=100, ngf=64, ndf=64))
    convs = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(100, 512), (512, 256), (256, 128), (128, 64), (64, 3)]


def test_diffaugment_seeded_differentiable_and_identity():
    x = torch.rand(4, 3, 16, 16, requires_grad=True)
    a = diff_augment(x, "color,translation,cutout", generator=torch.Generator().manual_seed(1))
    b = diff_augment(x, "color,translation,cutout", generator=torch.Generator().manual_seed(1))
    c = diff_augment(x, "color,translation,cutout", generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c) and a.shape == x.shape
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert torch.equal(diff_augment(x, "", generator=torch.Generator()), x)
    with pytest.raises(ValueError, match="policy"):
        diff_augment(x, "color,blur", generator=torch.Generator())


def test_cutout_zeroes_a_square_and_translation_keeps_content():
    x = torch.ones(8, 1, 16, 16)
    out = diff_augment(x, "cutout", generator=torch.Generator().manual_seed(0))
    zeros = (out == 0).flatten(1).sum(1)
    assert (zeros > 0).all() and (zeros <= 64).all()
    shifted = diff_augment(x, "translation", generator=torch.Generator().manual_seed(0))
    assert (shifted.flatten(1).sum(1) >= 14 * 14).all()  # at most 2 px shifted out per side


def test_few_steps_lower_discriminator_loss():
    x, y = _data(n=32)
    res = train_gan(x, y, arch=_arch(ngf=8, ndf=8), config=_cfg(steps=15, lr_d=1e-3), seed=0)
    d = [h["d_loss"] for h in res.history]
    assert np.mean(d[-5:]) < np.mean(d[:3])


def test_resume_reproduces_uninterrupted_run_exactly(tmp_path):
    x, y = _data()
    full = train_gan(x, y, arch=_arch(), config=_cfg(diffaugment="color,translation,cutout"), seed=3,
                     out_dir=tmp_path / "a")
    train_gan(x, y, arch=_arch(), config=_cfg(steps=3, diffaugment="color,translation,cutout"), seed=3,
              out_dir=tmp_path / "b")
    assert load_checkpoint(tmp_path / "b" / CHECKPOINT)["step"] == 3
    resumed = train_gan(x, y, arch=_arch(), config=_cfg(diffaugment="color,translation,cutout"), seed=3,
                        out_dir=tmp_path / "b", resume=True)
    for key in ("generator", "discriminator", "ema", "opt_g", "opt_d"):
        sa, sb = (load_checkpoint(tmp_path / p / CHECKPOINT)[key] for p in ("a", "b"))
        flat_a, flat_b = torch.utils._pytree.tree_flatten(sa)[0], torch.utils._pytree.tree_flatten(sb)[0]
        assert all(torch.equal(u, v) if torch.is_tensor(u) else u == v for u, v in zip(flat_a, flat_b)), key
    assert full.history == resumed.history


def test_planted_nan_stops_with_message_and_keeps_last_good_checkpoint(tmp_path):
    x, y = _data()

    def plant(step, models):
        if step == 3:
            with torch.no_grad():
                next(models["generator"].parameters()).fill_(float("nan"))

    with pytest.raises(GANDivergedError, match=r"diverged at step 4: the discriminator loss is nan.*step 3"):
        train_gan(x, y, arch=_arch(), config=_cfg(), seed=0, out_dir=tmp_path, on_step=plant)
    state = load_checkpoint(tmp_path / CHECKPOINT)
    assert state["step"] == 3
    assert all(torch.isfinite(t).all() for t in state["generator"].values() if t.is_floating_point())


def test_collapsed_discriminator_stops():
    x, y = _data()
    with pytest.raises(GANDivergedError, match="collapsed"):
        train_gan(x, y, arch=_arch(), config=_cfg(collapse_loss=100.0, collapse_patience=2), seed=0)


def test_sample_is_seeded_and_labelled(tmp_path):
    x, y = _data()
    train_gan(x, y, arch=_arch(), config=_cfg(steps=2), seed=0, out_dir=tmp_path)
    g, meta = load_generator(tmp_path / CHECKPOINT)
    a, b = sample(g, 5, labels=1, seed=7), sample(g, 5, labels=1, seed=7)
    assert a.shape == (5, 16, 16, 1) and a.dtype == np.uint8 and np.array_equal(a, b)
    assert meta["step"] == 2 and (tmp_path / "samples_000002.png").exists()
    with pytest.raises(ValueError, match="labels"):
        sample(g, 2, seed=0)
    with pytest.raises(ValueError, match="`n` must be >= 0"):
        sample(g, -1, labels=0)


@pytest.mark.parametrize("kwargs, match", [
    ({"image_size": 24}, "supported power of two"),
    ({"channels": 2}, "1 or 3"),
    ({"num_classes": 1}, "num_classes"),
    ({"cond": "concat"}, "cond"),
])
def test_bad_architecture(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _arch(**kwargs)


def test_bad_data():
    x, y = _data()
    with pytest.raises(ValueError, match="Channel mismatch: the images have 1 channel.*expects 3"):
        train_gan(x, y, arch=_arch(channels=3), config=_cfg())
    with pytest.raises(ValueError, match="must be 32x32"):
        train_gan(x, y, arch=_arch(image_size=32), config=_cfg())
    with pytest.raises(ValueError, match=r"Class\(es\) \[2\] have zero images"):
        train_gan(x[y < 2], y[y < 2], arch=_arch(), config=_cfg())
    with pytest.raises(ValueError, match="`steps` must be >= 1"):
        _cfg(steps=0)


def test_checkpoint_from_other_architecture_and_corrupted(tmp_path):
    x, y = _data()
    train_gan(x, y, arch=_arch(), config=_cfg(steps=1), seed=0, out_dir=tmp_path)
    with pytest.raises(ValueError, match="different architecture: ndf: checkpoint has 4, model has 6; "
                                         "ngf: checkpoint has 4, model has 8"):
        train_gan(x, y, arch=_arch(ngf=8, ndf=6), config=_cfg(steps=2), seed=0, out_dir=tmp_path, resume=True)
    with pytest.raises(ValueError, match="settings differ.*loss"):
        train_gan(x, y, arch=_arch(), config=_cfg(steps=2, loss="bce"), seed=0, out_dir=tmp_path, resume=True)
    ckpt = tmp_path / CHECKPOINT
    ckpt.write_bytes(ckpt.read_bytes()[:200])
    with pytest.raises(ValueError, match="corrupted"):
        load_checkpoint(ckpt)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_failed_write_leaves_previous_checkpoint_intact(tmp_path, monkeypatch):
    x, y = _data()
    train_gan(x, y, arch=_arch(), config=_cfg(steps=3), seed=0, out_dir=tmp_path)
    before = (tmp_path / CHECKPOINT).read_bytes()

    def broken_save(obj, f, *a, **k):
        with open(f, "wb") as fh:
            fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        train_gan(x, y, arch=_arch(), config=_cfg(steps=6), seed=0, out_dir=tmp_path, resume=True)
    assert (tmp_path / CHECKPOINT).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_save_grid(tmp_path):
    path = save_grid(np.zeros((5, 4, 4, 3), np.uint8), tmp_path / "g.png", nrow=2)
    from PIL import Image

    assert Image.open(path).size == (2 * 6 + 2, 3 * 6 + 2)
