"""Makers for the balancing side of a remedy: the sampler (class shares of the rows vs one epoch of
its draws) and the loss or model (the per-class terms it applies, when it exposes them through
``class_terms()``; see :func:`scarce.balance.losses.class_terms`)."""

from __future__ import annotations

import itertools

import numpy as np

from scarce.balance.losses import class_terms
from scarce.preview import draw
from scarce.preview.base import Block, PreviewContext

MAX_EPOCH = 100
"""A sampler's epoch is read up to this many times the number of rows (a sampler without an end)."""


def one_epoch(sampler_fn, labels: np.ndarray, *, seed: int) -> np.ndarray:
    """The indices of epoch 0 of ``sampler_fn(labels, seed=seed)``, as the engine draws them."""
    sampler = sampler_fn(labels, seed=seed)
    if hasattr(sampler, "set_epoch"):
        sampler.set_epoch(0)
    return np.fromiter((int(i) for i in itertools.islice(sampler, MAX_EPOCH * max(1, len(labels)))), np.int64)


def preview_sampler(ctx: PreviewContext) -> list[Block]:
    """Per class: its share of the training rows and of one epoch of the sampler's draws."""
    if ctx.after.sampler_fn is None:
        return [Block("Sampling", f"'{ctx.label}' draws the rows in shuffled order (no sampler).")]
    labels = np.asarray(ctx.after.train.labels)
    n = ctx.after.num_classes
    drawn = one_epoch(ctx.after.sampler_fn, labels, seed=ctx.seed)
    rows = 100 * np.bincount(labels, minlength=n) / max(1, len(labels))
    draws = 100 * np.bincount(labels[drawn], minlength=n) / max(1, len(drawn))
    png = draw.bars(ctx.class_names, {"share of the rows": rows, "share of one epoch's draws": draws},
                    ylabel="% of examples", title="what the sampler draws")
    rare = int(np.argmin(rows))
    text = (f"The first epoch of the sampler (seed {ctx.seed}): {len(drawn)} draws. The rarest class, "
            f"{ctx.class_names[rare]}, is {rows[rare]:.1f}% of the rows and {draws[rare]:.1f}% of the draws.")
    return [Block("Sampling", text, png=png, name="sampler")]


def preview_class_terms(ctx: PreviewContext) -> list[Block]:
    """The per-class terms of the loss and model the remedy set (one bar chart each), or a sentence."""
    terms, changed = {}, []
    for part in ("loss_fn", "model_fn"):
        obj = getattr(ctx.after, part)
        if obj is not getattr(ctx.before, part):
            changed.append(part)
            terms.update(class_terms(obj))
    counts = np.bincount(ctx.before.train.labels, minlength=ctx.before.num_classes)
    blocks = []
    for k, (name, values) in enumerate(terms.items()):
        png = draw.bars(ctx.class_names, {name: np.asarray(values, float)}, ylabel="per class", title=name)
        text = f"Per class, as the remedy computed it from the training counts ({counts.min()}–{counts.max()} per class)."
        blocks.append(Block("Loss and model" if k == 0 else "", text, png=png, name=f"terms{k}"))
    if blocks:
        return blocks
    what = " and ".join(f"`{p}`" for p in changed) or "the loss or model"
    return [Block("Loss and model", f"'{ctx.label}' changes {what}; it has no per-class terms to draw: it acts "
                                    "during training.")]
