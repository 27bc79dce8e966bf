"""Compare model-selection methods run on the same grid: hold-out vs cross-validation.

Each folder is a finished `scarce ablate` run of the same recipe with another `selection`
(same sizes, seeds and remedies, so cells pair by (remedy, size, seed)). Prints, per remedy and
size: mean test accuracy, seed-to-seed standard deviation, mean seconds per cell (remedy
preparation + training, tuning included), and the paired difference of each method to the first
folder's (95% t-interval over seeds).

    python recipes/selection_report.py runs/selection_digits_holdout runs/selection_digits_cv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("outs", nargs="+", help="output folders of the same recipe; the first is the reference")
    p.add_argument("--metric", default="accuracy")
    return p


def _cells(out: Path, metric: str) -> tuple[str, dict]:
    from scarce.report.results import Results

    res = Results.from_dir(out)
    method = res.config.selection
    if method == "cross_validation":
        method += f" ({res.config.folds} folds)"
    cells = {(r["remedy"], r["size"], r["seed"]): (r["metrics"][metric], r.get("seconds", float("nan")))
             for r in res.records}
    return method, cells


def report(outs: list[str | Path], *, metric: str = "accuracy") -> str:
    from scarce.metrics import paired_diff_ci

    runs = [_cells(Path(o), metric) for o in outs]
    ref_method, ref = runs[0]
    keys = sorted({(r, k) for (r, k, _) in ref})
    lines = [f"| remedy | k | selection | {metric} (%) | sd over seeds | s per cell | vs {ref_method} (points) |",
             "|---|---|---|---|---|---|---|"]
    for remedy, size in keys:
        for method, cells in runs:
            seeds = sorted(s for (r, k, s) in cells if (r, k) == (remedy, size))
            vals = np.array([cells[(remedy, size, s)][0] for s in seeds])
            secs = np.array([cells[(remedy, size, s)][1] for s in seeds])
            common = [s for s in seeds if (remedy, size, s) in ref]
            diff = ""
            if cells is not ref and len(common) >= 2:
                d = paired_diff_ci([cells[(remedy, size, s)][0] for s in common],
                                   [ref[(remedy, size, s)][0] for s in common])
                diff = f"{100 * d.mean:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}] (n={d.n})"
            sd = 100 * vals.std(ddof=1) if vals.size > 1 else float("nan")
            lines.append(f"| {remedy} | {size} | {method} | {100 * vals.mean():.1f} | {sd:.1f} | "
                         f"{secs.mean():.1f} | {diff} |")
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    print(report(args.outs, metric=args.metric), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(get_args_parser().parse_args()))
