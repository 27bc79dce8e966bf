"""``scarce rebalance LABELS.csv --out INDICES.csv``: rebalanced row indices for a CSV of labels."""

from __future__ import annotations

import argparse


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """Register ``rebalance`` on the CLI's subparsers."""
    rb = sub.add_parser("rebalance", parents=[common],
                        help="rebalanced indices for a CSV of labels (index,label out)")
    rb.add_argument("labels", help="CSV with a header row and a label column")
    rb.add_argument("--out", required=True, help="output CSV of drawn rows: index,label (written atomically)")
    rb.add_argument("--column", help="label column (default: 'label', or the only column)")
    rb.add_argument("--method", default="sampler", choices=["sampler", "over", "under"],
                    help="sampler: one epoch of class-balanced draws; over/under: random resampling")
    rb.add_argument("--strategy", help="sampler: inverse|sqrt|instance|power(q)|effective_number(b); "
                    "over/under: auto, a ratio, or a YAML dict {class: count}")
    rb.add_argument("--num-samples", type=int, help="sampler: draws per epoch (default: number of rows)")
    rb.add_argument("--seed", type=int, default=0)
    rb.add_argument("--epoch", type=int, default=0)
    rb.add_argument("--rank", type=int, default=0)
    rb.add_argument("--world-size", type=int, default=1)
    rb.set_defaults(run=run)


def run(args: argparse.Namespace, argv: list[str] | None) -> None:
    import yaml

    from scarce.balance.rebalance import rebalance_csv

    strategy = args.strategy
    if strategy is not None and args.method != "sampler":
        strategy = yaml.safe_load(strategy)  # 0.5 -> float, {cat: 10} -> dict
    kwargs = {"num_samples": args.num_samples, "epoch": args.epoch, "rank": args.rank, "world_size": args.world_size}
    if args.method != "sampler":
        kwargs = {k: v for k, v in kwargs.items() if v not in (None, 0) and not (k == "world_size" and v == 1)}
    out = rebalance_csv(args.labels, args.out, column=args.column, method=args.method, strategy=strategy,
                        seed=args.seed, **kwargs)
    print(f"Wrote {out}")
