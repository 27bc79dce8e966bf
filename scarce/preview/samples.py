"""Makers for what a remedy does to examples: the per-sample transform (augmented draws), the batch
transform (a collated batch before/after, soft labels) and the collate (what the model is fed), plus
:func:`show_examples`, the handful of examples of any modality as blocks.

Draws go through :class:`scarce.steps.Draws` with the cell's seed and batches through the setup's
collate and a ``torch.Generator`` seeded with it, exactly as training does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from scarce.preview import draw
from scarce.preview.base import Block, PreviewContext
from scarce.steps import Draws

AUDIO_CLIPS = 2
"""Clips made playable per block (the page stays small)."""


def _audio_collate(setup):
    if setup.collate is not None:
        return setup.collate
    from scarce.models.audio_frontend import LogMelCollate, MelConfig

    return LogMelCollate(MelConfig(sample_rate=int(setup.train.sample_rate)))


def log_mels(setup, items: Sequence[tuple[Any, int]]) -> list[np.ndarray]:
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


def _class_titles(names: list[str], labels: Sequence[int]) -> list[str]:
    return [names[int(y)] for y in labels]


def show_examples(ctx: PreviewContext, items: Sequence[tuple[Any, int]], *, title: str, text: str = "",
                  name: str = "examples") -> list[Block]:
    """``items`` (``(x, label)``) shown for the row's modality: an image grid, a table of texts, or
    log-mel spectrograms with the first clips playable."""
    labels = [y for _, y in items]
    if ctx.modality == "image":
        per_row = max(1, len(ctx.examples))
        xs = [x for x, _ in items]
        rows = [xs[i:i + per_row] for i in range(0, len(xs), per_row)]
        titles = _class_titles(ctx.class_names, labels)
        cells = [titles[i:i + per_row] for i in range(0, len(titles), per_row)]
        png = draw.image_grid(rows, row_titles=[""] * len(rows), cell_titles=cells)
        return [Block(title, text, png=png, name=name)]
    if ctx.modality == "text":
        table = (("class", "text"),) + tuple((ctx.class_names[y], draw.short(x)) for x, y in items)
        return [Block(title, text, table=table)]
    if ctx.modality == "audio":
        png = draw.spectrogram_grid([log_mels(ctx.before, items)], row_titles=["log-mel"],
                                    cell_titles=[_class_titles(ctx.class_names, labels)])
        rate = int(ctx.before.train.sample_rate)
        clips = tuple((ctx.class_names[y], draw.wav_bytes(x, rate)) for x, y in items[:AUDIO_CLIPS])
        return [Block(title, text, png=png, name=name, audio=clips)]
    return [Block(title, f"{text} (no picture for {ctx.modality!r} data)".strip())]


def preview_transform(ctx: PreviewContext) -> list[Block]:
    """The handful of examples, then ``ctx.draws`` rows of augmented draws of them."""
    transform = ctx.after.transform
    if transform is None:
        return [Block("Per-sample transform", f"'{ctx.label}' removes the per-sample transform.")]
    draws = Draws(ctx.before.train, transform, ctx.seed)
    n = len(ctx.examples)
    originals = ctx.originals()
    rows = [[draws[(i, r * n + j)][0] for j, i in enumerate(ctx.examples)] for r in range(ctx.draws)]
    title = "Per-sample augmentation"
    text = (f"{n} training examples ({'left' if ctx.modality == 'text' else 'top'}) and {ctx.draws} augmented draws "
            f"of each, drawn as training draws them (seed {ctx.seed}).")
    names = _class_titles(ctx.class_names, [y for _, y in originals])
    row_titles = ["original"] + [f"draw {r + 1}" for r in range(ctx.draws)]
    if ctx.modality == "image":
        png = draw.image_grid([[x for x, _ in originals]] + rows, row_titles=row_titles,
                              cell_titles=[names] + [[""] * n] * ctx.draws)
        return [Block(title, text, png=png, name="transform")]
    if ctx.modality == "text":
        table = (("class", "original", *row_titles[1:]),) + tuple(
            (names[j], draw.short(originals[j][0]), *(draw.short(rows[r][j]) for r in range(ctx.draws)))
            for j in range(n))
        return [Block(title, text, table=table)]
    if ctx.modality == "audio":
        labels = [y for _, y in originals]
        specs = [log_mels(ctx.before, originals)] + [log_mels(ctx.before, list(zip(r, labels))) for r in rows]
        png = draw.spectrogram_grid(specs, row_titles=row_titles, cell_titles=[names] + [[""] * n] * ctx.draws)
        rate = int(ctx.before.train.sample_rate)
        clips = []
        for j in range(min(AUDIO_CLIPS, n)):
            clips += [(f"{names[j]}: original", draw.wav_bytes(originals[j][0], rate)),
                      (f"{names[j]}: draw 1", draw.wav_bytes(rows[0][j], rate))]
        return [Block(title, text + " Log-mel spectrograms as the model is fed them.", png=png, name="transform",
                      audio=tuple(clips))]
    return [Block(title, f"'{ctx.label}' changes the per-sample transform; no picture for {ctx.modality!r} data.")]


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


def _is_image_batch(ctx: PreviewContext, x) -> bool:
    return ctx.modality == "image" and getattr(x, "dim", lambda: 0)() == 4 and x.shape[1] in (1, 3)


def soft_label(y, names: list[str]) -> str:
    """A (soft) target as text: ``0.62 cat + 0.38 dog`` (the two largest shares), or the class name."""
    if getattr(y, "dim", lambda: 0)() == 0:
        return names[int(y)]
    weights = y.detach().float().cpu().numpy()
    top = [int(i) for i in np.argsort(-weights)[:2] if weights[i] >= 0.005]
    if len(top) == 1:  # not mixed (or mixed with its own class)
        return names[top[0]]
    return " + ".join(f"{weights[i]:.2f} {names[i]}" for i in top)


def preview_batch(ctx: PreviewContext) -> list[Block]:
    """A batch of the handful (per-sample draws first, as in training), collated and put through the
    batch transform with a generator seeded by the cell's seed; images with their soft labels, or
    log-mels before/after."""
    import torch

    from scarce.inference import image_collate

    batch_transform = ctx.after.batch_transform
    if batch_transform is None:
        return [Block("Batch transform", f"'{ctx.label}' removes the batch transform.")]
    draws = Draws(ctx.before.train, ctx.after.transform, ctx.seed)
    items = [draws[(i, j)] for j, i in enumerate(ctx.examples)]
    collate = ctx.after.collate or image_collate
    x, y = collate(items)
    mixed, soft = batch_transform(x.clone(), y.clone(), generator=torch.Generator().manual_seed(ctx.seed))
    title = "Batch transform"
    names = ctx.class_names
    if _is_image_batch(ctx, x):
        rows = [list(_unnormalise(collate, items[0][0], x)), list(_unnormalise(collate, items[0][0], mixed))]
        cells = [[soft_label(t, names) for t in y], [soft_label(t, names) for t in soft]]
        png = draw.image_grid(rows, row_titles=["batch", "transformed"], cell_titles=cells)
        text = (f"A batch of {len(items)} training examples (top) and what the batch transform makes of it (bottom), "
                "each titled with its training target: mixed images train on mixed (soft) labels.")
        return [Block(title, text, png=png, name="batch")]
    if ctx.modality == "audio" and getattr(x, "dim", lambda: 0)() == 4:
        before = [_valid(x[i]) for i in range(len(items))]
        after = [_valid(torch.stack([mixed[i][0], x[i][1]])) for i in range(len(items))]
        png = draw.spectrogram_grid([before, after], row_titles=["batch", "transformed"],
                                    cell_titles=[[soft_label(t, names) for t in y], [""] * len(items)])
        text = (f"Log-mels of a batch of {len(items)} training clips (top) and after the batch transform (bottom), "
                "as the model is fed them.")
        return [Block(title, text, png=png, name="batch")]
    return [Block(title, f"'{ctx.label}' transforms batches of shape {tuple(getattr(x, 'shape', ()))}; "
                         "there is no picture of them.")]


def preview_collate(ctx: PreviewContext) -> list[Block]:
    """What the model is fed: the collate's output for the handful (images shown back in [0, 1])."""
    collate = ctx.after.collate
    if collate is None:
        return [Block("Model input", f"'{ctx.label}' restores the engine's default collate.")]
    items = ctx.originals()
    x, _ = collate(items)
    if _is_image_batch(ctx, x):
        png = draw.image_grid([[a for a, _ in items], list(_unnormalise(collate, items[0][0], x))],
                              row_titles=["original", "model input"],
                              cell_titles=[_class_titles(ctx.class_names, [b for _, b in items]), [""] * len(items)])
        shape = "×".join(str(s) for s in np.asarray(items[0][0]).shape)
        text = (f"The examples as stored ({shape}) and as the model receives them ({x.shape[1]}×{x.shape[2]}×"
                f"{x.shape[3]}: resized and normalised; shown here mapped back to the 0-255 range).")
        return [Block("Model input", text, png=png, name="collate")]
    return [Block("Model input", f"'{ctx.label}' turns a batch of {len(items)} examples into a tensor of shape "
                                 f"{tuple(getattr(x, 'shape', ()))}; there is no picture of it.")]
