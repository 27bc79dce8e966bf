"""The results log of an experiment folder: its file names, its record schema, reading it, repairing
a cut-off tail.

Shared by the runner (which appends one JSON line per finished cell) and ``Results`` (which rebuilds
tables from it), so neither imports the other for it.

Every line is checked against the record schema when read (:func:`check_record`): a JSON object
with ``key`` (str), ``remedy`` (str), ``size`` (int >= 1), ``seed`` (int >= 0), ``key`` equal to
``"{remedy}|{size}|{seed}"``, and ``metrics`` a mapping holding every name of
:data:`scarce.metrics.METRICS` as a finite number (other entries: finite numbers or lists of finite
numbers and nulls, such as ``per_class_recall``). A cell whose code raised is logged as a *failed*
record instead: ``status: "failed"``, ``error`` (``"<Type>: <message>"``, a string) and no
``metrics`` (see :mod:`scarce.experiment.cells`); it never counts as a finished cell, so the next
run retries it, and once the cell has finished its failed lines are history. A line that fails (not UTF-8, not JSON, a JSON
value that is not such a record, a NaN or missing metric) is skipped with one
:class:`MalformedLogWarning` per read naming its line numbers; the file is left as it is, and the
cell of a skipped line counts as not done, so the next ``scarce ablate`` runs it again.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scarce.metrics import METRICS

LOG, CONFIG = "results.jsonl", "config.yaml"
PREVIEW_SECTIONS = Path("preview") / "sections.html"
"""Where ``scarce preview`` leaves the previews as a page fragment, inside its ``--out`` folder."""
FAILED = "failed"
"""The ``status`` of a failed cell's record (a finished cell's record has no ``status``)."""


class MalformedLogWarning(UserWarning):
    """Lines of a results log were skipped because they are not valid records."""


def cell_key(label: str, size: int, seed: int) -> str:
    """The ``key`` of a cell's record: ``"{remedy}|{size}|{seed}"``."""
    return f"{label}|{size}|{seed}"


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _index(value: Any, *, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def is_failed(record: Mapping) -> bool:
    """True for the record of a failed cell (``status: failed``)."""
    return record.get("status") == FAILED


def check_record(record: Any) -> str | None:
    """Why ``record`` (a parsed log line) is not a valid cell record (finished or failed), or
    ``None`` when it is.

    Example:
        >>> check_record({"key": "baseline|5|0", "remedy": "baseline", "size": 5, "seed": 0,
        ...               "metrics": {"accuracy": 0.5, "balanced_accuracy": 0.5, "macro_f1": 0.4}}) is None
        True
        >>> check_record({"key": "baseline|5|0", "remedy": "baseline", "size": 5, "seed": 0,
        ...               "status": "failed", "error": "ValueError: bad"}) is None
        True
        >>> check_record(42)
        'not a JSON object'
    """
    if not isinstance(record, dict):
        return "not a JSON object"
    if "status" in record and record["status"] != FAILED:
        return f"`status` must be {FAILED!r} when present"
    required = ("key", "remedy", "size", "seed") + (("error",) if is_failed(record) else ("metrics",))
    missing = [k for k in required if k not in record]
    if missing:
        return f"missing {', '.join(missing)}"
    if not isinstance(record["remedy"], str) or not isinstance(record["key"], str):
        return "`key` and `remedy` must be strings"
    if not _index(record["size"], minimum=1) or not _index(record["seed"], minimum=0):
        return "`size` must be an integer >= 1 and `seed` an integer >= 0"
    if record["key"] != cell_key(record["remedy"], record["size"], record["seed"]):
        return "`key` does not match remedy|size|seed"
    if is_failed(record):
        return None if isinstance(record["error"], str) else "`error` must be a string"
    metrics = record["metrics"]
    if not isinstance(metrics, Mapping):
        return "`metrics` must be a mapping"
    bad = [m for m in METRICS if not _finite(metrics.get(m))]
    if bad:
        return f"metric(s) {', '.join(bad)} missing or not a finite number"
    for name, value in metrics.items():
        if not (all(v is None or _finite(v) for v in value) if isinstance(value, list) else _finite(value)):
            return f"metric {name!r} is not a finite number (or a list of them)"
    if not isinstance(record.get("hparams", {}), Mapping):
        return "`hparams` must be a mapping"
    return None


def _parse(raw: bytes) -> tuple[Any, str | None]:
    try:
        record = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "not UTF-8"
    except json.JSONDecodeError:
        return None, "not JSON"
    return record, check_record(record)


def read_log(path: Path) -> list[dict]:
    """The records of the finished cells of a results log, in file order (failed cells' records
    are left out: see :func:`read_records`)."""
    return [r for r in read_records(path) if not is_failed(r)]


def failed_cells(records: list[dict]) -> list[dict]:
    """The last failed record of each cell that has no finished record in ``records``, in file order."""
    done = {r["key"] for r in records if not is_failed(r)}
    last = {r["key"]: r for r in records if is_failed(r) and r["key"] not in done}
    return list(last.values())


def read_records(path: Path) -> list[dict]:
    """The valid records of a results log (finished and failed cells), in file order.

    Blank lines are ignored; a last line cut off by a kill (no newline) is ignored silently when it
    is not a valid record. Every other line that is not a valid record (see :func:`check_record`) is
    skipped, kept in the file, and named in one :class:`MalformedLogWarning` for this read.
    """
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    lines = data.split(b"\n")
    cut_tail = not data.endswith(b"\n")
    records, bad = [], []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        record, problem = _parse(raw)
        if problem is None:
            records.append(record)
        elif not (cut_tail and number == len(lines)):
            bad.append(f"{number} ({problem})")
    if bad:
        shown = "; ".join(bad[:10]) + (f"; and {len(bad) - 10} more" if len(bad) > 10 else "")
        warnings.warn(f"'{path}': skipped {len(bad)} malformed line(s), kept in the file; their cells count as "
                      f"not done: line {shown}.", MalformedLogWarning, stacklevel=2)
    return records


def _repair_tail(path: Path) -> None:
    """Before appending: end a complete last record that lacks its newline, or drop a partial last
    line (a kill in the middle of a write)."""
    if path.exists() and path.stat().st_size:
        data = path.read_bytes()
        if data.endswith(b"\n"):
            return
        start = data.rfind(b"\n") + 1
        if _parse(data[start:])[1] is None:
            with open(path, "ab") as f:
                f.write(b"\n")
        else:
            with open(path, "r+b") as f:
                f.truncate(start)
