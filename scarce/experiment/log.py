"""The results log of an experiment folder: its file names, reading it, repairing a cut-off tail.

Shared by the runner (which appends one JSON line per finished cell) and ``Results`` (which rebuilds
tables from it), so neither imports the other for it.
"""

from __future__ import annotations

import json
from pathlib import Path

LOG, CONFIG = "results.jsonl", "config.yaml"


def read_log(path: Path) -> list[dict]:
    """Records of a results log; a last line cut off by a kill is ignored."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def _repair_tail(path: Path) -> None:
    """Drop a partial last line (a kill in the middle of a write) before appending."""
    if path.exists() and path.stat().st_size:
        data = path.read_bytes()
        if not data.endswith(b"\n"):
            with open(path, "r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)
