"""``scarce train``: fit one row of a recipe on all its labelled training data and save the model.

The recipe is an ordinary ``scarce ablate`` config (e.g. the ``best.yaml`` of a search): its
dataset's whole training pool (the pool an ablation cuts its subsets from) is the training data,
``sizes`` only pick the schedule (with one size, ``train.steps_by_size`` of that size applies) and
``seeds[0]`` seeds the fit; its ``train`` section must hold one
learning rate and one weight decay (the tuned point). The row's remedy is applied exactly as in an
ablation cell (:class:`~scarce.experiment.learners.ModelLearner`: the modality's pipeline, then
``create_remedy(spec).apply(setup, seed=...)``) and trained without a validation split: the model
after the last step is kept, or after step ``deliver.stop_at`` of the same schedule when the recipe
says so (the step count a search's cells chose, written into its ``best.yaml``). An optional
top-level ``evidence:`` mapping (what a search measured) is copied into the card.

A remedy that replaces or wraps the model or its collate (a pretrained backbone, a probe, cRT,
post-hoc logit adjustment) is saved when its parts describe themselves
(:mod:`scarce.deliver.parts`); one that cannot is refused before any work.

A row that trains on unlabelled examples (a remedy declaring a change to ``self_training`` or
``consistency``: ``pseudo_label``, ``label_spreading``...) is trained with the user's whole
``unlabelled: {path: ...}`` pool (``limit`` of it, drawn with the seed) as ``TrainSetup.unlabelled``
(:func:`scarce.experiment.unlabelled.delivery_pool`); without ``unlabelled:``, or with ``from:
pool`` (nothing is left once every labelled example trains), it is refused before any work. The card's
``train.unlabelled`` records the pool (source, size) and what self-training added (``n_pseudo``, the
threshold, per class). Options a remedy tunes (its ``axes``, e.g. ``threshold``) must hold one value.

The output folder holds ``model.safetensors`` (the state dict) and ``card.json`` (see
:data:`scarce.deliver.saved_model.CARD_FIELDS`); it is written to a temporary folder beside it,
checked by loading it back, then renamed into place, so an interrupted run leaves no half-written
folder.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import os
import platform
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scarce._io import current_umask
from scarce.remedies.composition import check_remedy
from scarce.experiment.config import ExperimentConfig, read_recipe
from scarce.deliver.parts import card_parts, check_deliverable, inference_pair
from scarce.experiment.learners import ModelLearner
from scarce.experiment.plan import base_setup
from scarce.experiment.unlabelled import check_delivery, delivery_pool, reads_pool
from scarce.experiment.selftrain import ROWS
from scarce.executors.local import import_modules
from scarce.modalities import get_modality
from scarce.deliver.saved_model import CARD, FORMAT, FORMAT_VERSION, WEIGHTS, load_model, sha256_of
from scarce.remedies.base import create_remedy

DELIVER_KEYS = ("stop_at", "chosen_by")
"""The keys of a recipe's ``deliver:`` mapping: ``stop_at`` (keep the model after this step of the
``train.steps`` schedule; ``null``: the last step) and ``chosen_by`` (who chose it, for the card)."""


@dataclass(frozen=True)
class TrainedModel:
    """What :func:`train_model` returns: the folder written, its card, the saved model and its
    collate of raw inputs (in memory), and the model and collate as trained (they differ when a
    collate ran a frozen module, e.g. a probe's backbone, which the saved model holds)."""

    path: Path
    card: dict
    model: Any
    collate: Any
    trained_model: Any = None
    trained_collate: Any = None


def _check_out(out: str | Path, *, force: bool) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"`--out` must be a folder for the model, got the file '{out}'.")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ValueError(f"`--out` folder '{out}' exists and is not empty; choose another folder or pass --force "
                         "to replace it.")
    return out


def _single(config: ExperimentConfig, key: str) -> float:
    values = getattr(config.train, key)
    if len(values) != 1:
        raise ValueError(f"Config key 'train.{key}' is a grid of {len(values)} values {values}; `scarce train` fits "
                         f"one point: give one value, e.g. --set train.{key}=[{values[0]}] (a search's best.yaml "
                         "holds the tuned one).")
    return values[0]


