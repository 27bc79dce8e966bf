"""The two pictures of an ablation, drawn from ``Results`` on standalone matplotlib ``Figure``s (the
caller's backend and pyplot state are untouched):

* :func:`learning_curves` (``metric_vs_size.png``): the headline metric against the training size
  (log x), a line per row with its 95% t-interval over seeds; reference learners dashed;
* :func:`gain_forest` (``gain_vs_size.png``): each row's paired gain over the reference with its 95%
  t-interval, per size (a forest plot), so "by how much" is one glance rather than a subtraction of two
  curves; a filled marker is a gain that stays significant after Holm's correction, an open one is not.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

from scarce._io import atomic_write


def save_figure(fig, path: str | Path) -> Path:
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    return Path(path)


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes, drawn in memory exactly as the saved files are (for embedding in HTML)."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return buf.getvalue()


def learning_curves(results, path: str | Path, *, metric: str, dashed: set[str]) -> Path:
    """Write :func:`learning_figure` to ``path`` (PNG)."""
    return save_figure(learning_figure(results, metric=metric, dashed=dashed), path)


def learning_figure(results, *, metric: str, dashed: set[str]):
    """Metric vs training-set size with 95% CI bars, one line per row (``dashed``: reference learners)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.subplots()
    summary, names = results.summary(metric), results.labels
    for i, remedy in enumerate(names):
        pts = [r for r in summary if r["remedy"] == remedy]
        x = [r["size"] * (1 + 0.02 * (i - len(names) / 2)) for r in pts]
        y = [100 * r["mean"] for r in pts]
        err = [0 if math.isnan(r["ci_low"]) else 100 * (r["ci_high"] - r["mean"]) for r in pts]
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=remedy, linestyle="--" if remedy in dashed else "-")
    ax.set_xscale("log")
    ax.set_xticks(results.sizes, [str(s) for s in results.sizes])
    ax.minorticks_off()
    ax.set_xlabel("training examples per class (k)")
    ax.set_ylabel(f"test {metric.replace('_', ' ')} (%)")
    ax.set_title(f"{results.config.name if results.config else ''}: {metric} vs size\n(95% CI over seeds)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def gain_forest(results, path: str | Path, *, metric: str) -> Path:
    """Write :func:`gain_figure` to ``path`` (PNG)."""
    return save_figure(gain_figure(results, metric=metric), path)


def gain_figure(results, *, metric: str):
    """Paired gain over the reference (points) with its 95% t-interval, a line per (row, size)."""
    from matplotlib.figure import Figure

    rows = [r for r in results.summary(metric) if "gain" in r]
    names = [n for n in results.labels if any(r["remedy"] == n for r in rows)]
    sizes = results.sizes
    fig = Figure(figsize=(6.5, max(2.2, 0.32 * len(names) * len(sizes) + 1.2)))
    ax = fig.subplots()
    colours = [f"C{i % 10}" for i in range(len(sizes))]
    ticks, labels = [], []
    for i, name in enumerate(reversed(names)):
        for j, size in enumerate(sizes):
            hit = [r for r in rows if r["remedy"] == name and r["size"] == size]
            if not hit:
                continue
            r, y = hit[0], i * (len(sizes) + 1) + j
            gain = 100 * r["gain"]
            if not math.isnan(r["gain_low"]):
                ax.plot([100 * r["gain_low"], 100 * r["gain_high"]], [y, y], color=colours[j], lw=1.6)
            filled = bool(r.get("significant_holm"))
            ax.plot([gain], [y], "o", color=colours[j], markerfacecolor=colours[j] if filled else "white")
            ticks.append(y)
            labels.append(f"{name}  k={size}")
    ax.axvline(0.0, color="0.3", lw=1)
    ax.set_yticks(ticks, labels, fontsize=7)
    ax.set_xlabel(f"gain in {metric.replace('_', ' ')} over `{results.reference}` (points, 95% CI over seeds)")
    ax.set_title(f"{results.config.name if results.config else ''}: paired gains\n(filled: significant after Holm)", fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    if ticks:  # one colour per size; the marker's fill is explained in the title
        from matplotlib.lines import Line2D

        ax.legend(handles=[Line2D([], [], color=c, lw=1.6, label=f"k = {s}") for c, s in zip(colours, sizes)],
                  fontsize=7, loc="best")
    return fig
