"""Experiment configs: dataclasses with defaults, set from YAML, overridden by ``--set a.b=v``.

Unknown keys and wrong types are errors that name the key (with a "did you mean").
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scarce._checks import did_you_mean
from scarce.experiment.rows import Row, reference_spec
from scarce.experiment.log import CONFIG
from scarce.remedies.base import remedy_label


@dataclass
class DatasetConfig:
    name: str = "digits"
    options: dict = field(default_factory=dict)


@dataclass
class ModelConfig:
    name: str = "auto"
    options: dict = field(default_factory=dict)


@dataclass
class SubsetConfig:
    """``per_class``: each size is k examples per class; ``long_tailed``: each size is the head
    class's count and the others follow the exponential profile with ``imbalance_ratio``."""

    kind: str = "per_class"
    imbalance_ratio: float = 1.0
    val_fraction: float = 0.2


@dataclass
class MismatchConfig:
    """Part of a ``from: pool`` pool taken from classes outside the labelled task (Oliver et al. 2018).

    ``classes`` (names or indices) are left out of the labelled task (its training subsets and its
    test set); ``share`` of the unlabelled pool is drawn from their training examples."""

    share: float = 0.0
    classes: list = field(default_factory=list)


@dataclass
class UnlabelledConfig:
    """Where a cell's unlabelled examples come from (``unlabelled:``; none by default).

    ``from: pool``: the dataset's training pool minus the cell's labelled subset, labels hidden
    (for measuring a remedy), ``limit`` of them drawn per cell with its seed, optionally with a
    ``mismatch`` share from classes outside the task. ``path``: a user's own unlabelled data (an
    image or audio folder without class folders, a text/CSV/JSONL file with ``text_column``), read
    and checked like labelled data; ``limit`` takes a seeded sample of it."""

    source: str | None = None
    path: str | None = None
    limit: int | None = None
    text_column: str = "text"
    mismatch: MismatchConfig = field(default_factory=MismatchConfig)

    @property
    def enabled(self) -> bool:
        return self.source is not None or self.path is not None


@dataclass
class TrainSection:
    """Training budget and the (lr, weight decay) grid every row is tuned on (see ``selection``).

    ``steps_by_size`` sets the step count of particular sizes in place of ``steps`` (``{250: 5000}``):
    a schedule long enough for the largest subset to finish learning wastes most of its steps on the
    smallest, and one sized for the smallest leaves the largest under-trained (the results tables flag it).
    """

    steps: int = 300
    steps_by_size: dict = field(default_factory=dict)
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: list[float] = field(default_factory=lambda: [3e-4, 1e-3, 3e-3])
    weight_decay: list[float] = field(default_factory=lambda: [1e-2])  # one value: never a 2-value edge
    warmup: float = 0.05
    eval_every: int = 50
    patience: int | None = None
    recompute_bn: bool = True
    device: str = "auto"
    num_workers: int = 0

    def engine_config(self, *, lr: float, weight_decay: float, select_by: str = "accuracy"):
        """The engine's ``TrainConfig`` for one grid point, keeping the checkpoint best in ``select_by``
        (validated there)."""
        from scarce.train import TrainConfig

        fields = {k: v for k, v in dataclasses.asdict(self).items() if k != "steps_by_size"}
        return TrainConfig(**{**fields, "lr": lr, "weight_decay": weight_decay, "select_by": select_by})

    def at_size(self, size: int) -> TrainSection:
        """This section with ``steps`` for ``size`` (from ``steps_by_size``, else unchanged)."""
        steps = self.steps_by_size.get(size)
        return self if steps is None else dataclasses.replace(self, steps=steps)


@dataclass
class RunSection:
    """Where the cells run; it does not change any result, so a run may be resumed with another.

    Attributes:
        executor: ``local`` (this machine: in this process, or ``jobs`` processes) or ``ray`` (a
            Ray cluster: ``pip install 'scarce[ray]'``; see docs/scale_out.md).
        jobs: ``local``: cells run in this many processes (1: in this process).
        address: ``ray``: the cluster to join (``auto``, ``HOST:PORT``, ``ray://...``); unset: start
            a local cluster sized to this machine for the sweep.
        cpus_per_cell: ``ray``: CPUs each cell holds (fractions allowed); torch uses that many threads.
        gpus_per_cell: ``ray``: GPUs each cell holds (fractions allowed, e.g. 0.25).
        imports: modules each worker imports before its first cell (plug-ins that register a remedy,
            model or dataset when imported); ``local`` with ``jobs`` > 1 and ``ray``.
    """

    executor: str = "local"
    jobs: int = 1
    address: str | None = None
    cpus_per_cell: float = 1.0
    gpus_per_cell: float = 0.0
    imports: list[str] = field(default_factory=list)


