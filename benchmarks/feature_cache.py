"""Benchmark: the feature cache in a linear-probe ablation, and extraction throughput by resolution.

1. An ablation of R probe variants x S seeds (R*S = 15 by default) on one dataset, each cell
   fitting a probe on frozen features of its k-per-class subset and testing on a fixed test set:
   wall time with the cache (backbone forward once per distinct image) against recomputing the
   features in every cell (the reference, measured in the same run); also the cache hit rate and
   a warm rerun (every lookup a hit).
2. Feature-extraction throughput (images/s) at the backbone's native resolution and reduced ones.

    SCARCE_DATA=../shared/data python benchmarks/feature_cache.py [--size 32] [--per-class 10] [--test 500]

Without a data root it uses random 32x32 images (the ratio is what matters, not the accuracy).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backbone", default="efficientnet_lite0")
    p.add_argument("--size", type=int, default=32, help="input px of the ablation part")
    p.add_argument("--per-class", type=int, default=10)
    p.add_argument("--test", type=int, default=500, help="fixed test images")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--throughput-images", type=int, default=64, help="0 skips the throughput part")
    p.add_argument("--throughput-sizes", default="224,128,64")
    p.add_argument("--data-root", default=None)
    return p


def probes() -> dict:
    """R = 5 probe variants (the "remedies" of the ablation)."""
    from scarce.backbones.probes import knn_probe, linear_head_probe, logistic_probe

    return {
        "logreg_C0.1": lambda x, y: logistic_probe(x, y, cs=[0.1]),
        "logreg_C1": lambda x, y: logistic_probe(x, y, cs=[1.0]),
        "torch_linear": lambda x, y: linear_head_probe(x, y, steps=100),
        "knn5": lambda x, y: knn_probe(x, y, ks=[5]),
        "knn1": lambda x, y: knn_probe(x, y, ks=[1]),
    }


def load_pool(args):
    from scarce.data.datasets import ArrayDataset

    try:
        from scarce.data import load_dataset

        b = load_dataset("cifar10", root=args.data_root)
        return b.train, b.test, "cifar10"
    except (ValueError, FileNotFoundError):
        rng = np.random.default_rng(0)
        labels = np.repeat(np.arange(10), 200)
        ds = ArrayDataset(rng.integers(0, 255, (2000, 32, 32, 3), dtype=np.uint8), labels)
        return ds.subset(range(0, 2000, 2)), ds.subset(range(1, 2000, 2)), "random"


def ablation(extractor_for_cell, train_pool, test, args) -> tuple[float, list[float], float]:
    """Wall time, accuracies, and the seconds spent in the probes (fit + predict) rather than features."""
    from scarce.data.subsets import stratified_subset

    start, accs, in_probes = time.perf_counter(), [], 0.0
    for seed in range(args.seeds):
        idx = stratified_subset(train_pool.labels, per_class=args.per_class, seed=seed).train
        tr = train_pool.subset(idx)
        for probe in probes().values():
            fx = extractor_for_cell()
            xtr, xte = fx.dataset(tr), fx.dataset(test)
            t = time.perf_counter()
            clf = probe(xtr, tr.labels)
            accs.append(float((clf.predict(xte) == test.labels).mean()))
            in_probes += time.perf_counter() - t
    return time.perf_counter() - start, accs, in_probes


def main(args) -> None:
    import torch

    from scarce.backbones import Preprocess, create_backbone
    from scarce.backbones.cache import FeatureCache, FeatureExtractor
    from scarce.data.datasets import Subset

    torch.set_num_threads(max(1, torch.get_num_threads()))
    train_pool, test_full, source = load_pool(args)
    test = Subset(test_full, np.linspace(0, len(test_full) - 1, args.test).astype(int))
    bb = create_backbone(args.backbone, pretrained=True)
    pre = Preprocess(bb.data_config, size=args.size)
    cells = len(probes()) * args.seeds
    print(f"# feature cache benchmark: {args.backbone} @ {args.size}px, {source}, {args.per_class}/class, "
          f"{args.test} test images, R={len(probes())} probes x S={args.seeds} seeds = {cells} cells")
    t_ref, acc_ref, p_ref = ablation(lambda: FeatureExtractor(bb, pre, progress=False), train_pool, test, args)
    with tempfile.TemporaryDirectory() as tmp:
        cache = FeatureCache(tmp)
        t_cold, acc_cold, p_cold = ablation(lambda: FeatureExtractor(bb, pre, cache_dir=cache, progress=False), train_pool,
                                    test, args)
        cold_rate, cold_hits, cold_misses = cache.hit_rate, cache.hits, cache.misses
        warm = FeatureCache(tmp)
        t_warm, acc_warm, p_warm = ablation(lambda: FeatureExtractor(bb, pre, cache_dir=warm, progress=False), train_pool, test,
                                    args)
    assert np.allclose(acc_ref, acc_cold, atol=1e-3) and np.allclose(acc_cold, acc_warm), "cache changed results"
    print(f"recompute per cell (reference): {t_ref:7.1f} s")
    print(f"with cache, cold             : {t_cold:7.1f} s   speed-up x{t_ref / t_cold:.1f}   "
          f"hit rate {cold_rate:.1%} ({cold_hits} hits, {cold_misses} misses = distinct images)")
    print(f"with cache, warm rerun       : {t_warm:7.1f} s   speed-up x{t_ref / t_warm:.1f}   "
          f"hit rate {warm.hit_rate:.1%}")
    print(f"mean probe accuracy over cells: {np.mean(acc_ref):.3f} (identical with and without cache)")
    distinct = cold_misses / max(1, cold_hits + cold_misses)
    print(f"where the time goes: probes (fit + predict) {p_ref:.1f} s of the reference, {p_cold:.1f} s cold, "
          f"{p_warm:.1f} s warm; features {t_ref - p_ref:.1f} s / {t_cold - p_cold:.1f} s / {t_warm - p_warm:.1f} s")
    print(f"bound (Amdahl): with {distinct:.1%} of the lookups distinct images and the probe time unchanged, a cold "
          f"cache can be at most x{t_ref / (p_cold + distinct * (t_ref - p_ref)):.1f} faster; with free features "
          f"x{t_ref / p_cold:.1f}")
    if args.throughput_images <= 0:
        return
    print("# extraction throughput (no cache), images/s")
    images = [np.asarray(train_pool.get(i)) for i in range(args.throughput_images)]
    base = None
    for size in [int(s) for s in args.throughput_sizes.split(",")]:
        fx = FeatureExtractor(bb, Preprocess(bb.data_config, size=size), progress=False, batch_size=32)
        fx(images[:8])  # warm-up
        t = time.perf_counter()
        fx(images)
        rate = len(images) / (time.perf_counter() - t)
        base = base or rate
        print(f"  {size:4d} px: {rate:7.1f} images/s  (x{rate / base:.1f} vs {args.throughput_sizes.split(',')[0]} px)")


if __name__ == "__main__":
    main(get_args_parser().parse_args())
