"""``scarce preview RECIPE --out DIR``: what each remedy does to a few training examples (no training)."""

from __future__ import annotations

import argparse


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """Register ``preview`` on the CLI's subparsers."""
    pv = sub.add_parser("preview", parents=[common],
                        help="show what each remedy of a recipe does to a few training examples (no training)")
    pv.add_argument("config", help="YAML experiment config (e.g. recipes/digits.yaml)")
    pv.add_argument("--out", required=True, help="output folder: preview.html and preview/*.png (an ablation's "
                    "results folder also gets its report.html rebuilt with the previews)")
    pv.add_argument("--size", type=int, help="the cell's size (default: the recipe's first)")
    pv.add_argument("--seed", type=int, help="the cell's seed (default: the recipe's first)")
    pv.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config key, e.g. --set dataset.name=image_folder (repeatable)")
    pv.add_argument("--data-root", help="folder with the datasets (default: $SCARCE_DATA)")
    pv.add_argument("--examples", type=int, help="training examples shown (default: 8 images, 6 texts, 4 clips)")
    pv.set_defaults(run=run)


def run(args: argparse.Namespace, argv: list[str] | None) -> None:
    from scarce.preview.command import preview_command

    page, report = preview_command(args.config, out=args.out, size=args.size, seed=args.seed,
                                   overrides=args.overrides, data_root=args.data_root, examples=args.examples)
    print(f"Wrote {page} and {page.parent / 'preview'}/" + (f"; rebuilt {page.parent / 'report.html'}" if report else ""))
