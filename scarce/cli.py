"""The ``scarce`` command: ``ablate``, ``report`` and ``list``.

    scarce ablate recipes/digits.yaml [--out DIR] [--set key=value ...] [--smoke] [--jobs N]
                  [--executor local|ray] [--address ADDR] [--cpus-per-cell C] [--gpus-per-cell G]
    scarce report DIR [--html]     (report.html is always written; the flag only says so)
    scarce preview recipes/digits.yaml [--size K] [--seed S] [--set key=value ...] [--data-root D] --out DIR
    scarce list datasets|remedies|models|augments
    scarce rebalance LABELS.csv --out INDICES.csv [--method sampler|over|under] [--strategy S] ...
    scarce advise DATASET --per-class K [--verify]
    scarce train RECIPE.yaml --out MODEL_DIR [--row LABEL] [--set key=value ...] [--force]
    scarce predict MODEL_DIR INPUTS... [--out preds.csv] [--top K]
    scarce synth train CONFIG | scarce synth sample CHECKPOINT --n N [--class C] --out DIR
    scarce search RECIPE --budget 2h|300cells [--size K] [--combine pairs|none] [--out DIR]

Exit codes: 0 done; 1 ``ablate`` finished but some cells failed (their code raised: the results of
the others are written, ``results.md`` lists the failed cells and a rerun retries them); 2 an error the user can fix (bad config or YAML, unreadable or unwritable path,
malformed data file, a diverged GAN), reported in one or two lines on stderr; 3 an internal failure
(a bug: one line asking to rerun with ``--debug``); 130 interrupted. ``--debug`` (before or after
the command) shows the traceback instead. Which exception gets which code is the table
:func:`error_table`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

from scarce.experiment import search_cli

FAILED_CELLS, USER_ERROR, INTERNAL_ERROR, INTERRUPTED = 1, 2, 3, 130


def get_args_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)  # --debug before or after the command (unset: absent)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error instead of a one-line message")
    p = argparse.ArgumentParser(prog="scarce", description="Measure which remedy helps a classifier on scarce data.",
                                parents=[common])
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("ablate", parents=[common], help="run an ablation grid from a YAML config")
    a.add_argument("config", help="YAML experiment config (e.g. recipes/digits.yaml)")
    a.add_argument("--out", help="output folder (default: runs/<config name>)")
    a.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set train.steps=100 (repeatable)")
    a.add_argument("--smoke", action="store_true", help="tiny run: first size and seed, 2 steps")
    a.add_argument("--jobs", type=int, help="local executor: cells run in N local processes (default: run.jobs, 1)")
    a.add_argument("--executor", help="local (this machine) or ray (a Ray cluster; pip install 'scarce[ray]') "
                   "(default: run.executor, local)")
    a.add_argument("--address", help="ray: the cluster to join, e.g. auto (default: a local cluster for the sweep)")
    a.add_argument("--cpus-per-cell", type=float, help="ray: CPUs each cell holds, fractions allowed (default 1)")
    a.add_argument("--gpus-per-cell", type=float, help="ray: GPUs each cell holds, fractions allowed (default 0)")
    a.add_argument("--data-root", help="folder with the datasets (default: $SCARCE_DATA)")
    a.add_argument("--overwrite", action="store_true", help="replace results of a different config in --out")
    a.add_argument("--quiet", action="store_true", help="no progress bar")
    a.add_argument("--check", action="store_true",
                   help="only the preflight: decode the data, try every row for one step; run and write nothing")
    r = sub.add_parser("report", parents=[common],
                       help="rebuild results.md/.csv, the plots and report.html from results.jsonl")
    r.add_argument("out", help="an ablation's output folder")
    r.add_argument("--html", action="store_true",
                   help="accepted for clarity: report.html (one self-contained page) is always written")
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
    pr = sub.add_parser("predict", parents=[common], help="classify inputs with a model folder from `scarce train`")
    pr.add_argument("model", help="model folder (card.json + model.safetensors)")
    pr.add_argument("inputs", nargs="+", help="image/audio files or folders, a text CSV (column `text`) or .txt")
    pr.add_argument("--out", help="write the predictions to this CSV (default: print them)")
    pr.add_argument("--top", type=int, help="only the K likeliest classes per input, with their probabilities")
    ls = sub.add_parser("list", parents=[common], help="list registered names")
    ls.add_argument("what", choices=["datasets", "remedies", "models", "augments"])
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
    search_cli.add_parser(sub, common)
    return p


def _list(what: str) -> list[str]:
    if what == "augments":
        from scarce.augment.registry import augment_info, list_augments
        from scarce.data.datasets import MODALITIES

        infos = sorted((augment_info(n) for n in list_augments()), key=lambda i: (MODALITIES.index(i.modality),
                                                                                   i.kind != "sample", i.name))
        return [f"{'name':16s} {'modality':8s} {'kind':6s} help"] + [
            f"{i.name:16s} {i.modality:8s} {i.kind:6s} {i.help}" for i in infos]
    from scarce.data.loaders import DATASETS
    from scarce.experiment.remedies import REMEDIES
    from scarce.data.datasets import MODALITIES
    from scarce.models import AUTO_HELP, MODELS

    reg = {"datasets": DATASETS, "remedies": REMEDIES, "models": MODELS}[what]
    if what == "models":  # grouped by modality, each with what `auto` means there
        return [line for m in MODALITIES for line in (
            [f"{'auto':24s} {m:6s} {AUTO_HELP[m]}"] + [f"{n:24s} {m:6s} {MODELS.help(n)}" for n in MODELS.names(modality=m)])]
    if all("modality" in reg.meta(n) for n in reg.names()):  # datasets: grouped by the modality they declare
        return [f"{n:24s} {m:6s} {reg.help(n)}" for m in MODALITIES for n in reg.names(modality=m)]
    return [f"{n:24s} {reg.help(n)}" for n in reg.names()]


def _rebalance(args: argparse.Namespace) -> None:
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


def _advise(args) -> None:
    import yaml

    from scarce.backbones.advisor import advise
    from scarce.data.loaders import load_dataset

    options = {}
    for item in args.option:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"`--option` takes key=value, got {item!r}.")
        options[key] = yaml.safe_load(raw)
    bundle = load_dataset(args.dataset, root=args.data_root, **options)
    advice = advise(bundle.train, per_class=args.per_class, backbone=args.backbone, size=args.size,
                    cache_dir="default", download=args.download)
    print(advice)
    if args.verify:
        from scarce.experiment.advise import verification_config, verify_advice

        config = verification_config(args.dataset, per_class=args.per_class, options=options, backbone=args.backbone,
                                     download=args.download)
        out = Path(args.out or Path("runs") / config.name)
        check = verify_advice(advice, config, out_dir=out, data_root=args.data_root)
        for name, (mean, lo, hi) in sorted(check["table"].items(), key=lambda kv: -kv[1][0]):
            print(f"  {name:14s} {100 * mean:5.1f}%  [{100 * lo:.1f}, {100 * hi:.1f}]")
        print(f"Winner: {check['winner']}; advice {'held' if check['held'] else 'did not hold'} "
              f"(results in {out}/).")


def _failed_warning(results) -> str:
    first = results.failed[0]
    return (f"{len(results.failed)} cell(s) failed and are in no table (first: {first['key']}: {first['error']}); "
            "see 'Failed cells' in results.md; rerun the same command to retry them.")


def _run(args: argparse.Namespace, argv: list[str] | None) -> int | None:
    """Dispatch one parsed command (errors propagate to :func:`main`); returns a non-zero exit code
    that is no error (failed cells), else ``None``."""
    if args.command == "advise":
        _advise(args)
    elif args.command == "list":
        print("\n".join(_list(args.what)))
    elif args.command == "rebalance":
        _rebalance(args)
    elif args.command == "report":
        from scarce.experiment.results import Results

        results = Results.from_dir(args.out)
        results.write(args.out)
        for warning in results.warnings() + ([_failed_warning(results)] if results.failed else []):
            print(f"scarce: warning: {warning}", file=sys.stderr)
        print(f"Wrote {Path(args.out) / 'results.md'}, results.csv, metric_vs_size.png, gain_vs_size.png and "
              f"{Path(args.out) / 'report.html'}")
    elif args.command == "search":
        search_cli.run(args)
    elif args.command == "preview":
        from scarce.experiment.preview.command import preview_command

        page, report = preview_command(args.config, out=args.out, size=args.size, seed=args.seed,
                                       overrides=args.overrides, data_root=args.data_root, examples=args.examples)
        print(f"Wrote {page} and {page.parent / 'preview'}/" + (f"; rebuilt {page.parent / 'report.html'}" if report else ""))
    elif args.command == "train":
        from scarce.experiment.deliver import train_command

        print(train_command(args.config, out=args.out, row=args.row, overrides=args.overrides,
                            data_root=args.data_root, download=args.download, force=args.force))
    elif args.command == "predict":
        from scarce.experiment.saved_model import predict_command

        print(predict_command(args.model, args.inputs, out=args.out, top=args.top))
    elif args.command == "synth":
        from scarce.synth import commands

        if args.synth == "train":
            ckpt = commands.train_command(args.config, data_root=args.data_root, progress=not args.quiet)
            print(f"Checkpoint: {ckpt}")
        else:
            paths = commands.sample_command(args.checkpoint, n=args.n, out=args.out, class_index=args.class_index,
                                            seed=args.seed)
            print(f"Wrote {len(paths)} PNG file(s) to {args.out}")
    else:
        import dataclasses

        from scarce.experiment.config import load_config, smoke
        from scarce.experiment.runner import Experiment

        config = load_config(args.config, overrides=args.overrides)
        if args.smoke:
            config = smoke(config)
        run = {k: getattr(args, k) for k in ("executor", "jobs", "address", "cpus_per_cell", "gpus_per_cell")}
        config = dataclasses.replace(config, run=dataclasses.replace(
            config.run, **{k: v for k, v in run.items() if v is not None}))
        out = Path(args.out or Path("runs") / config.name)
        command = "scarce " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
        exp = Experiment(config, out_dir=out, data_root=args.data_root, overwrite=args.overwrite,
                         progress=not args.quiet, command=command)
        if args.check:
            print(f"Preflight passed: {len(exp.check())} cell(s) to run; nothing was written.")
            return
        results = exp.run()
        for warning in results.warnings():
            print(f"scarce: warning: {warning}", file=sys.stderr)
        print(f"Results in {out}/: results.md, results.csv, results.jsonl, config.yaml, metric_vs_size.png, "
              "gain_vs_size.png")
        if results.failed:
            print(f"scarce: warning: {_failed_warning(results)}", file=sys.stderr)
            return FAILED_CELLS
    return None


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip(" ^"))


def _plain(err: BaseException) -> str:
    return str(err) or type(err).__name__


def _named(err: BaseException) -> str:
    kind = type(err)
    name = kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__.split('.')[0]}.{kind.__name__}"
    return f"{name}: {_one_line(str(err)) or '(no message)'}"


def _internal(err: BaseException) -> str:
    return f"{_named(err)}. This is a bug in scarce: rerun with --debug for the traceback and report it."


def error_table() -> tuple[tuple[tuple[type[BaseException], ...], int, str, Callable[[BaseException], str]], ...]:
    """How the CLI ends on an exception: ``(types, exit code, prefix, message formatter)`` rows; the
    first row whose types match wins. User errors (2) are what bad input or settings raise: validation
    (``ValueError``, ``TypeError``, ``KeyError``, :class:`scarce._checks.UserError`), paths
    (``OSError``), malformed files (YAML, CSV, WAV, zip/npz, not UTF-8, truncated)."""
    import csv
    import wave
    import zipfile

    import yaml

    from scarce._checks import UserError

    return (
        ((KeyboardInterrupt,), INTERRUPTED, "interrupted", lambda err: "stopped by the user."),
        ((UnicodeError,), USER_ERROR, "error", lambda err: f"a file is not UTF-8 text ({_one_line(str(err))})."),
        ((yaml.YAMLError,), USER_ERROR, "error", lambda err: f"invalid YAML: {_one_line(str(err))}"),
        ((ValueError, TypeError, UserError, OSError), USER_ERROR, "error", _plain),
        ((KeyError, EOFError, csv.Error, wave.Error, zipfile.BadZipFile), USER_ERROR, "error", _named),
        ((Exception,), INTERNAL_ERROR, "internal error", _internal),
    )


def _warning_printer() -> Callable[..., None]:
    """``warnings.showwarning`` for the CLI: one line each, the same message once per command."""
    shown = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = _one_line(str(message))
        if text not in shown:
            shown.add(text)
            print(f"scarce: warning: {text}", file=sys.stderr)

    return show


def main(argv: list[str] | None = None) -> int:
    """Run ``scarce`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code (see the module doc)."""
    args = get_args_parser().parse_args(argv)
    with warnings.catch_warnings():
        warnings.showwarning = _warning_printer()
        try:
            code = _run(args, argv)
        except (Exception, KeyboardInterrupt) as err:
            if getattr(args, "debug", False):
                raise
            for types, code, prefix, message in error_table():
                if isinstance(err, types):
                    print(f"scarce: {prefix}: {message(err)}", file=sys.stderr)
                    return code
    return code or 0


if __name__ == "__main__":
    sys.exit(main())
