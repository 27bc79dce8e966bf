"""Checksummed cache shards shared by the on-disk caches (frozen features, sentence embeddings).

A shard is one ``.npz`` file (no pickle) holding ``keys`` (fixed-width bytes), ``values`` (a float32
matrix, one row per key), the ``namespace`` it was written for and a SHA-256 checksum over all
three. :func:`read_shard` returns ``None`` (the caller warns, deletes and recomputes) for a file
that cannot be read, whose checksum fails, or that was written for another namespace: a shard
copied from another backbone's or model's folder is never used. Writes are atomic (temporary file
+ rename) so a killed run leaves no half shard. Namespaces are single folder names
(:func:`check_namespace`), so nothing is written outside the cache root.

Floor 0: imports only ``scarce._io``.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import warnings
from pathlib import Path

import numpy as np

from scarce._io import atomic_write

_NAMESPACE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")


def check_namespace(namespace: str) -> str:
    """``namespace`` if it is one safe folder name (letters, digits, ``._-``; no leading dot)."""
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise ValueError(f"A cache namespace must be one folder name of letters, digits, '.', '_' or '-' (not "
                         f"starting with '.'), got {namespace!r}.")
    return namespace


def safe_name(text: str) -> str:
    """``text`` with every character a namespace does not allow replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text).lstrip(".") or "_"


def _checksum(namespace: str, keys: np.ndarray, values: np.ndarray) -> str:
    h = hashlib.sha256(namespace.encode())
    h.update(np.ascontiguousarray(keys).tobytes())
    h.update(f"{values.shape}{values.dtype}".encode())
    h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()


def write_shard(path: str | os.PathLike, *, namespace: str, keys: np.ndarray, values: np.ndarray) -> Path:
    """Write one shard atomically (see module doc)."""
    values = np.ascontiguousarray(values, dtype=np.float32)
    if len(keys) != len(values):
        raise ValueError(f"A shard needs one row per key: {len(keys)} keys, {len(values)} rows.")
    buf = io.BytesIO()
    np.savez(buf, keys=keys, values=values, namespace=np.asarray(namespace),
             checksum=np.asarray(_checksum(namespace, keys, values)))
    return atomic_write(path, lambda tmp: tmp.write_bytes(buf.getvalue()))


def read_shard(path: str | os.PathLike, *, namespace: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``(keys, values)`` of a shard written for ``namespace``, or ``None`` if it is corrupt or foreign."""
    try:
        with np.load(path, allow_pickle=False) as z:
            keys, values, ns, checksum = z["keys"], z["values"], str(z["namespace"]), str(z["checksum"])
    except Exception:  # noqa: BLE001 - unreadable, truncated, not a zip, missing arrays: all mean "do not use"
        return None
    if ns != namespace or len(keys) != len(values) or values.ndim != 2 or checksum != _checksum(ns, keys, values):
        return None
    return keys, values


def discard(path: Path, *, what: str) -> None:
    """Warn that ``path`` is corrupt or foreign, and delete it (its rows will be recomputed)."""
    warnings.warn(f"{what} '{path}' is corrupt or was written for another namespace (failed its checksum); it is "
                  "deleted and its entries will be recomputed.", RuntimeWarning, stacklevel=3)
    path.unlink(missing_ok=True)
