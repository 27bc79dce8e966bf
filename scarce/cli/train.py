"""``scarce train RECIPE --out MODEL_DIR``: one recipe row fitted on all labelled data and saved."""

from __future__ import annotations

import argparse


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """Register ``train`` on the CLI's subparsers."""
    tr = sub.add_parser("train", parents=[common],
                        help="fit a recipe's row on all labelled data and save it (model.safetensors + card.json)")
    tr.add_argument("config", help="YAML recipe with one lr and one weight decay (e.g. a search's best.yaml)")
    tr.add_argument("--out", required=True, help="model folder to write (atomically)")
    tr.add_argument("--row", help="label of the row to train (default: the recipe's only remedy row)")
    tr.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config key, e.g. --set train.lr=[0.01] (repeatable)")
    tr.add_argument("--data-root", help="folder with the datasets (default: $SCARCE_DATA)")
    tr.add_argument("--download", action="store_true", help="let the dataset loader fetch a missing dataset")
    tr.add_argument("--force", action="store_true", help="replace an existing non-empty --out folder")
    tr.set_defaults(run=run)


def run(args: argparse.Namespace, argv: list[str] | None) -> None:
    from scarce.deliver.train import train_command

    print(train_command(args.config, out=args.out, row=args.row, overrides=args.overrides,
                        data_root=args.data_root, download=args.download, force=args.force))
