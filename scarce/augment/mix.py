"""Batch MixUp and CutMix on tensors on any device, with per-sample λ and box and soft targets.

A batch transform has the engine's contract ``batch_transform(x, y, generator=torch.Generator)
-> (x, y)``: ``x`` is a float ``(B, C, H, W)`` batch, ``y`` int64 labels ``(B,)`` or soft targets
``(B, num_classes)``; the output targets are always soft ``(B, num_classes)`` float, which
``torch.nn.functional.cross_entropy`` (the engine's default loss) accepts, as does
:func:`soft_cross_entropy`.

Every sample draws its own λ ~ Beta(α, α) and (CutMix) its own box; partners come from one random
permutation of the batch. Everything is vectorised: no Python loop over samples.

Example:
    >>> import torch
    >>> mix = CutMix(num_classes=10, alpha=1.0)
    >>> x, y = mix(torch.zeros(4, 3, 32, 32), torch.tensor([0, 1, 2, 3]), generator=torch.Generator().manual_seed(0))
    >>> tuple(y.shape)
    (4, 10)

In a user's own loop, call a mix as a batch step after moving the batch to the device, or wrap
it as a DataLoader ``collate_fn`` with :class:`MixCollate` (then it runs in the workers).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from scarce._checks import check_float, check_int
from scarce.augment.dataset import SharedEpoch, check_accepts


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for class indices ``(B,)`` or soft targets ``(B, C)`` (mean over the batch)."""
    return F.cross_entropy(logits, targets)


def _beta(n: int, alpha: float, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """``n`` draws of Beta(α, α) from ``generator`` (via a seed it yields; torch's Beta takes none)."""
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device).item())
    lam = np.random.default_rng(seed).beta(alpha, alpha, size=n).astype(np.float32)
    return torch.from_numpy(lam).to(device)


