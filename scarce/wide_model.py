"""Several copies of one feed-forward network trained as one *wide* network.

A tuning grid trains the same model from the same initialisation on the same batches with
different learning rates and weight decays. :class:`ModelStack` runs the ``G`` copies as one
network whose layers are ``G`` times wider: the first convolution or linear layer sees the shared
batch once with the copies' weights concatenated, later ones are grouped (``groups = G``), and
BatchNorm, activations and pooling act on the ``G`` copies' channels at once. The data, the
augmentation, the collate and the per-step Python are paid once per step instead of ``G`` times,
and the kernels run on larger tensors (``benchmarks/stack_step.py`` times one step five ways;
docs/results/throughput.md has the numbers and what the grids gain).

Why our own code: ``torch.func.vmap`` over ``functional_call`` computes the same thing but, on CPU,
its batching of BatchNorm and max-pooling copies tensors at every call and is slower than separate
runs (``benchmarks/stack_step.py``: 28.7 ms per copy and step against 25.3 alone, one thread); and
``stack_module_state`` makes new stacked leaves, so one optimiser would apply one learning rate to
every copy. Here each copy keeps its own parameters (ordinary module leaves, concatenated inside
the forward, which is differentiable), so one standard optimiser with one parameter group per copy
applies each point's rate and decay as a separate run would, and checkpoints, BatchNorm
re-estimation and evaluation use the copies as ordinary modules.

Only ``nn.Sequential`` networks (nested allowed) of the layer types in :data:`WIDE` can be
stacked (:func:`stackable`); anything else is trained copy by copy by the caller. BatchNorm
running statistics are updated per copy exactly as separate runs would update them. Dropout draws
independent masks per copy (separate runs with one seed would share them): the same distribution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

_ELEMENTWISE = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.Hardswish, nn.ELU,
                nn.Identity, nn.Dropout, nn.Dropout2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d,
                nn.AdaptiveMaxPool2d)


class _Wide:
    """A batch of ``G`` copies' activations: ``(B, G·C, ...)``, or ``(B, C, ...)`` while still shared."""

    def __init__(self, x: torch.Tensor, copies: int, shared: bool) -> None:
        self.x, self.copies, self.shared = x, copies, shared

    def widened(self) -> torch.Tensor:
        """The activations with one block of channels per copy."""
        if not self.shared:
            return self.x
        return self.x.repeat(1, self.copies, *([1] * (self.x.dim() - 2)))


def _cat(layers: Sequence[nn.Module], name: str) -> torch.Tensor | None:
    tensors = [getattr(m, name) for m in layers]
    return None if tensors[0] is None else torch.cat(tensors)


def _conv(layers: Sequence[nn.Conv2d], a: _Wide) -> _Wide:
    m = layers[0]
    weight = _cat(layers, "weight")
    if a.x.is_contiguous(memory_format=torch.channels_last):
        weight = weight.contiguous(memory_format=torch.channels_last)
    x, groups = (a.x, m.groups) if a.shared and m.groups == 1 else (a.widened(), m.groups * a.copies)
    if m.padding_mode != "zeros":
        raise ValueError("stacking supports zero-padded convolutions only")
    return _Wide(F.conv2d(x, weight, _cat(layers, "bias"), m.stride, m.padding, m.dilation, groups), a.copies, False)


def _linear(layers: Sequence[nn.Linear], a: _Wide) -> _Wide:
    bias = _cat(layers, "bias")
    if a.shared:
        return _Wide(F.linear(a.x, _cat(layers, "weight"), bias), a.copies, False)
    x = a.x.reshape(a.x.shape[0], a.copies, -1).transpose(0, 1)  # (G, B, in)
    weight = torch.stack([m.weight for m in layers]).transpose(1, 2)  # (G, in, out)
    out = torch.bmm(x, weight).transpose(0, 1)
    if bias is not None:
        out = out + bias.reshape(a.copies, -1)
    return _Wide(out.reshape(out.shape[0], -1), a.copies, False)


