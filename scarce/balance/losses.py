"""Loss-side remedies for class imbalance: class-balanced weights, focal loss, logit adjustment /
Balanced Softmax, post-hoc logit adjustment, and deferred re-weighting (DRW).

Every loss is ``loss(logits, targets) -> scalar`` with ``targets`` class indices ``(B,)`` or soft
targets ``(B, C)``. Losses that change over training expose ``set_progress(fraction)`` (the
engine calls it before every step with ``(step - 1) / steps``); a loss built on another one
(``base``) passes the progress on (:func:`pass_progress`), so wrapping never stops a schedule.

* Class-balanced weights: ``inverse`` (``w_c ∝ 1 / n_c``) or ``effective_number`` (``w_c ∝
  (1 - β) / (1 - β^n_c)``, Cui et al. 2019), normalised to average 1 over classes.
* Focal loss (Lin et al. 2017): ``-(1 - p_t)^γ log p_t``, optionally class-weighted.
* Logit-adjusted cross-entropy (Menon et al. 2021): cross-entropy on ``logits + τ log π`` with
  ``π`` the training class prior; with τ = 1 it is Balanced Softmax (Ren et al. 2020).
* Post-hoc logit adjustment: predict with ``logits - τ log π`` after plain training.
* DRW (Cao et al. 2019): plain cross-entropy, then class-balanced weights from ``start`` on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from scarce._checks import check_choice, check_float
from scarce.balance.strategies import check_labels, class_counts


def class_balanced_weights(counts: Any, *, kind: str = "effective_number", beta: float = 0.9999) -> np.ndarray:
    """Per-class loss weights averaging 1 over classes.

    Args:
        counts: examples per class (all > 0).
        kind: ``"inverse"`` or ``"effective_number"``.
        beta: β in [0, 1) for the effective number.

    Example:
        >>> class_balanced_weights([30, 10], kind="inverse").round(2).tolist()
        [0.5, 1.5]
    """
    check_choice("kind", kind, ("inverse", "effective_number"))
    beta = check_float("beta", beta, low=0.0, high=1.0, high_inclusive=False)
    n = np.asarray(counts, dtype=np.float64)
    if n.ndim != 1 or n.size < 2:
        raise ValueError(f"`counts` must be a 1-D list of at least two class counts, got {counts!r}.")
    if (n <= 0).any():
        raise ValueError(f"Class {int(np.flatnonzero(n <= 0)[0])} has no example; class weights need every class.")
    w = 1.0 / n if kind == "inverse" else (1.0 - beta) / -np.expm1(n * np.log(beta)) if beta > 0 else np.ones_like(n)
    return w * (n.size / w.sum())


def log_prior(counts: Any) -> torch.Tensor:
    """``log π_c`` of the training class frequencies (every class must have an example)."""
    n = np.asarray(counts, dtype=np.float64)
    if (n <= 0).any():
        raise ValueError(f"Class {int(np.flatnonzero(n <= 0)[0])} has no example; the class prior needs every class.")
    return torch.as_tensor(np.log(n / n.sum()), dtype=torch.float32)


def counts_from_labels(labels: Any, num_classes: int) -> np.ndarray:
    """Per-class counts over ``num_classes`` (validated labels)."""
    return class_counts(check_labels(labels), num_classes=num_classes)


def pass_progress(loss: Any, fraction: float) -> None:
    """Call ``loss.set_progress(fraction)`` when ``loss`` has it (a wrapped loss keeps its schedule)."""
    hook = getattr(loss, "set_progress", None)
    if hook is not None:
        hook(fraction)


def class_terms(obj: Any) -> dict[str, np.ndarray]:
    """The per-class terms a loss (or a model factory) applies, by name: ``obj.class_terms()`` when
    it defines it (a wrapped loss adds its base's), else ``{}``. ``scarce preview`` draws them.

    Example:
        >>> {k: v.round(2).tolist() for k, v in class_terms(WeightedCrossEntropy([0.5, 1.5])).items()}
        {'class weight': [0.5, 1.5]}
    """
    hook = getattr(obj, "class_terms", None)
    return dict(hook()) if hook is not None else {}


def _soft(targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    return targets if targets.dim() == 2 else F.one_hot(targets.long(), num_classes).to(torch.float32)


def _weighted_ce(logits: torch.Tensor, targets: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Cross-entropy; with ``weight`` the mean is normalised by the targets' weights (as PyTorch does)."""
    if weight is None:
        return F.cross_entropy(logits, targets)
    weight = weight.to(logits.device, logits.dtype)
    if targets.dim() == 1:
        return F.cross_entropy(logits, targets, weight=weight)
    per = -(targets * weight * F.log_softmax(logits, 1)).sum(1)
    return per.sum() / (targets * weight).sum().clamp_min(1e-12)


class WeightedCrossEntropy:
    """Cross-entropy with per-class weights (e.g. :func:`class_balanced_weights`)."""

    def __init__(self, weights: Any) -> None:
        self.weight = torch.as_tensor(np.asarray(weights), dtype=torch.float32)

    def class_terms(self) -> dict[str, np.ndarray]:
        return {"class weight": self.weight.numpy().copy()}

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return _weighted_ce(logits, targets, self.weight)


class FocalLoss:
    """Focal loss ``-(1 - p_t)^γ log p_t`` averaged over the batch (γ = 0: cross-entropy).

    Example:
        >>> loss = FocalLoss(gamma=0.0)
        >>> x, y = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
        >>> bool(torch.isclose(loss(x, y), F.cross_entropy(x, y)))
        True
    """

    def __init__(self, *, gamma: float = 2.0, weights: Any = None) -> None:
        self.gamma = check_float("gamma", gamma, low=0.0)
        self.weight = None if weights is None else torch.as_tensor(np.asarray(weights), dtype=torch.float32)

    def class_terms(self) -> dict[str, np.ndarray]:
        return {} if self.weight is None else {"class weight": self.weight.numpy().copy()}

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        logp = F.log_softmax(logits.float(), 1)
        t = _soft(targets, logits.shape[1])
        per_class = -t * (1 - logp.exp()).pow(self.gamma) * logp
        if self.weight is None:
            return per_class.sum(1).mean()
        w = self.weight.to(logits.device)
        return (per_class * w).sum() / (t * w).sum().clamp_min(1e-12)


class LogitAdjustedLoss:
    """Cross-entropy on ``logits + τ log π`` (Menon et al. 2021); τ = 1 is Balanced Softmax.

    With ``base`` (any loss: class-weighted, focal, DRW...) the loss is ``base(logits + τ log π,
    targets)``, so a prior correction and a re-weighting sit in one loss.

    Args:
        counts: training examples per class (the prior π).
        tau: the adjustment's strength τ ≥ 0.
        base: the loss applied to the adjusted logits (default: cross-entropy).

    Example:
        >>> loss = LogitAdjustedLoss([90, 10], tau=1.0)
        >>> x = torch.zeros(1, 2)
        >>> loss(x, torch.tensor([1])) > loss(x, torch.tensor([0]))
        tensor(True)
    """

    def __init__(self, counts: Any, *, tau: float = 1.0, base: Any = None) -> None:
        self.tau = check_float("tau", tau, low=0.0)
        self.offset = self.tau * log_prior(counts)
        self.base = base

    def set_progress(self, fraction: float) -> None:
        pass_progress(self.base, fraction)

    def class_terms(self) -> dict[str, np.ndarray]:
        return {**class_terms(self.base), f"logit offset τ·log π (τ = {self.tau:g}), in the loss": self.offset.numpy().copy()}

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return (self.base or F.cross_entropy)(logits + self.offset.to(logits.device, logits.dtype), targets)


class PosthocAdjusted(nn.Module):
    """Wrap a trained (or training) model: in eval mode its logits become ``logits - τ log π``;
    in train mode they are unchanged (the model is trained with plain cross-entropy)."""

    def __init__(self, model: nn.Module, counts: Any, *, tau: float = 1.0) -> None:
        super().__init__()
        self.model = model
        self.tau = check_float("tau", tau, low=0.0)
        self.register_buffer("offset", self.tau * log_prior(counts))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.model(x)
        return out if self.training else out - self.offset.to(out.dtype)


def posthoc_adjust(logits: Any, counts: Any, *, tau: float = 1.0) -> np.ndarray:
    """``logits - τ log π`` for logits already computed (numpy or torch), as a numpy array."""
    tau = check_float("tau", tau, low=0.0)
    return np.asarray(logits, dtype=np.float32) - tau * log_prior(counts).numpy()


class DeferredReweighting:
    """DRW (Cao et al. 2019): plain cross-entropy before ``start`` (a fraction of training), then
    cross-entropy with class-balanced ``weights``. The engine calls ``set_progress`` each step.

    Example:
        >>> drw = DeferredReweighting([0.5, 1.5], start=0.5)
        >>> drw.set_progress(0.7); drw.active
        True
    """

    def __init__(self, weights: Any, *, start: float = 0.8, base: Any = None) -> None:
        self.weight = torch.as_tensor(np.asarray(weights), dtype=torch.float32)
        self.start = check_float("start", start, low=0.0, high=1.0)
        self.base = base
        self.progress = 0.0

    @property
    def active(self) -> bool:
        return self.progress >= self.start

    def set_progress(self, fraction: float) -> None:
        self.progress = float(fraction)
        pass_progress(self.base, fraction)

    def class_terms(self) -> dict[str, np.ndarray]:
        return {**class_terms(self.base), f"class weight from {self.start:.0%} of the steps on": self.weight.numpy().copy()}

    def __call__(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.active:
            return _weighted_ce(logits, targets, self.weight)
        return self.base(logits, targets) if self.base is not None else F.cross_entropy(logits, targets)
