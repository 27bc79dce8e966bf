"""What ``scarce search`` writes beside its ``results.jsonl``: ``search.md`` (the ranked table and the
elimination history), ``search.json`` (the same, for programs), ``race.png`` (each candidate's
running gain over the reference, round by round) and ``best.yaml`` (the recipe of the winner with
its tuned hyper-parameters, ready for ``scarce train``)."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from scarce._io import atomic_write_text
from scarce.experiment.config import ExperimentConfig
from scarce.experiment.unlabelled import reads_pool
from scarce.report import verdict as vd
from scarce.report.pool import pool_lines
from scarce.remedies.base import create_remedy
from scarce.report.plots import save_figure
from scarce.report.stats import row_flags
from scarce.metrics import holm, mean_ci, paired_diff_ci, paired_pvalue, prediction_interval


def row_summary(vals: dict[int, float], ref: dict[int, float] | None) -> dict:
    """A row's metric per seed → its mean with a 95% t-interval (``mean``, ``low``, ``high``,
    ``seeds``), the 95% prediction interval of one more model (``one_low``, ``one_high``) and, given
    the reference's ``ref``, its paired gain on their common seeds (``gain``, ``gain_low``,
    ``gain_high``, ``p``)."""
    seeds = sorted(vals)
    ci, one = mean_ci([vals[s] for s in seeds]), prediction_interval([vals[s] for s in seeds])
    row = {"seeds": len(seeds), "mean": ci.mean, "low": ci.low, "high": ci.high, "one_low": one.low,
           "one_high": one.high}
    common = [s for s in seeds if ref is not None and s in ref]
    if common:
        a, b = [vals[s] for s in common], [ref[s] for s in common]
        g = paired_diff_ci(a, b)
        row.update(gain=g.mean, gain_low=g.low, gain_high=g.high, p=paired_pvalue(a, b))
    return row


def standings(result, *, margin: float = vd.DEFAULT_MARGIN) -> list[dict]:
    """One row per candidate (and the reference), best first: mean with its interval over the seeds it
    ran, the paired gain over the reference on those seeds with its interval and Holm-adjusted p
    (over the rows), its verdict (``verdict``, ``verdict_reason``, ``verdict_line``: the ablation's
    rule, :mod:`scarce.report.verdict`, with equivalence ``margin``), seeds, mean seconds per cell,
    and its status."""
    ref = result.values(result.reference.label)
    dropped = {d["label"]: (rnd.index, d) for rnd in result.rounds for d in rnd.dropped}
    rows = []
    for label in [result.reference.label, *(c.label for c in result.candidates)]:
        vals = result.values(label)
        if not vals:
            rows.append({"label": label, "seeds": 0, "status": "not run (budget)"})
            continue
        secs = [r.get("seconds", 0.0) for r in result.records if r["remedy"] == label]
        row = {"label": label, **row_summary(vals, None if label == result.reference.label else ref),
               "seconds": float(np.mean(secs)) if secs else None}
        if label in dropped:
            index, d = dropped[label]
            row["status"] = f"dropped after round {index}: below {d['leader']} by {-d['gap']:.3f} (Holm p {d['p_holm']:.3f})"
        else:
            row["status"] = "winner" if label == result.winner else (
                "reference" if label == result.reference.label else "in the race at the end")
        rows.append(row)
    compared = [r for r in rows if "p" in r]
    for r, q in zip(compared, holm([r["p"] for r in compared])):
        r["p_holm"] = float(q)
    ref_flags = row_flags([r for r in result.records if r["remedy"] == result.reference.label])
    for r in compared:
        flags = vd.comparison_flags(row_flags([x for x in result.records if x["remedy"] == r["label"]]), ref_flags)
        v = vd.decide(vd.Comparison(label=r["label"], size=result.size, gain=r["gain"], low=r["gain_low"],
                                    high=r["gain_high"], n=r["seeds"], p_holm=r["p_holm"], flags=flags, margin=margin,
                                    comparisons=len(compared)))
        r.update(verdict=v.outcome, verdict_reason=v.reason, verdict_line=v.line())
    return sorted(rows, key=lambda r: (r["status"] != "winner", -r.get("seeds", 0), -r.get("mean", -1.0)))


def chosen_hparams(result, label: str) -> dict:
    """The hyper-parameters the winner's cells chose most often (ties: the first seed's)."""
    recs = sorted((r for r in result.records if r["remedy"] == label and r.get("hparams")), key=lambda r: r["seed"])
    if not recs:
        return {}
    counts = Counter(json.dumps(r["hparams"], sort_keys=True) for r in recs)
    best = max(counts.values())
    return next(r["hparams"] for r in recs if counts[json.dumps(r["hparams"], sort_keys=True)] == best)


def chosen_step(result, label: str, hp: dict) -> dict | None:
    """``best.yaml``'s ``deliver:``, the step count the winner's cells chose for ``scarce train``:
    cross-validation's chosen ``step`` (part of the chosen point), else the lower median of the
    kept checkpoints (``best_step``) of the cells that chose the point (hold-out); ``None``: none."""
    if "step" in hp:
        return None if hp["step"] is None else {
            "stop_at": int(hp["step"]), "chosen_by": "cross-validation in the search's cells (the step of the "
                                                     "most common choice over the winner's seeds)"}
    steps = sorted(int(r["best_step"]) for r in result.records
                   if r["remedy"] == label and r.get("hparams") == hp and r.get("best_step") is not None)
    if not steps:
        return None
    return {"stop_at": steps[(len(steps) - 1) // 2],
            "chosen_by": f"hold-out validation in the search's cells (the median kept checkpoint over {len(steps)} "
                         "seed(s) that chose this point)"}


def evidence(result, rows: list[dict]) -> dict:
    """What the search measured, for ``best.yaml``'s ``evidence:`` (copied into a model's card)."""
    keep = ("label", "seeds", "mean", "low", "high", "one_low", "one_high", "gain", "gain_low", "gain_high", "p_holm", "status")
    return {"search": str(result.out_dir), "metric": result.metric, "size_per_class": result.size,
            "reference": result.reference.label, "winner": result.winner, "stop": result.stop_reason,
            "cells": len(result.records), "chosen": chosen_hparams(result, result.winner),
            "standing": [{k: (None if isinstance(r.get(k), float) and np.isnan(r[k]) else r.get(k))
                          for k in keep if k in r} for r in rows]}


def pin_tuned(spec: Any, hp: dict) -> Any:
    """``spec`` with each option its remedy tunes (``Remedy.axes``, e.g. a ``threshold`` list) set to the
    value chosen in ``hp``, a composite's members (its ``remedies``) each in turn; options ``hp`` does not
    hold are left as they are.

    Example:
        >>> pin_tuned({"name": "pseudo_label", "threshold": [0.8, 0.95]}, {"lr": 0.01, "threshold": 0.95})
        {'name': 'pseudo_label', 'threshold': 0.95}
    """
    if isinstance(spec, str):
        return spec
    if isinstance(spec.get("remedies"), list):
        return {**spec, "remedies": [pin_tuned(s, hp) for s in spec["remedies"]]}
    return {**spec, **{k: hp[k] for k in create_remedy(spec).axes if k in hp}}


def best_recipe(result, config: ExperimentConfig, rows: list[dict] | None = None) -> dict:
    """The recipe of the winner: its remedy as the only row with the options it tunes set to their chosen
    values (:func:`pin_tuned`), the train grid cut to its chosen point, the step count its cells chose as
    ``deliver: {stop_at: ...}`` (:func:`chosen_step`; ``scarce train`` keeps the model after that step),
    the recipe's other sections as they are (its ``unlabelled:`` pool too) and, given the standing
    ``rows``, the ``evidence:``."""
    hp = chosen_hparams(result, result.winner)
    spec = pin_tuned(next((c.spec for c in result.candidates if c.label == result.winner), result.reference.spec), hp)
    train = dataclasses.replace(config.train, steps=config.train.at_size(result.size).steps, steps_by_size={},
                                **{k: [hp[k]] for k in ("lr", "weight_decay") if k in hp})  # the race's schedule
    best = dataclasses.replace(config, name=f"{config.name}_best", remedies=[spec], references=[], reference=None,
                               sizes=[result.size], train=train,
                               seeds=sorted({r["seed"] for r in result.records}) or list(config.seeds))
    recipe = {k: v for k, v in dataclasses.asdict(best).items() if k != "reference"}
    step = chosen_step(result, result.winner, hp)
    if step is not None:
        recipe["deliver"] = step
    if rows is not None:
        recipe["evidence"] = evidence(result, rows)
    return recipe


def _fmt(x: Any, digits: int = 3) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}"


def to_markdown(result, rows: list[dict]) -> str:
    """``search.md``: what was raced, the ranked table, the elimination history and how it stopped."""
    lines = [f"# Search: {result.out_dir.name}", "",
             f"{len(result.candidates)} candidates against `{result.reference.label}` at {result.size} examples per "
             f"class; metric `{result.metric}`; budget {result.budget}; {len(result.rounds)} rounds (one seed each). "
             f"The race stopped because {result.stop_reason}. **Winner: `{result.winner}`**"
             + (" (no remedy beat the reference)." if result.winner == result.reference.label else "."),
             *pool_lines(result.records), "",
             "## Standing", "",
             f"Mean {result.metric} with its 95% t-interval over the seeds each row ran; gain: paired difference "
             f"to `{result.reference.label}` on the same seeds (t-interval), p Holm-adjusted over the rows.", "",
             "| row | seeds | mean [95% CI] | gain [95% CI] | Holm p | s/cell | status |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        mean = f"{_fmt(r.get('mean'))} [{_fmt(r.get('low'))}, {_fmt(r.get('high'))}]" if "mean" in r else ""
        gain = f"{r['gain']:+.3f} [{r['gain_low']:+.3f}, {r['gain_high']:+.3f}]" if "gain" in r and not np.isnan(
            r["gain_low"]) else (f"{r['gain']:+.3f}" if "gain" in r else "")
        lines.append(f"| {r['label']} | {r['seeds']} | {mean} | {gain} | {_fmt(r.get('p_holm'))} | "
                     f"{_fmt(r.get('seconds'), 1)} | {r['status']} |")
    lines += _verdict_section(result, rows)
    lines += ["", "## Rounds", "", "| round | seed | raced | leader | dropped |", "|---|---|---|---|---|"]
    for rnd in result.rounds:
        dropped = "; ".join(f"{d['label']} (Holm p {d['p_holm']:.3f})" for d in rnd.dropped) or "none"
        lines.append(f"| {rnd.index} | {rnd.seed} | {len(rnd.raced)} | {rnd.leader} | {dropped} |")
    win = next((r for r in rows if r["label"] == result.winner and "one_low" in r), None)
    if win is not None and not np.isnan(win["one_low"]):
        lines += ["", f"One model of `{result.winner}` (what `scarce train best.yaml` delivers: one training, not "
                      f"the mean of {win['seeds']}) should score {result.metric} {_fmt(win['mean'])} within "
                      f"[{_fmt(win['one_low'])}, {_fmt(win['one_high'])}] (95% prediction interval over the seeds "
                      "it ran, on the same test split; the interval of the mean above is narrower)."]
    lines += ["", f"Cells run: {len(result.records)}. Recipe of the winner: `best.yaml` "
                  "(`scarce train best.yaml --out model/`).", ""]
    return "\n".join(lines)


def _verdict_section(result, rows: list[dict]) -> list[str]:
    """``## Verdicts``: the ablation's rule on each remedy the race compared, with the seeds it ran."""
    compared = [r for r in rows if "verdict_line" in r]
    if not compared:
        return []
    total = len(result.rounds)
    lines = ["", "## Verdicts", "", f"{vd.RULE} Computed on the seeds each row ran; the race chose which rows go on "
             "running on these same seeds, so a survivor's gain is optimistic. Gains in points [95% t-interval].", ""]
    for r in compared:
        subset = f" (on {r['seeds']} of the race's {total} seeds: {r['status']})" if r["seeds"] < total else ""
        lines.append(f"- {r['verdict_line']}{subset}")
    return lines


