"""The ``scarce search`` command: its arguments and what it prints (the race is :mod:`scarce.search.race`).

    scarce search recipes/digits.yaml --budget 300cells [--size k] [--combine pairs|none] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """Register ``search`` on the CLI's subparsers."""
    s = sub.add_parser("search", parents=[common],
                       help="race a recipe's remedies and their pairs on your data within a budget; write best.yaml")
    s.add_argument("config", help="YAML recipe: its remedies are the candidates, its reference the baseline")
    s.add_argument("--budget", required=True, help="cell time (2h, 90m, 600s) or a cell count (300cells)")
    s.add_argument("--size", type=int, help="examples per class (default: all of the smallest class)")
    s.add_argument("--combine", default="pairs", choices=["pairs", "none"],
                   help="also race the pairs of remedies that compose (default) or not")
    s.add_argument("--max-seeds", type=int, default=10, help="seed cap: rounds of the race (default 10)")
    s.add_argument("--min-seeds", type=int, default=3, help="seeds before the first elimination (default 3)")
    s.add_argument("--alpha", type=float, default=0.05, help="Holm-adjusted level of an elimination (default 0.05)")
    s.add_argument("--out", help="output folder (default: runs/search_<config name>)")
    s.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set train.steps=100 (repeatable)")
    s.add_argument("--jobs", type=int, help="local executor: cells run in N local processes")
    s.add_argument("--executor", help="local or ray (default: run.executor)")
    s.add_argument("--data-root", help="folder with the datasets (default: $SCARCE_DATA)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(run=run)


def run(args: argparse.Namespace, argv: list[str] | None) -> None:
    """Run (or resume) the search of ``args`` and print where its answer is."""
    from scarce.experiment.config import load_config
    from scarce.search.race import Search, parse_budget

    budget = parse_budget(args.budget)  # before the recipe is even read
    config = load_config(args.config, overrides=args.overrides, run={"executor": args.executor, "jobs": args.jobs})
    out = Path(args.out or Path("runs") / f"search_{config.name}")
    result = Search(config, out_dir=out, budget=budget, size=args.size, combine=args.combine,
                    max_seeds=args.max_seeds, min_seeds=args.min_seeds, alpha=args.alpha, data_root=args.data_root,
                    progress=not args.quiet).run()
    print(f"Winner: {result.winner} ({len(result.records)} cells, {len(result.rounds)} rounds; stopped because "
          f"{result.stop_reason}).")
    print(f"Results in {out}/: search.md, race.png, best.yaml (scarce train {out / 'best.yaml'} --out model/)")
