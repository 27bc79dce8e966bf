"""Decoupled classifier re-training (cRT, Kang et al. 2020) inside one fixed step budget.

Training runs in two phases sharing one :class:`TwoPhase` clock: before ``start`` (a fraction of
the steps) the whole network learns with instance-balanced sampling; from ``start`` on, the
features are frozen (the input of the last ``nn.Linear``, the head, is detached, so only the head
receives gradients), the head is optionally re-initialised, and batches are drawn class-balanced.

The clock advances through :class:`PhaseLoss.set_progress` (the engine calls it before every
step); ``set_epoch(0)`` on the sampler resets it at the start of each run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch.nn.functional as F
from torch import nn

from scarce._checks import check_float, check_int
from scarce.balance.losses import class_terms, pass_progress
from scarce.balance.samplers import ClassBalancedSampler
from scarce.balance.strategies import check_labels


class TwoPhase:
    """A shared clock: ``progress`` in [0, 1] and whether the second phase has begun."""

    def __init__(self, *, start: float = 0.8) -> None:
        self.start = check_float("start", start, low=0.0, high=1.0)
        self.progress = 0.0

    @property
    def second(self) -> bool:
        return self.progress >= self.start


class PhaseLoss:
    """A loss that advances a :class:`TwoPhase` clock; ``base`` (default cross-entropy) is the loss."""

    def __init__(self, clock: TwoPhase, base: Any = None) -> None:
        self.clock, self.base = clock, base

    def set_progress(self, fraction: float) -> None:
        self.clock.progress = float(fraction)
        pass_progress(self.base, fraction)

    def class_terms(self) -> dict[str, np.ndarray]:
        return class_terms(self.base)

    def __call__(self, logits, targets):
        return (self.base or F.cross_entropy)(logits, targets)


class PhaseSampler:
    """Instance-balanced shuffling in the first phase, ``strategy`` draws in the second; each
    epoch has ``len(labels)`` indices and the phase is checked at every index."""

    def __init__(self, labels: Any, clock: TwoPhase, *, seed: int, strategy: Any = "inverse") -> None:
        self.labels = check_labels(labels)
        self.clock, self.seed = clock, check_int("seed", seed, minimum=0)
        self.balanced = ClassBalancedSampler(self.labels, strategy=strategy, seed=seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = check_int("epoch", epoch, minimum=0)
        self.balanced.set_epoch(epoch)
        if epoch == 0:
            self.clock.progress = 0.0

    def __len__(self) -> int:
        return self.labels.size

    def __iter__(self) -> Iterator[int]:
        plain = np.random.default_rng([self.seed, self.epoch, 1]).permutation(self.labels.size)
        balanced = self.balanced.indices(self.epoch)
        for i in range(self.labels.size):
            yield int(balanced[i] if self.clock.second else plain[i])


def last_linear(model: nn.Module) -> nn.Linear:
    """The model's classification head: its last ``nn.Linear`` module."""
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError(f"cRT needs a model whose head is an nn.Linear; {type(model).__name__} has none.")
    return linears[-1]


def attach_crt(model: nn.Module, clock: TwoPhase, *, reinit: bool = False) -> nn.Module:
    """Make ``model`` follow the clock: in the second phase (train mode) the head's input is
    detached so that only the head learns; with ``reinit`` the head is re-initialised once when the
    second phase begins. Returns ``model`` (hooks added in place)."""
    head = last_linear(model)
    state = {"reset": False}

    def hook(module: nn.Module, inputs: tuple) -> tuple | None:
        if not (module.training and clock.second):
            state["reset"] = False if clock.progress < clock.start else state["reset"]
            return None
        if reinit and not state["reset"]:
            module.reset_parameters()
            state["reset"] = True
        return (inputs[0].detach(),)

    head.register_forward_pre_hook(hook)
    return model
