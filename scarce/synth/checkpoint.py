"""DCGAN checkpoints: plain state dicts + JSON-like metadata, saved atomically, loaded with
``torch.load(weights_only=True)`` (no pickle of arbitrary objects), checked against the
architecture they are loaded into.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from scarce._io import atomic_write
from scarce._torch import load_tensors

FORMAT = "scarce.dcgan/1"
REQUIRED = ("format", "arch", "config", "seed", "step", "generator", "discriminator", "ema", "opt_g", "opt_d")


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` to ``path`` via a temporary file and a rename (never half-written)."""
    import torch

    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise ValueError(f"`state` must hold {REQUIRED}; missing {missing}.")
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | os.PathLike, *, map_location: str = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is corrupted, truncated, or not a scarce DCGAN checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Checkpoint not found: '{path}'.")
    state = load_tensors(path, what="Checkpoint", map_location=map_location)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"Checkpoint '{path}' is not a scarce DCGAN checkpoint (expected format '{FORMAT}').")
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise ValueError(f"Checkpoint '{path}' is corrupted: missing {missing}.")
    return state


def architecture_diff(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable differences between two architecture dicts (empty when they match)."""
    keys = sorted(set(saved) | set(current))
    return [f"{k}: checkpoint has {saved.get(k)!r}, model has {current.get(k)!r}"
            for k in keys if saved.get(k) != current.get(k)]


def check_architecture(state: dict[str, Any], arch_dict: dict[str, Any], *, path: Any = "checkpoint") -> None:
    """Raise ``ValueError`` naming every architecture field that differs."""
    diff = architecture_diff(dict(state["arch"]), arch_dict)
    if diff:
        raise ValueError(f"Checkpoint '{path}' is from a different architecture: {'; '.join(diff)}.")


def save_grid(images: np.ndarray, path: str | os.PathLike, *, nrow: int = 10, pad: int = 2) -> Path:
    """Save uint8 ``(N, H, W, C)`` images as one PNG grid (atomically)."""
    from PIL import Image

    images = np.asarray(images)
    if images.ndim != 4 or images.dtype != np.uint8 or len(images) == 0:
        raise ValueError(f"`images` must be a non-empty uint8 array (N, H, W, C), got {images.dtype} {images.shape}.")
    n, h, w, c = images.shape
    cols = min(nrow, n)
    rows = -(-n // cols)
    grid = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, c), 255, np.uint8)
    for i, im in enumerate(images):
        r, q = divmod(i, cols)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h, pad + q * (w + pad): pad + q * (w + pad) + w] = im
    pil = Image.fromarray(grid[..., 0] if c == 1 else grid)
    return atomic_write(path, lambda tmp: pil.save(tmp, format="PNG"))
