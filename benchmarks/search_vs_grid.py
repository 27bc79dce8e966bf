"""Does the race of ``scarce search`` find the full grid's winner, and with how many cells?

The full grid runs every candidate of the race (the recipe's remedies and the pairs that compose)
and the reference at one size on every seed of the race's seed cap, through the normal runner. The
race is then replayed on a copy of the grid's log: its cells are the same cells (same config, size,
seeds and rows, so the same records), so the replay decides exactly what a live race would decide,
and counts the cells it used. ``--live`` also runs the race from scratch in its own folder and
checks that it reaches the same answer with the same cells.

    ../shared/tools/heavy env SCARCE_DATA=../shared/data .venv/bin/python benchmarks/search_vs_grid.py \\
        recipes/digits.yaml --size 10 --max-seeds 10 --out runs/search_vs_grid_digits [--set key=value ...] [--live]

Prints (and writes ``summary.json`` in ``--out``): the grid's winner (best mean over all seeds)
with its paired gain over the reference and interval, the race's winner with the grid's paired gain
of it and interval, whether the race's winner is the grid's or within the grid's interval of it,
and both cell counts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", help="the recipe whose remedies race")
    p.add_argument("--size", type=int, required=True, help="examples per class")
    p.add_argument("--max-seeds", type=int, default=10)
    p.add_argument("--min-seeds", type=int, default=3)
    p.add_argument("--combine", default="pairs", choices=["pairs", "none"])
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--out", required=True, help="folder: grid/, race/ (replay) and live/ (with --live)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--jobs", type=int, default=None)
    p.add_argument("--live", action="store_true", help="also run the race from scratch")
    p.add_argument("--budget", default=None,
                   help="also replay the race under this budget (e.g. 20cells) in budget/: what a user who "
                        "gives that budget gets")
    return p


def grid_summary(records: list[dict], *, reference: str, metric: str) -> dict:
    """Each row's mean over all seeds and its paired gain over the reference (``row_summary``)."""
    from scarce.search.report import row_summary

    by = {}
    for r in records:
        by.setdefault(r["remedy"], {})[r["seed"]] = r["metrics"][metric]
    return {label: row_summary(vals, None if label == reference else by[reference]) for label, vals in by.items()}


def replay(config, out: Path, name: str, budget: str, kw: dict):
    """The race replayed on a copy of the grid's log in ``out/name`` (every cell it can ask for is there)."""
    from scarce.search.race import Search

    (out / name).mkdir(parents=True, exist_ok=True)
    for file in ("results.jsonl", "config.yaml"):
        shutil.copy(out / "grid" / file, out / name / file)
    return Search(config, out_dir=out / name, budget=budget, **kw).run()


def cells_used(race) -> int:
    """The cells the race's rounds ran (what its budget counts: ``search.spent_cells``)."""
    from scarce.search.race import spent_cells

    return len(spent_cells(race.records, race.rounds, race.reference.label))


def within_interval(race, table: dict, grid_winner: str) -> bool:
    """Whether the race's winner is the grid's, or its grid gain reaches the grid winner's interval."""
    w, g = table[race.winner], table[grid_winner]
    return race.winner == grid_winner or ("gain" in g and "gain" in w and w["gain"] >= g["gain_low"]) or (
        race.winner == race.reference.label and g.get("gain_low", 0.0) <= 0.0)


