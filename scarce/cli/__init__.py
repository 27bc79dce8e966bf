"""The ``scarce`` command; one module per command in this package, each with ``add_parser`` and ``run``.

    scarce ablate recipes/digits.yaml [--out DIR] [--set key=value ...] [--smoke] [--jobs N] [--check]
                  [--executor local|ray] [--address ADDR] [--cpus-per-cell C] [--gpus-per-cell G]
    scarce report DIR
    scarce preview recipes/digits.yaml [--size K] [--seed S] [--set key=value ...] [--data-root D] --out DIR
    scarce list datasets|remedies|models|augments
    scarce rebalance LABELS.csv --out INDICES.csv [--method sampler|over|under] [--strategy S] ...
    scarce advise DATASET --per-class K [--verify]
    scarce train RECIPE.yaml --out MODEL_DIR [--row LABEL] [--set key=value ...] [--force]
    scarce predict MODEL_DIR INPUTS... [--out preds.csv] [--top K]
    scarce synth train CONFIG | scarce synth sample CHECKPOINT --n N [--class C] --out DIR
    scarce search RECIPE --budget 2h|300cells [--size K] [--combine pairs|none] [--out DIR]
    scarce claims CLAIMS.yaml --out PAGE [--check]

Exit codes: 0 done; 1 ``ablate`` finished but some cells failed (their code raised: the results of
the others are written, ``results.md`` lists the failed cells and a rerun retries them); 2 an error
the user can fix (bad config or YAML, unreadable or unwritable path, malformed data file, a diverged
GAN), reported in one or two lines on stderr; 3 an internal failure (a bug: one line asking to rerun
with ``--debug``); 130 interrupted. ``--debug`` (before or after the command) shows the traceback
instead. Which exception gets which code is the table :func:`error_table`.

A command is a module here with ``add_parser(subparsers, common)`` (which sets ``run`` as the
parser's default) and ``run(args, argv) -> exit code or None``; :data:`COMMANDS` lists them in the
order ``scarce --help`` shows them.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable

from scarce.cli import ablate, advise, claims, listing, predict, preview, rebalance, report, search, synth, train
from scarce.cli.ablate import FAILED_CELLS

USER_ERROR, INTERNAL_ERROR, INTERRUPTED = 2, 3, 130
COMMANDS = (ablate, report, preview, rebalance, advise, train, predict, listing, synth, search, claims)
"""The command modules, in the order of ``scarce --help``."""

__all__ = ["COMMANDS", "FAILED_CELLS", "INTERNAL_ERROR", "INTERRUPTED", "USER_ERROR", "error_table",
           "get_args_parser", "main"]


def get_args_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)  # --debug before or after the command (unset: absent)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error instead of a one-line message")
    p = argparse.ArgumentParser(prog="scarce", description="Measure which remedy helps a classifier on scarce data.",
                                parents=[common])
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub, common)
    return p


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
            code = args.run(args, argv)
        except (Exception, KeyboardInterrupt) as err:
            if getattr(args, "debug", False):
                raise
            for types, code, prefix, message in error_table():
                if isinstance(err, types):
                    print(f"scarce: {prefix}: {message(err)}", file=sys.stderr)
                    return code
    return code or 0


