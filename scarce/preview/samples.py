"""Makers for what a remedy does to examples: the per-sample transform (augmented draws), the weak and
strong views of an unlabelled term, the batch transform (a collated batch before/after, soft labels)
and the collate (what the model is fed), plus
:func:`show_examples`, the handful of examples of any modality as blocks.

Draws go through :class:`scarce.steps.Draws` with the cell's seed and batches through the setup's
collate and a ``torch.Generator`` seeded with it, exactly as training does. How they are shown is
the row's modality's :class:`~scarce.preview.display.Display` (image grids, text tables, log-mels);
where it has no picture, a sentence says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scarce.consistency import ViewDraws, stream_seed
from scarce.modalities import get_modality
from scarce.preview.base import Block, PreviewContext
from scarce.steps import Draws


def _display(ctx: PreviewContext):
    return get_modality(ctx.modality).display


def show_examples(ctx: PreviewContext, items: Sequence[tuple[Any, int]], *, title: str, text: str = "",
                  name: str = "examples", captions: Sequence[str] | None = None) -> list[Block]:
    """``items`` (``(x, label)``) shown for the row's modality: an image grid, a table of texts, or
    log-mel spectrograms with the first clips playable; each captioned by its class name, or by
    ``captions`` (one per item)."""
    if captions is not None and len(captions) != len(items):
        raise ValueError(f"`captions` must hold one caption per item ({len(items)}), got {len(captions)}.")
    return (_display(ctx).examples(ctx, items, title=title, text=text, name=name, captions=captions)
            or [Block(title, f"{text} (no picture for {ctx.modality!r} data)".strip())])


def preview_transform(ctx: PreviewContext) -> list[Block]:
    """The handful of examples, then ``ctx.draws`` rows of augmented draws of them."""
    transform = ctx.after.transform
    if transform is None:
        return [Block("Per-sample transform", f"'{ctx.label}' removes the per-sample transform.")]
    display = _display(ctx)
    draws = Draws(ctx.before.train, transform, ctx.seed)
    n = len(ctx.examples)
    originals = ctx.originals()
    rows = [[draws[(i, r * n + j)][0] for j, i in enumerate(ctx.examples)] for r in range(ctx.draws)]
    title = "Per-sample augmentation"
    text = (f"{n} training examples ({'left' if display.tabular else 'top'}) and {ctx.draws} augmented draws "
            f"of each, drawn as training draws them (seed {ctx.seed}).")
    row_titles = ["original"] + [f"draw {r + 1}" for r in range(ctx.draws)]
    return (display.transform(ctx, originals, rows, title=title, text=text, row_titles=row_titles)
            or [Block(title, f"'{ctx.label}' changes the per-sample transform; no picture for {ctx.modality!r} "
                             "data.")])


def preview_consistency(ctx: PreviewContext) -> list[Block]:
    """The weak and strong views an unlabelled term (``setup.consistency``) draws, on the handful of
    training examples (the term draws them from the unlabelled pool, with the same code and seeds)."""
    consistency = ctx.after.consistency
    title = "Unlabelled views"
    if consistency is None:
        return [Block(title, f"'{ctx.label}' removes the unlabelled term.")]
    views = ViewDraws(ctx.before.train, consistency, stream_seed(ctx.seed))
    n, rows, row_titles = len(ctx.examples), [], ["original"]
    for r in range(ctx.draws):
        pairs = [views[(i, r * n + j)] for j, i in enumerate(ctx.examples)]
        rows += [[w for w, _ in pairs], [s for _, s in pairs]]
        row_titles += [f"weak {r + 1}", f"strong {r + 1}"]
    text = (f"Every step also draws {consistency.ratio} unlabelled examples per labelled one and makes a weak and a "
            f"strong view of each; shown here on {n} training examples ({ctx.draws} draws each, as training draws "
            "them). Where the model is confident on the weak view, its prediction is the strong view's target.")
    return (_display(ctx).transform(ctx, ctx.originals(), rows, title=title, text=text, row_titles=row_titles)
            or [Block(title, f"{text} (no picture for {ctx.modality!r} data)")])


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
    return (_display(ctx).batch(ctx, collate=collate, items=items, x=x, y=y, mixed=mixed, soft=soft)
            or [Block("Batch transform", f"'{ctx.label}' transforms batches of shape "
                                         f"{tuple(getattr(x, 'shape', ()))}; there is no picture of them.")])


def preview_collate(ctx: PreviewContext) -> list[Block]:
    """What the model is fed: the collate's output for the handful (images shown back in [0, 1])."""
    collate = ctx.after.collate
    if collate is None:
        return [Block("Model input", f"'{ctx.label}' restores the engine's default collate.")]
    items = ctx.originals()
    x, _ = collate(items)
    return (_display(ctx).model_input(ctx, collate=collate, items=items, x=x)
            or [Block("Model input", f"'{ctx.label}' turns a batch of {len(items)} examples into a tensor of shape "
                                     f"{tuple(getattr(x, 'shape', ()))}; there is no picture of it.")])
