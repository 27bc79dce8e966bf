"""How each modality's examples are shown in a preview: the ``display`` plug-in of a
:class:`~scarce.modalities.Modality` (the built-ins: :data:`IMAGE_DISPLAY`, :data:`TEXT_DISPLAY`,
:data:`AUDIO_DISPLAY`).

The makers of :mod:`scarce.preview.samples` prepare what to show (the examples, their augmented
draws, a collated batch before and after the batch transform, the model's input) the same way for
every modality, then ask the row's display for the blocks. A display method returns ``None`` where
it has no picture of that thing; the maker then says so in a sentence. Images are shown as grids,
texts as tables, audio clips as log-mel spectrograms (as the model is fed them) with the first
clips playable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from scarce.preview import draw
from scarce.preview.base import Block, PreviewContext

AUDIO_CLIPS = 2
"""Clips made playable per block (the page stays small)."""

Items = Sequence[tuple[Any, int]]


def class_titles(names: list[str], labels: Sequence[int]) -> list[str]:
    """The class name of each label."""
    return [names[int(y)] for y in labels]


def captions_of(ctx: PreviewContext, items: Items, captions: Sequence[str] | None) -> list[str]:
    """``captions`` as given, else the class name of each item."""
    return list(captions) if captions is not None else class_titles(ctx.class_names, [y for _, y in items])


def soft_label(y, names: list[str]) -> str:
    """A (soft) target as text: ``0.62 cat + 0.38 dog`` (the two largest shares), or the class name."""
    if getattr(y, "dim", lambda: 0)() == 0:
        return names[int(y)]
    weights = y.detach().float().cpu().numpy()
    top = [int(i) for i in np.argsort(-weights)[:2] if weights[i] >= 0.005]
    if len(top) == 1:  # not mixed (or mixed with its own class)
        return names[top[0]]
    return " + ".join(f"{weights[i]:.2f} {names[i]}" for i in top)


class Display:
    """How one modality's examples are shown; every method returns blocks, or ``None`` for "no picture".

    Attributes:
        handful: how many training examples a preview shows by default.
        tabular: examples are shown as cells of a table (texts): originals sit left of their draws,
            and the new rows a remedy makes are listed beside the example they came from.
    """

    handful: int = 6
    tabular: bool = False

    def examples(self, ctx: PreviewContext, items: Items, *, title: str, text: str, name: str,
                 captions: Sequence[str] | None = None) -> list[Block] | None:
        """``items`` (``(x, label)``) as they are, each captioned by its class name or by ``captions``
        (one per item, e.g. "cat (0.97)": a pseudo-label and its confidence)."""
        return None

    def transform(self, ctx: PreviewContext, originals: Items, draws: list[list[Any]], *, title: str, text: str,
                  row_titles: list[str]) -> list[Block] | None:
        """The ``originals`` and rows of per-sample augmented ``draws`` of each (``draws[r][j]``: draw ``r`` of ``j``)."""
        return None

    def batch(self, ctx: PreviewContext, *, collate: Callable, items: Items, x: Any, y: Any, mixed: Any,
              soft: Any) -> list[Block] | None:
        """A collated batch ``(x, y)`` of ``items`` and what the batch transform made of it ``(mixed, soft)``."""
        return None

    def model_input(self, ctx: PreviewContext, *, collate: Callable, items: Items, x: Any) -> list[Block] | None:
        """What the model is fed: the collate's output ``x`` for ``items``."""
        return None


# ------------------------------------------------------------------------------------------- images
def _unnormalise(collate, example: np.ndarray, x) -> np.ndarray:
    """Images a collate produced (``(B, C, H, W)``), mapped back to [0, 1] for display: the collate's
    per-channel affine normalisation is read off a black and a white image of the example's shape."""
    ex = np.asarray(example)
    if ex.dtype != np.uint8:  # no known range: stretch each image
        lo = x.amin(dim=(1, 2, 3), keepdim=True)
        return ((x - lo) / (x.amax(dim=(1, 2, 3), keepdim=True) - lo).clamp_min(1e-8)).permute(0, 2, 3, 1).numpy()
    black, _ = collate([(np.zeros_like(ex), 0)])
    white, _ = collate([(np.full_like(ex, 255), 0)])
    lo, hi = black[0].mean(dim=(1, 2)), white[0].mean(dim=(1, 2))
    out = (x.detach().float().cpu() - lo[None, :, None, None]) / (hi - lo).clamp_min(1e-8)[None, :, None, None]
    return out.permute(0, 2, 3, 1).numpy()


def _is_image_batch(x) -> bool:
    return getattr(x, "dim", lambda: 0)() == 4 and x.shape[1] in (1, 3)


