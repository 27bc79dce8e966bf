"""``scarce claims CLAIMS.yaml --out PAGE [--check]``: the claims table generated from its runs.

Writes the page :func:`scarce.report.claims.render` builds from a claims file (claims, anchors and
the run folders or published summaries that test them), or, with ``--check``, writes nothing and
exits 1 when ``PAGE`` differs from what the runs give (the test suite runs this on
``docs/results/claims.yaml``).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path


def add_parser(sub, common: argparse.ArgumentParser) -> None:
    """Register ``claims`` on the CLI's subparsers."""
    c = sub.add_parser("claims", parents=[common],
                       help="generate a claims table (verdicts computed from run records) from a claims file")
    c.add_argument("claims", help="the claims file (YAML), e.g. docs/results/claims.yaml")
    c.add_argument("--out", required=True, help="the page to write (or to compare with --check)")
    c.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 and show the difference when the page no longer matches its runs")
    c.set_defaults(run=run)


def run(args: argparse.Namespace, argv: list[str] | None) -> int | None:
    from scarce._io import atomic_write_text
    from scarce.report.claims import render

    page = render(args.claims)
    out = Path(args.out)
    if args.check:
        current = out.read_text(encoding="utf-8") if out.exists() else ""
        if current == page:
            print(f"{out} matches {args.claims} and its runs.")
            return None
        diff = difflib.unified_diff(current.splitlines(), page.splitlines(), str(out), "generated", lineterm="")
        print("\n".join(diff), file=sys.stderr)
        print(f"scarce: {out} no longer matches {args.claims} and its runs: rerun "
              f"`scarce claims {args.claims} --out {out}`.", file=sys.stderr)
        return 1
    atomic_write_text(out, page)
    print(f"Wrote {out}")
    return None
