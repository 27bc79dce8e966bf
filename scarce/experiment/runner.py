"""The experiment runner: remedies × sizes × seeds, one JSON line per finished cell, resumable.

Cells are appended to ``results.jsonl`` (flushed and fsynced) as they finish; a rerun skips the
cells already there, so a killed sweep resumes where it stopped. The resolved config is saved as
``config.yaml``; an output folder holding results of a different config is refused unless
``overwrite=True``. Growing the grid of the same config (more sizes, seeds or remedies) is not a
different config: the finished cells are kept and only the new ones run; tables show the cells of
the current grid only.

With ``tune: first_seed`` the cells of ``seeds[0]`` run first (each searches the grid); the other
cells then reuse the ``hparams`` their (remedy, size) cell of ``seeds[0]`` wrote to the log, so a
resumed or grown run reuses the same choice.

A cell whose code raises is logged as failed (:mod:`scarce.experiment.cells`) and the others go
on; under ``tune: first_seed`` the cells that would reuse a failed cell's choice are logged failed
too, naming it. A rerun retries every failed cell.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from scarce._checks import check_choice, check_float, check_int
from scarce._io import atomic_write_text
from scarce.data.loaders import DATASETS
from scarce.experiment.cells import Task
from scarce.experiment.plan import CellPlan, cut_subset, get_bundle, test_set
from scarce.experiment.unlabelled import check_config as check_unlabelled_config, check_pools
from scarce.experiment.config import ExperimentConfig, RunSection, dump_config, read_saved_config
from scarce.experiment.learners import check_row
from scarce.executors.local import Executor, create_executor, import_modules
from scarce.experiment.cells import describe, failed_record, run_cell
from scarce.experiment.preflight import PreflightError, check_data, preflight
from scarce.experiment.log import CONFIG, LOG, PREVIEW_SECTIONS, _repair_tail, is_failed, read_log, read_records  # noqa: F401
from scarce.remedies.composition import check_remedy
from scarce.experiment.selection import selection_names
from scarce.remedies.base import create_remedy
from scarce.metrics import METRICS

TUNE_MODES = ("every_cell", "first_seed")
NAME = re.compile(r"[^/\\\x00.][^/\\\x00]*")
"""A config ``name``: it names the output folder under ``runs/``, so no path separator and no leading dot."""
OUTPUTS = (LOG, "results.md", "results.csv", "metric_vs_size.png", "gain_vs_size.png", "report.html",
           "command.txt", "preview.html", str(PREVIEW_SECTIONS))
"""What ``overwrite`` removes (the previews too: they showed the recipe of the results replaced)."""


GRID_KEYS = ("sizes", "seeds", "remedies", "references")
RUN_KEYS = ("run",)
"""Config keys that say where cells run, not what they compute: a run may resume with others."""
REPORT_KEYS = ("equivalence_margin",)
"""Config keys that only change how the results are judged: a run may resume with others."""


def extends(old: ExperimentConfig, new: ExperimentConfig) -> bool:
    """True when ``new`` only changes the grid of ``old`` (sizes, seeds, remedies, references) and
    every row label present in both has the same remedy and learner, so the finished cells of
    ``old`` stay valid."""
    def fixed(config: ExperimentConfig) -> ExperimentConfig:
        return dataclasses.replace(config, run=RunSection(), **{k: [] for k in GRID_KEYS},
                                   **{k: getattr(ExperimentConfig, k) for k in REPORT_KEYS})

    if fixed(old) != fixed(new):
        return False
    old_rows = {r.label: r for r in old.rows()}
    return all(old_rows.get(r.label, r) == r for r in new.rows())


def validate_config(config: ExperimentConfig, *, data_root: str | None,
                    decoded: frozenset[tuple[int, int]] = frozenset()) -> list[Task]:
    """Check everything that can be checked before training; return the grid's tasks.

    ``decoded``: (size, seed) cells whose examples were already decoded by an earlier check of the
    same dataset (:meth:`Experiment.regrid`): only the others are read again.
    """
    if not isinstance(config.name, str) or not NAME.fullmatch(config.name):
        raise ValueError(f"Config key 'name' must be a plain name without '/' or '\\' that does not start with '.': "
                         f"it names the output folder under runs/. Got {config.name!r}.")
    if not config.sizes or not config.seeds:
        raise ValueError("Config keys 'sizes' and 'seeds' must each hold at least one value.")
    for i, s in enumerate(config.sizes):
        check_int(f"sizes[{i}]", s, minimum=1)
    for i, s in enumerate(config.seeds):
        check_int(f"seeds[{i}]", s, minimum=0)
    if len(set(config.sizes)) != len(config.sizes) or len(set(config.seeds)) != len(config.seeds):
        raise ValueError(f"Config keys 'sizes' and 'seeds' must not repeat values, got {config.sizes} and {config.seeds}.")
    check_choice("subset.kind", config.subset.kind, ("per_class", "long_tailed"))
    check_choice("metric", config.metric, ("auto", *METRICS))
    check_choice("tune", config.tune, TUNE_MODES)
    check_choice("selection", config.selection, selection_names())
    check_choice("select_by", config.select_by, ("auto", *METRICS))
    check_int("folds", config.folds, minimum=2)
    check_int("cv_max_k", config.cv_max_k, minimum=1)
    check_float("equivalence_margin", config.equivalence_margin, low=0.0, high=1.0, low_inclusive=False,
                high_inclusive=False)
    check_unlabelled_config(config.unlabelled)
    DATASETS.get(config.dataset.name)
    t = config.train
    if not t.lr or not t.weight_decay:
        raise ValueError("Config keys 'train.lr' and 'train.weight_decay' must each hold at least one value.")
    for size, steps in t.steps_by_size.items():
        check_int("train.steps_by_size key (a size)", size, minimum=1)
        check_int(f"train.steps_by_size[{size}]", steps, minimum=1)
    for lr in t.lr:
        for wd in t.weight_decay:
            t.engine_config(lr=lr, weight_decay=wd)
    if config.test_limit is not None:
        check_int("test_limit", config.test_limit, minimum=1)
    grid_rows = config.rows()  # unknown reference learners fail here
    if not grid_rows:
        raise ValueError("Config keys 'remedies' and 'references' are both empty: name at least one row.")
    labels = [r.label for r in grid_rows]
    if len(set(labels)) != len(labels):
        raise ValueError(f"Row labels must be unique, got {labels}. Give each remedy or reference a `label:`.")
    if config.reference is not None and config.reference not in labels:
        raise ValueError(f"`reference` must be the label of a row, one of {labels}; got {config.reference!r}.")
    bundle = get_bundle(config, data_root)
    cells = [(k, s) for k in config.sizes for s in config.seeds if (k, s) not in decoded]
    problems = check_data(config, bundle, cells)
    problems += check_pools(config.unlabelled, bundle, test_set(config, bundle),
                            [(k, s, cut_subset(config, bundle.train.labels, k, s)) for k, s in cells])
    if problems:  # every unreadable example at once, before anything else reads the data
        raise PreflightError(problems)
    for row in grid_rows:
        check_remedy(create_remedy(row.remedy), modality=bundle.modality)  # a chain losing a remedy, a wrong modality
        check_row(row, modality=bundle.modality)  # a reference without features, or ignoring its remedy
    plans = {size: CellPlan.cut(config, bundle, size=size, seed=config.seeds[0]) for size in config.sizes}
    if any(r.learner is None for r in grid_rows):  # unknown models and bad model options fail here, not mid-run
        first = plans[config.sizes[0]]
        with torch.random.fork_rng():  # the caller's RNG is left as it was
            first.base_setup(first.train).model_fn(bundle.num_classes)
    grid = len(t.lr) * len(t.weight_decay)
    for size, plan in plans.items():
        plan.strategy.check_cell(size=size, smallest=plan.smallest, n_val=len(plan.split.val), grid_points=grid,
                                 val_fraction=config.subset.val_fraction)
    return [Task(r.label, r.remedy, size, seed, learner=r.learner) for size in config.sizes for seed in config.seeds
            for r in grid_rows]


class Experiment:
    """Run an ablation grid into ``out_dir``.

    Example:
        >>> from scarce.experiment.config import ExperimentConfig, TrainSection
        >>> cfg = ExperimentConfig(sizes=[5], seeds=[0], train=TrainSection(steps=2, lr=[1e-3]),
        ...                        references=["logreg"])
        >>> import tempfile
        >>> records = Experiment(cfg, out_dir=tempfile.mkdtemp(), progress=False).run()
        >>> sorted({r["remedy"] for r in records})
        ['baseline', 'logreg']
    """

    def __init__(self, config: ExperimentConfig, *, out_dir: str | os.PathLike, data_root: str | None = None,
                 executor: Executor | None = None, overwrite: bool = False, progress: bool = True,
                 command: str | None = None) -> None:
        """Args:
            executor: an object with the executor ``run`` method, in place of the one the config's
                ``run:`` section names (to change that section: ``config.with_run(jobs=4)``).
        """
        self.config, self.out_dir, self.data_root = config, Path(out_dir), data_root
        import_modules(config.run.imports)  # plug-ins: the grid below may name what they register
        self.executor = create_executor(config.run) if executor is None else executor
        self.failed = 0
        self.overwrite, self.progress, self.command = overwrite, progress, command
        self._setup(config, decoded=frozenset())

    def _setup(self, config: ExperimentConfig, *, decoded: frozenset[tuple[int, int]]) -> None:
        self.config = config
        self.tasks = validate_config(config, data_root=self.data_root, decoded=decoded)
        self.decoded = decoded | {(k, s) for k in config.sizes for s in config.seeds}
        self._check_out_dir()

    def regrid(self, config: ExperimentConfig) -> Experiment:
        """This experiment (same folder, executor and settings) on ``config``, which must only change
        the grid (:func:`extends`: sizes, seeds, rows): the data of cells already checked is not
        decoded again. ``scarce search`` runs its rounds so."""
        if not extends(self.config, config):
            raise ValueError("`config` must differ from the experiment's only in sizes, seeds, remedies and references.")
        other = copy.copy(self)
        other._setup(config, decoded=self.decoded)
        return other

    def _check_out_dir(self) -> None:
        cfg_path = self.out_dir / CONFIG
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise NotADirectoryError(f"`out_dir` must be a folder, got the file '{self.out_dir}'.")
        log = self.out_dir / LOG
        started = log.exists() and log.stat().st_size > 0  # a start that crashed before any cell blocks nothing
        if cfg_path.exists() and not self.overwrite and started:
            try:
                old = read_saved_config(self.out_dir)
            except ValueError:  # saved by another version: not a config this run can extend
                old = None
            if old is None or not extends(old, self.config):
                raise FileExistsError(
                    f"'{self.out_dir}' holds results of a different config ({cfg_path}); choose another --out "
                    "or pass --overwrite to replace them. (Adding sizes, seeds or remedies to the same config "
                    "is allowed: finished cells are kept.)"
                )
        elif not cfg_path.exists() and (self.out_dir / LOG).exists() and not self.overwrite:
            raise FileExistsError(f"'{self.out_dir}' holds a results log without its config; pass --overwrite.")

    def check(self) -> list[Task]:
        """The preflight (:mod:`scarce.experiment.preflight`) of the pending cells; raises
        ``PreflightError`` listing every problem, writes nothing. Returns the pending cells."""
        todo = self.tasks if self.overwrite else self.pending()
        preflight(self.config, todo, data_root=self.data_root, out_dir=self.out_dir)
        return todo

    def pending(self) -> list[Task]:
        done = {r.get("key") for r in read_log(self.out_dir / LOG)}
        return [t for t in self.tasks if t.key not in done]

    def _run_tasks(self, tasks: list[Task], log, bar) -> None:
        fn = functools.partial(run_cell, self.config, self.data_root)
        for _, record in self.executor.run(fn, tasks, lost=_lost):
            self._append(record, log, bar)

    def _append(self, record: dict, log, bar) -> None:
        log.write(json.dumps(record, sort_keys=True) + "\n")
        log.flush()
        os.fsync(log.fileno())
        self.failed += is_failed(record)
        status = f" failed={self.failed}" if self.failed else ""
        bar.set_postfix_str(f"{record['remedy']} k={record['size']} s={record['seed']}{status}", refresh=False)
        bar.update()

    def run(self):
        """Run the cells not yet in the log (appending each record to ``results.jsonl``) and return the
        log's records; the report is built from the log above the runner
        (:func:`scarce.report.ablation.run_and_report`)."""
        from tqdm.auto import tqdm

        self.check()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if self.overwrite:
            for name in OUTPUTS:
                (self.out_dir / name).unlink(missing_ok=True)
        atomic_write_text(self.out_dir / CONFIG, dump_config(self.config))
        if self.command:
            atomic_write_text(self.out_dir / "command.txt", self.command + "\n")
        log = self.out_dir / LOG
        _repair_tail(log)
        todo = self.pending()
        self.failed = 0
        with open(log, "a", encoding="utf-8") as f, tqdm(total=len(todo), desc=self.config.name, unit="cell",
                                                         disable=not self.progress, file=sys.stderr) as bar:
            if self.config.tune == "first_seed":
                first = self.config.seeds[0]
                self._run_tasks([t for t in todo if t.seed == first], f, bar)
                todo, unusable = reuse_choices([t for t in todo if t.seed != first], read_records(log), seed=first)
                for record in unusable:
                    self._append(record, f, bar)
            self._run_tasks(todo, f, bar)
        return read_records(log)


def _lost(task: Task, error: BaseException) -> dict:
    """The record of a cell its executor could not run (its worker died past the retries)."""
    return failed_record(task, error=describe(error), seconds=0.0)


def reuse_choices(tasks: Iterable[Task], records: list[dict], *, seed: int) -> tuple[list[Task], list[dict]]:
    """``tasks`` with ``fixed`` set to the ``hparams`` logged by their (remedy, size) cell of ``seed``,
    and a failed record for each task whose cell of ``seed`` failed (its choice cannot be reused)."""
    chosen, failed = {}, {}
    for r in records:
        if r.get("seed") == seed and is_failed(r):
            failed[(r["remedy"], r["size"])] = r
        elif r.get("seed") == seed and "hparams" in r:
            chosen.setdefault((r["remedy"], r["size"]), r["hparams"])
    out, unusable = [], []
    for t in tasks:
        if (t.label, t.size) not in chosen and (t.label, t.size) in failed:
            cause = failed[(t.label, t.size)]
            unusable.append(failed_record(t, seconds=0.0, error=(
                f"FirstSeedFailed: cell {cause['key']} failed ({cause['error']}), so its hyper-parameters "
                "cannot be reused (tune: first_seed); a rerun retries both")))
            continue
        if (t.label, t.size) not in chosen:
            raise RuntimeError(f"No finished cell {t.label!r} at size {t.size} and seed {seed} in the log to reuse "
                               "its hyper-parameters from (tune: first_seed).")
        out.append(dataclasses.replace(t, fixed=tuple(sorted(chosen[(t.label, t.size)].items())), tuned_on=seed))
    return out, unusable
