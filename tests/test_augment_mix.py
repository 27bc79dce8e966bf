"""MixUp / CutMix batch transforms: kernels checked exactly, contract, soft targets, bad input."""

import pickle

import pytest
import torch
import torch.nn.functional as F

from scarce.augment.mix import CutMix, MixUp, MixUpOrCutMix, cutmix, cutmix_boxes, mixup, soft_cross_entropy

MIXERS = {
    "mixup": lambda **kw: MixUp(num_classes=5, **kw),
    "cutmix": lambda **kw: CutMix(num_classes=5, **kw),
    "switch": lambda **kw: MixUpOrCutMix(num_classes=5, **kw),
}


def _batch(b=8):
    g = torch.Generator().manual_seed(0)
    return torch.randn(b, 3, 12, 10, generator=g), torch.arange(b) % 5


def _gen(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", MIXERS)
def test_mixer_contract(name):
    x, y = _batch()
    mix = MIXERS[name]()
    x1, y1 = mix(x, y, generator=_gen(1))
    assert x1.shape == x.shape and x1.dtype == x.dtype and y1.shape == (8, 5) and y1.dtype == torch.float32
    assert torch.allclose(y1.sum(1), torch.ones(8))
    x2, y2 = mix(x, y, generator=_gen(1))
    assert torch.equal(x1, x2) and torch.equal(y1, y2)  # same generator state, same output
    x3, _ = mix(x, y, generator=_gen(2))
    assert not torch.equal(x1, x3)
    clone = pickle.loads(pickle.dumps(mix))
    assert torch.equal(clone(x, y, generator=_gen(1))[0], x1)
    x0, y0 = MIXERS[name](p=0.0)(x, y, generator=_gen(1))
    assert torch.equal(x0, x) and torch.equal(y0, F.one_hot(y, 5).float())  # p=0: identity


@pytest.mark.parametrize("name", MIXERS)
def test_soft_targets_in_and_loss(name):
    x, y = _batch()
    soft = F.one_hot(y, 5).float() * 0.9 + 0.02
    _, ys = MIXERS[name]()(x, soft, generator=_gen(0))
    assert torch.allclose(ys.sum(1), torch.ones(8))
    logits = torch.randn(8, 5)
    assert torch.isfinite(soft_cross_entropy(logits, ys))
    assert torch.allclose(soft_cross_entropy(logits, F.one_hot(y, 5).float()), F.cross_entropy(logits, y))


def test_mixup_kernel_exact():
    x = torch.stack([torch.zeros(1, 2, 2), torch.ones(1, 2, 2)])
    y = torch.eye(2)
    xm, ym = mixup(x, y, torch.tensor([1, 0]), torch.tensor([0.25, 1.0]))
    assert torch.allclose(xm[0], torch.full((1, 2, 2), 0.75)) and torch.equal(xm[1], x[1])
    assert torch.allclose(ym, torch.tensor([[0.25, 0.75], [0.0, 1.0]]))


def test_per_sample_lambda_and_boxes():
    x, y = _batch(64)
    _, ym = MixUp(num_classes=5, alpha=1.0)(x, y, generator=_gen(0))
    own = ym.gather(1, y[:, None]).squeeze(1)
    assert own.unique().numel() > 10  # one λ per sample, not one per batch
    _, yc = CutMix(num_classes=5)(x, y, generator=_gen(0))
    assert yc.max(1).values.unique().numel() > 5


def test_cutmix_kernel_area_matches_targets():
    x = torch.zeros(2, 1, 4, 4)
    x[1] = 1.0
    y = torch.eye(2)
    boxes = torch.tensor([[0.0, 2.0, 0.0, 4.0], [0.0, 0.0, 0.0, 0.0]])
    xc, yc = cutmix(x, y, torch.tensor([1, 0]), boxes)
    assert xc[0, 0, :2].eq(1).all() and xc[0, 0, 2:].eq(0).all() and torch.equal(xc[1], x[1])
    assert torch.allclose(yc, torch.tensor([[0.5, 0.5], [0.0, 1.0]]))
    b = cutmix_boxes(torch.tensor([0.75]), 8, 8, torch.tensor([[0.5, 0.5]]))
    assert b.tolist() == [[2.0, 6.0, 2.0, 6.0]]  # area 1 - λ = 1/4 of 8×8


@pytest.mark.parametrize("make,args,match", [
    (lambda: MixUp(num_classes=5, alpha=0.0), None, r"`alpha` must be in \(0, inf\), got 0"),
    (lambda: CutMix(num_classes=5, alpha=-1.0), None, "`alpha`"),
    (lambda: MixUp(num_classes=5, p=1.5), None, r"`p` must be in \[0, 1\]"),
    (lambda: MixUpOrCutMix(num_classes=5, switch_prob=2.0), None, "`switch_prob`"),
    (lambda: MixUp(num_classes=1), None, "`num_classes`"),
    (lambda: MixUp(num_classes=5), (torch.zeros(0, 3, 4, 4), torch.zeros(0, dtype=torch.long)), "empty batch"),
    (lambda: CutMix(num_classes=5), (torch.zeros(2, 4, 4), torch.zeros(2, dtype=torch.long)), r"\(B, C, H, W\)"),
    (lambda: CutMix(num_classes=5), (torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.zeros(2, dtype=torch.long)), "float"),
    (lambda: MixUp(num_classes=5), (torch.zeros(2, 3, 4, 4), torch.tensor([0, 7])), "class indices"),
    (lambda: MixUp(num_classes=5), (torch.zeros(2, 3, 4, 4), torch.zeros(2, 4)), "soft targets"),
])
def test_bad_input_names_the_argument(make, args, match):
    with pytest.raises(ValueError, match=match):
        mix = make()
        mix(*args, generator=_gen(0))


def test_works_on_the_generator_device_cpu_and_cuda_if_present():
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for dev in devices:
        x, y = _batch()
        g = torch.Generator(device=dev).manual_seed(0)
        xo, yo = MixUpOrCutMix(num_classes=5)(x.to(dev), y.to(dev), generator=g)
        assert xo.device.type == dev and yo.device.type == dev


def test_switch_extremes_are_pure_cutmix_or_pure_mixup():
    x, y = _batch(16)
    xc, _ = MixUpOrCutMix(num_classes=5, switch_prob=1.0)(x, y, generator=_gen(0))
    assert ((xc[:, None] == x[None]).all(2).any(1)).all()  # every pixel is copied from some sample
    xm, ym = MixUpOrCutMix(num_classes=5, switch_prob=0.0)(x, y, generator=_gen(0))
    assert not ((xm[:, None] == x[None]).all(2).any(1)).all()  # blended pixels
