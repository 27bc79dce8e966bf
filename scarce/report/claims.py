"""The claims table of ``docs/results/README.md``, generated from a committed claims file.

A claims file (YAML) lists claims from the literature, each with the comparisons that test it here:
a row against a reference at a size, read from a run folder's records (``results.jsonl`` and
``config.yaml``) or, for a run whose records were not kept, from the summary its page published
(gain, 95% interval, seeds, Holm p, flags). Every comparison gets its verdict from
:func:`scarce.report.verdict.decide`, the same rule ``results.md`` uses, and the claim's *holds here*
from those verdicts against the direction the literature expects. Nothing in the table is typed by
hand but the claim, the literature and the labels; ``scarce claims FILE --check`` fails when the page
no longer matches its runs.

Example claims file::

    title: Measured results
    intro: |
      One row per claim...
    claims:
      - id: "8"
        claim: A linear probe beats training from scratch at 10 images per class
        literature: Kornblith et al. 2019 ...
        expect: helps            # helps | hurts | no effect: what the literature predicts here
        margin: 1.0              # equivalence margin in points for a "no effect" verdict (default 1)
        page: transfer.md
        run: records/transfer    # a folder beside the claims file with the run's records
        compare:
          - {row: probe, reference: baseline, size: 10, label: "CIFAR-10, k=10"}
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scarce._checks import check_choice
from scarce.metrics import METRICS, min_attainable_p
from scarce.report.results import Results
from scarce.report.verdict import ALPHA, OUTCOMES, Comparison, Verdict, decide

CLAIM_KEYS = {"id", "claim", "literature", "expect", "margin", "page", "run", "compare", "note", "date"}
COMPARE_KEYS = {"row", "reference", "size", "label", "metric", "published", "untested", "expect", "run"}
PUBLISHED_KEYS = {"gain", "low", "high", "n", "p_holm", "flags"}
DEFAULT_MARGIN = 1.0
"""Equivalence margin in points when a claim does not state one."""


@dataclass(frozen=True)
class ClaimComparison:
    """One comparison that tests a claim (see the module docstring)."""

    label: str
    row: str | None
    reference: str | None
    size: Any
    expect: str
    metric: str | None = None
    published: dict | None = None
    untested: str | None = None
    run: str | None = None


@dataclass(frozen=True)
class Claim:
    id: str
    claim: str
    literature: str
    expect: str
    margin: float
    page: str
    run: str | None
    date: str
    compare: tuple[ClaimComparison, ...]
    note: str = ""


@dataclass(frozen=True)
class Outcome:
    """A comparison with its verdict and the line the table shows for it."""

    comparison: ClaimComparison
    verdict: Verdict | None
    text: str

    @property
    def outcome(self) -> str:
        return self.verdict.outcome if self.verdict else "not shown"


def _where(i: int, key: str) -> str:
    return f"claims[{i}].{key}"


def _unknown(given: dict, allowed: set[str], where: str) -> None:
    extra = sorted(set(given) - allowed)
    if extra:
        raise ValueError(f"`{where}` has unknown key(s) {extra}; expected some of {sorted(allowed)}.")


def parse_claims(data: Any) -> tuple[dict, list[Claim]]:
    """The page settings (``title``, ``intro``, ``outro``) and the claims of a decoded claims file.

    Raises:
        ValueError: naming the key, what was expected and what was given, before anything is read.
    """
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list) or not data["claims"]:
        raise ValueError("A claims file must be a mapping with a non-empty `claims` list, got "
                         f"{type(data).__name__}.")
    _unknown(data, {"title", "intro", "outro", "claims"}, "claims file")
    claims = []
    for i, c in enumerate(data["claims"]):
        if not isinstance(c, dict):
            raise ValueError(f"`claims[{i}]` must be a mapping, got {type(c).__name__}.")
        _unknown(c, CLAIM_KEYS, f"claims[{i}]")
        for key in ("id", "claim", "literature", "expect", "page", "compare"):
            if key not in c:
                raise ValueError(f"`{_where(i, key)}` is required.")
        expect = check_choice(_where(i, "expect"), c["expect"], OUTCOMES[:3])
        margin = c.get("margin", DEFAULT_MARGIN)
        if not isinstance(margin, (int, float)) or not 0 < margin < 100:
            raise ValueError(f"`{_where(i, 'margin')}` must be a number of points in (0, 100), got {margin!r}.")
        if not isinstance(c["compare"], list) or not c["compare"]:
            raise ValueError(f"`{_where(i, 'compare')}` must be a non-empty list, got {c['compare']!r}.")
        compare = tuple(_comparison(i, j, x, expect, has_run=c.get("run") is not None)
                        for j, x in enumerate(c["compare"]))
        claims.append(Claim(str(c["id"]), str(c["claim"]), str(c["literature"]), expect, float(margin),
                            str(c["page"]), c.get("run"), str(c.get("date", "")), compare, str(c.get("note", ""))))
    ids = [c.id for c in claims]
    if len(set(ids)) != len(ids):
        raise ValueError(f"`claims[].id` must be unique, got {ids}.")
    return {k: str(data.get(k, "")) for k in ("title", "intro", "outro")}, claims


def _comparison(i: int, j: int, x: Any, expect: str, *, has_run: bool) -> ClaimComparison:
    where = f"claims[{i}].compare[{j}]"
    if not isinstance(x, dict) or "label" not in x:
        raise ValueError(f"`{where}` must be a mapping with a `label`, got {x!r}.")
    _unknown(x, COMPARE_KEYS, where)
    sources = [k for k in ("published", "untested", "run") if x.get(k) is not None]
    if len(sources) > 1 or not (sources or has_run):
        raise ValueError(f"`{where}` needs exactly one source: its own or the claim's `run`, `published` or "
                         f"`untested`, got {sources or 'none'}.")
    if x.get("untested") is None:
        for key in ("row", "reference", "size"):
            if key not in x:
                raise ValueError(f"`{where}.{key}` is required.")
    if x.get("metric") is not None:
        check_choice(f"{where}.metric", x["metric"], list(METRICS))
    published = x.get("published")
    if published is not None:
        if not isinstance(published, dict):
            raise ValueError(f"`{where}.published` must be a mapping, got {published!r}.")
        _unknown(published, PUBLISHED_KEYS, f"{where}.published")
        for key in ("gain", "low", "high", "n"):
            if not isinstance(published.get(key), (int, float)):
                raise ValueError(f"`{where}.published.{key}` must be a number, got {published.get(key)!r}.")
        if "p_holm" not in published and min_attainable_p(int(published["n"])) <= ALPHA:
            raise ValueError(f"`{where}.published.p_holm` is required with {published['n']} seeds: the "
                             "sign-flip floor alone no longer rules out significance.")
    own = check_choice(f"{where}.expect", x.get("expect", expect), OUTCOMES[:3])
    return ClaimComparison(str(x["label"]), x.get("row"), x.get("reference"), x.get("size"), own,
                           x.get("metric"), published, x.get("untested"), x.get("run"))


def load_claims(path: str | Path) -> tuple[dict, list[Claim]]:
    """:func:`parse_claims` of the YAML file at ``path``."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Claims file '{path}' does not exist.")
    return parse_claims(yaml.safe_load(path.read_text(encoding="utf-8")))


