"""What a run's unlabelled pool was and what it added, as pure functions of records: the line under
the header of ``results.md``, ``report.html`` and ``search.md``, the ``n_unlabelled`` and ``n_pseudo``
columns of ``results.csv`` and the cost caption's sentence on the pool.

A record of a cell with a pool carries ``n_unlabelled`` and ``unlabelled_source`` (every row of the
cell, the pool being the same for all); a self-training row's ``notes`` carry ``n_pseudo``, the
pseudo-labelled rows its teacher added. Records without them (no ``unlabelled:``, or logs written
before it existed) give no line and empty columns.

Example:
    >>> recs = [{"remedy": "baseline", "n_unlabelled": 60, "unlabelled_source": "pool"},
    ...         {"remedy": "pseudo_label", "n_unlabelled": 60, "unlabelled_source": "pool", "notes": {"n_pseudo": 41}}]
    >>> pool_line(recs)
    'Unlabelled pool: 60 examples per cell (pool); pseudo-labelled rows added, median over its cells: `pseudo_label` 41.'
    >>> row_fields(recs[1:])
    {'n_unlabelled': 60, 'n_pseudo': 41}
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

CSV_COLUMNS = ["n_unlabelled", "n_pseudo"]
"""The ``results.csv`` columns of :func:`row_fields`."""
MAX_SOURCES = 2
"""Sources named in the line; more are counted."""


def _pseudo(record: dict) -> int | None:
    notes = record.get("notes")
    value = notes.get("n_pseudo") if isinstance(notes, dict) else None
    return int(value) if isinstance(value, (int, float)) else None


def _median(values: Sequence[int]) -> int | None:
    return int(statistics.median_low(values)) if values else None


def row_fields(records: Sequence[dict]) -> dict[str, int | None]:
    """A results row's pool columns over its cells: the median ``n_unlabelled`` (the pool each cell
    had) and the median ``n_pseudo`` (what self-training added); ``None`` where no cell has it."""
    return {"n_unlabelled": _median([int(r["n_unlabelled"]) for r in records if "n_unlabelled" in r]),
            "n_pseudo": _median([n for n in map(_pseudo, records) if n is not None])}


def pool_line(records: Sequence[dict]) -> str | None:
    """``Unlabelled pool: N examples per cell (source); pseudo-labelled rows added, median over its
    cells: `row` n, ...`` (markdown-inline), or ``None`` when no cell had a pool."""
    sizes = sorted({int(r["n_unlabelled"]) for r in records if "n_unlabelled" in r})
    if not sizes:
        return None
    sources = sorted({str(r.get("unlabelled_source") or "source not recorded") for r in records if "n_unlabelled" in r})
    named = "; ".join(sources[:MAX_SOURCES]) + (f"; and {len(sources) - MAX_SOURCES} more" if len(sources) > MAX_SOURCES
                                                else "")
    count = str(sizes[0]) if len(sizes) == 1 else f"{sizes[0]}–{sizes[-1]}"
    rows: dict[str, list[int]] = {}
    for r in records:
        if _pseudo(r) is not None:
            rows.setdefault(r["remedy"], []).append(_pseudo(r))
    added = ", ".join(f"`{label}` {_median(values)}" for label, values in rows.items())
    return (f"Unlabelled pool: {count} examples per cell ({named})"
            + (f"; pseudo-labelled rows added, median over its cells: {added}." if added else "."))


def pool_lines(records: Sequence[dict]) -> list[str]:
    """:func:`pool_line` as markdown paragraph lines (``["", line]``), or ``[]``."""
    line = pool_line(records)
    return [] if line is None else ["", line]


def cost_note(records: Sequence[dict]) -> str:
    """The cost caption's sentence on the pool (empty without one): a self-training row's teacher, its
    pseudo-labelling of the pool and its student are inside its training seconds; reading the pool,
    which every row of a cell shares, is in no row's cost."""
    if not any("n_unlabelled" in r for r in records):
        return ""
    return (" With an unlabelled pool, train s holds a self-training row's teacher, its labelling of the pool and "
            "its student; reading the pool, shared by every row of a cell, is in no row's cost (the log's "
            "`unlabelled_seconds`).")
