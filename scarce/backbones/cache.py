"""Frozen-feature extraction with a checksummed disk cache.

The cache is keyed by (backbone, weights, preprocessing, content): a *namespace* folder per
(backbone name, hash of every weight tensor, preprocessing settings), and inside it one entry per
example keyed by the hash of the example's bytes. So a dataset's content hash is the combination
of its examples' hashes, and nested subsets (10 ⊂ 50 per class), other seeds' subsets of the same
pool and the fixed test set all reuse what was computed once: across an ablation the backbone runs
forward once per distinct image.

Entries are written in shards (``<namespace>/<sha1>.npz``, :mod:`scarce._shards`: keys, features,
the namespace and a SHA-256 checksum over all three), atomically, so a killed run leaves no half
entry. A shard that cannot be read, fails its checksum or was written for another namespace (copied
from another backbone's folder) is reported, deleted and its examples recomputed: it is never used.
Namespaces are single folder names, so nothing is written outside the cache root.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch

from scarce._cache import resolve_cache_dir
from scarce._checks import check_int
from scarce._shards import check_namespace, discard, read_shard, safe_name, write_shard


def example_key(x) -> bytes:
    """The content hash of one example (bytes, shape and dtype)."""
    a = np.ascontiguousarray(np.asarray(x))
    h = hashlib.sha1(f"{a.shape}{a.dtype}".encode())
    h.update(a.tobytes())
    return h.hexdigest().encode()


class FeatureCache:
    """A folder of checksummed feature shards; counts hits and misses.

    Args:
        root: the cache folder (created if missing).

    Example:
        >>> import numpy as np, tempfile
        >>> cache = FeatureCache(tempfile.mkdtemp())
        >>> cache.put("ns", [b"k1"], np.ones((1, 4), np.float32))
        >>> cache.get("ns", [b"k1", b"k2"])[1]
        [1]
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._mem: dict[str, dict[bytes, np.ndarray]] = {}
        self._seen: dict[str, set[str]] = {}
        self.hits = 0
        self.misses = 0
        self.corrupt = 0

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def _load(self, namespace: str) -> dict[bytes, np.ndarray]:
        table = self._mem.setdefault(check_namespace(namespace), {})
        seen = self._seen.setdefault(namespace, set())
        folder = self.root / namespace
        if folder.is_dir():
            for path in sorted(folder.glob("*.npz")):
                if path.name in seen:
                    continue
                seen.add(path.name)
                shard = read_shard(path, namespace=namespace)
                if shard is None:
                    self.corrupt += 1
                    discard(path, what="Feature cache entry")
                    continue
                for k, f in zip(shard[0].tolist(), shard[1]):
                    table[k] = f
        return table

    def get(self, namespace: str, keys: list[bytes]) -> tuple[dict[int, np.ndarray], list[int]]:
        """Cached features by position, and the positions that are missing (counted as misses)."""
        table = self._load(namespace)
        found, missing = {}, []
        for i, k in enumerate(keys):
            if k in table:
                found[i] = table[k]
            else:
                missing.append(i)
        self.hits += len(found)
        self.misses += len(missing)
        return found, missing

    def put(self, namespace: str, keys: list[bytes], features: np.ndarray) -> Path | None:
        """Store features of ``keys`` as one shard (atomic write)."""
        if not len(keys):
            return None
        keys_arr = np.asarray(keys, dtype="S40")
        feats = np.ascontiguousarray(features, dtype=np.float32)
        if len(keys_arr) != len(feats):
            raise ValueError(f"`features` must have one row per key: {len(keys_arr)} keys, {len(feats)} rows.")
        name = hashlib.sha1(keys_arr.tobytes()).hexdigest() + ".npz"
        path = write_shard(self.root / check_namespace(namespace) / name, namespace=namespace, keys=keys_arr,
                           values=feats)
        self._seen.setdefault(namespace, set()).add(name)
        table = self._mem.setdefault(namespace, {})
        for k, f in zip(keys_arr.tolist(), feats):
            table[k] = f
        return path


def _open(cache_dir: str | os.PathLike | None) -> FeatureCache | None:
    folder = resolve_cache_dir(cache_dir, kind="features")
    return None if folder is None else FeatureCache(folder)


