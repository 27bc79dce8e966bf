"""Tables and plots rebuilt from ``results.jsonl``: ``results.md``, ``results.csv``, ``metric_vs_size.png``,
``gain_vs_size.png`` and ``report.html``.

Per (remedy, size): the mean with its 95% t-interval over seeds; the paired gain over the reference
with its t-interval, a paired p-value and Holm-adjusted significance over every comparison of the
table (``*`` only from Holm); the share of seeds the remedy won; its cost in seconds beside the
reference's; the chosen hyperparameters. Each table states the chance and majority-class rates, what
its interval covers and how hyperparameters were tuned; a Warnings section names rows that look
under-trained, and a Failed cells section names the cells whose code raised (they are in no table).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scarce._io import atomic_write_text
from scarce.report import plots, pool
from scarce.report import stats as rs
from scarce.report import verdict as vd
from scarce.report.html import read_previews, render_html
from scarce.experiment.config import ExperimentConfig, read_saved_config
from scarce.experiment.log import CONFIG, LOG, cell_key, failed_cells, is_failed, read_records
from scarce.metrics import METRICS, holm, majority_score, mean_ci, paired_diff_ci, paired_pvalue, paired_wins

ALPHA = vd.ALPHA
"""Family-wise error level of the Holm-adjusted ``*`` marks and of the verdicts."""
CSV_COLUMNS = ["remedy", "size", "metric", "headline", "n_seeds", "mean", "ci_low", "ci_high", "chance", "majority",
               "not_above_majority", "gain", "gain_low", "gain_high", "ci_excludes_zero", "p", "p_holm",
               "significant_holm", "wins", "ties", "losses", "win_share", "prep_seconds", "train_seconds", "seconds",
               "cost_ratio", "hparams", "edge_seeds", "undertrained", "verdict", "verdict_reason", *pool.CSV_COLUMNS]


@dataclass(frozen=True)
class Table:
    """One table of the report, for markdown and HTML alike: ``title`` and ``notes`` are markdown-inline
    (`code`, _emphasis_), ``header`` and ``rows`` plain text cells.

    Attributes:
        kind: ``metric`` (mean ± CI per row and size), ``gain``, ``hparams`` or ``failed``.
        metric: the metric the table shows (empty for ``failed``).
        level: heading level in markdown (2 or 3).
    """

    kind: str
    metric: str
    title: str
    level: int
    notes: tuple[str, ...]
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def to_markdown(self) -> list[str]:
        """The table's lines, heading and notes first (a blank line before each part)."""
        lines = ["", "#" * self.level + " " + self.title, "", *self.notes, ""]
        lines += ["| " + " | ".join(self.header) + " |", "|" + "---|" * len(self.header)]
        return lines + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in self.rows]


