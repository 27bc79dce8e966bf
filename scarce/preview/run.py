"""Build the previews of a recipe: for each row, what its remedy does to a handful of the cell's
training examples, through the same code path and seeds as the ablation, without training.

For a (size, seed) cell the subset is cut as the runner cuts it (:class:`scarce.experiment.plan.CellPlan`)
and the training part is the one the kept model is trained on (the training split under hold-out,
the whole subset under cross-validation). The setup is built as the engine builds it (the modality's
pipeline: model and collate) and each row's remedy is applied with the cell's seed (a chain's
members with the seeds the chain gives them). Each remedy is applied through its ``preview_apply``
(``apply`` unless it overrides it with a cheap stand-in, e.g. a backbone's preprocessing without its
weights, or raises :class:`~scarce.remedies.base.NoPreview` from it); what it changed picks the makers
(:mod:`scarce.preview.base`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scarce._checks import check_choice, check_int
from scarce.data.loaders import DATASETS
from scarce.executors.local import import_modules
from scarce.experiment.plan import CellPlan, get_bundle
from scarce.remedies.composition import ASPECTS, FIELDS, check_remedy, combine
from scarce.experiment.config import ExperimentConfig
from scarce.experiment.learners import check_row
from scarce.modalities import get_modality
from scarce.preview.base import PREVIEWS, Block, PreviewContext, makers_for, pick_examples
from scarce.remedies.base import NoPreview, Remedy, TrainSetup, create_remedy, member_seed, remedy_label


@dataclass(frozen=True)
class RowPreview:
    """The preview of one row: its blocks and, when something could not be shown, why."""

    label: str
    remedy: str
    learner: str | None
    blocks: tuple[Block, ...]
    notes: dict
    unavailable: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preview:
    """The previews of a recipe's rows for one (size, seed) cell."""

    name: str
    dataset: str
    size: int
    seed: int
    part: str
    rows: tuple[RowPreview, ...]


def apply_for_preview(remedy: Remedy, setup: TrainSetup, *, seed: int) -> tuple[TrainSetup, list, list[str]]:
    """Apply ``remedy`` as the ablation does, a chain member by member, each through its
    ``preview_apply`` (:meth:`~scarce.remedies.base.Remedy.preview_apply`: ``apply`` unless the
    remedy has a cheaper stand-in).

    Returns the new setup, the single remedies applied and, for each one that raised
    :class:`NoPreview`, its reason (it is then left out, the chain's other members still apply).
    """
    if remedy.components:
        applied, skipped = [], []
        for i, member in enumerate(remedy.components):
            setup, a, s = apply_for_preview(member, setup, seed=member_seed(seed, i))
            applied += a
            skipped += s
        return setup, applied, skipped
    try:
        return remedy.preview_apply(setup, seed=seed), [remedy], []
    except NoPreview as why:
        return setup, [], [str(why)]


def changed_parts(before: TrainSetup, after: TrainSetup, declared) -> set[str]:
    """The setup's fields the remedy actually replaced, plus the aspects it declares changing."""
    return {f for f in FIELDS if getattr(after, f) is not getattr(before, f)} | (declared.changed & set(ASPECTS))


def _error(err: BaseException) -> str:
    return f"{type(err).__name__}: {' '.join(str(err).split()) or '(no message)'}"


def preview_row(label: str, remedy: Any, base: TrainSetup, *, examples: tuple[int, ...], seed: int,
                draws: int) -> tuple[list[Block], dict, list[str]]:
    """The blocks, notes and "cannot show" sentences of one remedy on the cell's setup ``base``."""
    from scarce.preview.samples import show_examples

    after, applied, skipped = apply_for_preview(remedy, base, seed=seed)
    ctx = PreviewContext(label, base, after, examples, seed, draws, combine(applied))
    parts = changed_parts(base, after, ctx.changes)
    blocks: list[Block] = []
    for part, maker in makers_for(parts):
        try:
            blocks += maker(ctx)
        except Exception as err:  # one picture failing leaves the others
            skipped.append(f"The preview of what '{label}' does to `{part}` failed: {_error(err)}")
    undrawn = sorted(p for p in parts & set(FIELDS) if p not in PREVIEWS)
    if undrawn:
        skipped.append(f"'{label}' also changes {', '.join(f'`{p}`' for p in undrawn)}, which the preview does not draw.")
    if not parts and not skipped:
        blocks = show_examples(ctx, ctx.originals(), title="Training examples",
                               text=f"'{label}' leaves the training setup as it is: every row starts from these "
                                    f"{len(examples)} of the cell's training examples.")
    return blocks, dict(after.notes), skipped


