"""``scarce advise DATASET --per-class K [--verify]``: the transfer strategy advisor."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """Register ``advise`` on the CLI's subparsers."""
    adv = sub.add_parser("advise", parents=[common],
                         help="recommend a transfer-learning strategy (four-case rule, measured similarity)")
    adv.add_argument("dataset", help="a registered dataset (scarce list datasets)")
    adv.add_argument("--per-class", type=int, required=True, help="labelled training examples per class you have")
    adv.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="dataset option (repeatable)")
    adv.add_argument("--backbone", default="efficientnet_lite0", help="pretrained backbone (default efficientnet_lite0)")
    adv.add_argument("--size", type=int, default=96, help="input size in px for the similarity measure (default 96)")
    adv.add_argument("--download", action="store_true",
                     help="download the backbone's weights if they are not on disk (hash-checked)")
    adv.add_argument("--verify", action="store_true", help="run the small ablation of the four strategies vs scratch")
    adv.add_argument("--out", help="output folder of --verify (default runs/advise_<dataset>_<k>)")
    adv.add_argument("--data-root", help="folder with the datasets (default: $SCARCE_DATA)")
    adv.set_defaults(run=run)


def run(args: argparse.Namespace, argv: list[str] | None) -> None:
    import yaml

    from scarce.backbones.advisor import advise
    from scarce.data.loaders import load_dataset
    from scarce.report.advice import advice_text

    options = {}
    for item in args.option:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"`--option` takes key=value, got {item!r}.")
        options[key] = yaml.safe_load(raw)
    bundle = load_dataset(args.dataset, root=args.data_root, **options)
    advice = advise(bundle.train, per_class=args.per_class, backbone=args.backbone, size=args.size,
                    cache_dir="default", download=args.download)
    print(advice_text(advice))
    if args.verify:
        from scarce.report.advice import verification_config, verify_advice

        config = verification_config(args.dataset, per_class=args.per_class, options=options, backbone=args.backbone,
                                     download=args.download)
        out = Path(args.out or Path("runs") / config.name)
        check = verify_advice(advice, config, out_dir=out, data_root=args.data_root)
        for name, (mean, lo, hi) in sorted(check["table"].items(), key=lambda kv: -kv[1][0]):
            print(f"  {name:14s} {100 * mean:5.1f}%  [{100 * lo:.1f}, {100 * hi:.1f}]")
        print(f"Winner: {check['winner']}; advice {'held' if check['held'] else 'did not hold'} "
              f"(results in {out}/).")