def evaluate(claim: Claim, base: Path) -> list[Outcome]:
    """Every comparison of ``claim`` with its verdict; run folders are relative to ``base``."""
    margin = claim.margin / 100
    results: dict[tuple, list[Verdict]] = {}
    out = []
    for c in claim.compare:
        if c.untested is not None:
            out.append(Outcome(c, None, f"{c.label}: not tested ({c.untested})"))
            continue
        if c.published is not None:
            verdict, source = decide(_from_published(c, margin)), " (published; records not kept)"
        else:
            verdict, source = _from_run(base / (c.run or claim.run), c, margin, results), ""
        out.append(Outcome(c, verdict, f"{c.label}: {verdict.line().split(': ', 1)[1]}{source}"))
    return out


def _from_published(c: ClaimComparison, margin: float) -> Comparison:
    """A comparison from the summary a page published: its Holm p is never taken below the sign-flip
    floor of its seed count (the pages' p-values came from t-tests)."""
    p = c.published
    n = int(p["n"])
    p_holm = max(float(p["p_holm"]), min_attainable_p(n)) if "p_holm" in p else math.nan
    return Comparison(label=str(c.row), size=c.size, gain=p["gain"] / 100, low=p["low"] / 100,
                      high=p["high"] / 100, n=n, p_holm=p_holm, flags=tuple(str(f) for f in p.get("flags", ())),
                      margin=margin)


