"""The checks of one grid point's run: validation scores, the best checkpoint and the :class:`FitResult`.

:mod:`scarce.train` runs the steps; a :class:`Track` per point decides, at each validation check,
whether the model is the best so far (BatchNorm statistics re-estimated on the clean data first),
and at the end keeps that checkpoint and says how far training got (:func:`still_improving`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from torch import nn

from scarce.inference import fit_score, recompute_batchnorm, val_score


@dataclass
class FitResult:
    """The trained model (best validation checkpoint) and how it was chosen.

    Attributes:
        model: the kept model (eval mode).
        best_step: the step of the kept model.
        val_score: ``(score, -NLL)`` on the validation data at ``best_step``, the score in the
            config's ``select_by`` metric (``None`` without validation data).
        lr, weight_decay: the point trained with.
        history: one entry per check: ``step``, ``loss`` (mean training loss since the previous
            check) and, with validation data, ``val_score`` (in ``select_by``) and ``val_nll``.
        steps: optimisation steps actually run (``stop_at`` or patience may end a run early).
        train_accuracy: class-balanced accuracy (mean recall over the classes present) of the kept
            model on the clean training data (eval mode); the accuracy on a balanced subset.
        last_train_accuracy: the same for the model at the last step run: a model that fits its
            training data by the end but was kept from an early checkpoint is not under-trained.
        notes: what happened around this fit for the results log (e.g. pseudo-labelling: the rows
            a teacher added, :mod:`scarce.experiment.selftrain`); merged into the record's ``notes``.
    """

    model: nn.Module
    best_step: int
    val_score: tuple[float, float] | None
    lr: float
    weight_decay: float
    history: list[dict] = field(default_factory=list)
    steps: int = 0
    train_accuracy: float | None = None
    last_train_accuracy: float | None = None
    notes: dict = field(default_factory=dict)

    @property
    def summary(self) -> dict:
        """``steps``, ``best_step``, ``final_train_loss``, ``train_accuracy``, ``last_train_accuracy``,
        ``val_improving_late``."""
        return {"steps": self.steps, "best_step": self.best_step,
                "final_train_loss": self.history[-1]["loss"] if self.history else None,
                "train_accuracy": self.train_accuracy, "last_train_accuracy": self.last_train_accuracy,
                "val_improving_late": still_improving(self.history, best_step=self.best_step, steps=self.steps)}


def still_improving(checks: Sequence[dict], *, best_step: int, steps: int) -> bool | None:
    """Whether the validation score was still rising at the end of a run.

    True when the best check (``best_step``) lies in the last quarter of ``steps`` and its
    ``val_score`` is higher than that of every check before it (a plateau whose NLL still
    creeps down is not "rising"); ``None`` when ``checks`` hold fewer than two validation scores
    (one check at the last step, ``eval_every == steps``, shows no trend: it used to be flagged).

    Example:
        >>> still_improving([{"step": 5, "val_score": .5}, {"step": 10, "val_score": .8}],
        ...                 best_step=10, steps=10)
        True
    """
    scored = [c for c in checks if c.get("val_score") is not None]
    best = next((c for c in scored if c["step"] == best_step), None)
    if best is None or len(scored) < 2:
        return None
    return best_step > 0.75 * steps and all(c["val_score"] < best["val_score"] for c in scored
                                            if c["step"] < best_step)


class Track:
    """One grid point's run: its checks, best checkpoint and, once finished, its :class:`FitResult`."""

    def __init__(self, model: nn.Module, config: Any, last: int, first: int) -> None:
        """``config``: the point's ``scarce.train.TrainConfig``; ``last``: its final step; ``first``: the
        first step whose checkpoint may be kept."""
        self.model, self.config, self.last, self.first = model, config, last, first
        self.best, self.best_state, self.best_step, self.stale = None, None, last, 0
        self.history: list[dict] = []
        self.loss, self.n = 0.0, 0
        self.result: FitResult | None = None

    def check(self, step: int, *, val, bn_data, collate, device) -> bool:
        """A validation check at ``step``; True when this run is over (last step or patience)."""
        if self.config.recompute_bn:
            recompute_batchnorm(self.model, bn_data, collate=collate, device=device)
        entry = {"step": step, "loss": self.loss / self.n}
        self.loss, self.n = 0.0, 0
        if val is not None and len(val):
            score = val_score(self.model, val, collate, device, metric=self.config.select_by)
            entry["val_score"], entry["val_nll"] = score[0], -score[1]
            if step < self.first:  # before the remedy's change (select_from): scored, never kept
                entry["selectable"] = False
            elif self.best is None or score >= self.best:
                self.best, self.best_step, self.stale = score, step, 0
                self.best_state = copy.deepcopy(self.model.state_dict())
            else:
                self.stale += 1
        else:
            self.best_step = step
        self.history.append(entry)
        return step == self.last or (self.config.patience is not None and self.stale >= self.config.patience)

    def finish(self, step: int, *, bn_data, collate, device, detach: bool) -> None:
        """Keep the best checkpoint (in a copy of the model when ``detach``: it is still being trained)."""
        model = copy.deepcopy(self.model) if detach else self.model
        hard_labels = len(bn_data) and np.ndim(bn_data.labels) == 1
        last_accuracy = None
        if self.best_state is not None and self.best_step != step and hard_labels:
            last_accuracy = fit_score(model, bn_data, collate, device)  # did it fit by the end?
        if self.best_state is not None:
            model.load_state_dict(self.best_state)
        model.eval()
        train_accuracy = fit_score(model, bn_data, collate, device) if hard_labels else None
        self.result = FitResult(model, self.best_step, self.best, self.config.lr, self.config.weight_decay,
                                self.history, steps=step, train_accuracy=train_accuracy,
                                last_train_accuracy=train_accuracy if last_accuracy is None else last_accuracy)
