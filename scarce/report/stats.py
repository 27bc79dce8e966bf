"""What a results table needs besides means and intervals, computed from the records of a log: the
headline metric (``metric: auto``), chance and majority-class rates, the tuning protocol, the chosen
hyperparameters, cost and under-training warnings.

Every field read here is optional in a record (``test_counts``, ``hparams``, ``hparams_at_edge``,
``edge_reasons``, ``tuning``, ``train_summary``, ``prep_seconds``, ``train_seconds``), so logs written
before these fields existed still report, with the statement that the information is not recorded
(an edge without a reason is read as ``end``: before ``edge_reasons`` only axes of three or more
values were flagged).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

from scarce.experiment.edges import REASONS
from scarce.metrics import AUTO_IMBALANCE_RATIO, auto_metric, imbalance_ratio

UNDERTRAINED_TRAIN_ACCURACY = 0.95
"""A row whose mean class-balanced training accuracy on the clean subset (``inference.fit_score``) is below
this is flagged as under-trained."""
DIVERGED_CHANCE_MULTIPLE = 2.0
"""A reused point "did not train" on a seed whose class-balanced training accuracy at the last step is at
most this multiple of chance (1/C) while the tuning seed's is above it."""
LATE_SHARE = 0.5
"""A row is flagged when validation was still improving in the last quarter of steps in at least this
share of its seeds."""
EDGE_SHARE = 0.5
"""A row is flagged for a choice at an edge (of the grid, or the first / last validation check) when at
least this share of its seeds made it (under ``tune: first_seed`` every seed reuses the tuning seed's
choice, so one vote at an edge flags the row); fewer seeds at an edge show in the hyperparameter table
only."""


def test_counts(records: Sequence[dict]) -> list[int] | None:
    """Class counts of the test split (the same fixed split for every cell), or ``None`` if unrecorded."""
    return next((list(r["test_counts"]) for r in records if r.get("test_counts")), None)


def num_classes(records: Sequence[dict]) -> int | None:
    """Number of classes, from ``test_counts`` or else from a record's per-class recall list."""
    counts = test_counts(records)
    if counts is not None:
        return len(counts)
    return next((len(r["metrics"]["per_class_recall"]) for r in records
                 if r.get("metrics", {}).get("per_class_recall")), None)


def n_test(records: Sequence[dict]) -> int | None:
    """Size of the fixed test sample every cell was scored on."""
    counts = test_counts(records)
    return sum(counts) if counts is not None else next((r["n_test"] for r in records if "n_test" in r), None)


def resolve_metric(requested: str | None, counts: Sequence[int] | None) -> tuple[str, str]:
    """The headline metric and why it was chosen.

    ``auto`` (or no metric in the config) follows :func:`scarce.metrics.auto_metric` on the test
    split's class counts, and is accuracy when the log has no ``test_counts``.
    """
    if requested not in (None, "auto"):
        return requested, "set by `metric` in the config"
    if counts is None:
        return "accuracy", "`metric: auto`, and the log has no test class counts to judge balance: accuracy"
    ratio = imbalance_ratio(counts)
    chosen = auto_metric(counts)
    side = ">" if ratio > AUTO_IMBALANCE_RATIO else "≤"
    return chosen, (f"`metric: auto`: the test split's largest/smallest class ratio is {ratio:.2f} "
                    f"({side} {AUTO_IMBALANCE_RATIO}), so {chosen.replace('_', ' ')}")


_MODES = {"every_cell": "`every_cell` (chosen per remedy, size and seed)",
          "first_seed": "`first_seed` (chosen per remedy and size on the first seed, reused for the others)"}


