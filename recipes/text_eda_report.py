"""Paired gains of the text recipes against any reference row (not only `baseline`), across logs.

Reads one or more ``results.jsonl`` logs and prints, per size, each row's mean with its 95%
t-interval and the mean paired difference (points) with its 95% t-interval over the seeds both rows
share; ``*`` marks a difference whose paired p-value stays <= 0.05 after Holm's correction over
every comparison printed. A log given as ``PREFIX=PATH`` names its rows ``PREFIX/row``, so two logs
with the same row names (two models, each with a ``baseline``) can be compared:

    python recipes/text_eda_report.py hl=runs/text_eda/results.jsonl boe=runs/text_eda_boe/results.jsonl \
        --pairs hl/eda:hl/baseline boe/eda:boe/baseline boe/baseline:hl/baseline --metric balanced_accuracy
"""

from __future__ import annotations

import argparse
from pathlib import Path


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("logs", nargs="+", help="results.jsonl files, each optionally as PREFIX=PATH")
    p.add_argument("--pairs", nargs="+", required=True, help="treated:reference row names")
    p.add_argument("--metric", default="accuracy", help="a key of the records' metrics (default: accuracy)")
    return p


def read_logs(logs: list[str], metric: str) -> dict[tuple[str, int, int], float]:
    """``{(row, size, seed): 100 * metric}`` of every finished cell; rows of a ``PREFIX=PATH`` log
    are named ``PREFIX/row``. Raises ValueError when a log is missing or lacks the metric."""
    from scarce.experiment.log import read_log

    scores: dict[tuple[str, int, int], float] = {}
    for spec in logs:
        prefix, sep, path = spec.partition("=")
        if not sep:
            prefix, path = "", spec
        if not Path(path).is_file():
            raise ValueError(f"Log '{path}' does not exist; give results.jsonl files (optionally PREFIX=PATH).")
        for r in read_log(Path(path)):  # finished cells only
            if metric not in r["metrics"]:
                raise ValueError(f"`--metric` must be a key of the records' metrics {sorted(r['metrics'])}, "
                                 f"got {metric!r}.")
            name = f"{prefix}/{r['remedy']}" if prefix else r["remedy"]
            scores[(name, r["size"], r["seed"])] = 100.0 * r["metrics"][metric]
    return scores


def main(args) -> str:
    from scarce.metrics import holm, mean_ci, paired_diff_ci, paired_pvalue

    pairs = [p.partition(":") for p in args.pairs]
    for a, sep, b in pairs:
        if not sep or not a or not b:
            raise ValueError(f"`--pairs` takes treated:reference, got {a + sep + b!r}.")
    acc = read_logs(args.logs, args.metric)
    sizes = sorted({k[1] for k in acc})
    lines = ["| comparison | " + " | ".join(f"{2 * s} ex. (k={s})" for s in sizes) + " |", "|---|" + "---|" * len(sizes)]
    for name in sorted({k[0] for k in acc}):
        cells = []
        for s in sizes:
            v = [acc[(name, s, seed)] for (n, sz, seed) in acc if n == name and sz == s]
            iv = mean_ci(v) if v else None
            cells.append(f"{iv.mean:.1f} ± {iv.half_width:.1f} (n={iv.n})" if iv and iv.n > 1 else
                         (f"{iv.mean:.1f} (n=1)" if iv else "–"))
        lines.append(f"| {name} ({args.metric.replace('_', ' ')}) | " + " | ".join(cells) + " |")
    comparisons = []  # (row, column, interval, p) of every printed paired difference
    for i, (a, _, b) in enumerate(pairs):
        for j, s in enumerate(sizes):
            seeds = sorted(seed for (n, sz, seed) in acc if n == a and sz == s and (b, s, seed) in acc)
            if len(seeds) >= 2:
                treated, control = [acc[(a, s, x)] for x in seeds], [acc[(b, s, x)] for x in seeds]
                comparisons.append((i, j, paired_diff_ci(treated, control), paired_pvalue(treated, control)))
    adjusted = holm([c[3] for c in comparisons]) if comparisons else []
    cell = {(i, j): f"{iv.mean:+.1f} [{iv.mean - iv.half_width:+.1f}, {iv.mean + iv.half_width:+.1f}]"
                    f"{' *' if q <= 0.05 else ''} (n={iv.n}, Holm p {q:.3f})"
            for (i, j, iv, _), q in zip(comparisons, adjusted)}
    for i, (a, _, b) in enumerate(pairs):
        lines.append(f"| {a} − {b} | " + " | ".join(cell.get((i, j), "–") for j in range(len(sizes))) + " |")
    table = "\n".join(lines)
    print(table)
    return table


if __name__ == "__main__":
    main(get_args_parser().parse_args())
