"""Preflight: everything a sweep will need, tried once before any cell runs and before ``--out`` is
touched, with every problem reported together.

It checks, in order:

1. the data (:func:`check_data`, run when the grid is validated, before anything else reads it):
   every example the grid's cells will read (the union of their training subsets, and the test
   examples they are scored on) is decoded once, so a corrupt image, a stereo or empty clip or a
   broken text row is named by file before any training (problems are listed up to
   :data:`MAX_LISTED` per split, with the count of the rest);
2. the device (``train.device`` exists on this machine);
3. the output folder (it can be created and written);
4. every row (remedy and learner): the remedy is applied to a tiny part of the first cell's real
   training subset, the learner trains one step on it with the first point of its grid, and
   scores a few test examples, so a remedy that fails on this data, a model that does not fit its
   batches, or a missing pretrained weight file fails here. A registered remedy can declare
   cheaper options for this run (``preflight={...}`` in its registration, e.g. a GAN fitted for one
   step); everything else runs as configured.

``scarce ablate --check`` runs the preflight alone; ``Experiment.run()`` runs it first.
"""

from __future__ import annotations

import dataclasses

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from scarce._torch import resolve_device
from scarce.data.datasets import LabelledDataset
from scarce.experiment.cells import Task
from scarce.experiment.plan import CellPlan, cut_subset, get_bundle, test_set
from scarce.experiment.rows import Row
from scarce.experiment.learners import create_learner
from scarce.remedies.catalogue import REMEDIES
from scarce.experiment.selection import grid_points

MAX_LISTED = 5
"""Decoding problems listed per split (the rest are counted)."""
PER_CLASS = 2
"""Training examples per class of the tiny part each row is tried on."""


class PreflightError(ValueError):
    """Every problem the preflight found, one per line (``problems``)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Preflight found {len(self.problems)} problem(s); nothing was run or written:\n{lines}")


def cheap_spec(spec: Any) -> Any:
    """``spec`` with the preflight options its remedy registered (recursively for composites)."""
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping):
        return spec
    out = dict(spec)
    if isinstance(out.get("remedies"), list):
        out["remedies"] = [cheap_spec(s) for s in out["remedies"]]
    if out.get("name") in REMEDIES:
        out.update(REMEDIES.meta(out["name"]).get("preflight", {}))
    return out


def _check_device(device: str) -> list[str]:
    try:
        resolve_device(device)
    except (ValueError, RuntimeError) as err:
        return [f"train.device: {err}"]
    return []


def _check_out(out_dir: Path | None) -> list[str]:
    if out_dir is None:  # a file there is refused earlier, by the runner's output-folder check
        return []
    probe = out_dir
    while not probe.exists():
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        return [f"--out: '{probe}' is not writable, so '{out_dir}' cannot be written."]
    return []


def _decode(data: LabelledDataset, indices: Iterable[int], what: str) -> list[str]:
    bad = []
    for i in indices:
        try:
            x = data.get(int(i))
            if isinstance(x, np.ndarray) and x.dtype.kind == "f" and not np.isfinite(x).all():
                raise ValueError("it holds NaN or Inf values")
        except Exception as err:  # noqa: BLE001 - every decoding failure is reported, with its cause
            bad.append(f"{what} example {int(i)}: {err}")
    if len(bad) > MAX_LISTED:
        bad = bad[:MAX_LISTED] + [f"... and {len(bad) - MAX_LISTED} more {what} examples that cannot be read"]
    return bad


def _tiny(labels: np.ndarray, indices: np.ndarray) -> np.ndarray:
    keep = [i for c in np.unique(labels[indices]) for i in indices[labels[indices] == c][:PER_CLASS]]
    return np.sort(np.asarray(keep, dtype=np.int64))


def _try_row(row: Row, plan: CellPlan, part: LabelledDataset, test: LabelledDataset, seed: int) -> list[str]:
    try:
        learner = create_learner(Row(row.label, cheap_spec(row.remedy), row.learner), plan=plan)
        prepared = learner.prepare(part, seed=seed)
        point = grid_points(learner.axes)[0]
        fitted = learner.fit(prepared, hparams=point, seed=seed, val=None, stop_at=1)
        learner.score(prepared, fitted, test)
    except Exception as err:  # noqa: BLE001 - reported with the row's name, all rows are tried
        return [f"row '{row.label}': {type(err).__name__}: {err}"]
    return []


def check_data(config, bundle, cells: Iterable[tuple[int, int]]) -> list[str]:
    """Decode every example the (size, seed) ``cells`` read: the union of their subsets and the test
    examples they are scored on. Returns the problems (each naming the example and its file)."""
    labels = bundle.train.labels
    cells = sorted(set(cells))
    train_ix = np.unique(np.concatenate([cut_subset(config, labels, k, s).all for k, s in cells])) if cells else []
    test = test_set(config, bundle)
    return _decode(bundle.train, train_ix, "training") + _decode(test, range(len(test)), "test")


def preflight(config, tasks: list[Task], *, data_root: str | None, out_dir: str | os.PathLike | None) -> None:
    """Try what ``tasks`` will run (see module doc; the data itself is checked when the grid is
    validated, by :func:`check_data`); raise :class:`PreflightError` listing every problem, else
    return ``None``. Nothing is written."""
    problems = _check_device(config.train.device) + _check_out(None if out_dir is None else Path(out_dir))
    if tasks and not problems:  # rows are tried on the device they will use
        size, seed = min((t.size, t.seed) for t in tasks)
        plan = CellPlan.cut(config, get_bundle(config, data_root), size=size, seed=seed)
        plan = dataclasses.replace(plan, unlabelled_limit=PER_CLASS * plan.bundle.num_classes)  # a tiny pool too
        labels, test = plan.bundle.train.labels, plan.test
        part = plan.bundle.train.subset(_tiny(labels, np.asarray(plan.split.train)))
        few = test.subset(_tiny(test.labels, np.arange(len(test))))
        rows = {t.label: t.row for t in tasks}
        for row in rows.values():
            problems += _try_row(row, plan, part, few, seed)
    if problems:
        raise PreflightError(problems)
