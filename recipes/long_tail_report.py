"""Long-tail summary of a finished `scarce ablate` run: balanced accuracy with its paired gain over
the baseline, and the per-class recall of the rarest classes (from `per_class_recall` in the log).

    python recipes/long_tail_report.py runs/long_tail_rho100 [--rarest 3]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", help="an ablation's output folder (holding results.jsonl)")
    p.add_argument("--rarest", type=int, default=3, help="how many of the rarest classes to show")
    return p


def report(out: str | Path, *, rarest: int = 3) -> str:
    from scarce.data.subsets import long_tailed_counts
    from scarce.report.results import Results
    from scarce.metrics import mean_ci

    res = Results.from_dir(out)
    ref = res.reference
    by_remedy = {m: [r for r in res.records if r["remedy"] == m] for m in res.labels}
    recalls = np.array([r["metrics"]["per_class_recall"] for r in res.records[:1]], dtype=float)
    c = recalls.shape[1]
    counts = long_tailed_counts(c, n_max=res.sizes[0], imbalance_ratio=res.config.subset.imbalance_ratio)
    tail = list(range(c - rarest, c))
    lines = [f"| remedy | balanced acc. (%) | gain over `{ref}` (points, 95% CI) | accuracy (%) | "
             + " | ".join(f"recall class {k} (n={counts[k]})" for k in tail) + " |",
             "|---|---|---|---|" + "---|" * len(tail)]
    gains = {row["remedy"]: row for row in res.summary("balanced_accuracy") if "gain" in row}
    for m, recs in by_remedy.items():
        ba = mean_ci([r["metrics"]["balanced_accuracy"] for r in recs])
        acc = mean_ci([r["metrics"]["accuracy"] for r in recs])
        g = gains.get(m)
        if g is None:
            gain = ""
        elif g["n_seeds"] < 2:
            gain = f"{100 * g['gain']:+.1f} (1 seed, no CI)"
        else:
            gain = f"{100 * g['gain']:+.1f} [{100 * g['gain_low']:+.1f}, {100 * g['gain_high']:+.1f}]" + (
                " *" if g["significant_holm"] else "")
        spread = f" ± {100 * ba.half_width:.1f}" if ba.n >= 2 else ""
        rec = np.array([r["metrics"]["per_class_recall"] for r in recs], dtype=float)
        cells = " | ".join(f"{100 * np.nanmean(rec[:, k]):.1f}" for k in tail)
        lines.append(f"| {m} | {100 * ba.mean:.1f}{spread} | {gain} | {100 * acc.mean:.1f} | {cells} |")
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    print(report(args.out, rarest=args.rarest), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(get_args_parser().parse_args()))
