"""``scarce report DIR``: rebuild an ablation's tables, plots and ``report.html`` from its log."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scarce.cli.ablate import failed_warning


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """Register ``report`` on the CLI's subparsers."""
    r = sub.add_parser("report", parents=[common],
                       help="rebuild results.md/.csv, the plots and report.html from results.jsonl")
    r.add_argument("out", help="an ablation's output folder")
    r.set_defaults(run=run)


def run(args: argparse.Namespace, argv: list[str] | None) -> None:
    from scarce.report.results import Results

    results = Results.from_dir(args.out)
    results.write(args.out)
    for warning in results.warnings() + ([failed_warning(results)] if results.failed else []):
        print(f"scarce: warning: {warning}", file=sys.stderr)
    print(f"Wrote {Path(args.out) / 'results.md'}, results.csv, metric_vs_size.png, gain_vs_size.png and "
          f"{Path(args.out) / 'report.html'}")
