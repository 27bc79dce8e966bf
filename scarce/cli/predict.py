"""``scarce predict MODEL_DIR INPUTS...``: classify inputs with a model folder from ``scarce train``."""

from __future__ import annotations

import argparse


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """Register ``predict`` on the CLI's subparsers."""
    pr = sub.add_parser("predict", parents=[common], help="classify inputs with a model folder from `scarce train`")
    pr.add_argument("model", help="model folder (card.json + model.safetensors)")
    pr.add_argument("inputs", nargs="+", help="image/audio files or folders, a text CSV (column `text`) or .txt")
    pr.add_argument("--out", help="write the predictions to this CSV (default: print them)")
    pr.add_argument("--top", type=int, help="only the K likeliest classes per input, with their probabilities")
    pr.set_defaults(run=run)


def run(args: argparse.Namespace, argv: list[str] | None) -> None:
    from scarce.deliver.saved_model import predict_command

    print(predict_command(args.model, args.inputs, out=args.out, top=args.top))
