"""How good are the pseudo-labels? The teachers of a semi-supervised run, re-fitted per cell, scored
against the labels the ``from: pool`` pool hides.

For every (size, seed) cell of a finished run of ``recipes/semi_supervised_cifar10.yaml`` (or any
recipe whose reference is a ``linear_probe`` row and whose pool is ``from: pool``): the probe row's
head is trained as the run kept it (its chosen lr, on the whole labelled subset, the full schedule)
and predicts the pool; label spreading spreads the subset's labels over the pool's features. For
each threshold, the share of the pool kept (coverage) and the share of kept pseudo-labels that are
right (precision) are printed as a markdown table. The hidden labels are read here, for the
measurement only; no row of the run ever read them. Features come from the disk cache the run
filled, so this costs about a minute per cell.

    SCARCE_DATA=../shared/data python recipes/semi_supervised_diagnose.py runs/ssl_cifar10
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", help="the run folder (config.yaml, results.jsonl)")
    p.add_argument("--probe-row", default="linear_probe", help="the label of the linear_probe row")
    p.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.7, 0.9])
    p.add_argument("--spread-thresholds", type=float, nargs="+", default=[0.15, 0.3, 0.5])
    p.add_argument("--neighbours", type=int, default=10)
    p.add_argument("--data-root", default=None)
    return p


def _scores(probs: np.ndarray, truth: np.ndarray, thresholds) -> list[tuple[float, float, float]]:
    conf, pred = probs.max(1), probs.argmax(1)
    out = []
    for t in thresholds:
        kept = conf >= t
        precision = float((pred[kept] == truth[kept]).mean()) if kept.any() else float("nan")
        out.append((t, float(kept.mean()), precision))
    return out


def main(args) -> list[dict]:
    from scarce.experiment.config import read_saved_config
    from scarce.experiment.learners import ModelLearner, softmax
    from scarce.experiment.plan import CellPlan, get_bundle
    from scarce.inference import predict
    from scarce.remedies.base import create_remedy
    from scarce.remedies.semi_supervised import spread_labels

    run = Path(args.run)
    config = read_saved_config(run)
    records = [json.loads(line) for line in (run / "results.jsonl").read_text().splitlines() if line.strip()]
    spec = next(r.remedy for r in config.rows() if r.label == args.probe_row)
    bundle = get_bundle(config, args.data_root)
    rows = []
    for rec in sorted((r for r in records if r.get("remedy") == args.probe_row and "metrics" in r),
                      key=lambda r: (r["size"], r["seed"])):
        plan = CellPlan.cut(config, bundle, size=rec["size"], seed=rec["seed"])
        pool, names = plan.unlabelled, plan.unlabelled.hidden_classes()
        truth = np.array([pool.class_names.index(n) if n in pool.class_names else -1 for n in names])
        learner = ModelLearner(plan.config, plan.base_setup, create_remedy(spec), select_by=plan.select_by)
        setup = learner.prepare(plan.pool, seed=rec["seed"])
        hp = {k: v for k, v in rec["hparams"].items() if k != "step"}
        fitted = learner.fit(setup, hparams=hp, seed=rec["seed"], val=None)
        probs = softmax(predict(fitted.model, pool, collate=setup.collate, device=plan.config.train.device))
        feats = learner_features(setup, plan.pool), learner_features(setup, pool)
        spread = spread_labels(feats[0], plan.pool.labels, feats[1], num_classes=plan.bundle.num_classes,
                               neighbours=args.neighbours)
        rows.append({"size": rec["size"], "seed": rec["seed"], "probe_test": rec["metrics"]["accuracy"],
                     "teacher": _scores(probs, truth, args.thresholds),
                     "spreading": _scores(spread, truth, args.spread_thresholds)})
        print(json.dumps(rows[-1]), flush=True)
    _table(rows, args)
    return rows


def learner_features(setup, data) -> np.ndarray:
    """The frozen features the probe reads (its collate), for every example of ``data``."""
    parts = [np.asarray(setup.collate([data[i] for i in range(s, min(s + 256, len(data)))])[0])
             for s in range(0, len(data), 256)]
    return np.concatenate(parts)


def _table(rows: list[dict], args) -> None:
    for kind, thresholds in (("teacher", args.thresholds), ("spreading", args.spread_thresholds)):
        print(f"\n| {kind} | " + " | ".join(f"≥ {t:g}: kept, right" for t in thresholds) + " |")
        print("|---|" + "---|" * len(thresholds))
        for size in sorted({r["size"] for r in rows}):
            cells = [r[kind] for r in rows if r["size"] == size]
            means = [(np.mean([c[i][1] for c in cells]), np.nanmean([c[i][2] for c in cells]))
                     for i in range(len(thresholds))]
            print(f"| k={size} ({len(cells)} seeds) | " + " | ".join(f"{100 * a:.0f} %, {100 * b:.0f} %" for a, b in means)
                  + " |")


if __name__ == "__main__":
    main(get_args_parser().parse_args())
