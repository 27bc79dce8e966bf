"""DiffAugment (Zhao et al. 2020): differentiable colour, translation and cutout augmentation
applied to both real and generated images before the discriminator.

Each op draws its parameters from a ``torch.Generator`` (on CPU, then moved to the images'
device, so the draw is the same on every device) and applies them with differentiable tensor ops,
so the generator receives gradients through the augmentation.

Example:
    >>> import torch
    >>> x = torch.zeros(4, 3, 16, 16, requires_grad=True)
    >>> y = diff_augment(x, "color,translation,cutout", generator=torch.Generator().manual_seed(0))
    >>> y.shape == x.shape, y.requires_grad
    (True, True)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

OPS = ("color", "translation", "cutout")


def parse_policy(policy: str | None) -> tuple[str, ...]:
    """``"color,translation,cutout"`` → a tuple of op names; ``""``/``None`` → no op."""
    if policy is None or policy == "":
        return ()
    if not isinstance(policy, str):
        raise TypeError(f"`policy` must be a comma-separated string of {OPS}, got {policy!r}.")
    ops = tuple(p.strip() for p in policy.split(",") if p.strip())
    for op in ops:
        if op not in OPS:
            raise ValueError(f"`policy` must list ops among {OPS}, got {op!r}.")
    return ops


def _uniform(shape: tuple[int, ...], generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    return torch.rand(shape, generator=generator).to(device=like.device, dtype=like.dtype)


def color(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random brightness (±0.5), saturation (×[0, 2], RGB only) and contrast (×[0.5, 1.5])."""
    b = x.shape[0]
    x = x + (_uniform((b, 1, 1, 1), generator, x) - 0.5)
    if x.shape[1] > 1:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (_uniform((b, 1, 1, 1), generator, x) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform((b, 1, 1, 1), generator, x) + 0.5) + mean


def translation(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by a random integer offset of up to ``ratio`` of its size (zero fill)."""
    b, _, h, w = x.shape
    ry, rx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    sy = torch.randint(-ry, ry + 1, (b, 1), generator=generator).to(x.device)
    sx = torch.randint(-rx, rx + 1, (b, 1), generator=generator).to(x.device)
    padded = F.pad(x, [rx, rx, ry, ry])
    gy = torch.arange(h, device=x.device)[None, :] + ry - sy  # (B, H)
    gx = torch.arange(w, device=x.device)[None, :] + rx - sx  # (B, W)
    bi = torch.arange(b, device=x.device)[:, None, None]
    return padded.permute(0, 2, 3, 1)[bi, gy[:, :, None], gx[:, None, :]].permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, generator: torch.Generator, ratio: float = 0.5) -> torch.Tensor:
    """Zero one random square of ``ratio`` of the image size per image (it may cross the border)."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (b, 1, 1), generator=generator).to(x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (b, 1, 1), generator=generator).to(x.device)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    inside = (ys >= oy - ch // 2) & (ys < oy - ch // 2 + ch) & (xs >= ox - cw // 2) & (xs < ox - cw // 2 + cw)
    return x * (~inside).to(x.dtype)[:, None]


_FUNCS = {"color": color, "translation": translation, "cutout": cutout}


def diff_augment(x: torch.Tensor, policy: str | tuple[str, ...], *, generator: torch.Generator) -> torch.Tensor:
    """Apply the ops of ``policy`` in order (``"color,translation,cutout"`` is the paper's).

    Args:
        x: images ``(B, C, H, W)``, any device, typically in [-1, 1].
        policy: comma-separated op names or a tuple of them; empty means identity.
        generator: a CPU ``torch.Generator`` the parameters are drawn from.

    Returns:
        The augmented images, differentiable with respect to ``x``.
    """
    ops = parse_policy(policy) if isinstance(policy, str) or policy is None else tuple(policy)
    if x.ndim != 4:
        raise ValueError(f"`x` must be a batch of images (B, C, H, W), got shape {tuple(x.shape)}.")
    for op in ops:
        x = _FUNCS[op](x, generator)
    return x.contiguous()


class DiffAugment:
    """A policy bound to a name: ``DiffAugment("color,translation")(x, generator=g)``."""

    def __init__(self, policy: str = "color,translation,cutout") -> None:
        self.ops = parse_policy(policy)

    def __call__(self, x: torch.Tensor, *, generator: torch.Generator) -> torch.Tensor:
        return diff_augment(x, self.ops, generator=generator)

    def __repr__(self) -> str:
        return f"DiffAugment({','.join(self.ops)!r})"