def tuning_text(records: Sequence[dict], grid: Mapping[str, Sequence[float]]) -> str:
    """One sentence on how hyperparameters were chosen (mode, selection per size, grid) for every table.

    Example:
        >>> recs = [{"size": k, "tuning": {"mode": "first_seed", "selection": sel, "folds": f, "grid_points": 6}}
        ...         for k, sel, f in ((5, "cross_validation", 5), (10, "cross_validation", 5), (50, "holdout", None))]
        >>> tuning_text(recs, {"lr": [0.01, 0.1], "weight_decay": [0.0001]}).split("; ")[1:]  # doctest: +NORMALIZE_WHITESPACE
        ['selection `cross_validation` (5 folds) at k=5, 10, `holdout` at k=50', 'grid lr {0.01, 0.1} × weight_decay {0.0001}',
         "tuning variance is not in the intervals (one seed's vote reused by every seed)"]
    """
    tunings = [(r.get("size"), r["tuning"]) for r in records if isinstance(r.get("tuning"), dict)]
    axes = " × ".join(f"{name} {{{', '.join(f'{v:g}' for v in values)}}}" for name, values in grid.items() if values)
    grid = f"; grid {axes}" if axes else ""
    if not tunings:
        return f"tuning mode and selection not recorded in this log{grid}"
    if all(_nothing_chosen(r) for r in records if isinstance(r.get("tuning"), dict)):
        return f"nothing was tuned: one grid point{grid}"
    modes = sorted({t.get("mode") for _, t in tunings}, key=str)
    groups: dict[tuple, set] = {}
    for size, t in tunings:
        groups.setdefault((t.get("selection"), t.get("folds")), set()).add(size)
    all_sizes = {size for size, _ in tunings}
    sel = []
    for (name, folds), sizes in sorted(groups.items(), key=lambda kv: min(_size_key(k) for k in kv[1])):
        where = "" if sizes == all_sizes else " at k=" + ", ".join(str(k) for k in sorted(sizes, key=_size_key))
        sel.append(f"`{name}`" + (f" ({folds} folds)" if folds else "") + where)
    mode = ", ".join(_MODES.get(m, f"`{m}`") for m in modes)
    metrics = sorted({t["select_by"] for _, t in tunings if t.get("select_by")})
    by = f" by validation {', '.join(f'`{m}`' for m in metrics)}" if metrics else ""
    reused = ("; tuning variance is not in the intervals (one seed's vote reused by every seed)"
              if "first_seed" in modes else "")
    return f"tuning {mode}; selection {', '.join(sel)}{by}{grid}{reused}"


def _nothing_chosen(record: dict) -> bool:
    """A one-point grid whose cell chose nothing either (at most one check compared; older logs: a
    cross-validation cell that chose no step)."""
    t = record["tuning"]
    if t.get("grid_points") != 1:
        return False
    if t.get("candidates") is not None:
        return t["candidates"] <= 1
    return t.get("selection") == "cross_validation" and "step" not in (record.get("hparams") or {})


def hparam_text(records: Sequence[dict]) -> tuple[str, int]:
    """The chosen hyperparameters of one row: the value per name with its seed count when they differ
    (mode first), and the number of seeds with a choice at an edge of the grid.

    Example:
        >>> hparam_text([{"hparams": {"lr": 0.003}, "hparams_at_edge": ["lr"]},
        ...              {"hparams": {"lr": 0.001}}, {"hparams": {"lr": 0.003}}])
        ('lr 0.003 ×2, 0.001 ×1', 1)
    """
    chosen = [r["hparams"] for r in records if isinstance(r.get("hparams"), dict)]
    names = list(dict.fromkeys(k for h in chosen for k in h))
    parts = []
    for name in names:
        counts = Counter(h[name] for h in chosen if name in h).most_common()
        values = ", ".join(f"{_num(v)} ×{c}" for v, c in counts) if len(counts) > 1 else _num(counts[0][0])
        parts.append(f"{name} {values}")
    edge = sum(1 for reasons in _row_edges(records) if reasons)
    return "; ".join(parts), edge


def edge_reasons(record: dict) -> dict[str, str]:
    """Name → reason code (``scarce.experiment.edges.REASONS``) of each choice at an edge in ``record``;
    a name listed in ``hparams_at_edge`` without a reason (older logs) is an ``end``."""
    reasons = record.get("edge_reasons")
    given = reasons if isinstance(reasons, dict) else {}
    return {n: given.get(n, "end") for n in (record.get("hparams_at_edge") or given)}