def main(args) -> dict:
    from scarce.experiment.config import load_config
    from scarce.experiment.log import read_records
    from scarce.experiment.runner import Experiment
    from scarce.report.ablation import ablate
    from scarce.search.race import Search

    config = load_config(args.config, overrides=args.overrides, run={"jobs": args.jobs})
    out = Path(args.out)
    kw = dict(size=args.size, combine=args.combine, max_seeds=args.max_seeds, min_seeds=args.min_seeds,
              data_root=args.data_root, progress=False)
    planner = Search(config, out_dir=out / "race", budget=f"{10 ** 9}cells", **kw)  # validates, plans: no cell yet
    grid_config = planner.round_config([c.label for c in planner.candidates], args.max_seeds)
    start = time.perf_counter()
    ablate(grid_config, out_dir=out / "grid", data_root=args.data_root, progress=False)
    grid_seconds = time.perf_counter() - start
    records = [r for r in read_records(out / "grid" / "results.jsonl") if r.get("metrics")]
    race = replay(config, out, "race", f"{10 ** 9}cells", kw)
    table = grid_summary(records, reference=race.reference.label, metric=race.metric)
    grid_winner = max(table, key=lambda k: (table[k]["mean"], k == race.reference.label))
    race_cells = cells_used(race)
    within = within_interval(race, table, grid_winner)
    summary = {"recipe": args.config, "overrides": args.overrides, "size": args.size, "metric": race.metric,
               "seeds": args.max_seeds, "grid_cells": len(records), "grid_seconds": grid_seconds,
               "race_cells": race_cells, "race_share": race_cells / len(records), "grid_winner": grid_winner,
               "race_winner": race.winner, "race_winner_within_grid_interval": bool(within),
               "race_stop": race.stop_reason, "table": table,
               "rounds": [{"seed": r.seed, "raced": r.raced, "dropped": [d["label"] for d in r.dropped]}
                          for r in race.rounds]}
    if args.budget:
        capped = replay(config, out, "budget", args.budget, kw)
        summary["budget"] = {"budget": args.budget, "winner": capped.winner, "cells": cells_used(capped),
                             "share": cells_used(capped) / len(records), "stop": capped.stop_reason,
                             "within_grid_interval": within_interval(capped, table, grid_winner),
                             "still_racing": [c for c in capped.rounds[-1].raced
                                              if c not in {d["label"] for d in capped.rounds[-1].dropped}]
                             if capped.rounds else []}
    if args.live:
        live = Search(config, out_dir=out / "live", budget=f"{10 ** 9}cells", **kw).run()
        live_keys = {r["key"]: r["metrics"] for r in live.records}
        grid_keys = {r["key"]: r["metrics"] for r in records}
        summary["live"] = {"winner": live.winner, "cells": len(live.records),
                           "same_cells_as_grid": all(grid_keys.get(k) == m for k, m in live_keys.items())}
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float) + "\n", encoding="utf-8")
    print(f"# search vs full grid: {args.config} at {args.size}/class, {args.max_seeds} seeds, metric {race.metric}")
    for label, row in sorted(table.items(), key=lambda kv: -kv[1]["mean"]):
        gain = (f"gain {row['gain']:+.4f} [{row['gain_low']:+.4f}, {row['gain_high']:+.4f}]" if "gain" in row
                else "(reference)")
        print(f"  {label:28s} mean {row['mean']:.4f} [{row['low']:.4f}, {row['high']:.4f}]  {gain}")
    print(f"grid: winner {grid_winner}, {len(records)} cells ({grid_seconds:.0f} s)")
    print(f"race: winner {race.winner}, {race_cells} cells = {100 * race_cells / len(records):.0f} % of the grid; "
          f"stopped because {race.stop_reason}; within the grid's interval of its winner: {within}")
    for r in race.rounds:
        print(f"  round {r.index} (seed {r.seed}): {len(r.raced)} raced, leader {r.leader}, dropped "
              f"{[d['label'] for d in r.dropped] or 'none'}")
    if "budget" in summary:
        b = summary["budget"]
        print(f"race under a budget of {b['budget']}: winner {b['winner']}, {b['cells']} cells = "
              f"{100 * b['share']:.0f} % of the grid; stopped because {b['stop']}; still racing {b['still_racing']}; "
              f"within the grid's interval of its winner: {b['within_grid_interval']}")
    if "live" in summary:
        print(f"live race: winner {summary['live']['winner']}, {summary['live']['cells']} cells, same cells as the "
              f"grid: {summary['live']['same_cells_as_grid']}")
    return summary


if __name__ == "__main__":
    main(get_args_parser().parse_args())