class _Mix:
    def __init__(self, *, num_classes: int, alpha: float = 1.0, p: float = 1.0) -> None:
        self.num_classes = check_int("num_classes", num_classes, minimum=2)
        self.alpha = check_float("alpha", alpha, low=0.0, low_inclusive=False)
        self.p = check_float("p", p, low=0.0, high=1.0)

    def _check(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            raise ValueError(f"`x` must be a (B, C, H, W) tensor, got {getattr(x, 'shape', type(x).__name__)}.")
        if x.shape[0] == 0:
            raise ValueError("`x` must hold at least one sample, got an empty batch.")
        if not x.is_floating_point():
            raise ValueError(f"`x` must be a float tensor (the collated batch), got {x.dtype}.")
        if y.dim() == 1 and y.shape[0] == x.shape[0] and not y.is_floating_point():
            if y.numel() and (int(y.min()) < 0 or int(y.max()) >= self.num_classes):
                raise ValueError(f"`y` must be class indices in 0..{self.num_classes - 1}, got {int(y.min())}..{int(y.max())}.")
            return F.one_hot(y, self.num_classes).to(x.dtype)
        if y.dim() == 2 and y.shape == (x.shape[0], self.num_classes):
            return y.to(x.dtype)
        raise ValueError(f"`y` must be labels (B,) or soft targets (B, {self.num_classes}) for B={x.shape[0]}, "
                         f"got shape {tuple(y.shape)}.")

    def _draw(self, x: torch.Tensor, generator: torch.Generator):
        b = x.shape[0]
        perm = torch.randperm(b, generator=generator, device=generator.device).to(x.device)
        lam = _beta(b, self.alpha, generator, x.device)
        if self.p < 1.0:
            keep = torch.rand(b, generator=generator, device=generator.device).to(x.device) >= self.p
            lam = torch.where(keep, torch.ones_like(lam), lam)
        return perm, lam


def mixup(x: torch.Tensor, y_soft: torch.Tensor, perm: torch.Tensor, lam: torch.Tensor):
    """MixUp kernel: ``λ·x + (1-λ)·x[perm]`` per sample, same for the targets."""
    lx = lam.view(-1, *([1] * (x.dim() - 1)))
    return x[perm].lerp_(x, lx), y_soft[perm].lerp_(y_soft, lam[:, None])


def cutmix_boxes(lam: torch.Tensor, height: int, width: int, centres: torch.Tensor) -> torch.Tensor:
    """Per-sample boxes ``(B, 4)`` = (y0, y1, x0, x1) of area ≈ (1-λ)·H·W around ``centres`` (B, 2)
    in [0, 1), clipped to the image."""
    cut = torch.sqrt(1.0 - lam)
    ch, cw = (cut * height).round(), (cut * width).round()
    cy, cx = (centres[:, 0] * height).floor(), (centres[:, 1] * width).floor()
    y0, y1 = (cy - ch / 2).clamp(0, height), (cy + ch / 2).clamp(0, height)
    x0, x1 = (cx - cw / 2).clamp(0, width), (cx + cw / 2).clamp(0, width)
    return torch.stack([y0.round(), y1.round(), x0.round(), x1.round()], dim=1)


def box_mask(boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Boolean ``(B, 1, H, W)`` masks, True inside each sample's box."""
    rows = torch.arange(height, device=boxes.device, dtype=boxes.dtype)
    cols = torch.arange(width, device=boxes.device, dtype=boxes.dtype)
    in_rows = (rows[None, :] >= boxes[:, 0:1]) & (rows[None, :] < boxes[:, 1:2])
    in_cols = (cols[None, :] >= boxes[:, 2:3]) & (cols[None, :] < boxes[:, 3:4])
    return (in_rows[:, :, None] & in_cols[:, None, :])[:, None]


def cutmix(x: torch.Tensor, y_soft: torch.Tensor, perm: torch.Tensor, boxes: torch.Tensor):
    """CutMix kernel: paste ``x[perm]`` inside each sample's box; targets weighted by the exact
    pasted area."""
    mask = box_mask(boxes.to(x.device), x.shape[2], x.shape[3])
    lam = 1.0 - mask.flatten(1).to(y_soft.dtype).mean(1)
    # lerp with a 0/1 weight returns either end exactly, and is faster than a broadcast where
    return x[perm].lerp_(x, (~mask).to(x.dtype)), y_soft[perm].lerp_(y_soft, lam[:, None])


class MixUp(_Mix):
    """MixUp (Zhang et al., 2018) with a λ ~ Beta(α, α) per sample.

    Args:
        num_classes: size of the soft targets.
        alpha: Beta parameter (> 0); 0.2-0.4 is usual on ImageNet, 1.0 on CIFAR.
        p: probability that a sample is mixed at all (``0`` → identity, targets one-hot).
    """

    def __call__(self, x: torch.Tensor, y: torch.Tensor, *, generator: torch.Generator):
        y_soft = self._check(x, y)
        perm, lam = self._draw(x, generator)
        return mixup(x, y_soft, perm, lam.to(x.dtype))


class CutMix(_Mix):
    """CutMix (Yun et al., 2019): a box of area (1-λ) per sample pasted from a partner; targets
    weighted by the pasted area after clipping to the image.

    Args:
        num_classes: size of the soft targets.
        alpha: Beta parameter (> 0); 1.0 is the paper's.
        p: probability that a sample is mixed at all (``0`` → identity, targets one-hot).
    """

    def __call__(self, x: torch.Tensor, y: torch.Tensor, *, generator: torch.Generator):
        y_soft = self._check(x, y)
        perm, lam = self._draw(x, generator)
        centres = torch.rand(x.shape[0], 2, generator=generator, device=generator.device).to(x.device)
        return cutmix(x, y_soft, perm, cutmix_boxes(lam, x.shape[2], x.shape[3], centres))


class MixUpOrCutMix(_Mix):
    """Per sample, CutMix with probability ``switch_prob`` else MixUp (timm's switch, per sample).

    Args:
        num_classes: size of the soft targets.
        mixup_alpha, cutmix_alpha: the two Beta parameters (> 0).
        switch_prob: probability of CutMix for a sample.
        p: probability that a sample is mixed at all.
    """

    def __init__(self, *, num_classes: int, mixup_alpha: float = 0.8, cutmix_alpha: float = 1.0,
                 switch_prob: float = 0.5, p: float = 1.0) -> None:
        super().__init__(num_classes=num_classes, alpha=mixup_alpha, p=p)
        self.cutmix_alpha = check_float("cutmix_alpha", cutmix_alpha, low=0.0, low_inclusive=False)
        self.switch_prob = check_float("switch_prob", switch_prob, low=0.0, high=1.0)

    def __call__(self, x: torch.Tensor, y: torch.Tensor, *, generator: torch.Generator):
        y_soft = self._check(x, y)
        b, dev = x.shape[0], generator.device
        perm, lam_mix = self._draw(x, generator)
        lam_cut = _beta(b, self.cutmix_alpha, generator, x.device)
        centres = torch.rand(b, 2, generator=generator, device=dev).to(x.device)
        use_cut = (torch.rand(b, generator=generator, device=dev).to(x.device) < self.switch_prob)
        if self.p < 1.0:
            lam_cut = torch.where(lam_mix == 1.0, torch.ones_like(lam_cut), lam_cut)
        mask = box_mask(cutmix_boxes(lam_cut, x.shape[2], x.shape[3], centres), x.shape[2], x.shape[3])
        lam_box = 1.0 - mask.flatten(1).to(x.dtype).mean(1)
        # one pass: per-pixel weight of the sample itself (λ for MixUp, outside-the-box for CutMix)
        weight = torch.where(use_cut[:, None, None, None], (~mask).to(x.dtype), lam_mix.to(x.dtype).view(-1, 1, 1, 1))
        lam = torch.where(use_cut, lam_box, lam_mix.to(x.dtype))
        return x[perm].lerp_(x, weight), y_soft[perm].lerp_(y_soft, lam[:, None].to(y_soft.dtype))


def _digest(t: torch.Tensor) -> memoryview:
    """The bytes of a CPU tensor of any dtype, without a copy when it is contiguous."""
    flat = t.detach().cpu().contiguous().reshape(-1)
    return memoryview(flat.view(torch.uint8).numpy()) if flat.numel() else memoryview(b"")


class MixCollate:
    """A DataLoader ``collate_fn``: collate the samples, then apply a batch mix (MixUp, CutMix,
    :class:`MixUpOrCutMix` or any ``mix(x, y, generator=) -> (x, y)``) in the worker.

    The batch's generator is seeded from ``(seed, epoch, a hash of the collated batch)``: the
    same batch gets the same mix whichever worker collates it and however many there are, a
    different batch or epoch gets another. Call :meth:`set_epoch` before each epoch (the epoch is
    in shared memory, so persistent workers see it); without it, an epoch that repeats the same
    batches (no shuffling, no augmentation) repeats their mixes too.

    Args:
        mix: the batch step, e.g. ``MixUp(num_classes=10, alpha=0.2)``.
        collate: the base collate ``list[(x, y)] -> (x, y)``; its ``x`` must be a float
            ``(B, C, H, W)`` tensor (e.g. ``scarce.inference.image_collate``); default:
            ``torch.utils.data.default_collate``.
        seed: seed of every batch's draw (an integer >= 0).

    Example:
        >>> import numpy as np, torch
        >>> collate = MixCollate(MixUp(num_classes=2), seed=0)
        >>> x, y = collate([(torch.zeros(1, 4, 4), 0), (torch.ones(1, 4, 4), 1)])
        >>> tuple(x.shape), tuple(y.shape)
        ((2, 1, 4, 4), (2, 2))
    """

    def __init__(self, mix: Callable, *, collate: Callable | None = None, seed: int = 0) -> None:
        self.mix = check_accepts(mix, name="mix", args=2, keyword="generator",
                                 contract="mix(x, y, generator=torch.Generator) -> (x, y)")
        self.collate = None if collate is None else check_accepts(
            collate, name="collate", args=1, keyword=None, contract="collate(list[(x, y)]) -> (x, y)")
        self.seed = check_int("seed", seed, minimum=0)
        self._epoch = SharedEpoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Draw epoch ``epoch``'s mixes from now on, here and in every DataLoader worker."""
        self._epoch.set(epoch)

    def generator(self, x: torch.Tensor, y: torch.Tensor) -> torch.Generator:
        """The CPU generator for the collated batch ``(x, y)`` in the current epoch."""
        h = hashlib.blake2b(struct.pack("<QQ", self.seed, self._epoch.get()), digest_size=8)
        for t in (x, y):
            h.update(str((tuple(t.shape), t.dtype)).encode())
            h.update(_digest(t))
        return torch.Generator().manual_seed(int.from_bytes(h.digest(), "little") >> 1)

    def __call__(self, batch: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = (self.collate or torch.utils.data.default_collate)(batch)
        return self.mix(x, y, generator=self.generator(x, y))
