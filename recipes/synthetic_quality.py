"""GAN quality for the synthetic-images recipes: feature-space FID, CAS and memorisation.

For each size and seed of a recipe it rebuilds the cell's training subset (same split as
``scarce ablate``), gets each ``synthetic`` remedy's GAN (from the recipe's ``cache_dir`` when the
sweep has already fitted it, else fits it), draws ``--per-class`` samples per class and measures:

* FID in the feature space of a small CNN trained on the real training subset (the default
  extractor of ``scarce.synth.quality``), against a fixed stratified sample of the test set; the
  real training subset's own FID to that sample is the floor;
* CAS: accuracy on that test sample of the same small CNN trained only on synthetic images, next
  to the same CNN trained on the real subset;
* memorisation: nearest-training-neighbour pixel distances of samples vs held-out real images.

    python recipes/synthetic_quality.py recipes/synthetic_images_cifar10.yaml --out runs/synthetic_quality_cifar10
    python recipes/synthetic_quality.py recipes/synthetic_images.yaml --smoke --out /tmp/q
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", help="a synthetic-images recipe (its `synthetic` remedies are measured)")
    p.add_argument("--out", required=True, help="output folder (quality.jsonl, quality.md, grid PNGs)")
    p.add_argument("--sizes", type=int, nargs="*", help="default: the recipe's sizes")
    p.add_argument("--seeds", type=int, nargs="*", default=[0])
    p.add_argument("--per-class", type=int, default=100, help="synthetic samples per class to measure")
    p.add_argument("--test-n", type=int, default=1000, help="real test images used as reference")
    p.add_argument("--clf-steps", type=int, default=300, help="steps of the feature / CAS classifiers")
    p.add_argument("--data-root", default=None)
    p.add_argument("--smoke", action="store_true", help="first size, GAN 2 steps, tiny measures")
    return p


def main(args: argparse.Namespace) -> list[dict]:
    import torch

    from scarce._io import atomic_write_text
    from scarce.data.datasets import Subset, as_image_array
    from scarce.data.loaders import load_dataset, stratified_test_split
    from scarce.data.subsets import stratified_subset
    from scarce.experiment.config import load_config
    from scarce.remedies.synthetic import Synthetic
    from scarce.synth.checkpoint import save_grid
    from scarce.synth.quality import (classification_accuracy_score, frechet_distance, memorisation_check,
                                      train_feature_classifier)
    from scarce.synth.trainer import sample

    torch.set_num_threads(1)
    config = load_config(args.config)
    specs = [r for r in config.remedies if isinstance(r, dict) and r.get("name") == "synthetic"]
    sizes = args.sizes or config.sizes
    per_class, test_n, clf_steps = args.per_class, args.test_n, args.clf_steps
    if args.smoke:
        sizes, per_class, test_n, clf_steps = sizes[:1], 5, 100, 5
    bundle = load_dataset(config.dataset.name, root=args.data_root, **config.dataset.options)
    k_classes = bundle.num_classes
    _, keep = stratified_test_split(bundle.test.labels, test_fraction=test_n / len(bundle.test), seed=0)
    test = Subset(bundle.test, keep)
    x_test, y_test = as_image_array(test), test.labels
    out = Path(args.out)
    records = []
    for size in sizes:
        for seed in args.seeds:
            split = stratified_subset(bundle.train.labels, per_class=size, seed=seed,
                                      val_fraction=config.subset.val_fraction)
            train = bundle.train.subset(split.train)
            x_tr, y_tr = as_image_array(train), np.asarray(train.labels)
            extractor = train_feature_classifier(x_tr, y_tr, seed=seed, steps=clf_steps)
            f_test = extractor(x_test)
            base = {"dataset": config.dataset.name, "size": size, "seed": seed, "n_train": len(x_tr)}
            records.append({**base, "source": "real training subset", "fid": frechet_distance(extractor(x_tr), f_test),
                            "cas": float(np.mean(extractor.predict(x_test) == y_test)), "copy_fraction": None})
            measured: dict[str, dict] = {}  # gan_key -> its record: rows that differ only in share share a GAN
            for spec in specs:
                opts = {k: v for k, v in spec.items() if k not in ("name", "label")}
                if args.smoke:
                    opts.update(steps=2, cache_dir=None)
                remedy = Synthetic(**opts)
                g, info = remedy.fit_gan(x_tr, y_tr, k_classes)
                label = spec.get("label", "synthetic")
                if info["gan_key"] in measured:  # the same generator: measured once, named by every row using it
                    measured[info["gan_key"]]["source"] += f" = {label}"
                    continue
                y_syn = np.repeat(np.arange(k_classes), per_class)
                x_syn = sample(g, len(y_syn), labels=y_syn, seed=seed)
                mem = memorisation_check(x_syn, x_tr, x_test)
                records.append({**base, "source": label, "fid": frechet_distance(extractor(x_syn), f_test),
                                "cas": classification_accuracy_score(x_syn, y_syn, x_test, y_test, seed=seed,
                                                                     steps=clf_steps),
                                **mem.summary(), "gan_key": info["gan_key"]})
                measured[info["gan_key"]] = records[-1]
                if seed == args.seeds[0]:
                    grid = x_syn.reshape(k_classes, per_class, *x_syn.shape[1:])[:, :8].transpose(1, 0, 2, 3, 4)
                    tag = "da" if opts.get("diffaugment", True) else "noda"
                    save_grid(np.ascontiguousarray(grid.reshape(-1, *x_syn.shape[1:])),
                              out / f"samples_{config.dataset.name}_k{size}_{tag}.png", nrow=k_classes)
            print(json.dumps(records[-1]), flush=True)
    atomic_write_text(out / "quality.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    atomic_write_text(out / "quality.md", table(records))
    return records


def table(records: list[dict]) -> str:
    """Mean over seeds per (size, source): FID (lower is better), CAS, share flagged as copies."""
    rows = ["| k/class | source | feature-FID | CAS (%) | flagged copies | NN-distance ratio | seeds |",
            "|---|---|---|---|---|---|---|"]
    keys = sorted({(r["size"], r["source"]) for r in records}, key=lambda k: (k[0], k[1] != "real training subset", k[1]))
    for size, source in keys:
        rs = [r for r in records if r["size"] == size and r["source"] == source]
        copy = [r["copy_fraction"] for r in rs if r["copy_fraction"] is not None]
        ratio = [r["median_ratio"] for r in rs if r.get("median_ratio") is not None]
        rows.append(f"| {size} | {source} | {np.mean([r['fid'] for r in rs]):.2f} | "
                    f"{100 * np.mean([r['cas'] for r in rs]):.1f} | "
                    f"{f'{100 * np.mean(copy):.1f}%' if copy else '-'} | "
                    f"{f'{np.mean(ratio):.2f}' if ratio else '-'} | {len(rs)} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    main(get_args_parser().parse_args())
