"""``scarce ablate RECIPE``: run an ablation grid from a YAML recipe and write its report.

    scarce ablate recipes/digits.yaml [--out DIR] [--set key=value ...] [--smoke] [--jobs N] [--check]
                  [--executor local|ray] [--address ADDR] [--cpus-per-cell C] [--gpus-per-cell G]

Exit code 1 when the grid finished but some cells failed (see :mod:`scarce.cli`).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

FAILED_CELLS = 1
"""Exit code: the grid finished but some cells failed (their code raised)."""
RUN_FLAGS = ("executor", "jobs", "address", "cpus_per_cell", "gpus_per_cell")
"""Flags that override the recipe's ``run:`` section."""


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """Register ``ablate`` on the CLI's subparsers."""
    a = sub.add_parser("ablate", parents=[common], help="run an ablation grid from a YAML config")
    a.add_argument("config", help="YAML experiment config (e.g. recipes/digits.yaml)")
    a.add_argument("--out", help="output folder (default: runs/<config name>)")
    a.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set train.steps=100 (repeatable)")
    a.add_argument("--smoke", action="store_true", help="tiny run: first size and seed, 2 steps")
    a.add_argument("--jobs", type=int, help="local executor: cells run in N local processes (default: run.jobs, 1)")
    a.add_argument("--executor", help="local (this machine) or ray (a Ray cluster; pip install 'scarce[ray]') "
                   "(default: run.executor, local)")
    a.add_argument("--address", help="ray: the cluster to join, e.g. auto (default: a local cluster for the sweep)")
    a.add_argument("--cpus-per-cell", type=float, help="ray: CPUs each cell holds, fractions allowed (default 1)")
    a.add_argument("--gpus-per-cell", type=float, help="ray: GPUs each cell holds, fractions allowed (default 0)")
    a.add_argument("--data-root", help="folder with the datasets (default: $SCARCE_DATA)")
    a.add_argument("--overwrite", action="store_true", help="replace results of a different config in --out")
    a.add_argument("--quiet", action="store_true", help="no progress bar")
    a.add_argument("--check", action="store_true",
                   help="only the preflight: decode the data, try every row for one step; run and write nothing")
    a.set_defaults(run=run)


def failed_warning(results) -> str:
    """The warning printed when cells failed (``results.failed`` is not empty)."""
    first = results.failed[0]
    return (f"{len(results.failed)} cell(s) failed and are in no table (first: {first['key']}: {first['error']}); "
            "see 'Failed cells' in results.md; rerun the same command to retry them.")


def run(args: argparse.Namespace, argv: list[str] | None) -> int | None:
    """Run the grid of ``args.config`` (or only its preflight with ``--check``) and write the report."""
    from scarce.experiment.config import load_config
    from scarce.experiment.runner import Experiment
    from scarce.report.ablation import run_and_report

    run_flags = {k: v for k in RUN_FLAGS if (v := getattr(args, k)) is not None}
    config = load_config(args.config, overrides=args.overrides, smoke=args.smoke, run=run_flags)
    out = Path(args.out or Path("runs") / config.name)
    command = "scarce " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    exp = Experiment(config, out_dir=out, data_root=args.data_root, overwrite=args.overwrite,
                     progress=not args.quiet, command=command)
    if args.check:
        print(f"Preflight passed: {len(exp.check())} cell(s) to run; nothing was written.")
        return None
    results = run_and_report(exp)
    for warning in results.warnings():
        print(f"scarce: warning: {warning}", file=sys.stderr)
    print(f"Results in {out}/: results.md, results.csv, results.jsonl, config.yaml, metric_vs_size.png, "
          "gain_vs_size.png")
    if results.failed:
        print(f"scarce: warning: {failed_warning(results)}", file=sys.stderr)
        return FAILED_CELLS
    return None