def _from_run(folder: Path, c: ClaimComparison, margin: float, cache: dict) -> Verdict:
    """The verdict :meth:`Results.verdicts` gives the comparison in the run at ``folder``, measured
    against ``c.reference`` (the Holm family: that table's comparisons) with the claim's margin."""
    if not folder.is_dir():
        raise FileNotFoundError(f"Run folder '{folder}' of a claim does not exist.")
    key = (str(folder), c.reference, c.metric)
    if key not in cache:
        base = Results.from_dir(folder)
        config = dataclasses.replace(base.config, reference=c.reference) if base.config else None
        results = Results(base.records, config, base.failed)
        cache[key] = results.verdicts(results.summary(c.metric), margin=margin)
    verdict = next((v for v in cache[key] if v.comparison.label == c.row and v.comparison.size == c.size), None)
    if verdict is None:
        raise ValueError(f"Run '{folder}' has no comparison of `{c.row}` with `{c.reference}` at size {c.size}.")
    return verdict


def holds(claim: Claim, outcomes: list[Outcome]) -> str:
    """``yes`` when every comparison's verdict is the one the literature expects, ``no`` when a decided
    verdict contradicts it, ``partly (n of m)`` when some agree and the rest are not shown, else
    ``not shown``."""
    decided = [o for o in outcomes if o.outcome != "not shown"]
    agree = [o for o in decided if o.outcome == o.comparison.expect]
    if len(agree) < len(decided):
        return "no"
    if not decided:
        return "not shown"
    return "yes" if len(agree) == len(outcomes) else f"partly ({len(agree)} of {len(outcomes)})"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def render(path: str | Path) -> str:
    """The whole page of the claims file at ``path``: title, intro, the table, outro."""
    path = Path(path)
    page, claims = load_claims(path)
    lines = [f"# {page['title']}" if page["title"] else "# Claims", ""]
    if page["intro"]:
        lines += [page["intro"].strip(), ""]
    lines += [f"_Generated by `scarce claims {path.name} --out README.md` from `{path.name}` and the run "
              "folders it names; do not edit by hand._", "",
              "| # | claim | literature (anchor, source) | expected | here (points, 95 % CI → verdict) | "
              "holds here? | page, run |", "|---|---|---|---|---|---|---|"]
    for claim in claims:
        outcomes = evaluate(claim, path.parent)
        here = "; ".join(o.text for o in outcomes) + (f". {claim.note}" if claim.note else "")
        runs = list(dict.fromkeys(r for r in [claim.run, *(c.run for c in claim.compare)] if r))
        kept = "records in " + ", ".join(f"`{r}`" for r in runs) if runs else "records not kept"
        where = f"[{claim.page.split('#')[0]}]({claim.page}), {kept}" + (f" ({claim.date})" if claim.date else "")
        lines.append("| " + " | ".join(_cell(x) for x in (
            claim.id, claim.claim, claim.literature, f"{claim.expect} (margin ±{claim.margin:g})", here,
            holds(claim, outcomes), where)) + " |")
    if page["outro"]:
        lines += ["", page["outro"].strip()]
    return "\n".join(lines) + "\n"

