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
    """``"auto"`` → CUDA when available, else CPU; any other value must name a device this machine has.

    Args:
        device: ``"auto"``, a device string (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``) or a
            ``torch.device``.

    Returns:
        The resolved ``torch.device``.

    Raises:
        ValueError: an unknown device type, or a CUDA/MPS device this machine does not have.
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"`device` must be 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}.") from err
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (dev.index is not None and dev.index >= count):
            raise ValueError(f"`device` is {str(device)!r} but this machine has {count} CUDA device(s); "
                             "use 'auto' (CUDA when present, else CPU) or 'cpu'.")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"`device` is {str(device)!r} but MPS is not available here; use 'auto' or 'cpu'.")
    return dev


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


def load_tensors(path, *, what: str, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(path, weights_only=True)`` with errors a user can act on.

    Args:
        path: the file.
        what: what the file should be, for the messages (e.g. ``"Checkpoint"``).
        map_location: as for ``torch.load``.

    Raises:
        ValueError: the file holds Python objects other than tensors and plain containers (refused:
            unpickling them could run code), or it is not a readable torch file (truncated, corrupted).
    """
    import pickle

    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        first = str(err).splitlines()[0][:160] if str(err) else ""
        if "weights_only" in str(err) or "Unsupported global" in str(err):
            raise ValueError(f"{what} '{path}' was refused: it holds Python objects that are not tensors, and "
                             "loading those could run code. scarce reads tensors only: re-save the weights with "
                             "torch.save(model.state_dict(), path).") from None
        raise ValueError(f"{what} '{path}' cannot be read: not a torch file, or corrupted ({first}).") from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        first = str(err).splitlines()[0][:160] if str(err) else type(err).__name__
        raise ValueError(f"{what} '{path}' cannot be read: truncated, corrupted or not a torch file ({first}).") from None

