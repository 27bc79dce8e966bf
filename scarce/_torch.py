"""Small torch helpers shared by every floor: device resolution and labels to a target tensor.

Floor 0: imports nothing else of ours. It imports torch, so only modules that already need torch
import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; any other value is passed to ``torch.device``.

    Args:
        device: ``"auto"``, a device string (``"cpu"``, ``"cuda:0"``...) or a ``torch.device``.

    Returns:
        The resolved ``torch.device``.
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def labels_to_tensor(ys: Sequence[Any]) -> torch.Tensor:
    """A batch of labels as training targets: int64 class indices, or float32 soft-target rows.

    Args:
        ys: a non-empty sequence of labels, all class indices (ints) or all probability vectors.

    Returns:
        ``(B,)`` int64 when the labels are scalars, else ``(B, C)`` float32.

    Example:
        >>> labels_to_tensor([1, 0]).dtype, labels_to_tensor([[0.5, 0.5]]).dtype
        (torch.int64, torch.float32)
    """
    return torch.as_tensor(np.asarray(ys), dtype=torch.float32 if np.ndim(ys[0]) else torch.int64)
