"""Tables and plots rebuilt from ``results.jsonl``: ``results.md``, ``results.csv`` and
``metric_vs_size.png`` (mean with 95% CI per remedy and size; gain over the baseline with a paired
95% CI, marked significant only when the interval excludes 0)."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scarce._io import atomic_write, atomic_write_text
from scarce.experiment.cells import LOGREG
from scarce.experiment.setup import remedy_label
from scarce.metrics import METRICS, mean_ci, paired_diff_ci


@dataclass
class Results:
    """Records of finished cells plus the config that produced them."""

    records: list[dict]
    config: dict

    @classmethod
    def from_dir(cls, out_dir: str | Path) -> "Results":
        from scarce.experiment.runner import CONFIG, LOG, read_log

        out_dir = Path(out_dir)
        if not (out_dir / LOG).exists():
            raise FileNotFoundError(f"No {LOG} in '{out_dir}': run `scarce ablate` there first.")
        config = yaml.safe_load((out_dir / CONFIG).read_text(encoding="utf-8")) if (out_dir / CONFIG).exists() else {}
        grid = _grid_keys(config or {})
        seen, records = set(), []
        for r in read_log(out_dir / LOG):
            if grid is not None and r.get("key") not in grid:
                continue  # a cell of a size, seed or remedy the current config no longer has
            if r.get("key") not in seen:
                seen.add(r.get("key"))
                records.append(r)
        return cls(records, config or {})

    @property
    def remedies(self) -> list[str]:
        order = [remedy_label(s) for s in self.config.get("remedies", [])]
        present = {r["remedy"] for r in self.records}
        return [r for r in order if r in present] + sorted(present - set(order) - {LOGREG}) + (
            [LOGREG] if LOGREG in present else [])

    @property
    def reference(self) -> str:
        """The row gains are measured against: the ``baseline`` remedy, else the first one."""
        specs = self.config.get("remedies", [])
        for s in specs:
            if (s if isinstance(s, str) else s.get("name")) == "baseline":
                return remedy_label(s)
        return self.remedies[0]

    @property
    def sizes(self) -> list[int]:
        return sorted({r["size"] for r in self.records})

    def _values(self, remedy: str, size: int, metric: str) -> dict[int, float]:
        return {r["seed"]: r["metrics"][metric] for r in self.records if r["remedy"] == remedy and r["size"] == size}

    def summary(self, metric: str = "accuracy") -> list[dict[str, Any]]:
        """One row per (remedy, size): mean and CI over seeds, and the paired gain over the reference."""
        rows = []
        for remedy in self.remedies:
            for size in self.sizes:
                vals = self._values(remedy, size, metric)
                if not vals:
                    continue
                ci = mean_ci(list(vals.values()))
                row = {"remedy": remedy, "size": size, "metric": metric, "n_seeds": ci.n, "mean": ci.mean,
                       "ci_low": ci.low, "ci_high": ci.high}
                ref = self._values(self.reference, size, metric)
                common = sorted(set(vals) & set(ref))
                if remedy != self.reference and common:
                    g = paired_diff_ci([vals[s] for s in common], [ref[s] for s in common])
                    row.update(gain=g.mean, gain_low=g.low, gain_high=g.high, significant=g.excludes_zero)
                rows.append(row)
        return rows

    def to_csv(self) -> str:
        buf = io.StringIO()
        cols = ["remedy", "size", "metric", "n_seeds", "mean", "ci_low", "ci_high", "gain", "gain_low",
                "gain_high", "significant"]
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        for metric in METRICS:
            for row in self.summary(metric):
                w.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})
        return buf.getvalue()

    def to_markdown(self, *, command: str | None = None) -> str:
        metric = self.config.get("metric", "accuracy")
        seeds = sorted({r["seed"] for r in self.records})
        ds = self.config.get("dataset", {}).get("name", "?")
        lines = [f"# Results: {self.config.get('name', '')}", "",
                 f"Dataset `{ds}`, model `{self.config.get('model', {}).get('name', '?')}`, "
                 f"subset `{self.config.get('subset', {}).get('kind', 'per_class')}`, sizes {self.sizes}, "
                 f"seeds {seeds}, {len(self.records)} cells."]
        if command:
            lines += ["", f"Produced by `{command}`."]
        lines += ["", "Mean over seeds ± half-width of the 95% t-interval, in %. Gains are paired differences to "
                  f"`{self.reference}` (same subset, split, initialisation and step budget per seed), in points, "
                  "with their 95% t-interval; `*` marks a gain whose interval excludes 0.", ""]
        for m in [metric] + [x for x in METRICS if x != metric]:
            lines += [f"## {m}", "", self._table(self.summary(m), lambda r: _pm(r)), ""]
            if m == metric:
                rows = [r for r in self.summary(m) if "gain" in r]
                lines += [f"### gain in {m} over `{self.reference}`", "", self._table(rows, _gain), ""]
        lines.append("Rebuild these tables from the log with `scarce report <this folder>`.")
        return "\n".join(lines) + "\n"

    def _table(self, rows: list[dict], fmt) -> str:
        sizes = self.sizes
        out = ["| remedy | " + " | ".join(f"k={s}" for s in sizes) + " |", "|---|" + "---|" * len(sizes)]
        for remedy in dict.fromkeys(r["remedy"] for r in rows):
            cells = {r["size"]: fmt(r) for r in rows if r["remedy"] == remedy}
            out.append(f"| {remedy} | " + " | ".join(cells.get(s, "") for s in sizes) + " |")
        return "\n".join(out)

    def plot(self, path: str | Path, metric: str | None = None) -> Path:
        """Learning curves: metric vs training-set size (log x) with 95% CI bars, one line per remedy."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        metric = metric or self.config.get("metric", "accuracy")
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        rows = self.summary(metric)
        for i, remedy in enumerate(self.remedies):
            rs = [r for r in rows if r["remedy"] == remedy]
            x = [r["size"] * (1 + 0.02 * (i - len(self.remedies) / 2)) for r in rs]
            y = [100 * r["mean"] for r in rs]
            err = [0 if math.isnan(r["ci_low"]) else 100 * (r["ci_high"] - r["mean"]) for r in rs]
            ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=remedy, linestyle="--" if remedy == LOGREG else "-")
        ax.set_xscale("log")
        ax.set_xticks(self.sizes, [str(s) for s in self.sizes])
        ax.minorticks_off()
        ax.set_xlabel("training examples per class (k)")
        ax.set_ylabel(f"test {metric.replace('_', ' ')} (%)")
        ax.set_title(f"{self.config.get('name', '')}: {metric} vs size (95% CI over seeds)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
        plt.close(fig)
        return Path(path)

    def write(self, out_dir: str | Path) -> None:
        """Write ``results.md``, ``results.csv`` and ``metric_vs_size.png`` into ``out_dir``."""
        out_dir = Path(out_dir)
        cmd = out_dir / "command.txt"
        command = cmd.read_text(encoding="utf-8").strip() if cmd.exists() else None
        atomic_write_text(out_dir / "results.md", self.to_markdown(command=command))
        atomic_write_text(out_dir / "results.csv", self.to_csv())
        self.plot(out_dir / "metric_vs_size.png")


def _grid_keys(config: dict) -> set[str] | None:
    """Cell keys of the config's grid (``None`` when the config does not spell out its grid: keep
    every record)."""
    from scarce.experiment.cells import cell_key

    if not all(config.get(k) for k in ("remedies", "sizes", "seeds")):
        return None
    labels = [remedy_label(s) for s in config["remedies"]] + [LOGREG]
    return {cell_key(r, k, s) for r in labels for k in config.get("sizes", []) for s in config.get("seeds", [])}


def _pm(r: dict) -> str:
    if math.isnan(r["ci_low"]):
        return f"{100 * r['mean']:.1f}"
    return f"{100 * r['mean']:.1f} ± {100 * (r['ci_high'] - r['mean']):.1f}"


def _gain(r: dict) -> str:
    if math.isnan(r["gain_low"]):
        return f"{100 * r['gain']:+.1f}"
    star = " *" if r["significant"] else ""
    return f"{100 * r['gain']:+.1f} [{100 * r['gain_low']:+.1f}, {100 * r['gain_high']:+.1f}]{star}"