@dataclass
class ExperimentConfig:
    """A whole ablation: dataset × sizes × seeds × remedies.

    Attributes:
        metric: the headline metric of tables and plots (``auto``: the rule of
            :func:`scarce.metrics.auto_metric` on the test split; resolved by ``Results``).
        remedies: rows trained by the engine on ``model``, one per remedy spec.
        references: rows trained by a reference learner (``scarce.experiment.learners``), e.g.
            ``[logreg]`` or ``[{name: logreg, remedy: eda, C: [0.1, 1, 10]}]``.
        reference: the label of the row every gain is measured against (default: the first row).
        test_limit: evaluate on a fixed stratified sample of this many test examples (``None``: all).
        tune: ``every_cell`` (search the grid in every cell) or ``first_seed`` (search it per
            (remedy, size) on ``seeds[0]`` only; the other seeds reuse that cell's choice).
        selection: ``holdout`` (choose on the validation part), ``cross_validation`` (choose point
            and step count by ``folds``-fold cross-validation in the subset, then retrain on all
            of it) or ``auto``, the default (cross-validation when the smallest class of a size's
            subset has 2 to ``cv_max_k`` examples, with the folds capped at that count; hold-out
            otherwise): measured in docs/results/selection.md.
        select_by: the metric every learner and selection strategy chooses by (the validation score
            is (score in it, -NLL)): ``accuracy``, ``balanced_accuracy``, ``macro_f1`` or ``auto``, the
            default: the headline metric (``metric`` when set, else the rule of
            :func:`scarce.metrics.auto_metric` on the test split), resolved per cell by
            :attr:`scarce.experiment.plan.CellPlan.select_by`.
        folds: folds of cross-validation (2..the smallest class count of every size's subset).
        cv_max_k: the ``auto`` threshold.
        unlabelled: the unlabelled examples semi-supervised remedies read (:class:`UnlabelledConfig`).
        equivalence_margin: a gain whose 90% interval lies inside ±this (metric units, in (0, 1)) over
            enough seeds is a ``no effect`` verdict (``scarce.report.verdict``; docs/verdicts.md).
        run: where the cells run (:class:`RunSection`); ``scarce ablate --executor/--jobs/...``
            override it.
    """

    name: str = "experiment"
    dataset: DatasetConfig = field(default_factory=DatasetConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    subset: SubsetConfig = field(default_factory=SubsetConfig)
    sizes: list[int] = field(default_factory=lambda: [5, 10, 25, 50])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2, 3, 4])
    train: TrainSection = field(default_factory=TrainSection)
    remedies: list[Any] = field(default_factory=lambda: ["baseline"])
    references: list[Any] = field(default_factory=list)
    reference: str | None = None
    metric: str = "auto"
    test_limit: int | None = None
    tune: str = "every_cell"
    selection: str = "auto"
    select_by: str = "auto"
    folds: int = 5
    cv_max_k: int = 10
    equivalence_margin: float = 0.01
    unlabelled: UnlabelledConfig = field(default_factory=UnlabelledConfig)
    run: RunSection = field(default_factory=RunSection)

    def rows(self) -> list[Row]:
        """The results rows, remedies then references, each with its label (unique names are checked
        by the runner); an unknown reference learner raises ``ValueError`` with a "did you mean"."""
        out = [Row(remedy_label(s), s) for s in self.remedies]
        for i, spec in enumerate(self.references):
            spec = reference_spec(spec, f"references[{i}]")
            remedy = spec.get("remedy", "baseline")
            learner = {k: v for k, v in spec.items() if k not in ("label", "remedy")}
            default = spec["name"] if remedy == "baseline" else f"{spec['name']}+{remedy_label(remedy)}"
            out.append(Row(str(spec.get("label") or default), remedy, learner))
        return out

    def with_run(self, **keys: Any) -> ExperimentConfig:
        """This config with ``run:`` keys replaced (``--jobs``, ``--executor``...: where cells run, not
        what they compute); ``None`` values are left as they are. The one place run overrides apply."""
        given = {k: v for k, v in keys.items() if v is not None}
        if not given:
            return self
        run = from_dict(RunSection, {**dataclasses.asdict(self.run), **given}, prefix="run.")
        return dataclasses.replace(self, run=run)

    def reference_label(self) -> str | None:
        """The row every gain is measured against: ``reference``, else the first row."""
        if self.reference:
            return str(self.reference)
        labels = [r.label for r in self.rows()]
        return labels[0] if labels else None

    def at_size(self, size: int) -> ExperimentConfig:
        """The config a cell of ``size`` trains with (``train.steps_by_size`` resolved)."""
        train = self.train.at_size(size)
        return self if train is self.train else dataclasses.replace(self, train=train)


KEY_ALIASES = {UnlabelledConfig: {"from": "source"}}
"""Keys a section reads under another name (``from`` is a Python keyword, so ``unlabelled.from`` is the
field ``source``)."""


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp`` (recursing into dataclasses and lists)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], key)
    if dataclasses.is_dataclass(tp):
        return from_dict(tp, value, prefix=f"{key}.")
    if origin is list:
        if not isinstance(value, list):
            raise ValueError(f"Config key '{key}' must be a list, got {value!r}.")
        return [_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value)] if args else value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp is float and isinstance(value, str):  # PyYAML (YAML 1.1) reads 1e-3 without a dot as a string
        try:
            return float(value)
        except ValueError:
            pass
    if tp is dict and value is None:
        return {}
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise ValueError(f"Config key '{key}' must be {_type_name(tp)}, got {value!r} ({type(value).__name__}).")
    return value