def edge_names(records: Sequence[dict]) -> list[str]:
    """Each name chosen at an edge in any of the records, with its reason: ``"lr: end of grid"``.

    Example:
        >>> edge_names([{"hparams_at_edge": ["lr", "step"], "edge_reasons": {"lr": "narrow", "step": "last_check"}},
        ...             {"hparams_at_edge": ["lr"]}])
        ['lr: too narrow to tell', 'step: last check', 'lr: end of grid']
    """
    return [f"{name}: {_reason(code)[2]}" for name, code in _edge_groups(records)]


def _row_edges(records: Sequence[dict]) -> list[dict[str, str]]:
    """:func:`edge_reasons` of each record, a seed that reused another seed's choice (``tune: first_seed``)
    inheriting that seed's: the step a cross-validation curve chose at its last check is reused, edge and
    all, by every seed, though only the tuning seed's record saw the curve."""
    by_seed = {r.get("seed"): edge_reasons(r) for r in records}
    out = []
    for r in records:
        tuning = r.get("tuning") if isinstance(r.get("tuning"), dict) else {}
        tuned_on = tuning.get("tuned_on_seed", r.get("seed"))
        inherited = by_seed.get(tuned_on, {}) if tuning.get("mode") == "first_seed" and tuned_on != r.get("seed") else {}
        out.append({**inherited, **edge_reasons(r)})
    return out


def _edge_groups(records: Sequence[dict]) -> dict[tuple[str, str], int]:
    """(name, reason code) → the number of records with that choice at an edge, in first-seen order."""
    groups: dict[tuple[str, str], int] = {}
    for reasons in _row_edges(records):
        for item in reasons.items():
            groups[item] = groups.get(item, 0) + 1
    return groups


def _reason(code: str) -> tuple[str, str, str]:
    return REASONS.get(code, (f"an edge ({code})", "check the grid", code))


def mean_field(records: Sequence[dict], name: str) -> float:
    """Mean of a numeric record field over the records that have it (NaN when none does)."""
    vals = [float(r[name]) for r in records if isinstance(r.get(name), (int, float))]
    return float(np.mean(vals)) if vals else float("nan")


def cost(records: Sequence[dict], reference: Sequence[dict]) -> dict[str, float]:
    """Mean seconds of a row and its cost relative to the reference's training.

    ``cost_ratio`` is (preparation + training) over the reference's training seconds at the same size;
    for logs without the split it is total seconds over the reference's total seconds.
    """
    prep, train, total = (mean_field(records, k) for k in ("prep_seconds", "train_seconds", "seconds"))
    ref_train = mean_field(reference, "train_seconds")
    if not np.isnan(train) and ref_train > 0:
        ratio = (train + (0.0 if np.isnan(prep) else prep)) / ref_train
    else:
        ref_total = mean_field(reference, "seconds")
        ratio = total / ref_total if ref_total > 0 else float("nan")
    return {"prep_seconds": prep, "train_seconds": train, "seconds": total, "cost_ratio": ratio}


def undertraining(records: Sequence[dict]) -> list[str]:
    """Reasons a row looks under-trained, each with its fix (empty when it does not, or is unrecorded)."""
    sums = [r["train_summary"] for r in records if isinstance(r.get("train_summary"), dict)]
    reasons = []
    late = [bool(s["val_improving_late"]) for s in sums if s.get("val_improving_late") is not None]
    if late and sum(late) >= LATE_SHARE * len(late):
        reasons.append(f"validation was still improving in the last quarter of steps in {sum(late)}/{len(late)} "
                       "seeds (raise `train.steps`)")
    # the model at the last step run: an early kept checkpoint of a model that fits its training
    # data by the end is early stopping, not under-training
    acc = [float(s.get("last_train_accuracy", s.get("train_accuracy"))) for s in sums
           if s.get("last_train_accuracy", s.get("train_accuracy")) is not None]
    if acc and np.mean(acc) < UNDERTRAINED_TRAIN_ACCURACY:
        reasons.append(f"mean class-balanced training accuracy on the clean subset at the last step is "
                       f"{100 * np.mean(acc):.1f}% "
                       f"(< {100 * UNDERTRAINED_TRAIN_ACCURACY:.0f}%; raise `train.steps` or widen the lr grid)")
    return reasons