def _fixed_axes(remedy: Any, label: str) -> dict:
    """The options ``remedy`` tunes (its ``axes``), each of which must hold one value: ``{name: value}``."""
    for name, values in remedy.axes.items():
        if len(values) != 1:
            raise ValueError(f"Row '{label}' tunes `{name}` among {list(values)}; `scarce train` fits one point: give "
                             f"its remedy one value, e.g. {name}: {values[0]} (a search's best.yaml holds the tuned one).")
    return {name: values[0] for name, values in remedy.axes.items()}


def _choose_row(config: ExperimentConfig, row: str | None):
    rows = config.rows()
    engine = [r for r in rows if r.learner is None]
    if row is not None:
        found = next((r for r in rows if r.label == row), None)
        if found is None:
            raise ValueError(f"`--row` must be the label of a row of the recipe, one of {[r.label for r in rows]}; "
                             f"got {row!r}.")
        if found.learner is not None:
            raise ValueError(f"Row '{row}' is a reference learner ({found.learner['name']}); `scarce train` saves "
                             f"models of the recipe's `remedies` rows: {[r.label for r in engine]}.")
        return found
    if len(engine) != 1:
        raise ValueError(f"The recipe has {len(engine)} remedy rows {[r.label for r in engine]}; pass --row LABEL to "
                         "choose the one to train (a search's best.yaml holds exactly one).")
    return engine[0]


def _check_savable(remedy: Any, label: str, modality: str) -> None:
    check_remedy(remedy, modality=modality)
    check_deliverable(remedy, label)


def _deliver_settings(value: Any, *, steps: int) -> dict:
    """The recipe's ``deliver:`` mapping, checked: ``{"stop_at": int | None, "chosen_by": str | None}``."""
    if value is None:
        return {"stop_at": None, "chosen_by": None}
    if not isinstance(value, dict):
        raise ValueError(f"Config key 'deliver' must be a mapping with keys {list(DELIVER_KEYS)}, got {value!r}.")
    unknown = sorted(set(value) - set(DELIVER_KEYS))
    if unknown:
        raise ValueError(f"Unknown config key 'deliver.{unknown[0]}'. Known keys here: {', '.join(DELIVER_KEYS)}.")
    stop_at, chosen_by = value.get("stop_at"), value.get("chosen_by")
    if stop_at is not None and (isinstance(stop_at, bool) or not isinstance(stop_at, int)
                                or not 1 <= stop_at <= steps):
        raise ValueError(f"Config key 'deliver.stop_at' must be a step in 1..train.steps ({steps}) or null, got "
                         f"{stop_at!r}.")
    if chosen_by is not None and not isinstance(chosen_by, str):
        raise ValueError(f"Config key 'deliver.chosen_by' must be a string, got {chosen_by!r}.")
    return {"stop_at": stop_at, "chosen_by": chosen_by}


def _kept(deliver: dict, steps: int) -> str:
    if deliver["stop_at"] is None:
        return "the model after the last step"
    by = f", chosen by {deliver['chosen_by']}" if deliver["chosen_by"] else ""
    return f"the model after step {deliver['stop_at']} of the {steps}-step schedule{by}"


def _versions() -> dict:
    import numpy
    import safetensors
    import torch

    from scarce import __version__

    return {"scarce": __version__, "torch": torch.__version__, "numpy": numpy.__version__,
            "safetensors": safetensors.__version__, "python": platform.python_version()}


def _json_able(value: Any, key: str) -> Any:
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as err:
        raise ValueError(f"Config key '{key}' must hold plain values (numbers, strings, lists, mappings): {err}.") from None


def _state_bytes(model) -> bytes:
    from safetensors.torch import save

    return save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()})


