"""From an image folder to a classifier: ``scarce search`` → ``scarce train`` → ``scarce predict``.

The dataset a user would bring: scikit-learn's digits written as PNG class folders, ``--per-class``
labelled images per class in ``train/`` (seeded) and the held-out test split (539 images) in
``test/``. The recipe races the digits recipe's remedies (and their pairs) on ``train/`` at all of
its images per class; the winner's ``best.yaml`` is trained on all of ``train/`` and the saved model
predicts ``test/``. Prints the race's winner with its test accuracy over the race's seeds (mean, 95%
interval of the mean and 95% prediction interval for one model) and the accuracy of the delivered
model on the same test images, whether it lies in each interval, and the search's cell of the same
seed (the delivered model is trained as that cell's final model is: same data, seed and point).

    ../shared/tools/heavy .venv/bin/python benchmarks/search_end_to_end.py --out runs/end_to_end [--per-class 10]

Every step is the CLI a user runs (printed as it runs), in the repository's ``.venv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

RECIPE = """# digits as a user's image folder: the remedies of recipes/digits.yaml race on train/
name: digits_folder
dataset: {{name: image_folder, options: {{path: {train}, test_path: {test}, mode: L}}}}
model: {{name: small_cnn, options: {{width: 16}}}}
seeds: [0, 1, 2]
subset: {{kind: per_class, val_fraction: 0.2}}
tune: first_seed
selection: auto
train: {{steps: 200, batch_size: 64, optimizer: adamw, lr: [0.003, 0.01, 0.03, 0.1], weight_decay: [0.0001, 0.05],
         eval_every: 25}}
metric: accuracy
remedies:
  - baseline
  - {{name: augment, preset: medium, hflip: false, label: augment}}
  - {{name: mixup, label: mixup}}
"""


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--per-class", type=int, default=10)
    p.add_argument("--budget", default="300cells")
    p.add_argument("--seed", type=int, default=0, help="which labelled images per class are written")
    return p


def write_folders(out: Path, *, per_class: int, seed: int) -> tuple[Path, Path]:
    """``out/train/<digit>/*.png`` (``per_class`` each) and ``out/test/<digit>/*.png`` (the test split)."""
    from PIL import Image

    from scarce.data import load_dataset

    bundle = load_dataset("digits")
    rng = np.random.default_rng(seed)
    labels = np.asarray(bundle.train.labels)
    for split, ds, idx in (("train", bundle.train, np.concatenate([rng.permutation(np.flatnonzero(labels == c))[:per_class]
                                                                    for c in range(bundle.num_classes)])),
                           ("test", bundle.test, np.arange(len(bundle.test)))):
        for i in idx:
            folder = out / split / str(int(ds.labels[i]))
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.asarray(ds.get(int(i))).squeeze().astype(np.uint8), mode="L").save(folder / f"{i:04d}.png")
    return out / "train", out / "test"


def scarce(*args: str) -> None:
    cmd = [str(Path(sys.executable).with_name("scarce")), *args]
    print("$ " + " ".join(shlex.quote(a) for a in ["scarce", *args]), flush=True)
    subprocess.run(cmd, check=True)


def main(args) -> dict:
    from scarce.metrics import mean_ci, prediction_interval

    out = Path(args.out).resolve()
    train, test = write_folders(out / "data", per_class=args.per_class, seed=args.seed)
    recipe = out / "recipe.yaml"
    recipe.write_text(RECIPE.format(train=train, test=test), encoding="utf-8")
    scarce("search", str(recipe), "--budget", args.budget, "--out", str(out / "search"), "--quiet")
    summary = json.loads((out / "search" / "search.json").read_text(encoding="utf-8"))
    winner = summary["winner"]
    records = [json.loads(line) for line in (out / "search" / "results.jsonl").read_text().splitlines() if line.strip()]
    cells = {r["seed"]: r["metrics"]["accuracy"] for r in records if r.get("remedy") == winner and r.get("metrics")}
    accs = list(cells.values())
    ci, one = mean_ci(accs), prediction_interval(accs)
    scarce("train", str(out / "search" / "best.yaml"), "--out", str(out / "model"), "--force")
    scarce("predict", str(out / "model"), str(test), "--out", str(out / "predictions.csv"))
    with open(out / "predictions.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    correct = sum(Path(r["input"]).parent.name == r["prediction"] for r in rows)
    accuracy = correct / len(rows)
    inside = ci.n >= 2 and ci.low <= accuracy <= ci.high
    inside_pi = ci.n >= 2 and one.low <= accuracy <= one.high
    first = cells.get(min(cells)) if cells else None
    result = {"winner": winner, "search_accuracy": ci.mean, "search_low": ci.low, "search_high": ci.high,
              "search_seeds": ci.n, "per_seed": cells, "prediction_low": one.low,
              "prediction_high": one.high, "delivered_accuracy": accuracy, "test_images": len(rows),
              "inside": inside, "inside_prediction_interval": inside_pi, "first_seed_cell": first,
              "per_class": args.per_class, "search_cells": summary["cells"]}
    (out / "end_to_end.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(f"search: winner {winner}, test accuracy {ci.mean:.4f} [{ci.low:.4f}, {ci.high:.4f}] over {ci.n} seeds "
          f"({summary['cells']} cells)")
    print(f"  per seed: {', '.join(f'{s}: {a:.4f}' for s, a in sorted(cells.items()))}; 95% prediction interval for one "
          f"model [{one.low:.4f}, {one.high:.4f}]")
    print(f"delivered model: {correct}/{len(rows)} = {accuracy:.4f} on the same test images; inside the interval of the "
          f"mean: {inside}; inside the prediction interval: {inside_pi}; the search's first-seed cell (the same seed "
          f"and data): {first:.4f}")
    return result


if __name__ == "__main__":
    main(get_args_parser().parse_args())
