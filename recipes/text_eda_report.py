"""Paired gains of the text recipes against any reference row (not only `baseline`).

Reads one or more ``results.jsonl`` logs and prints, per size, the mean paired difference in
accuracy (points) with its 95% t-interval over the seeds both rows share; ``*`` marks a difference
whose paired p-value stays <= 0.05 after Holm's correction over every comparison printed.

    python recipes/text_eda_report.py runs/text_eda/results.jsonl \
        --pairs eda:baseline eda:duplicate duplicate:baseline
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("logs", nargs="+", help="results.jsonl files")
    p.add_argument("--pairs", nargs="+", required=True, help="treated:reference row names")
    p.add_argument("--metric", default="accuracy")
    return p


def main(args) -> str:
    from scarce.metrics import holm, mean_ci, paired_diff_ci, paired_pvalue

    acc: dict[tuple[str, int, int], float] = {}
    for log in args.logs:
        for line in Path(log).read_text(encoding="utf-8").splitlines():
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue
            acc[(r["remedy"], r["size"], r["seed"])] = 100.0 * r["metrics"][args.metric]
    sizes = sorted({k[1] for k in acc})
    lines = ["| comparison | " + " | ".join(f"{2 * s} ex. (k={s})" for s in sizes) + " |", "|---|" + "---|" * len(sizes)]
    rows = sorted({k[0] for k in acc})
    for name in rows:
        cells = []
        for s in sizes:
            v = [acc[(name, s, seed)] for (n, sz, seed) in acc if n == name and sz == s]
            iv = mean_ci(v) if v else None
            cells.append(f"{iv.mean:.1f} ± {iv.half_width:.1f} (n={iv.n})" if iv and iv.n > 1 else
                         (f"{iv.mean:.1f} (n=1)" if iv else "–"))
        lines.append(f"| {name} (accuracy) | " + " | ".join(cells) + " |")
    comparisons = []  # (row, column, interval, p) of every printed paired difference
    for i, pair in enumerate(args.pairs):
        a, _, b = pair.partition(":")
        for j, s in enumerate(sizes):
            seeds = sorted(seed for (n, sz, seed) in acc if n == a and sz == s and (b, s, seed) in acc)
            if len(seeds) >= 2:
                treated, control = [acc[(a, s, x)] for x in seeds], [acc[(b, s, x)] for x in seeds]
                comparisons.append((i, j, paired_diff_ci(treated, control), paired_pvalue(treated, control)))
    adjusted = holm([c[3] for c in comparisons]) if comparisons else []
    cell = {(i, j): f"{iv.mean:+.1f} ± {iv.half_width:.1f}{'*' if q <= 0.05 else ''} (n={iv.n}, Holm p {q:.3f})"
            for (i, j, iv, _), q in zip(comparisons, adjusted)}
    for i, pair in enumerate(args.pairs):
        a, _, b = pair.partition(":")
        lines.append(f"| {a} − {b} | " + " | ".join(cell.get((i, j), "–") for j in range(len(sizes))) + " |")
    table = "\n".join(lines)
    print(table)
    return table


if __name__ == "__main__":
    main(get_args_parser().parse_args())