def race_figure(result):
    """Running mean gain over the reference (95% t-interval) per candidate, by seeds run."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    ref = result.values(result.reference.label)
    for c in result.candidates:
        vals = result.values(c.label)
        seeds = [s for s in (rnd.seed for rnd in result.rounds) if s in vals and s in ref]
        if not seeds:
            continue
        xs, ms, lo, hi = [], [], [], []
        for n in range(1, len(seeds) + 1):
            d = [vals[s] - ref[s] for s in seeds[:n]]
            ci = mean_ci(d)
            xs.append(n), ms.append(ci.mean), lo.append(ci.low if n > 1 else ci.mean), hi.append(ci.high if n > 1 else ci.mean)
        width = 2.5 if c.label == result.winner else 1.0
        line, = ax.plot(xs, ms, marker="o", lw=width, label=c.label)
        ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.12)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("seeds run")
    ax.set_ylabel(f"gain in {result.metric} over {result.reference.label}")
    ax.set_title("race: running paired gain (95% CI); thick line: winner")
    ax.legend(fontsize=7, ncol=2)
    return fig


def write_outputs(result, config: ExperimentConfig) -> None:
    """Write ``search.md``, ``search.json``, ``race.png`` and ``best.yaml`` into the search folder."""
    out = Path(result.out_dir)
    rows = standings(result, margin=config.equivalence_margin)
    atomic_write_text(out / "search.md", to_markdown(result, rows))
    history = [{"round": r.index, "seed": r.seed, "raced": r.raced, "leader": r.leader, "dropped": r.dropped}
               for r in result.rounds]
    atomic_write_text(out / "search.json", json.dumps(
        {"winner": result.winner, "reference": result.reference.label, "size": result.size, "metric": result.metric,
         "budget": str(result.budget), "stop_reason": result.stop_reason, "cells": len(result.records),
         "rounds": history, "standing": rows}, indent=1, sort_keys=True, default=float) + "\n")
    save_figure(race_figure(result), out / "race.png")
    recipe = best_recipe(result, config, rows)
    header = (f"# The winner of `scarce search` in {out} ({result.winner}; {result.metric} at {result.size} per class;\n"
              f"# evidence: search.md there). Train it on all labelled data: scarce train best.yaml --out model/\n")
    if config.unlabelled.source is not None and reads_pool(create_remedy(recipe["remedies"][0])):
        header += ("# It trains on unlabelled examples, measured here on the dataset's own (`from: pool`); a delivered "
                   "model needs yours:\n# scarce train best.yaml --set 'unlabelled={path: YOUR_FOLDER_OR_FILE}' "
                   "--out model/\n")
    atomic_write_text(out / "best.yaml", header + yaml.safe_dump(recipe, sort_keys=False))
