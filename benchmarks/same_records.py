"""Do two runs of a grid give the same cells? For a change that must change no result (a refactoring).

Compares two ``results.jsonl`` logs cell by cell (by ``key``), every field but the timings
(``seconds``, ``prep_seconds``, ``train_seconds``), and prints the first differences:

    python benchmarks/same_records.py OLD/results.jsonl NEW/results.jsonl

Exit code 0 when both logs hold the same cells with the same records, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TIMINGS = ("seconds", "prep_seconds", "train_seconds")
"""The fields that differ between two runs of the same cell on the same machine."""


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("old", type=Path, help="the reference run's results.jsonl")
    p.add_argument("new", type=Path, help="the run to check against it")
    p.add_argument("--show", type=int, default=5, help="differing cells printed (default 5)")
    return p


def records(path: Path) -> dict[str, dict]:
    """The log's records by cell key, without their timings (a later record of a key wins)."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            out[record["key"]] = {k: v for k, v in record.items() if k not in TIMINGS}
    return out


def compare(old: dict[str, dict], new: dict[str, dict]) -> dict:
    """``only_old`` / ``only_new`` keys and, per differing cell, the fields that differ (old, new)."""
    differ = {k: {f: (old[k].get(f), new[k].get(f)) for f in sorted(set(old[k]) | set(new[k]))
                  if old[k].get(f) != new[k].get(f)}
              for k in sorted(old.keys() & new.keys()) if old[k] != new[k]}
    return {"only_old": sorted(old.keys() - new.keys()), "only_new": sorted(new.keys() - old.keys()), "differ": differ}


def main(args) -> int:
    old, new = records(args.old), records(args.new)
    result = compare(old, new)
    same = not (result["only_old"] or result["only_new"] or result["differ"])
    print(f"{len(old)} vs {len(new)} cells; only in old: {len(result['only_old'])}, only in new: "
          f"{len(result['only_new'])}, differing: {len(result['differ'])}")
    for key, fields in list(result["differ"].items())[:args.show]:
        print(f"  {key}: {fields}")
    print("identical in every field but timings" if same else "NOT identical")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main(get_args_parser().parse_args()))