def _fsynced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _publish(card: dict, weights: bytes, out: Path) -> None:
    """Write the folder beside ``out``, load it back, then rename it onto ``out`` (replacing it)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        _fsynced(tmp / WEIGHTS, weights)
        _fsynced(tmp / CARD, (json.dumps(card, indent=2) + "\n").encode("utf-8"))
        load_model(tmp, device="cpu")  # the card rebuilds the model and the weights fit it
        os.chmod(tmp, 0o777 & ~current_umask())
        if out.exists():
            old = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.old")
            os.rename(out, old)
            try:
                os.rename(tmp, out)
            except OSError:
                os.rename(old, out)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def train_model(recipe: str | Path, *, out: str | Path, row: str | None = None, overrides: list[str] = (),
                data_root: str | None = None, download: bool = False, force: bool = False) -> TrainedModel:
    """Fit a recipe's row on all labelled training data of its dataset and save it to ``out``.

    Args:
        recipe: a YAML config of ``scarce ablate`` (one lr and one weight decay in ``train``).
        out: the model folder to write (``model.safetensors`` + ``card.json``).
        row: the label of the row to train (default: the recipe's only ``remedies`` row).
        overrides: ``key=value`` overrides, as ``scarce ablate --set``.
        data_root: folder with the datasets (default ``$SCARCE_DATA``).
        download: pass ``download=True`` to the dataset loader (datasets that can fetch themselves).
        force: replace an existing non-empty ``out``.

    Returns:
        A :class:`TrainedModel` (the folder, its card, the trained model and its collate).

    Raises:
        ValueError: before any work, for a bad recipe, a ``train.lr``/``train.weight_decay`` grid, an
            unknown or reference ``row``, a remedy that changes the model without declaring
            ``deliverable``, a bad ``deliver:`` mapping, an existing non-empty ``out`` without ``force``; a
            row that reads unlabelled examples without ``unlabelled: {path: ...}`` or with a pool that does
            not read, is empty or shares an example with the test split; a tuned option with several values.

    Example:
        >>> train_model("recipes/digits.yaml", out="model", row="augment",  # doctest: +SKIP
        ...             overrides=["train.lr=[0.01]", "train.weight_decay=[0.0001]"])
    """
    out = _check_out(out, force=force)
    config, extras = read_recipe(recipe, overrides=overrides)
    evidence = _json_able(extras.get("evidence"), "evidence")
    settings = extras.get("deliver")
    if len(config.sizes) == 1:  # the schedule of the size the row was measured at (a search's best.yaml)
        config = config.at_size(config.sizes[0])
    lr, weight_decay = _single(config, "lr"), _single(config, "weight_decay")
    config.train.engine_config(lr=lr, weight_decay=weight_decay)  # bad train settings fail here
    settings = _deliver_settings(settings, steps=config.train.steps)
    if not config.seeds:
        raise ValueError("Config key 'seeds' must hold at least one value (the first seeds the fit).")
    seed = config.seeds[0]
    import_modules(config.run.imports)  # plug-ins the row may name (as the runner does)
    chosen = _choose_row(config, row)
    remedy = create_remedy(chosen.remedy)
    tuned = _fixed_axes(remedy, chosen.label)
    reads = reads_pool(remedy)
    check_delivery(config.unlabelled, row=chosen.label, reads=reads)
    declared = dataset_modality(config.dataset.name)
    if declared is not None:  # before loading anything
        _check_savable(remedy, chosen.label, declared)
    options = {**config.dataset.options, **({"download": True} if download else {})}

    from scarce.data.loaders import load_dataset

    bundle = load_dataset(config.dataset.name, root=data_root, **options)
    pool, modality = bundle.train, bundle.modality
    if declared is None:
        _check_savable(remedy, chosen.label, modality)
    unlabelled = delivery_pool(config.unlabelled, bundle, seed=seed) if reads else None
    description = get_modality(modality).pipeline.describe(model=config.model, train=pool)
    learner = ModelLearner(config, functools.partial(base_setup, model=config.model, num_classes=bundle.num_classes,
                                                     unlabelled=unlabelled), remedy)
    base = learner.base_setup(pool)
    setup = remedy.apply(base, seed=seed)  # what learner.prepare does
    parts = card_parts(setup, base=base)  # a part that cannot describe itself fails before training
    fitted = learner.fit(setup, hparams={"lr": lr, "weight_decay": weight_decay, **tuned}, seed=seed, val=None,
                         stop_at=settings["stop_at"])
    notes = _json_able({**setup.notes, **{k: v for k, v in fitted.notes.items() if k != ROWS}}, "notes")
    saved, collate = inference_pair(fitted.model, setup.collate)
    weights = _state_bytes(saved)
    card = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "modality": modality, "classes": list(pool.class_names),
        "dataset": {"name": config.dataset.name, "options": _json_able(config.dataset.options, "dataset.options"),
                    "n_train": len(pool), "class_counts": [int(c) for c in _counts(pool)],
                    "test_split": bundle.test_split},
        "pipeline": _json_able(description, "model.options"),
        "model_parts": _json_able(parts, "model_parts"),
        "preprocessing": _preprocessing(modality, parts),
        "remedy": {"label": chosen.label, "spec": _json_able(chosen.remedy, "remedies"),
                   "notes": notes, "n_train_after_remedy": len(setup.train) + notes.get("n_pseudo", 0)},
        "train": {**dataclasses.asdict(config.train), "lr": lr, "weight_decay": weight_decay, **tuned, "seed": seed,
                  "validation": None, "stop_at": settings["stop_at"], "steps_run": fitted.summary.get("steps"),
                  "kept": _kept(settings, config.train.steps), "unlabelled": _pool_card(config, unlabelled, notes)},
        "train_summary": _json_able(fitted.summary, "train_summary"),
        "recipe": config.name,
        "evidence": evidence,
        "versions": _versions(),
        "weights": {"file": WEIGHTS, "format": "safetensors", "sha256": sha256_of(weights)},
    }
    _publish(card, weights, out)
    return TrainedModel(out, card, saved, collate, fitted.model, setup.collate)


def _pool_card(config: ExperimentConfig, unlabelled: Any, notes: dict) -> dict | None:
    """The card's ``train.unlabelled``: the pool the model trained on and what self-training added from
    it (``None``: the row reads no pool)."""
    if unlabelled is None:
        return None
    added = {k: notes.get(k) for k in ("n_pseudo", "pseudo_threshold", "pseudo_per_class", "pseudo_confidence")}
    return {"source": unlabelled.source, "n_unlabelled": len(unlabelled), "limit": config.unlabelled.limit, **added}


def dataset_modality(dataset: str) -> str | None:
    """The modality a registered dataset declares (read without loading it; ``None``: undeclared)."""
    from scarce.data.loaders import DATASETS

    return DATASETS.meta(dataset).get("modality")


def _counts(pool) -> list[int]:
    import numpy as np

    return np.bincount(pool.labels, minlength=pool.num_classes).tolist()


def _preprocessing(modality: str, parts: dict) -> dict:
    """What is done to an input before the model sees it, in words and settings (for the card's reader)."""
    if "what" in parts["collate"]:  # a remedy's collate (e.g. a backbone's resize and normalisation)
        return {"steps": parts["collate"]["what"], "settings": "model_parts.collate"}
    return {"steps": get_modality(modality).preprocessing, "settings": "pipeline.inputs and pipeline.collate"}


def train_command(recipe: str, *, out: str, row: str | None, overrides: list[str], data_root: str | None,
                  download: bool, force: bool) -> str:
    """``scarce train``: train, save and say what was written."""
    trained = train_model(recipe, out=out, row=row, overrides=overrides, data_root=data_root, download=download,
                          force=force)
    card, pool = trained.card, trained.card["train"]["unlabelled"]
    extra = "" if pool is None else (f", plus {pool['n_unlabelled']} unlabelled examples in {pool['source']}"
                                     + ("" if pool["n_pseudo"] is None else f" ({pool['n_pseudo']} pseudo-labelled)"))
    return (f"Trained '{card['remedy']['label']}' on all {card['dataset']['n_train']} training examples of "
            f"{card['dataset']['name']}{extra} ({card['train']['steps_run']} steps, seed {card['train']['seed']}); wrote "
            f"{trained.path}/{WEIGHTS} and {trained.path}/{CARD}. Use it: scarce predict {trained.path} INPUTS...")

