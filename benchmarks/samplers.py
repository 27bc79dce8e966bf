"""Benchmark: ClassBalancedSampler vs torch's WeightedRandomSampler, at scale and under simulated DDP.

    PYTHONPATH=. python benchmarks/samplers.py [--n 10000000] [--big 100000000] [--classes 100]

1. Build + draw one epoch over ``--n`` long-tailed labels (class-balanced, ``inverse``): our
   sampler vs ``WeightedRandomSampler`` with per-sample weights ``1 / n_c``, both iterated to
   Python ints as a DataLoader does, and both as arrays (``indices()`` vs ``torch.multinomial``).
   Times are printed as ratios to the reference measured in the same run.
2. ``--big`` labels (uint8) in a fresh process: build and draw one epoch; peak RSS reported
   (target: within 8 GB). WeightedRandomSampler is shown to refuse more than 2^24 categories.
3. DDP simulated in one process (8 ranks): shards disjoint, equal, covering the epoch, and the
   per-class frequencies over all ranks within 1% (relative) of the strategy's probabilities.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def long_tailed_labels(n: int, classes: int, rho: float, seed: int = 0) -> np.ndarray:
    p = rho ** (-np.arange(classes) / (classes - 1))
    counts = np.floor(p / p.sum() * n).astype(np.int64)
    counts[0] += n - counts.sum()
    labels = np.repeat(np.arange(classes, dtype=np.uint8), counts)
    np.random.default_rng(seed).shuffle(labels)
    return labels


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench_epoch(n: int, classes: int) -> dict:
    import torch
    from torch.utils.data import WeightedRandomSampler

    from scarce.balance import ClassBalancedSampler

    labels = long_tailed_labels(n, classes, 100.0)

    def ours_iter():
        return list(ClassBalancedSampler(labels, strategy="inverse", seed=0))

    def ref_iter():
        counts = np.bincount(labels)
        w = torch.from_numpy(1.0 / counts[labels])
        return list(WeightedRandomSampler(w, num_samples=n, replacement=True, generator=torch.Generator().manual_seed(0)))

    def ours_array():
        return ClassBalancedSampler(labels, strategy="inverse", seed=0).indices()

    def ref_array():
        counts = np.bincount(labels)
        w = torch.from_numpy(1.0 / counts[labels])
        return torch.multinomial(w, n, replacement=True, generator=torch.Generator().manual_seed(0))

    t_ref, r = timed(ref_iter)
    t_ours, o = timed(ours_iter)
    ta_ref, _ = timed(ref_array)
    ta_ours, _ = timed(ours_array)
    freq = np.bincount(labels[np.asarray(o)], minlength=classes) / n
    freq_ref = np.bincount(labels[np.asarray(r)], minlength=classes) / n
    return {"n": n, "classes": classes, "ratio_iterate": t_ours / t_ref, "ratio_array": ta_ours / ta_ref,
            "ref_iterate_s": t_ref, "ours_iterate_s": t_ours, "ref_array_s": ta_ref, "ours_array_s": ta_ours,
            "max_rel_err_ours": float(np.abs(freq * classes - 1).max()),
            "max_rel_err_ref": float(np.abs(freq_ref * classes - 1).max())}


def big_child(n: int, classes: int) -> None:
    """Run in a fresh process: build + draw one epoch over ``n`` labels; print JSON."""
    from scarce.balance import ClassBalancedSampler

    t0 = time.perf_counter()
    labels = long_tailed_labels(n, classes, 100.0)
    t1 = time.perf_counter()
    s = ClassBalancedSampler(labels, strategy="inverse", seed=0)
    t2 = time.perf_counter()
    idx = s.indices()
    t3 = time.perf_counter()
    first = sum(1 for _ in zip(range(10**6), s))  # the iterator streams (chunk by chunk) as well
    freq = np.zeros(classes)
    for start in range(0, idx.size, 1 << 24):
        freq += np.bincount(labels[idx[start:start + (1 << 24)]], minlength=classes)
    freq /= idx.size
    print(json.dumps({"n": n, "labels_s": t1 - t0, "build_s": t2 - t1, "draw_s": t3 - t2, "streamed_first": first,
                      "index_dtype": str(s.blocks.order.dtype), "max_rel_err": float(np.abs(freq * classes - 1).max()),
                      "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))


def wrs_limit() -> str:
    import torch
    from torch.utils.data import WeightedRandomSampler

    try:
        list(zip(range(1), WeightedRandomSampler(torch.ones(2**24 + 1, dtype=torch.float64), num_samples=10)))
        return "accepted"
    except RuntimeError as err:
        return f"RuntimeError: {str(err).splitlines()[0]}"


def bench_ddp(n: int, classes: int, world: int) -> list[dict]:
    from scarce.balance import ClassBalancedSampler

    labels = long_tailed_labels(n, classes, 100.0)
    rows = []
    for strategy in ("inverse", "sqrt", "effective_number(0.9999)"):
        shards = []
        for r in range(world):
            s = ClassBalancedSampler(labels, strategy=strategy, seed=7, rank=r, world_size=world)
            s.set_epoch(3)
            shards.append(s.indices())
        glob = ClassBalancedSampler(labels, strategy=strategy, seed=7, num_samples=world * len(shards[0]))
        glob.set_epoch(3)
        allidx = np.concatenate(shards)
        freq = np.bincount(labels[allidx], minlength=classes) / allidx.size
        p = glob.class_probabilities()
        rows.append({"strategy": strategy, "world_size": world, "shard_lengths_equal": len({len(x) for x in shards}) == 1,
                     "disjoint_and_cover_epoch": bool(np.array_equal(allidx, glob.indices())),
                     "epoch_positions": int(allidx.size), "max_rel_freq_err": float(np.abs(freq / p - 1).max()),
                     "max_abs_freq_err": float(np.abs(freq - p).max())})
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10**7)
    ap.add_argument("--big", type=int, default=10**8)
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--world", type=int, default=8)
    ap.add_argument("--ddp-classes", type=int, default=10, help="classes in the DDP check (1%% needs enough draws each)")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        big_child(args.child, args.classes)
        return 0
    e = bench_epoch(args.n, args.classes)
    print(f"## 1. One epoch over {e['n']:,} long-tailed labels ({e['classes']} classes, rho 100), inverse strategy\n")
    print("| what | ClassBalancedSampler / WeightedRandomSampler (time ratio) | ours (s) | WRS (s) |")
    print("|---|---|---|---|")
    print(f"| build + iterate to Python ints | {e['ratio_iterate']:.2f}x | {e['ours_iterate_s']:.2f} | {e['ref_iterate_s']:.2f} |")
    print(f"| build + draw as an array (indices() vs torch.multinomial) | {e['ratio_array']:.2f}x | "
          f"{e['ours_array_s']:.2f} | {e['ref_array_s']:.2f} |")
    print(f"\nMax relative error of class frequencies vs uniform: ours {e['max_rel_err_ours']:.4f}, "
          f"WRS {e['max_rel_err_ref']:.4f}.\n")
    out = subprocess.run([sys.executable, __file__, "--child", str(args.big), "--classes", str(args.classes)],
                         capture_output=True, text=True)
    print(f"## 2. {args.big:,} labels (fresh process)\n")
    if out.returncode:
        print(f"FAILED:\n{out.stderr}")
    else:
        b = json.loads(out.stdout)
        print(f"labels built in {b['labels_s']:.1f} s; sampler built in {b['build_s']:.1f} s (index blocks "
              f"{b['index_dtype']}); one epoch drawn in {b['draw_s']:.1f} s; peak RSS {b['peak_rss_gb']:.2f} GB "
              f"(labels uint8 {args.big / 2**30:.2f} GB included); max relative class-frequency error "
              f"{b['max_rel_err']:.4f}; streaming iterator gave its first {b['streamed_first']:,} indices.")
    print(f"\nWeightedRandomSampler over 2^24 + 1 weights: {wrs_limit()}\n")
    print(f"## 3. DDP simulated: {args.world} ranks over {args.n:,} labels ({args.ddp_classes} classes, rho 100)\n")
    print("| strategy | ranks | equal shard lengths | disjoint + cover the epoch | draws | max rel. class-freq. error | max abs. error |")
    print("|---|---|---|---|---|---|---|")
    for r in bench_ddp(args.n, args.ddp_classes, args.world):
        print(f"| {r['strategy']} | {r['world_size']} | {r['shard_lengths_equal']} | {r['disjoint_and_cover_epoch']} | "
              f"{r['epoch_positions']:,} | {r['max_rel_freq_err']:.4f} | {r['max_abs_freq_err']:.5f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
