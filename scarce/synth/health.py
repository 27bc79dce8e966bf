"""GAN health: the divergence rules of the trainer, their documented thresholds and the error.

Divergence is checked after every step of :func:`scarce.synth.trainer.train_gan`, with these
default thresholds (fields of ``GANTrainConfig`` of the same names, tested):

- a non-finite loss: stop *before* the update that would spread it;
- an exploding loss: ``|D loss|`` or ``|G loss|`` above ``max_loss`` = 1e3 (healthy hinge or
  BCE losses stay below ~5); stop at once;
- exploding weights: the largest ``|w|`` of G or D above ``max_weight`` = 1e4 (or not finite;
  healthy DCGAN weights stay near 1); stop at once;
- collapse to a constant discriminator: D loss below ``collapse_loss`` = 1e-4 while the G loss is
  above ``collapse_g_loss`` = 10 for ``FAST_COLLAPSE_STEPS`` = 3 steps in a row; or D loss below
  ``collapse_loss`` for ``collapse_patience`` = 200 steps in a row (the generator gets no useful
  gradient).

The trainer writes checkpoints only while healthy: at the start of a fresh run (step 0), then every
``checkpoint_every`` steps unless the D loss is below ``collapse_loss`` at that step (a collapse may
be starting), in which case the checkpoint waits for the next healthy step; the final state of a run
that ends without diverging is always saved. On divergence nothing more is written, so the
checkpoint on disk is the last healthy one, and the error names it with the likely fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import torch

from scarce._checks import UserError

MAX_LOSS = 1e3
MAX_WEIGHT = 1e4
COLLAPSE_LOSS = 1e-4
COLLAPSE_G_LOSS = 10.0
COLLAPSE_PATIENCE = 200
FAST_COLLAPSE_STEPS = 3
"""Steps in a row of D loss < ``collapse_loss`` with G loss > ``collapse_g_loss`` that stop training."""
FIX = ("Likely fix: a lower learning rate (lr_g, lr_d), DiffAugment (diffaugment: color,translation,cutout) "
       "or more data.")


class GANDivergedError(UserError, RuntimeError):
    """Training stopped: a loss or a weight became non-finite or exploded, or the discriminator collapsed."""


@torch.no_grad()
def max_abs_weight(*models: torch.nn.Module) -> float:
    """The largest ``|w|`` over the models' parameters (NaN if any weight is NaN)."""
    return float(torch.stack([p.detach().abs().max().float().cpu() for m in models for p in m.parameters()]).max())


@dataclass
class HealthCheck:
    """Divergence rules of the module doc, fed one step at a time.

    Example:
        >>> check = HealthCheck()
        >>> check.update(1.2, 0.8, weight=1.1) is None, check.healthy
        (True, True)
        >>> check.update(0.0, 3e12, weight=1.1)
        'a loss exploded (D 0, G 3e+12; limit max_loss=1000)'
    """

    max_loss: float = MAX_LOSS
    max_weight: float = MAX_WEIGHT
    collapse_loss: float = COLLAPSE_LOSS
    collapse_g_loss: float = COLLAPSE_G_LOSS
    collapse_patience: int = COLLAPSE_PATIENCE
    low_streak: int = field(default=0, init=False)
    fast_streak: int = field(default=0, init=False)
    THRESHOLDS: ClassVar[tuple[str, ...]] = ("max_loss", "max_weight", "collapse_loss", "collapse_g_loss",
                                             "collapse_patience")

    @property
    def healthy(self) -> bool:
        """False while the discriminator loss is below ``collapse_loss`` (a collapse may be starting)."""
        return self.low_streak == 0

    def update(self, d_loss: float, g_loss: float, *, weight: float) -> str | None:
        """Record a step's losses and largest weight; return why training must stop, or ``None``."""
        if max(abs(d_loss), abs(g_loss)) > self.max_loss:
            return f"a loss exploded (D {d_loss:.3g}, G {g_loss:.3g}; limit max_loss={self.max_loss:g})"
        if not math.isfinite(weight) or weight > self.max_weight:
            return f"the weights exploded (largest |w| {weight:.3g}; limit max_weight={self.max_weight:g})"
        low = d_loss < self.collapse_loss
        self.low_streak = self.low_streak + 1 if low else 0
        self.fast_streak = self.fast_streak + 1 if low and g_loss > self.collapse_g_loss else 0
        if self.fast_streak >= FAST_COLLAPSE_STEPS:
            return (f"the discriminator collapsed to a constant (D loss < {self.collapse_loss:g} while G loss > "
                    f"{self.collapse_g_loss:g} for {FAST_COLLAPSE_STEPS} steps)")
        if self.low_streak >= self.collapse_patience:
            return (f"the discriminator collapsed (loss < {self.collapse_loss:g} for {self.collapse_patience} steps; "
                    "the generator gets no useful gradient)")
        return None
