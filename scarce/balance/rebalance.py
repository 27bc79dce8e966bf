"""``scarce rebalance``: a rebalanced index list for your own dataset, from a CSV of labels.

The CSV has a header row; the label column is ``--column`` (default: ``label`` if present, else
the only column). Labels may be any strings (``cat``, ``dog``) or integers: they are mapped to
classes in sorted order, so no class is ever "missing". The output CSV has one row per drawn
example, ``index,label``, where ``index`` is the 0-based data row of the input; it is written
atomically.

Example:
    >>> idx = rebalance(["a", "a", "a", "b"], method="over", seed=0)
    >>> idx.tolist()
    [0, 1, 2, 3, 3, 3]
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from scarce._checks import check_choice, check_int
from scarce._io import atomic_write_text

METHODS = ("sampler", "over", "under")


def encode_labels(raw: Any) -> tuple[np.ndarray, list[str]]:
    """Map arbitrary labels to class indices (sorted order; numeric labels sorted as numbers)."""
    values = [str(v).strip() for v in raw]
    if not values:
        raise ValueError("`labels` must not be empty.")
    if any(v == "" for v in values):
        raise ValueError(f"`labels` must not hold empty values (row {values.index('')} is empty).")
    try:
        names = sorted(set(values), key=lambda v: (0, float(v), v))
    except ValueError:
        names = sorted(set(values))
    lookup = {name: i for i, name in enumerate(names)}
    return np.fromiter((lookup[v] for v in values), dtype=np.int64, count=len(values)), names


def rebalance(labels: Any, *, method: str = "sampler", strategy: Any = None, num_samples: int | None = None,
              seed: int = 0, epoch: int = 0, rank: int = 0, world_size: int = 1) -> np.ndarray:
    """Rebalanced positions into ``labels``.

    Args:
        labels: one label per example (strings or integers; mapped to classes in sorted order).
        method: ``"sampler"`` (one epoch of :class:`ClassBalancedSampler`, with replacement),
            ``"over"`` or ``"under"`` (:func:`fit_resample`).
        strategy: the sampler's strategy (default ``"inverse"``) or the resampling strategy
            (default ``"auto"``).
        num_samples, epoch, rank, world_size: the sampler's epoch size, epoch and shard.
        seed: seed of the draws.
    """
    from scarce.balance.resample import fit_resample
    from scarce.balance.samplers import ClassBalancedSampler

    check_choice("method", method, METHODS)
    codes, names = encode_labels(labels)
    if isinstance(strategy, Mapping):  # {label: count} with the user's label values
        unknown = [k for k in strategy if str(k).strip() not in names]
        if unknown:
            raise ValueError(f"`strategy` names unknown class(es) {unknown}; the labels are {names[:20]}.")
        strategy = {names.index(str(k).strip()): v for k, v in strategy.items()}
    if method == "sampler":
        s = ClassBalancedSampler(codes, strategy=strategy or "inverse", num_samples=num_samples, seed=seed,
                                 rank=rank, world_size=world_size)
        return s.indices(check_int("epoch", epoch, minimum=0)).astype(np.int64)
    if num_samples is not None or epoch or rank or world_size != 1:
        raise ValueError(f"`num_samples`, `epoch`, `rank` and `world_size` apply to method='sampler' only, "
                         f"got method={method!r}.")
    return fit_resample(codes, method=method, strategy="auto" if strategy is None else strategy, seed=seed)


def read_label_column(path: str | os.PathLike, *, column: str | None = None) -> list[str]:
    """The label column of a CSV file with a header row."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Labels CSV not found: '{path}'.")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if not header:
            raise ValueError(f"'{path}' is empty: expected a header row and one label per row.")
        header = [h.strip() for h in header]
        if column is None:
            column = "label" if "label" in header else header[0] if len(header) == 1 else None
            if column is None:
                raise ValueError(f"'{path}' has several columns ({', '.join(header)}); choose one with --column.")
        if column not in header:
            raise ValueError(f"`column` must be one of the CSV's columns ({', '.join(header)}), got {column!r}.")
        at = header.index(column)
        rows = [row for row in reader if row]
    short = next((i for i, row in enumerate(rows) if len(row) <= at), None)
    if short is not None:
        raise ValueError(f"'{path}' data row {short} has no value in column {column!r}.")
    return [row[at] for row in rows]


def rebalance_csv(src: str | os.PathLike, dst: str | os.PathLike, *, column: str | None = None,
                  **kwargs: Any) -> Path:
    """Read labels from ``src``, rebalance them (see :func:`rebalance`), write ``index,label`` to
    ``dst`` atomically, and return its path."""
    raw = read_label_column(src, column=column)
    idx = rebalance(raw, **kwargs)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["index", "label"])
    w.writerows((int(i), raw[i]) for i in idx)
    return atomic_write_text(dst, buf.getvalue())