class ImageDisplay(Display):
    """Image grids, titled by class (or by soft label for a mixed batch)."""

    handful = 8

    def examples(self, ctx, items, *, title, text, name, captions=None):
        per_row = max(1, len(ctx.examples))
        xs = [x for x, _ in items]
        rows = [xs[i:i + per_row] for i in range(0, len(xs), per_row)]
        titles = captions_of(ctx, items, captions)
        cells = [titles[i:i + per_row] for i in range(0, len(titles), per_row)]
        png = draw.image_grid(rows, row_titles=[""] * len(rows), cell_titles=cells)
        return [Block(title, text, png=png, name=name)]

    def transform(self, ctx, originals, draws, *, title, text, row_titles):
        n = len(originals)
        png = draw.image_grid([[x for x, _ in originals]] + draws, row_titles=row_titles,
                              cell_titles=[class_titles(ctx.class_names, [y for _, y in originals])]
                              + [[""] * n] * len(draws))
        return [Block(title, text, png=png, name="transform")]

    def batch(self, ctx, *, collate, items, x, y, mixed, soft):
        if not _is_image_batch(x):
            return None
        names = ctx.class_names
        rows = [list(_unnormalise(collate, items[0][0], x)), list(_unnormalise(collate, items[0][0], mixed))]
        cells = [[soft_label(t, names) for t in y], [soft_label(t, names) for t in soft]]
        png = draw.image_grid(rows, row_titles=["batch", "transformed"], cell_titles=cells)
        text = (f"A batch of {len(items)} training examples (top) and what the batch transform makes of it (bottom), "
                "each titled with its training target: mixed images train on mixed (soft) labels.")
        return [Block("Batch transform", text, png=png, name="batch")]

    def model_input(self, ctx, *, collate, items, x):
        if not _is_image_batch(x):
            return None
        png = draw.image_grid([[a for a, _ in items], list(_unnormalise(collate, items[0][0], x))],
                              row_titles=["original", "model input"],
                              cell_titles=[class_titles(ctx.class_names, [b for _, b in items]), [""] * len(items)])
        shape = "×".join(str(s) for s in np.asarray(items[0][0]).shape)
        text = (f"The examples as stored ({shape}) and as the model receives them ({x.shape[1]}×{x.shape[2]}×"
                f"{x.shape[3]}: resized and normalised; shown here mapped back to the 0-255 range).")
        return [Block("Model input", text, png=png, name="collate")]


# -------------------------------------------------------------------------------------------- texts
class TextDisplay(Display):
    """Tables of (shortened) texts with their class."""

    tabular = True

    def examples(self, ctx, items, *, title, text, name, captions=None):
        titles = captions_of(ctx, items, captions)
        table = (("class", "text"),) + tuple((t, draw.short(x)) for (x, _), t in zip(items, titles))
        return [Block(title, text, table=table)]

    def transform(self, ctx, originals, draws, *, title, text, row_titles):
        names = class_titles(ctx.class_names, [y for _, y in originals])
        table = (("class", "original", *row_titles[1:]),) + tuple(
            (names[j], draw.short(originals[j][0]), *(draw.short(row[j]) for row in draws))
            for j in range(len(originals)))
        return [Block(title, text, table=table)]


# -------------------------------------------------------------------------------------------- audio
def _audio_collate(setup):
    if setup.collate is not None:
        return setup.collate
    from scarce.models.audio_frontend import LogMelCollate, MelConfig

    return LogMelCollate(MelConfig(sample_rate=int(setup.train.sample_rate)))


def log_mels(setup, items: Items) -> list[np.ndarray]:
    """The log-mel of each clip as the audio model is fed it (the setup's log-mel collate), valid frames only."""
    x, _ = _audio_collate(setup)(list(items))
    return [_valid(x[i]) for i in range(len(items))]


def _valid(spec) -> np.ndarray:
    """Channel 0 of a ``(2, mels, T)`` log-mel item, cut to the frames channel 1 marks valid."""
    arr = spec.detach().float().cpu().numpy()
    if arr.shape[0] < 2:
        return arr[0]
    frames = int((arr[1, 0] > 0).sum()) or arr.shape[-1]
    return arr[0, :, :frames]


class AudioDisplay(Display):
    """Log-mel spectrograms as the model is fed them, the first :data:`AUDIO_CLIPS` clips playable."""

    handful = 4

    def examples(self, ctx, items, *, title, text, name, captions=None):
        titles = captions_of(ctx, items, captions)
        png = draw.spectrogram_grid([log_mels(ctx.before, items)], row_titles=["log-mel"], cell_titles=[titles])
        rate = int(ctx.before.train.sample_rate)
        clips = tuple((t, draw.wav_bytes(x, rate)) for (x, _), t in zip(items[:AUDIO_CLIPS], titles))
        return [Block(title, text, png=png, name=name, audio=clips)]

    def transform(self, ctx, originals, draws, *, title, text, row_titles):
        n = len(originals)
        names = class_titles(ctx.class_names, [y for _, y in originals])
        labels = [y for _, y in originals]
        specs = [log_mels(ctx.before, originals)] + [log_mels(ctx.before, list(zip(r, labels))) for r in draws]
        png = draw.spectrogram_grid(specs, row_titles=row_titles, cell_titles=[names] + [[""] * n] * len(draws))
        rate = int(ctx.before.train.sample_rate)
        clips = []
        for j in range(min(AUDIO_CLIPS, n)):
            clips += [(f"{names[j]}: original", draw.wav_bytes(originals[j][0], rate)),
                      (f"{names[j]}: draw 1", draw.wav_bytes(draws[0][j], rate))]
        return [Block(title, text + " Log-mel spectrograms as the model is fed them.", png=png, name="transform",
                      audio=tuple(clips))]

    def batch(self, ctx, *, collate, items, x, y, mixed, soft):
        import torch

        if getattr(x, "dim", lambda: 0)() != 4:
            return None
        before = [_valid(x[i]) for i in range(len(items))]
        after = [_valid(torch.stack([mixed[i][0], x[i][1]])) for i in range(len(items))]
        png = draw.spectrogram_grid([before, after], row_titles=["batch", "transformed"],
                                    cell_titles=[[soft_label(t, ctx.class_names) for t in y], [""] * len(items)])
        text = (f"Log-mels of a batch of {len(items)} training clips (top) and after the batch transform (bottom), "
                "as the model is fed them.")
        return [Block("Batch transform", text, png=png, name="batch")]


IMAGE_DISPLAY, TEXT_DISPLAY, AUDIO_DISPLAY = ImageDisplay(), TextDisplay(), AudioDisplay()
