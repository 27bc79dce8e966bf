"""Loading pretrained weights: a local file, the torch hub cache, or the library's download.

Offline without the weights, a clear error says where to put them. A file made for another
architecture is refused with the keys that differ.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from scarce._torch import load_tensors


def _real_keys(sd) -> list[str]:
    return [k for k in sd if not k.endswith("num_batches_tracked")]


def read_state_dict(path: str | os.PathLike) -> "OrderedDict[str, torch.Tensor]":
    """Read a ``state_dict`` (or a checkpoint holding one under ``state_dict``/``model``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"`pretrained` must be True, False or an existing weights file, got '{path}'.")
    obj = load_tensors(path, what="Weights file")
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError(f"'{path}' does not hold a state_dict of tensors.")
    return OrderedDict(obj)


def _differences(model_sd, file_sd, limit: int = 5) -> str:
    mk, fk = _real_keys(model_sd), _real_keys(file_sd)
    missing = [k for k in mk if k not in file_sd]
    unexpected = [k for k in fk if k not in model_sd]
    shapes = [f"{k} {tuple(file_sd[k].shape)} vs {tuple(model_sd[k].shape)}" for k in mk
              if k in file_sd and file_sd[k].shape != model_sd[k].shape]
    parts = []
    for label, items in (("missing from the file", missing), ("not in the model", unexpected),
                         ("with another shape (file vs model)", shapes)):
        if items:
            more = f" (+{len(items) - limit} more)" if len(items) > limit else ""
            parts.append(f"{len(items)} key(s) {label}: {', '.join(items[:limit])}{more}")
    return "; ".join(parts)


def load_state_dict_into(model: nn.Module, file_sd, *, arch: str, source: str, by_order: bool = False) -> None:
    """Copy ``file_sd`` into ``model``: by name, or (``by_order``) position by position when the
    names differ but every tensor's shape matches in order (same network, other naming scheme).

    Raises:
        ValueError: the file is for another architecture; the message names the differing keys.
    """
    model_sd = model.state_dict()
    mk, fk = _real_keys(model_sd), _real_keys(file_sd)
    if set(mk) == set(fk) and all(model_sd[k].shape == file_sd[k].shape for k in mk):
        mapped = {k: file_sd[k] for k in mk}
    elif by_order and len(mk) == len(fk) and all(model_sd[a].shape == file_sd[b].shape for a, b in zip(mk, fk)):
        mapped = {a: file_sd[b] for a, b in zip(mk, fk)}
    else:
        raise ValueError(
            f"Weights '{source}' do not fit backbone '{arch}': {_differences(model_sd, file_sd) or 'tensors differ in order/shape'}."
        )
    with torch.no_grad():
        for k, v in mapped.items():
            model_sd[k].copy_(v.to(model_sd[k].dtype))


def torch_hub_file(url: str) -> Path:
    """Where torch's hub cache keeps the file downloaded from ``url``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def fetch_url_weights(url: str, *, arch: str, download: bool) -> "OrderedDict[str, torch.Tensor]":
    """The weights at ``url``: from the torch hub cache, else downloaded (if ``download``).

    Raises:
        RuntimeError: not cached and not downloadable (offline); says how to get them.
    """
    cached = torch_hub_file(url)
    if cached.is_file():
        return read_state_dict(cached)
    how = (f"Pretrained weights for '{arch}' are not on disk ('{cached}'). Allow the download with "
           "`download: true` (a transfer remedy's option; `create_backbone(..., download=True)`; "
           f"`scarce advise --download`), or download {url} on a connected machine and copy it there (the torch "
           "hub cache; TORCH_HOME moves it), or pass `pretrained='/path/to/file.pth'`, or `pretrained=False`.")
    if not download:
        raise RuntimeError(how)
    try:
        return OrderedDict(torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=True,
                                                              check_hash=True, weights_only=True))
    except OSError as err:  # URLError, socket errors, no space
        raise RuntimeError(f"{how} (download failed: {err})") from None


def weights_fingerprint(model: nn.Module) -> str:
    """A hash of every parameter and buffer (the cache key's "weights" part)."""
    h = hashlib.sha1()
    for k, v in model.state_dict().items():
        if k.endswith("num_batches_tracked"):
            continue
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()