def preview_config(config: ExperimentConfig, *, size: int | None = None, seed: int | None = None,
                   data_root: str | None = None, examples: int | None = None, draws: int = 3) -> Preview:
    """The previews of every row of ``config`` for the cell (``size``, ``seed``).

    Args:
        config: the recipe.
        size: the cell's size (default: the recipe's first).
        seed: the cell's seed (default: the recipe's first).
        data_root: folder with the datasets (default: ``$SCARCE_DATA``).
        examples: how many training examples to show (default: the modality display's ``handful``: 8
            images, 6 texts, 4 clips).
        draws: augmented draws shown per example (1-8).

    Returns:
        A :class:`Preview`; a row whose remedy cannot be shown carries the reason instead.

    Raises:
        ValueError: a bad argument, a size the training pool cannot give, an unknown remedy or
            dataset, a chain that does not compose (all before any remedy is applied).
    """
    size = config.sizes[0] if size is None else check_int("size", size, minimum=1)
    seed = config.seeds[0] if seed is None else check_int("seed", seed, minimum=0)
    check_int("draws", draws, minimum=1, maximum=8)
    if examples is not None:
        check_int("examples", examples, minimum=1, maximum=32)
    check_choice("subset.kind", config.subset.kind, ("per_class", "long_tailed"))
    DATASETS.get(config.dataset.name)
    import_modules(config.run.imports)  # plug-ins the rows may name (as the runner does)
    rows = config.rows()
    if not rows:
        raise ValueError("Config keys 'remedies' and 'references' are both empty: there is no row to preview.")
    bundle = get_bundle(config, data_root)
    labels = bundle.train.labels
    try:
        plan = CellPlan.cut(config, bundle, size=size, seed=seed)
    except ValueError as err:
        raise ValueError(f"`--size` {size} cannot be cut from the training pool of {len(labels)} examples: {err}") from None
    built = []
    for row in rows:  # unknown names, bad options and chains that do not compose fail here, before any work
        try:
            remedy = create_remedy(row.remedy)
        except (ValueError, TypeError, KeyError):
            raise
        except Exception as err:  # a missing optional package or data file: said on the page
            built.append((row, err))
            continue
        check_remedy(remedy, modality=bundle.modality)
        check_row(row, modality=bundle.modality)
        built.append((row, remedy))
    part = plan.pool if plan.strategy.refits_on_pool else plan.train
    base = plan.base_setup(part)
    shown = pick_examples(part.labels, examples or get_modality(bundle.modality).display.handful)
    out = []
    for row, remedy in built:
        learner = None if row.learner is None else str(row.learner.get("name"))
        if isinstance(remedy, Exception):
            out.append(RowPreview(row.label, remedy_label(row.remedy), learner, (), {},
                                  (f"Remedy '{row.label}' cannot be built here: {_error(remedy)}",)))
            continue
        try:
            blocks, notes, why = preview_row(row.label, remedy, base, examples=shown, seed=seed, draws=draws)
        except Exception as err:  # never fails the command: the page says what went wrong
            blocks, notes, why = [], {}, [f"Remedy '{row.label}' cannot be previewed: {_error(err)}"]
        out.append(RowPreview(row.label, remedy_label(row.remedy), learner, tuple(blocks), notes, tuple(why)))
    part_text = (f"{len(part)} training examples of {bundle.num_classes} classes: {plan.strategy.trains_on}, cut for "
                 f"size {size} and "
                 f"seed {seed} as the ablation cuts it")
    return Preview(config.name, config.dataset.name, size, seed, part_text, tuple(out))
