"""Pictures and sounds of a preview: image grids, spectrogram grids, grouped bars (drawn on
standalone matplotlib ``Figure`` s: the caller's backend is untouched) and WAV bytes."""

from __future__ import annotations

import io
import wave
from collections.abc import Sequence

import numpy as np

from scarce.report.plots import png_bytes


def _figure(rows: int, cols: int, *, cell: tuple[float, float]):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(2.5, cell[0] * cols + 1.2), cell[1] * rows + 0.4))
    axes = np.atleast_2d(fig.subplots(rows, cols, squeeze=False))
    return fig, axes


def as_display(image) -> np.ndarray:
    """An image as an ``(H, W)`` or ``(H, W, 3)`` array matplotlib shows as is: uint8 kept, floats
    taken as [0, 1] and clipped."""
    x = np.asarray(image)
    if x.ndim == 3 and x.shape[2] == 1:
        x = x[..., 0]
    return x if x.dtype == np.uint8 else np.clip(x.astype(np.float32), 0.0, 1.0)


def _grid(rows: Sequence[Sequence], show, *, cell: tuple[float, float], row_titles: Sequence[str],
          cell_titles: Sequence[Sequence[str]] | None, title: str) -> bytes:
    """A grid of panels, one list per row (rows may be shorter than the widest); ``show(ax, item)`` draws one."""
    cols = max(len(r) for r in rows)
    fig, axes = _figure(len(rows), cols, cell=cell)
    for i, row in enumerate(rows):
        for j in range(cols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(row):
                ax.axis("off")
                continue
            show(ax, row[j])
            if cell_titles is not None and cell_titles[i][j]:
                ax.set_title(cell_titles[i][j], fontsize=6)
        axes[i, 0].set_ylabel(row_titles[i], fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    return png_bytes(fig)


def _show_image(ax, image) -> None:
    x = as_display(image)
    ax.imshow(x, cmap="gray" if x.ndim == 2 else None, vmin=0, vmax=255 if x.dtype == np.uint8 else 1,
              interpolation="nearest")


def _show_spectrogram(ax, spec) -> None:
    ax.imshow(np.asarray(spec), origin="lower", aspect="auto", cmap="magma", interpolation="nearest")


def image_grid(rows: Sequence[Sequence], *, row_titles: Sequence[str], cell_titles: Sequence[Sequence[str]] | None = None,
               title: str = "") -> bytes:
    """A grid of images, one list per row, as PNG bytes."""
    return _grid(rows, _show_image, cell=(1.25, 1.35 if cell_titles else 1.2), row_titles=row_titles,
                 cell_titles=cell_titles, title=title)


def spectrogram_grid(rows: Sequence[Sequence[np.ndarray]], *, row_titles: Sequence[str],
                     cell_titles: Sequence[Sequence[str]] | None = None, title: str = "") -> bytes:
    """Log-mel spectrograms (``(mels, frames)`` arrays, low frequencies at the bottom) in a grid, as PNG bytes."""
    return _grid(rows, _show_spectrogram, cell=(2.0, 1.4), row_titles=row_titles, cell_titles=cell_titles,
                 title=title)


def bars(categories: Sequence[str], series: dict[str, Sequence[float]], *, ylabel: str, title: str) -> bytes:
    """Grouped bars: one group per category, one bar per series, as PNG bytes."""
    from matplotlib.figure import Figure

    n = len(categories)
    fig = Figure(figsize=(min(11.0, max(4.0, 0.45 * n * max(1, len(series)) + 1.5)), 2.8))
    ax = fig.subplots()
    width = 0.8 / max(1, len(series))
    x = np.arange(n)
    for k, (name, values) in enumerate(series.items()):
        ax.bar(x + (k - (len(series) - 1) / 2) * width, np.asarray(values, float), width, label=name)
    ax.set_xticks(x, [str(c) for c in categories], fontsize=7, rotation=45 if n > 12 else 0)
    ax.axhline(0.0, color="0.3", lw=0.8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return png_bytes(fig)


def wav_bytes(clip: np.ndarray, sample_rate: int) -> bytes:
    """A mono float waveform as 16-bit PCM WAV bytes (peak-normalised if it clips)."""
    x = np.asarray(clip, np.float32).reshape(-1)
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak > 1.0:
        x = x / peak
    pcm = (np.clip(x, -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()


def short(text: str, limit: int = 160) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
