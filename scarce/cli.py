"""The ``scarce`` command: ``ablate``, ``report`` and ``list``.

    scarce ablate recipes/digits.yaml [--out DIR] [--set key=value ...] [--smoke] [--jobs N]
    scarce report DIR
    scarce list datasets|remedies|models
    scarce synth train CONFIG | scarce synth sample CHECKPOINT --n N [--class C] --out DIR
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scarce", description="Measure which remedy helps a classifier on scarce data.")
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("ablate", help="run an ablation grid from a YAML config")
    a.add_argument("config", help="YAML experiment config (e.g. recipes/digits.yaml)")
    a.add_argument("--out", help="output folder (default: runs/<config name>)")
    a.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set train.steps=100 (repeatable)")
    a.add_argument("--smoke", action="store_true", help="tiny run: first size and seed, 2 steps")
    a.add_argument("--jobs", type=int, default=1, help="cells run in N local processes (default 1)")
    a.add_argument("--data-root", help="folder with the datasets (default: $SCARCE_DATA)")
    a.add_argument("--overwrite", action="store_true", help="replace results of a different config in --out")
    a.add_argument("--quiet", action="store_true", help="no progress bar")
    r = sub.add_parser("report", help="rebuild results.md/.csv and the plot from results.jsonl")
    r.add_argument("out", help="an ablation's output folder")
    ls = sub.add_parser("list", help="list registered names")
    ls.add_argument("what", choices=["datasets", "remedies", "models"])
    sy = sub.add_parser("synth", help="train a DCGAN or sample one (scarce.synth)").add_subparsers(dest="synth",
                                                                                                   required=True)
    st = sy.add_parser("train", help="train a DCGAN from a YAML config (resumes from its checkpoint)")
    st.add_argument("config")
    st.add_argument("--data-root", help="folder with the datasets (default: $SCARCE_DATA)")
    st.add_argument("--quiet", action="store_true", help="no progress bar")
    ss = sy.add_parser("sample", help="write N PNG samples of a checkpoint's generator")
    ss.add_argument("checkpoint")
    ss.add_argument("--n", type=int, required=True)
    ss.add_argument("--class", dest="class_index", type=int, help="class index (conditional GANs)")
    ss.add_argument("--out", required=True)
    ss.add_argument("--seed", type=int, default=0)
    return p


def _list(what: str) -> list[str]:
    from scarce.data.loaders import DATASETS
    from scarce.experiment.remedies import REMEDIES
    from scarce.models import MODELS

    reg = {"datasets": DATASETS, "remedies": REMEDIES, "models": MODELS}[what]
    lines = [f"{n:24s} {reg.help(n)}" for n in reg.names()]
    if what == "remedies":
        lines.insert(0, f"{'chain':24s} several remedies in order: {{name: chain, remedies: [...]}}")
    if what == "models":
        lines.insert(0, f"{'auto':24s} small_cnn below 32 px, resnet18 from 32 px")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = get_args_parser().parse_args(argv)
    try:
        if args.command == "list":
            print("\n".join(_list(args.what)))
        elif args.command == "report":
            from scarce.experiment.results import Results

            Results.from_dir(args.out).write(args.out)
            print(f"Wrote {Path(args.out) / 'results.md'}, results.csv and metric_vs_size.png")
        elif args.command == "synth":
            from scarce.synth import commands
            from scarce.synth.trainer import GANDivergedError

            if args.synth == "train":
                try:
                    ckpt = commands.train_command(args.config, data_root=args.data_root, progress=not args.quiet)
                except GANDivergedError as err:
                    raise ValueError(str(err)) from None
                print(f"Checkpoint: {ckpt}")
            else:
                paths = commands.sample_command(args.checkpoint, n=args.n, out=args.out, class_index=args.class_index,
                                                seed=args.seed)
                print(f"Wrote {len(paths)} PNG file(s) to {args.out}")
        else:
            from scarce.experiment.config import load_config, smoke
            from scarce.experiment.runner import Experiment

            config = load_config(args.config, overrides=args.overrides)
            if args.smoke:
                config = smoke(config)
            out = Path(args.out or Path("runs") / config.name)
            command = "scarce " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
            exp = Experiment(config, out_dir=out, data_root=args.data_root, jobs=args.jobs, overwrite=args.overwrite,
                             progress=not args.quiet, command=command)
            exp.run()
            print(f"Results in {out}/: results.md, results.csv, results.jsonl, config.yaml, metric_vs_size.png")
    except (ValueError, TypeError, FileNotFoundError, FileExistsError, NotADirectoryError) as err:
        print(f"scarce: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