@dataclass
class Results:
    """Records of finished cells plus the config that produced them, and the records of the
    grid's cells that failed and have not finished since (``failed``; in no table). ``config`` is
    ``None`` for a log found without its ``config.yaml``: rows then come from the records alone."""

    records: list[dict]
    config: ExperimentConfig | None
    failed: list[dict] = field(default_factory=list)

    @classmethod
    def from_dir(cls, out_dir: str | Path) -> "Results":
        out_dir = Path(out_dir)
        if not (out_dir / LOG).exists() and not (out_dir / CONFIG).exists():  # a started run has its config
            raise FileNotFoundError(f"No {LOG} in '{out_dir}': run `scarce ablate` there first.")
        config = read_saved_config(out_dir)
        grid = _grid_keys(config)
        seen, records = set(), []
        logged = [r for r in read_records(out_dir / LOG) if grid is None or r["key"] in grid]  # not: cells
        for r in logged:                                                 # the current config no longer has
            if not is_failed(r) and r["key"] not in seen:
                seen.add(r["key"])
                records.append(r)
        return cls(records, config, failed_cells(logged))

    @property
    def labels(self) -> list[str]:
        """The row labels (``Row.label``; a record's ``remedy``): the config's rows in order (remedies,
        then references), then any others the log holds."""
        order = [r.label for r in self.config.rows()] if self.config else []
        present = {r["remedy"] for r in self.records}
        return [r for r in order if r in present] + sorted(present - set(order))

    @property
    def reference(self) -> str:
        """The row gains are measured against: the config's ``reference``, else its first row."""
        ref = self.config.reference_label() if self.config else None
        return ref if ref in self.labels or not self.labels else self.labels[0]

    @property
    def sizes(self) -> list[int]:
        return sorted({r["size"] for r in self.records})

    @property
    def metric(self) -> str:
        """The headline metric: the config's ``metric``, with ``auto`` resolved from the test split."""
        return self.metric_choice[0]

    @property
    def metric_choice(self) -> tuple[str, str]:
        """The headline metric and the reason it was chosen."""
        return rs.resolve_metric(self.config.metric if self.config else None, rs.test_counts(self.records))

    def _records(self, remedy: str, size: int) -> list[dict]:
        return [r for r in self.records if r["remedy"] == remedy and r["size"] == size]

    def summary(self, metric: str | None = None) -> list[dict[str, Any]]:
        """One row per (remedy, size): mean and CI over seeds, chance and majority rates, cost, chosen
        hyperparameters and, for non-reference rows, the paired gain over the reference with its
        interval, p-value, Holm-adjusted p-value over all the rows' comparisons, and win share.

        Args:
            metric: one of ``METRICS``; default the headline metric.
        """
        metric = metric or self.metric
        if metric not in METRICS:
            raise ValueError(f"`metric` must be one of {list(METRICS)}, got {metric!r}.")
        counts, c = rs.test_counts(self.records), rs.num_classes(self.records)
        majority = majority_score(counts, metric) if counts else math.nan
        rows = []
        for remedy in self.labels:
            for size in self.sizes:
                recs = self._records(remedy, size)
                if not recs:
                    continue
                vals = {r["seed"]: r["metrics"][metric] for r in recs}
                ci = mean_ci(list(vals.values()))
                floor = ci.mean if ci.n < 2 else ci.low
                ref_recs = self._records(self.reference, size)
                hparams, edge = rs.hparam_text(recs)
                row = {"remedy": remedy, "size": size, "metric": metric, "headline": metric == self.metric,
                       "n_seeds": ci.n, "mean": ci.mean, "ci_low": ci.low, "ci_high": ci.high,
                       "chance": 1 / c if c else math.nan, "majority": majority,
                       "not_above_majority": bool(floor <= majority) if counts else None,
                       **rs.cost(recs, ref_recs), **pool.row_fields(recs), "hparams": hparams, "edge_seeds": edge,
                       "undertrained": bool(rs.undertraining(recs))}
                ref = {r["seed"]: r["metrics"][metric] for r in ref_recs}
                common = sorted(set(vals) & set(ref))
                if remedy != self.reference and common:
                    a, b = [vals[s] for s in common], [ref[s] for s in common]
                    g, w = paired_diff_ci(a, b), paired_wins(a, b)
                    row.update(gain=g.mean, gain_low=g.low, gain_high=g.high, ci_excludes_zero=g.excludes_zero,
                               p=paired_pvalue(a, b), wins=w.wins, ties=w.ties, losses=w.losses, win_share=w.share)
                rows.append(row)
        compared = [r for r in rows if "p" in r]
        for r, adjusted in zip(compared, holm([r["p"] for r in compared])):
            r.update(p_holm=float(adjusted), significant_holm=bool(adjusted <= ALPHA))
        for r, v in zip(compared, self.verdicts(rows)):
            r.update(verdict=v.outcome, verdict_reason=v.reason)
        return rows

    def verdicts(self, rows: list[dict] | None = None, *, margin: float | None = None) -> list[vd.Verdict]:
        """The verdict (``scarce.report.verdict``) of every compared row of ``rows`` (default: the headline
        :meth:`summary`), with the flags of the row's and the reference's records at its size; ``margin``
        overrides the config's equivalence margin."""
        ref, margin = self.reference, self.margin if margin is None else margin
        return vd.summary_verdicts(self.summary() if rows is None else rows, margin=margin, flags=lambda label, size:
                                   vd.comparison_flags(rs.row_flags(self._records(label, size)),
                                                       rs.row_flags(self._records(ref, size))))

    @property
    def margin(self) -> float:
        """The equivalence margin of ``no effect`` verdicts: the config's ``equivalence_margin``."""
        return self.config.equivalence_margin if self.config else vd.DEFAULT_MARGIN

    def warnings(self, rows: list[dict] | None = None) -> list[str]:
        """Rows that look under-trained (the reference first), and a reference not above the
        majority-class rate; each names the row, the evidence and the fix. Empty when nothing is flagged.
        ``rows``: the headline :meth:`summary`, when the caller has it already."""
        ref = self.reference
        out = []
        for remedy in [ref] + [r for r in self.labels if r != ref]:
            for size in self.sizes:
                reasons = rs.undertraining(self._records(remedy, size))
                if reasons:
                    who = " (the reference: every gain at this size is measured against it)" if remedy == ref else ""
                    out.append(f"`{remedy}` at k={size} looks under-trained{who}: " + "; ".join(reasons) + ".")
        for row in self.summary() if rows is None else rows:
            if row["remedy"] == ref and row["not_above_majority"]:
                out.append(f"`{ref}` at k={row['size']} is not above the majority-class rate "
                           f"({100 * row['majority']:.1f}% {row['metric']}): it has not shown learning beyond a "
                           "constant answer, so gains over it say little (train longer or check the setup).")
        return out

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
        w.writeheader()
        for metric in METRICS:
            for row in self.summary(metric):
                w.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})
        return buf.getvalue()

    def _caption(self, metric: str, *, rates: bool = True, interval: bool = True) -> str:
        """What every table states: chance and majority rates, the interval's coverage, the tuning."""
        counts, c, n = rs.test_counts(self.records), rs.num_classes(self.records), rs.n_test(self.records)
        seeds = len({r["seed"] for r in self.records})
        parts = []
        if rates:
            chance = f"chance (1/C, C={c}) {100 / c:.1f}%" if c else "chance unknown"
            majority = (f"majority-class rate {100 * majority_score(counts, metric):.1f}% "
                        f"(always predicting the most frequent test class, in {metric.replace('_', ' ')}); "
                        "† marks a row whose interval does not lie above it" if counts
                        else "majority-class rate unknown (the log has no test class counts)")
            parts.append(f"{chance}; {majority}")
        if interval:
            parts.append(f"95% t-interval over {seeds} seeds (paired by seed); the test set is fixed "
                         f"({n if n is not None else '?'} examples) and its sampling error is not in the interval")
        grid = {"lr": self.config.train.lr, "weight_decay": self.config.train.weight_decay} if self.config else {}
        parts.append(rs.tuning_text(self.records, grid))
        return "_" + ". ".join(p[0].upper() + p[1:] for p in parts) + "._"

    def overview(self) -> str:
        """One line naming the dataset, model, subset kind, sizes, seeds and cell count (markdown-inline)."""
        seeds = sorted({r["seed"] for r in self.records})
        c = self.config
        return (f"Dataset `{c.dataset.name if c else '?'}`, model `{c.model.name if c else '?'}`, "
                f"subset `{c.subset.kind if c else 'per_class'}`, sizes {self.sizes}, "
                f"seeds {seeds}, {len(self.records)} cells{self._schedule()}.")

    def _schedule(self) -> str:
        """``; steps ...`` per size (``train.steps_by_size``), or ``; N steps`` (empty when unrecorded)."""
        if self.config is None:
            return ""
        train = self.config.train
        by = {int(k): v for k, v in train.steps_by_size.items()}
        if not any(size in by for size in self.sizes):
            return f"; {train.steps} steps of {train.batch_size}"
        return "; steps " + ", ".join(f"{by.get(size, train.steps)} at k={size}" for size in self.sizes) + \
            f" (batches of {train.batch_size})"

    def units_note(self) -> str:
        """What the numbers of the tables are (markdown-inline)."""
        return ("Means are over seeds ± half-width of the 95% t-interval, in %. Gains are paired differences to "
                f"`{self.reference}` (same subset, split, initialisation and step budget per seed), in points.")

    def summaries(self) -> dict[str, list[dict]]:
        """:meth:`summary` per metric, the headline metric first."""
        metric = self.metric
        return {m: self.summary(m) for m in [metric] + [x for x in METRICS if x != metric]}

    def tables(self, summaries: dict[str, list[dict]] | None = None) -> list[Table]:
        """Every table of the report in order: per metric (headline first) its mean ± CI table, for the
        headline also its gain and chosen-hyperparameter tables; then the failed cells, when any.

        Args:
            summaries: :meth:`summaries`, when the caller has them already.
        """
        summaries = self.summaries() if summaries is None else summaries
        out = []
        for m, rows in summaries.items():
            out.append(self._metric_table(m, rows))
            if m == self.metric:
                out += self._gain_table(rows, m) + self._hparam_table(rows)
        return out + self._failed_table()

    def to_markdown(self, *, command: str | None = None) -> str:
        metric, why = self.metric_choice
        lines = [f"# Results: {self.config.name if self.config else ''}", "", self.overview(), *pool.pool_lines(self.records)]
        if command:
            lines += ["", f"Produced by `{command}`."]
        summaries = self.summaries()
        lines += ["", f"Headline metric: **{metric}** ({why})."]
        lines += vd.markdown_section(self.verdicts(summaries[metric]), margin=self.margin, metric=metric)
        lines += ["", "![learning curves](metric_vs_size.png) ![paired gains over the reference](gain_vs_size.png)", "",
                  self.units_note()]
        warnings = self.warnings(summaries[metric])
        if warnings:
            lines += ["", "## Warnings", ""] + [f"- {w}" for w in warnings]
        for table in self.tables(summaries):
            lines += table.to_markdown()
        lines += ["", "Rebuild these tables from the log with `scarce report <this folder>`."]
        return "\n".join(lines) + "\n"

    def _metric_table(self, metric: str, rows: list[dict]) -> Table:
        sizes = self.sizes
        body = []
        for remedy in dict.fromkeys(r["remedy"] for r in rows):
            cells = {r["size"]: _pm(r) for r in rows if r["remedy"] == remedy}
            body.append((remedy, *(cells.get(s, "") for s in sizes)))
        return Table("metric", metric, f"{metric}" + (" (headline)" if metric == self.metric else ""), 2,
                     (self._caption(metric),), ("remedy", *(f"k={s}" for s in sizes)), tuple(body))

    def _failed_table(self) -> list[Table]:
        if not self.failed:
            return []
        note = (f"_{len(self.failed)} cell(s) raised an error and are in no table above; "
                "rerun the same command to retry them (finished cells are kept)._")
        body = tuple((r["remedy"], str(r["size"]), str(r["seed"]), " ".join(r["error"].split())) for r in self.failed)
        return [Table("failed", "", "Failed cells", 2, (note,), ("remedy", "k", "seed", "error"), body)]

    def _gain_table(self, rows: list[dict], metric: str) -> list[Table]:
        gains = [r for r in rows if "gain" in r]
        if not gains:
            return []
        ref = self.reference
        floor = vd.floor_note([r["wins"] + r["ties"] + r["losses"] for r in gains], len(gains), alpha=ALPHA)
        note = (f"_Gain in points [raw 95% t-interval]; {floor}. Holm p: adjusted over the {len(gains)} comparisons of this table, "
                f"`*` when ≤ {ALPHA}. Win share: seeds where the remedy beat `{ref}`, ties counted half (wins-ties-"
                f"losses). Cost: mean seconds per cell preparing the remedy and training (incl. the tuning grid); "
                f"× ref: (preparation + training) over `{ref}`'s training time at the same size.{pool.cost_note(self.records)}_")
        body = tuple((r["remedy"], str(r["size"]), _gain(r), _p(r["p"]), _p(r["p_holm"]),
                      f"{100 * r['win_share']:.0f}% ({r['wins']}-{r['ties']}-{r['losses']})",
                      _sec(r["prep_seconds"]), _sec(r["train_seconds"]), _ratio(r["cost_ratio"])) for r in gains)
        return [Table("gain", metric, f"gain in {metric} over `{ref}`, win share and cost", 3,
                      (self._caption(metric, rates=False), note),
                      ("remedy", "k", "gain [95% CI]", "p", "Holm p", "win share", "prep s", "train s", "× ref"), body)]

    def _hparam_table(self, rows: list[dict]) -> list[Table]:
        if not any(r["hparams"] for r in rows):
            return []
        note = ("_Value chosen per seed (×count when seeds differ, most frequent first). ‡ n/N: chosen at an end "
                "of its grid in n of N seeds; the best value may lie outside the grid: widen it._")
        body = []
        for r in rows:
            recs = self._records(r["remedy"], r["size"])
            edge = f"‡ {r['edge_seeds']}/{r['n_seeds']} ({', '.join(rs.edge_names(recs))})" if r["edge_seeds"] else ""
            body.append((r["remedy"], str(r["size"]), r["hparams"], edge))
        return [Table("hparams", self.metric, "chosen hyperparameters", 3,
                      (self._caption(self.metric, rates=False, interval=False), note),
                      ("remedy", "k", "chosen", "at grid edge"), tuple(body))]

    def plot(self, path: str | Path, metric: str | None = None) -> Path:
        """Learning curves (metric vs size, 95% CI over seeds; reference learners dashed)."""
        return plots.learning_curves(self, path, metric=metric or self.metric, dashed=self._dashed())

    def plot_gains(self, path: str | Path, metric: str | None = None) -> Path:
        """Each row's paired gain over the reference per size, with its interval (a forest plot)."""
        return plots.gain_forest(self, path, metric=metric or self.metric)

    def figures(self, metric: str | None = None) -> dict[str, Any]:
        """The two plots as matplotlib ``Figure``s, keyed by the file name :meth:`write` gives them."""
        metric = metric or self.metric
        return {"metric_vs_size.png": plots.learning_figure(self, metric=metric, dashed=self._dashed()),
                "gain_vs_size.png": plots.gain_figure(self, metric=metric)}

    def _dashed(self) -> set[str]:
        return {r.label for r in self.config.rows() if r.learner is not None} if self.config else set()

    def write(self, out_dir: str | Path) -> None:
        """Write ``results.md``, ``results.csv``, ``metric_vs_size.png``, ``gain_vs_size.png`` and
        ``report.html`` (the same, one self-contained page with the plots embedded, and the previews
        ``scarce preview`` left in ``out_dir``) into ``out_dir``."""
        out_dir = Path(out_dir)
        cmd = out_dir / "command.txt"
        command = cmd.read_text(encoding="utf-8").strip() if cmd.exists() else None
        atomic_write_text(out_dir / "results.md", self.to_markdown(command=command))
        atomic_write_text(out_dir / "results.csv", self.to_csv())
        self.plot(out_dir / "metric_vs_size.png")
        self.plot_gains(out_dir / "gain_vs_size.png")
        atomic_write_text(out_dir / "report.html", render_html(self, command=command, previews=read_previews(out_dir)))


def _grid_keys(config: ExperimentConfig | None) -> set[str] | None:
    """Cell keys of the config's grid (``None`` when the config does not spell out its grid: keep
    every record)."""
    labels = [r.label for r in config.rows()] if config else []
    if not (labels and config.sizes and config.seeds):
        return None
    return {cell_key(r, k, s) for r in labels for k in config.sizes for s in config.seeds}


def _pm(r: dict) -> str:
    mark = " †" if r["not_above_majority"] else ""
    if math.isnan(r["ci_low"]):
        return f"{100 * r['mean']:.1f}{mark}"
    return f"{100 * r['mean']:.1f} ± {100 * (r['ci_high'] - r['mean']):.1f}{mark}"


def _gain(r: dict) -> str:
    star = " *" if r["significant_holm"] else ""
    if math.isnan(r["gain_low"]):
        return f"{100 * r['gain']:+.1f} (1 seed, no interval){star}"
    return f"{100 * r['gain']:+.1f} [{100 * r['gain_low']:+.1f}, {100 * r['gain_high']:+.1f}]{star}"


def _p(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _sec(s: float) -> str:
    return "–" if math.isnan(s) else f"{s:.1f}"


def _ratio(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.1f}×"