def from_dict(cls: type, data: Any, *, prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a mapping; unknown keys and wrong types raise ``ValueError``."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ValueError(f"Config section '{prefix.rstrip('.') or '<top>'}' must be a mapping, got {data!r}.")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    aliases = KEY_ALIASES.get(cls, {})
    kwargs = {}
    for key, value in data.items():
        key = aliases.get(key, key)
        if key not in names:
            raise ValueError(f"Unknown config key '{prefix}{key}'.{did_you_mean(str(key), names)} "
                             f"Known keys here: {', '.join(names)}.")
        kwargs[key] = _coerce(value, hints[key], prefix + key)
    return cls(**kwargs)


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """Apply ``a.b=value`` overrides (values parsed as YAML) to a nested dict, in place."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"`--set` takes key=value (e.g. train.steps=100), got {item!r}.")
        node, parts = data, key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"`--set {item}`: '{part}' is not a section.")
        node[parts[-1]] = yaml.safe_load(raw)
    return data


INFORMATIONAL = ("evidence", "deliver")
"""Top-level keys a recipe may carry for readers and ``scarce train``, not for the ablation:
``evidence`` (what a search measured, written into ``best.yaml`` and copied into a trained model's
card by ``scarce train``) and ``deliver`` (how ``scarce train`` fits the row: ``stop_at``, the step
count the search's cells chose)."""


def load_config(path: str | Path, *, overrides: list[str] = (), smoke: bool = False,
                run: Mapping[str, Any] | None = None) -> ExperimentConfig:
    """Read a YAML experiment config and apply what a command line changes, in this one place.

    Args:
        path: the YAML recipe (:data:`INFORMATIONAL` keys are left out: they describe the recipe,
            they do not change what runs).
        overrides: ``a.b=value`` strings (``--set``), applied before validation.
        smoke: return the smoke version (:func:`smoke_config`).
        run: ``run:`` keys set by flags (``--jobs``, ``--executor``...), applied last.
    """
    config, _ = read_recipe(path, overrides=overrides)
    if smoke:
        config = smoke_config(config)
    return config.with_run(**run) if run else config


def read_recipe(path: str | Path, *, overrides: Sequence[str] = ()) -> tuple[ExperimentConfig, dict]:
    """A YAML recipe with ``--set`` overrides applied: the validated config and its
    :data:`INFORMATIONAL` keys (``{}`` when it has none), which ``scarce train`` reads."""
    data = apply_overrides(read_config_yaml(path), list(overrides))
    extras = {k: data.pop(k) for k in INFORMATIONAL if k in data}
    return from_dict(ExperimentConfig, data), extras


def read_saved_config(out_dir: str | Path) -> ExperimentConfig | None:
    """The config a run folder was written with (its ``config.yaml``), or ``None`` when it has none.

    Raises:
        ValueError: the saved config is not a valid config of this version (named with its path).
    """
    path = Path(out_dir) / CONFIG
    if not path.exists():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        return from_dict(ExperimentConfig, data)
    except ValueError as err:
        raise ValueError(f"'{path}' is not a config this version of scarce reads: {err}") from err


def read_config_yaml(path: str | Path) -> dict:
    """The YAML mapping of a config file (``name`` defaulting to the file's stem), not yet validated."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Config file not found: '{path}'.")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if data is None:
        raise ValueError(f"Config '{path}' is empty; write at least `dataset:` and `remedies:` "
                         "(see recipes/digits.yaml), or run that recipe.")
    if not isinstance(data, dict):
        raise ValueError(f"Config '{path}' must be a YAML mapping at the top, got {type(data).__name__}.")
    data.setdefault("name", path.stem)
    return data


def smoke_config(config: ExperimentConfig) -> ExperimentConfig:
    """The smoke version: first size and seed, a few steps, one grid point, 2 folds (when
    cross-validation is used), 200 test examples."""
    t = dataclasses.replace(config.train, steps=min(config.train.steps, 2), eval_every=1, steps_by_size={},
                            lr=config.train.lr[:1], weight_decay=config.train.weight_decay[:1])
    return dataclasses.replace(config, name=f"{config.name}-smoke", sizes=config.sizes[:1], seeds=config.seeds[:1],
                               train=t, test_limit=min(config.test_limit or 200, 200), folds=2)


def dump_config(config: ExperimentConfig) -> str:
    """The YAML text of ``config`` (what a run folder's ``config.yaml`` holds; :func:`read_saved_config`
    reads it back as the same config)."""
    return yaml.safe_dump(dataclasses.asdict(config), sort_keys=False)
