"""Selection by accuracy against selection by the headline metric on a long-tailed recipe, side by side.

Reads two finished run folders of the same recipe, one run with ``--set select_by=accuracy`` and one
with the default ``select_by: auto`` (the headline metric, balanced accuracy here), and prints one
markdown table: per row, the point each chose on the tuning seed, its mean headline metric, and its
gain over the reference with the computed verdict (docs/results/long_tail.md, issue 29).

    scarce ablate recipes/long_tail_digits.yaml --set select_by=accuracy \\
        --set name=long_tail_digits_select_accuracy --out runs/long_tail_digits_select_accuracy --jobs 2
    scarce ablate recipes/long_tail_digits.yaml --out runs/long_tail_digits --jobs 2
    python recipes/long_tail_select_by.py runs/long_tail_digits_select_accuracy runs/long_tail_digits
"""

from __future__ import annotations

import argparse

from scarce.report.results import Results
from scarce.report.verdict import gain_text


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("before", help="run folder selected by accuracy")
    p.add_argument("after", help="run folder selected by the headline metric")
    return p


def _chosen(results: Results, label: str, size) -> str:
    tuned = [r for r in results.records if r["remedy"] == label and r["size"] == size
             and r.get("tuning", {}).get("tuned_on_seed", r["seed"]) == r["seed"]]
    if not tuned:
        return "–"
    h = tuned[0].get("hparams", {})
    return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in h.items())


def table(before: Results, after: Results) -> str:
    metric = after.metric
    rows_b, rows_a = before.summary(metric), after.summary(metric)
    verdicts_b = {(v.comparison.label, v.comparison.size): v for v in before.verdicts(rows_b)}
    verdicts_a = {(v.comparison.label, v.comparison.size): v for v in after.verdicts(rows_a)}
    lines = [f"| row | k | chosen, by accuracy | chosen, by {metric} | {metric} (%), by accuracy → by {metric} | "
             f"gain by accuracy | gain by {metric} | verdict by {metric} |", "|---|---|---|---|---|---|---|---|"]
    for ra in rows_a:
        label, size = ra["remedy"], ra["size"]
        rb = next(r for r in rows_b if r["remedy"] == label and r["size"] == size)
        vb, va = verdicts_b.get((label, size)), verdicts_a.get((label, size))
        gain_b = gain_text(vb.comparison) if vb else ""
        gain_a = gain_text(va.comparison) if va else ""
        outcome = va.outcome if va else "reference"
        lines.append(f"| {label} | {size} | {_chosen(before, label, size)} | {_chosen(after, label, size)} | "
                     f"{100 * rb['mean']:.1f} → {100 * ra['mean']:.1f} | {gain_b} | {gain_a} | {outcome} |")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> None:
    print(table(Results.from_dir(args.before), Results.from_dir(args.after)))


if __name__ == "__main__":
    main(get_args_parser().parse_args())