CLOSE_VOTE_EXAMPLES = 1.5
"""A ``first_seed`` vote whose margin is below this many validation examples' worth of the score (×1/n_val)
is flagged as fragile: it was decided by at most one example."""


def fragile_tuning(records: Sequence[dict]) -> list[str]:
    """Reasons the one vote that ``tune: first_seed`` reused is fragile (empty under ``every_cell``):

    * the tuning seed's vote was decided by at most one validation example (``tuning.vote_margin``
      < ``CLOSE_VOTE_EXAMPLES`` / ``tuning.n_val``, in the selection metric: under cross-validation
      one example moves the mean fold score by 1/(folds × its fold's size), a little more or less than
      1/n_val, so the bound sits between one and two examples);
    * a reusing seed's fit did not train (class-balanced training accuracy at the last step at most
      ``DIVERGED_CHANCE_MULTIPLE`` × chance) while the tuning seed's did.
    """
    reasons = []
    first = [r for r in records if isinstance(r.get("tuning"), dict) and r["tuning"].get("mode") == "first_seed"]
    tuners = [r for r in first if r["tuning"].get("tuned_on_seed") == r.get("seed")]
    for r in tuners:
        margin, n = r["tuning"].get("vote_margin"), r["tuning"].get("n_val")
        if margin is not None and n and margin * n < CLOSE_VOTE_EXAMPLES:
            reasons.append(f"fragile tuning: the vote on seed {r['seed']} that every seed reuses was decided by at "
                           f"most one validation example (margin {margin:.3g} < {CLOSE_VOTE_EXAMPLES:g}/{n}; use "
                           "`tune: every_cell` or more validation data)")
    c = num_classes(records)
    if not c:
        return reasons
    floor = DIVERGED_CHANCE_MULTIPLE / c
    trained = {r.get("seed") for r in tuners if (_last_fit(r) or 0.0) > floor}
    for r in first:
        seed, tuned_on = r.get("seed"), r["tuning"].get("tuned_on_seed")
        if seed != tuned_on and tuned_on in trained and _last_fit(r) is not None and _last_fit(r) <= floor:
            reasons.append(f"fragile tuning: the reused point did not train on seed {seed} (a reused lr diverged? "
                           f"training accuracy {100 * _last_fit(r):.0f}% at the last step, chance {100 / c:.0f}%)")
    return reasons


def _last_fit(record: dict) -> float | None:
    s = record.get("train_summary")
    if not isinstance(s, dict):
        return None
    value = s.get("last_train_accuracy", s.get("train_accuracy"))
    return None if value is None else float(value)


def row_flags(records: Sequence[dict]) -> list[str]:
    """Every reason the records of one (row, size) cannot carry a verdict, each a short phrase with its
    fix: under-training (:func:`undertraining`), a choice at an edge of the grid or of the validation
    checks (each with its reason, :data:`scarce.experiment.edges.REASONS`) and fragile ``first_seed``
    tuning (:func:`fragile_tuning`). Empty when none.

    The verdict rule (``scarce.report.verdict``) reads these for the row and for its reference: a
    comparison with any flag on either side is ``not shown``.
    """
    reasons = list(undertraining(records))
    for (name, code), n in _edge_groups(records).items():
        if n < EDGE_SHARE * len(records):  # a minority of seeds at an edge: shown in the table, not a flag
            continue
        where, fix, _ = _reason(code)
        reasons.append(f"{name} chosen at {where} in {n}/{len(records)} seeds ({fix})")
    return reasons + fragile_tuning(records)


def _size_key(size) -> tuple:
    return (not isinstance(size, (int, float)), size if isinstance(size, (int, float)) else str(size))


def _num(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)
