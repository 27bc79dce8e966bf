"""Maker for a remedy that changes the training rows (expansion, over/under-sampling, augmented
copies, synthetic data): the class counts before and after, and the rows that are new (in none of
the subset's rows), with text expansions (a modality whose display is ``tabular``) shown as
original → its augmented rows."""

from __future__ import annotations

import hashlib
from collections import Counter
from typing import Any

import numpy as np

from scarce.preview import draw
from scarce.preview.base import Block, PreviewContext, pick_examples
from scarce.preview.samples import show_examples
from scarce.modalities import get_modality


def row_key(x: Any) -> Any:
    """A hashable identity of one example (a text itself; an array by its shape, dtype and bytes)."""
    if isinstance(x, str):
        return x
    arr = np.ascontiguousarray(np.asarray(x))
    return (arr.shape, arr.dtype.str, hashlib.sha1(arr.tobytes()).hexdigest())


def new_rows(before, after) -> tuple[list[int], dict[Any, list[int]], Counter]:
    """Positions of ``after``'s rows that are in none of ``before``'s; for each original row (by
    :func:`row_key`) the new rows that follow it (expansions write each row then its copies); and
    how many more times than in ``before`` each original row occurs (repeats, unchanged copies)."""
    originals = Counter(row_key(before.get(i)) for i in range(len(before)))
    fresh, following, seen, last = [], {}, Counter(), None
    for i in range(len(after)):
        key = row_key(after.get(i))
        if key in originals:
            seen[key] += 1
            last = key
            continue
        fresh.append(i)
        if last is not None:
            following.setdefault(last, []).append(i)
    return fresh, following, seen - originals


def _counts_block(ctx: PreviewContext) -> Block:
    n = ctx.before.num_classes
    before = np.bincount(ctx.before.train.labels, minlength=n)
    after = np.bincount(ctx.after.train.labels, minlength=n)
    png = draw.bars(ctx.class_names, {"before": before, "after": after}, ylabel="training rows",
                    title="training rows per class")
    text = (f"{len(ctx.before.train)} training rows became {len(ctx.after.train)}; per class from "
            f"{before.min()}–{before.max()} to {after.min()}–{after.max()}.")
    return Block("Class counts", text, png=png, name="counts")


def preview_rows(ctx: PreviewContext) -> list[Block]:
    """The class counts before/after and the new rows (see the module doc)."""
    blocks = [_counts_block(ctx)]
    before, after = ctx.before.train, ctx.after.train
    fresh, following, repeats = new_rows(before, after)
    if not fresh:
        return blocks + [Block("New rows", "No new example: every training row is one of the subset's rows, "
                                           "repeated or dropped.")]
    if get_modality(ctx.modality).display.tabular and any(row_key(before.get(i)) in following for i in ctx.examples):
        table = [("class", "original", "its new rows")]
        for i in ctx.examples:
            key = row_key(before.get(i))
            made = following.get(key, [])
            shown = " ‖ ".join(draw.short(after.get(j), 120) for j in made[:ctx.draws])
            more = [f"+{len(made) - ctx.draws} more"] if len(made) > ctx.draws else []
            if repeats[key]:
                more.append(f"+{repeats[key]} unchanged cop{'y' if repeats[key] == 1 else 'ies'}")
            shown = " ".join([shown] * bool(shown) + [f"({', '.join(more)})"] * bool(more))
            table.append((ctx.class_names[int(before.labels[i])], draw.short(before.get(i)), shown or "—"))
        text = (f"{len(fresh)} new rows. Each of {len(ctx.examples)} training texts and the rows made from it "
                "(separated by ‖).")
        return blocks + [Block("New rows", text, table=tuple(table))]
    labels = np.asarray(after.labels)[fresh]
    picked = [fresh[k] for k in pick_examples(labels, 2 * max(1, len(ctx.examples)))]
    items = [(after.get(j), int(after.labels[j])) for j in picked]
    text = f"{len(fresh)} new rows (in none of the subset's rows); {len(items)} of them, class by class."
    return blocks + show_examples(ctx, items, title="New rows", text=text, name="new_rows")
