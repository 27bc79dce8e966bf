"""``scarce synth train CONFIG`` and ``scarce synth sample CHECKPOINT``: the DCGAN of :mod:`scarce.synth`."""

from __future__ import annotations

import argparse


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """Register ``synth`` (and its ``train`` / ``sample``) on the CLI's subparsers."""
    sy = sub.add_parser("synth", parents=[common],
                        help="train a DCGAN or sample one (scarce.synth)").add_subparsers(dest="synth", required=True)
    st = sy.add_parser("train", parents=[common], help="train a DCGAN from a YAML config (resumes from its checkpoint)")
    st.add_argument("config")
    st.add_argument("--data-root", help="folder with the datasets (default: $SCARCE_DATA)")
    st.add_argument("--quiet", action="store_true", help="no progress bar")
    ss = sy.add_parser("sample", parents=[common], help="write N PNG samples of a checkpoint's generator")
    ss.add_argument("checkpoint")
    ss.add_argument("--n", type=int, required=True)
    ss.add_argument("--class", dest="class_index", type=int, help="class index (conditional GANs)")
    ss.add_argument("--out", required=True)
    ss.add_argument("--seed", type=int, default=0)
    for parser in (st, ss):
        parser.set_defaults(run=run)


def run(args: argparse.Namespace, argv: list[str] | None) -> None:
    from scarce.synth import commands

    if args.synth == "train":
        ckpt = commands.train_command(args.config, data_root=args.data_root, progress=not args.quiet)
        print(f"Checkpoint: {ckpt}")
    else:
        paths = commands.sample_command(args.checkpoint, n=args.n, out=args.out, class_index=args.class_index,
                                        seed=args.seed)
        print(f"Wrote {len(paths)} PNG file(s) to {args.out}")
