"""``scarce list datasets|remedies|models|augments``: the registered names, with one line of help."""

from __future__ import annotations

import argparse


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """Register ``list`` on the CLI's subparsers."""
    ls = sub.add_parser("list", parents=[common], help="list registered names")
    ls.add_argument("what", choices=["datasets", "remedies", "models", "augments"])
    ls.set_defaults(run=run)


def names(what: str) -> list[str]:
    """The lines ``scarce list WHAT`` prints."""
    if what == "augments":
        from scarce.augment.registry import augment_info, list_augments
        from scarce.modalities import modality_names

        infos = sorted((augment_info(n) for n in list_augments()), key=lambda i: (modality_names().index(i.modality),
                                                                                   i.kind != "sample", i.name))
        return [f"{'name':16s} {'modality':8s} {'kind':6s} help"] + [
            f"{i.name:16s} {i.modality:8s} {i.kind:6s} {i.help}" for i in infos]
    from scarce.data.loaders import DATASETS
    from scarce.remedies.catalogue import REMEDIES
    from scarce.modalities import get_modality, modality_names
    from scarce.models import MODELS

    reg = {"datasets": DATASETS, "remedies": REMEDIES, "models": MODELS}[what]
    if what == "models":  # grouped by modality, each with what `auto` means there
        return [line for m in modality_names() for line in (
            [f"{'auto':24s} {m:6s} {get_modality(m).auto_model.help}"]
            + [f"{n:24s} {m:6s} {MODELS.help(n)}" for n in MODELS.names(modality=m)])]
    if all("modality" in reg.meta(n) for n in reg.names()):  # datasets: grouped by the modality they declare
        return [f"{n:24s} {m:6s} {reg.help(n)}" for m in modality_names() for n in reg.names(modality=m)]
    return [f"{n:24s} {reg.help(n)}" for n in reg.names()]


def run(args: argparse.Namespace, argv: list[str] | None) -> None:
    print("\n".join(names(args.what)))