def _batchnorm(layers: Sequence[nn.modules.batchnorm._BatchNorm], a: _Wide) -> _Wide:
    m = layers[0]
    x = a.widened()
    track = m.track_running_stats and m.running_mean is not None
    use_batch = m.training or not track
    momentum = 0.0 if m.momentum is None else m.momentum
    if m.training and track:
        for layer in layers:
            layer.num_batches_tracked.add_(1)
        if m.momentum is None:  # cumulative moving average
            momentum = 1.0 / float(m.num_batches_tracked)
    mean = _cat(layers, "running_mean") if track else None
    var = _cat(layers, "running_var") if track else None
    out = F.batch_norm(x, mean, var, _cat(layers, "weight"), _cat(layers, "bias"), use_batch, momentum, m.eps)
    if m.training and track:  # hand each copy its updated running statistics
        with torch.no_grad():
            for layer, mu, v in zip(layers, mean.chunk(a.copies), var.chunk(a.copies)):
                layer.running_mean.copy_(mu)
                layer.running_var.copy_(v)
    return _Wide(out, a.copies, False)


def _flatten(layers: Sequence[nn.Flatten], a: _Wide) -> _Wide:
    m = layers[0]
    if m.start_dim != 1 or m.end_dim != -1:
        raise ValueError("stacking supports Flatten(start_dim=1, end_dim=-1) only")
    return _Wide(a.x.flatten(1), a.copies, a.shared)


def _elementwise(layers: Sequence[nn.Module], a: _Wide) -> _Wide:
    return _Wide(layers[0](a.x), a.copies, a.shared)


WIDE: dict[type, Callable[[Sequence[nn.Module], _Wide], _Wide]] = {
    nn.Conv2d: _conv, nn.Linear: _linear, nn.BatchNorm1d: _batchnorm, nn.BatchNorm2d: _batchnorm,
    nn.Flatten: _flatten, **{t: _elementwise for t in _ELEMENTWISE},
}
"""Layer type → how ``G`` copies of it run as one wide layer (exact types; subclasses are not assumed)."""


def stackable(model: nn.Module) -> bool:
    """Whether :class:`ModelStack` can run copies of ``model``: an ``nn.Sequential`` (nested
    allowed) of :data:`WIDE` layer types, without hooks."""
    if type(model) is nn.Sequential:
        return not (model._forward_hooks or model._forward_pre_hooks) and all(stackable(m) for m in model)
    if type(model) not in WIDE or model._forward_hooks or model._forward_pre_hooks:
        return False
    if isinstance(model, nn.Conv2d):
        return model.padding_mode == "zeros"
    if isinstance(model, nn.Flatten):
        return model.start_dim == 1 and model.end_dim == -1
    return True


class ModelStack:
    """The forward of ``models`` (copies of one :func:`stackable` network) as one wide network.

    Args:
        models: two or more copies (same architecture and modes; their parameters may differ).

    Raises:
        ValueError: fewer than two models, a model :func:`stackable` refuses, or copies whose
            parameter shapes differ.

    Example:
        >>> import copy
        >>> a = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)); b = copy.deepcopy(a)
        >>> ModelStack([a, b])(torch.zeros(5, 3)).shape
        torch.Size([2, 5, 2])
    """

    def __init__(self, models: Sequence[nn.Module]) -> None:
        if len(models) < 2:
            raise ValueError(f"`models` must hold at least two modules to stack, got {len(models)}.")
        if not stackable(models[0]):
            raise ValueError(f"`models` must be nn.Sequential networks of {sorted(t.__name__ for t in WIDE)}; "
                             f"got a {type(models[0]).__name__} that is not.")
        shapes = [[p.shape for p in m.parameters()] for m in models]
        for i, s in enumerate(shapes[1:], start=1):
            if s != shapes[0] or type(models[i]) is not type(models[0]):
                raise ValueError(f"`models[{i}]` differs from `models[0]`; a stack needs copies of one network.")
        self.models = list(models)
        self.layers = list(zip(*(_leaves(m) for m in models)))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs of every copy on the same input ``x``: ``(G, B, ...)``."""
        a = _Wide(x, len(self.models), True)
        for layers in self.layers:
            a = WIDE[type(layers[0])](layers, a)
        out = a.widened()
        return out.reshape(out.shape[0], a.copies, -1, *out.shape[2:]).transpose(0, 1)


def _leaves(model: nn.Module) -> list[nn.Module]:
    if type(model) is nn.Sequential:
        return [leaf for m in model for leaf in _leaves(m)]
    return [model]
