"""Linear probe with scikit-learn's logistic regression on cached frozen features.

The same subsets (stratified k per class, nested, seeded), validation split and fixed test sample
as ``scarce ablate recipes/transfer.yaml``; C is chosen on the validation split, then the probe is
refitted on train + validation. Features come from the disk cache the ablation filled (same
backbone, weights, size), so this costs seconds after the ablation.

    SCARCE_DATA=../shared/data python recipes/transfer_logreg_probe.py --dataset cifar10 --sizes 10 50
"""

from __future__ import annotations

import argparse

import numpy as np


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="cifar10")
    p.add_argument("--sizes", type=int, nargs="+", default=[10, 50])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--backbone", default="efficientnet_lite0")
    p.add_argument("--size", type=int, default=128, help="input px")
    p.add_argument("--test-limit", type=int, default=1000)
    p.add_argument("--cache-dir", default="default",
                   help="feature cache folder (default: $SCARCE_CACHE/features, i.e. ~/.cache/scarce/features)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--smoke", action="store_true", help="digits, one size, one seed, 32 px")
    return p


def main(args) -> dict:
    from scarce.backbones import Preprocess
    from scarce.backbones.cache import FeatureExtractor
    from scarce.backbones.probes import logistic_probe
    from scarce.data import load_dataset
    from scarce.data.loaders import stratified_test_split
    from scarce.data.subsets import stratified_subset
    from scarce.remedies.transfer import _cache, load_backbone
    from scarce.metrics import mean_ci

    if args.smoke:
        args.dataset, args.sizes, args.seeds, args.size, args.test_limit = "digits", [5], [0], 32, 100
    bundle = load_dataset(args.dataset, root=args.data_root)
    test = bundle.test
    if args.test_limit < len(test):
        test = test.subset(stratified_test_split(test.labels, test_fraction=args.test_limit / len(test), seed=0)[1])
    bb = load_backbone(args.backbone, True)
    # grayscale="repeat" as in the remedies (part of the cache key; a no-op on RGB images)
    fx = FeatureExtractor(bb, Preprocess(bb.data_config, size=args.size, grayscale="repeat"),
                          cache_dir=_cache(args.cache_dir), progress=False)
    xte = fx.dataset(test)
    out = {}
    for k in args.sizes:
        accs = []
        for seed in args.seeds:
            split = stratified_subset(bundle.train.labels, per_class=k, seed=seed, val_fraction=0.2)
            tr, va = bundle.train.subset(split.train), bundle.train.subset(split.val)
            xtr, xva = fx.dataset(tr), fx.dataset(va)
            clf = logistic_probe(xtr, tr.labels, val=(xva, va.labels) if len(va) else None)
            c = clf.steps[-1][1].C
            both = logistic_probe(np.r_[xtr, xva], np.r_[tr.labels, va.labels], cs=[c]) if len(va) else clf
            accs.append(float((both.predict(xte) == test.labels).mean()))
        ci = mean_ci(accs)
        out[k] = (ci.mean, ci.low, ci.high, accs)
        print(f"{args.dataset} k={k}: logreg probe {100 * ci.mean:.1f}% [{100 * ci.low:.1f}, {100 * ci.high:.1f}] "
              f"(seeds {args.seeds}: {', '.join(f'{100 * a:.1f}' for a in accs)})", flush=True)
    return out


if __name__ == "__main__":
    main(get_args_parser().parse_args())