class FeatureExtractor:
    """Frozen backbone + preprocessing + optional cache: images → ``(N, D)`` float32 features.

    Args:
        backbone: a :class:`~scarce.backbones.base.Backbone` (used in eval mode, no gradients).
        preprocess: a :class:`~scarce.backbones.base.Preprocess` (size, normalisation, greyscale).
        cache_dir: a folder, ``"default"`` (``$SCARCE_CACHE/features``), an open :class:`FeatureCache`
            (to share one, and its hit counts, between extractors) or ``None`` (no cache).
        batch_size: images per forward pass.
        device: ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda:1"``...
        progress: show a tqdm bar while computing misses.

    Example:
        >>> import numpy as np
        >>> from scarce.backbones import create_backbone, Preprocess
        >>> bb = create_backbone("resnet18", pretrained=False)
        >>> fx = FeatureExtractor(bb, Preprocess(bb.data_config, size=32), progress=False)
        >>> fx(np.zeros((3, 32, 32, 3), np.uint8)).shape
        (3, 512)
    """

    def __init__(self, backbone, preprocess, *, cache_dir: FeatureCache | str | os.PathLike | None = None,
                 batch_size: int = 64, device: str = "auto", progress: bool = True) -> None:
        from scarce.backbones.weights import weights_fingerprint
        from scarce._torch import resolve_device

        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.device = resolve_device(device)
        self.backbone = backbone.eval().to(self.device)
        self.preprocess = preprocess
        self.cache = cache_dir if isinstance(cache_dir, FeatureCache) else _open(cache_dir)
        self.progress = progress
        ident = {"backbone": backbone.name, "stages": backbone.num_stages,
                 "weights": weights_fingerprint(backbone), "preprocess": preprocess.describe()}
        self.namespace = f"{safe_name(backbone.name)}-" + hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
        self.forward_images = 0

    @torch.no_grad()
    def _compute(self, images: list) -> np.ndarray:
        from tqdm.auto import tqdm

        out = []
        starts = range(0, len(images), self.batch_size)
        bar = tqdm(starts, desc=f"features {self.backbone.name}", unit="batch",
                   disable=not self.progress or len(starts) < 2, leave=False)
        for s in bar:
            x = self.preprocess(images[s : s + self.batch_size]).to(self.device)
            with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.device.type == "cuda"):
                out.append(self.backbone.forward_features(x).float().cpu().numpy())
        self.forward_images += len(images)
        return np.concatenate(out) if out else np.zeros((0, self.backbone.num_features), np.float32)

    def __call__(self, images) -> np.ndarray:
        """Features of a sequence of uint8 HWC images (a list or an ``(N, H, W, C)`` array)."""
        images = list(images)
        if not images:
            return np.zeros((0, self.backbone.num_features), np.float32)
        if self.cache is None:
            return self._compute(images)
        keys = [example_key(x) for x in images]
        found, missing = self.cache.get(self.namespace, keys)
        if missing:
            first: dict[bytes, int] = {}
            for i in missing:
                first.setdefault(keys[i], i)
            unique = list(first)
            feats = self._compute([images[first[k]] for k in unique])
            self.cache.put(self.namespace, unique, feats)
            pos = {k: j for j, k in enumerate(unique)}
            for i in missing:
                found[i] = feats[pos[keys[i]]]
        return np.stack([found[i] for i in range(len(images))]).astype(np.float32, copy=False)

    def dataset(self, ds) -> np.ndarray:
        """Features of every example of a labelled dataset, in order."""
        return self(ds.get(i) for i in range(len(ds)))


def extract_features(backbone, data, *, size: int | None = None, grayscale: str = "error",
                     cache_dir: FeatureCache | str | os.PathLike | None = None, batch_size: int = 64,
                     device: str = "auto", progress: bool = True) -> np.ndarray:
    """Frozen features ``(N, D)`` of a labelled dataset or a sequence of uint8 HWC images.

    Args:
        backbone: a backbone from :func:`~scarce.backbones.create_backbone`.
        data: a ``LabelledDataset``, a list of images or an ``(N, H, W, C)`` uint8 array.
        size: input resolution (default: the backbone's native one).
        grayscale: ``"repeat"`` converts 1-channel images to 3 channels explicitly; ``"error"`` refuses.
        cache_dir: a folder, ``"default"`` (``$SCARCE_CACHE/features``) or a :class:`FeatureCache`;
            ``None`` computes every time.

    Example:
        >>> import numpy as np
        >>> from scarce.backbones import create_backbone
        >>> bb = create_backbone("mobilenet_v3_small", pretrained=False)
        >>> extract_features(bb, np.zeros((2, 32, 32, 1), np.uint8), size=32, grayscale="repeat",
        ...                  progress=False).shape
        (2, 576)
    """
    from scarce.backbones.base import Preprocess

    fx = FeatureExtractor(backbone, Preprocess(backbone.data_config, size=size, grayscale=grayscale), cache_dir=cache_dir,
                          batch_size=batch_size, device=device, progress=progress)
    if hasattr(data, "get") and hasattr(data, "labels"):
        return fx.dataset(data)
    return fx(data)
