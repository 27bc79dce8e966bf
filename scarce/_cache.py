"""The one cache root of scarce and its sub-folders (floor 0: imports nothing of ours).

Everything scarce keeps on disk between runs lives under one root, ``$SCARCE_CACHE`` (default
``~/.cache/scarce``), one sub-folder per kind:

* ``features/``: frozen backbone features (``linear_probe``, ``truncate``, ``scarce advise``);
* ``text_embeddings/``: sentence-encoder vectors (``sentence_encoder``);
* ``gan/``: fitted GANs of the ``synthetic`` remedy (only with ``cache_dir: default``).

Every option that names a cache folder is called ``cache_dir`` and takes ``"default"`` (the kind's
sub-folder of the root), a folder, or ``None`` (no disk cache). :func:`resolve_cache_dir` is the one
place that turns such a value into a path. ``SCARCE_FEATURE_CACHE`` (the old variable for features)
is refused with the fix, so that a stale setting is never ignored silently. :func:`entry_lock` lets
processes that need the same entry (two cells of ``scarce ablate --jobs 2`` sharing one GAN) build it once.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

CACHE_ENV = "SCARCE_CACHE"
CACHE_KINDS = ("features", "text_embeddings", "gan")
_REMOVED_ENV = {"SCARCE_FEATURE_CACHE": "features"}


def cache_root() -> Path:
    """``$SCARCE_CACHE`` (``~`` expanded), else ``~/.cache/scarce``.

    Raises:
        ValueError: a removed variable (``SCARCE_FEATURE_CACHE``) is set.

    Example:
        >>> cache_root().name in ("scarce", os.environ.get("SCARCE_CACHE", "scarce").rstrip("/").split("/")[-1])
        True
    """
    for old, kind in _REMOVED_ENV.items():
        if os.environ.get(old):
            raise ValueError(f"`{old}` is no longer read (got {old}={os.environ[old]!r}); set `{CACHE_ENV}` to the "
                             f"cache root instead: {kind} go to its sub-folder `{kind}/`. Unset {old} to continue.")
    root = os.environ.get(CACHE_ENV)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "scarce"


def default_cache_dir(kind: str) -> Path:
    """The sub-folder of :func:`cache_root` for ``kind`` (one of ``CACHE_KINDS``).

    Example:
        >>> default_cache_dir("features").name
        'features'
    """
    if kind not in CACHE_KINDS:
        raise ValueError(f"`kind` must be one of {', '.join(map(repr, CACHE_KINDS))}, got {kind!r}.")
    return cache_root() / kind


def resolve_cache_dir(value: str | os.PathLike | None, *, kind: str) -> Path | None:
    """Turn a ``cache_dir`` option into a folder: ``"default"`` → ``$SCARCE_CACHE/<kind>``, a path →
    that path (``~`` expanded), ``None`` / ``"none"`` / ``False`` → ``None`` (no disk cache).

    Raises:
        TypeError: ``value`` is neither a path, ``"default"`` nor ``None``.

    Example:
        >>> resolve_cache_dir(None, kind="gan") is None, resolve_cache_dir("/tmp/x", kind="gan")
        (True, PosixPath('/tmp/x'))
    """
    if value is None or value is False or value == "none":
        return None
    if value == "default":
        return default_cache_dir(kind)
    if isinstance(value, bool) or not isinstance(value, (str, os.PathLike)) or value == "":
        raise TypeError(f"`cache_dir` must be a folder, 'default' ($SCARCE_CACHE/{kind}) or null (no disk cache), "
                        f"got {value!r}.")
    return Path(value).expanduser()


@contextlib.contextmanager
def entry_lock(entry: str | os.PathLike | None) -> Iterator[None]:
    """Hold an exclusive lock on the cache entry ``entry`` (the file ``<entry>.lock`` beside it, across
    processes and threads) while it is checked and built: a second caller waits, then finds the entry
    finished instead of building it again into the same folder. ``None``: no cache, no lock.

    Example:
        >>> with entry_lock(None):
        ...     pass
    """
    if entry is None:
        yield
        return
    path = Path(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        yield
