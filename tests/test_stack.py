"""The wide stack (``scarce.wide_model``) computes what the copies compute alone, and ``fit_points``
trains a grid's points together with the results of separate runs (up to float rounding)."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from scarce.wide_model import ModelStack, stackable
from scarce.data import ArrayDataset
from scarce.train import TrainConfig, fit, fit_points


def _net(groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=groups, bias=False), nn.BatchNorm2d(8)),
                         nn.GELU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 6), nn.BatchNorm1d(6),
                         nn.Tanh(), nn.Linear(6, 3))


def _copies(g: int, groups: int = 1) -> list[nn.Sequential]:
    torch.manual_seed(0)
    models = [_net(groups) for _ in range(g)]  # different weights: the stack must keep them apart
    return models


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("channels_last", [False, True])
def test_stack_forward_and_gradients_equal_each_copy_alone(groups, channels_last):
    models = _copies(3, groups)
    alone = copy.deepcopy(models)
    x = torch.randn(5, 3, 8, 8)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    out = ModelStack(models)(x)
    assert out.shape == (3, 5, 3)
    out.sum().backward()
    for g, m in enumerate(alone):
        ref = m(x)
        ref.sum().backward()
        torch.testing.assert_close(out[g], ref, rtol=1e-4, atol=1e-5)
        for p, q in zip(models[g].parameters(), m.parameters()):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-5)
        for b, c in zip(models[g].buffers(), m.buffers()):  # running statistics: as if trained alone
            torch.testing.assert_close(b, c, rtol=1e-5, atol=1e-6)


def test_stack_in_eval_mode_uses_each_copys_running_statistics():
    models = _copies(2)
    x = torch.randn(4, 3, 8, 8)
    for m in models:
        m(x)  # update the running statistics (train mode)
        m.eval()
    out = ModelStack(models)(x)
    for g, m in enumerate(models):
        torch.testing.assert_close(out[g], m(x), rtol=1e-4, atol=1e-5)


def test_stackable_only_plain_sequential_networks_of_known_layers():
    assert stackable(_net())
    assert not stackable(nn.Sequential(nn.Conv2d(3, 4, 3), nn.LayerNorm(4)))  # a layer it does not know
    assert not stackable(nn.Conv2d(3, 4, 3, padding_mode="reflect"))
    assert not stackable(nn.Sequential(nn.Flatten(start_dim=2)))

    class Net(nn.Module):
        def forward(self, x):
            return x

    assert not stackable(Net())
    hooked = _net()
    hooked[0].register_forward_hook(lambda *a: None)
    assert not stackable(hooked)
    with pytest.raises(ValueError, match="at least two"):
        ModelStack([_net()])
    with pytest.raises(ValueError, match="nn.Sequential networks"):
        ModelStack([Net(), Net()])
    with pytest.raises(ValueError, match=r"models\[1\]"):
        ModelStack([_net(), nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())])


def _images(n: int, seed: int) -> ArrayDataset:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = (rng.integers(0, 60, (n, 8, 8, 3)) + 60 * y[:, None, None, None]).astype(np.uint8)
    return ArrayDataset(x, y, class_names=["a", "b", "c"])


GRID = [(1e-3, 1e-4), (1e-2, 1e-4), (1e-2, 0.05)]


def _model():  # no bias before BatchNorm: its gradient is rounding noise, which Adam turns into steps
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, 3))


def test_fit_points_stacked_matches_separate_runs():
    train, val = _images(30, 0), _images(15, 1)
    config = TrainConfig(steps=12, batch_size=8, eval_every=4, device="cpu")
    configs = [replace(config, lr=lr, weight_decay=wd) for lr, wd in GRID]
    stacked = fit_points(_model, train, configs=configs, seed=3, val=val)
    separate = [fit(_model, train, config=c, seed=3, val=val) for c in configs]
    for a, b in zip(stacked, separate):
        assert (a.lr, a.weight_decay) == (b.lr, b.weight_decay)
        assert [h["step"] for h in a.history] == [h["step"] for h in b.history]
        np.testing.assert_allclose([h["loss"] for h in a.history], [h["loss"] for h in b.history], rtol=1e-3)
        np.testing.assert_allclose([h["val_nll"] for h in a.history], [h["val_nll"] for h in b.history], rtol=1e-3)
        for p, q in zip(a.model.state_dict().values(), b.model.state_dict().values()):
            torch.testing.assert_close(p.float(), q.float(), rtol=1e-3, atol=1e-4)
    assert len({id(r.model) for r in stacked}) == 3


def test_fit_points_trains_an_unstackable_model_point_by_point_with_the_same_results():
    class Net(nn.Module):  # not an nn.Sequential: not stackable
        def __init__(self):
            super().__init__()
            self.body = _model()

        def forward(self, x):
            return self.body(x)

    train, val = _images(20, 0), _images(9, 1)
    config = TrainConfig(steps=6, batch_size=8, eval_every=3, device="cpu")
    configs = [replace(config, lr=lr, weight_decay=wd) for lr, wd in GRID[:2]]
    together = fit_points(Net, train, configs=configs, seed=1, val=val)
    separate = [fit(Net, train, config=c, seed=1, val=val) for c in configs]
    for a, b in zip(together, separate):
        assert a.history == b.history
        assert all(torch.equal(p, q) for p, q in zip(a.model.state_dict().values(), b.model.state_dict().values()))


def test_fit_points_refuses_points_that_differ_in_more_than_lr_and_weight_decay():
    config = TrainConfig(steps=4, device="cpu")
    with pytest.raises(ValueError, match=r"configs\[1\].*steps"):
        fit_points(_model, _images(9, 0), configs=[config, replace(config, steps=5)], seed=0)
    with pytest.raises(ValueError, match="at least one"):
        fit_points(_model, _images(9, 0), configs=[], seed=0)


def test_fit_points_patience_stops_each_point_on_its_own_checks():
    train, val = _images(30, 0), _images(15, 1)
    config = TrainConfig(steps=40, batch_size=8, eval_every=2, patience=1, device="cpu")
    configs = [replace(config, lr=lr) for lr in (1e-5, 0.5)]
    stacked = fit_points(_model, train, configs=configs, seed=0, val=val)
    separate = [fit(_model, train, config=c, seed=0, val=val) for c in configs]
    assert [r.steps for r in stacked] == [r.steps for r in separate]
    assert [r.best_step for r in stacked] == [r.best_step for r in separate]


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_the_engines_foreach_optimiser_is_bit_for_bit_the_single_tensor_one(optimizer):
    """``_optimizer`` uses ``foreach=True`` on every device for speed; it must not change a single bit."""
    from scarce.train import _optimizer

    x, y = torch.randn(16, 3, 8, 8, generator=torch.Generator().manual_seed(0)), torch.arange(16) % 3
    states = []
    for foreach in (True, False):
        torch.manual_seed(0)
        model = _model()
        config = TrainConfig(optimizer=optimizer, lr=0.05, weight_decay=0.01, device="cpu")
        opt = _optimizer([model], [config], None)
        for group in opt.param_groups:
            group["foreach"] = foreach
        for _ in range(5):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        states.append(model.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(states[0].values(), states[1].values()))
