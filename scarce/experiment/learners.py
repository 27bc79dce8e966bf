"""Who trains a results row: the engine on the modality's model, or a registered reference learner.

Every row of an ablation is a (remedy, learner) pair and runs through the same cell code
(:func:`scarce.experiment.cells.run_task`): the remedy is applied to the cell's training part, the
learner is fitted on the result for each point of its grid, the selection strategy chooses a point
and the test metrics are recorded. Rows come from two config keys:

* ``remedies: [...]``: each remedy with the engine learner (:class:`ModelLearner`: the config's
  ``model``, trained by :func:`scarce.train.fit` on the ``train`` grid);
* ``references: [...]``: each a registered reference learner (:data:`LEARNERS`), a name or
  ``{name: ..., label: ..., remedy: <remedy spec>, **options}``; with ``remedy`` the remedy is
  applied first (e.g. EDA expansion before TF-IDF), which is only allowed for remedies that change
  nothing but the training rows (:attr:`LogisticLearner.honours`).

The row gains are measured against is the config's ``reference`` (a row label; default: the first
row). A learner derives from :class:`~scarce.experiment.selection.Learner`: ``axes`` (its
hyper-parameter grid), ``prepare(part, *, seed)``, ``fit(prepared, *, hparams, seed, val,
stop_at=None)``, ``score(prepared, fitted, test)`` and, with defaults, ``fit_grid`` and ``checks``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from scarce._checks import check_choice, check_int
from scarce.data.datasets import LabelledDataset
from scarce.remedies.composition import changes_of
from scarce.experiment.rows import LEARNERS
from scarce.experiment.selection import Learner
from scarce.metrics import METRICS, classification_metrics
from scarce.modalities import get_modality, modality_names
from scarce.data.datasets import ConcatDataset
from scarce.experiment.selftrain import Trainer, self_train
from scarce.remedies.added_rows import ShareSamplerFn
from scarce.remedies.base import Remedy, TrainSetup, create_remedy, remedy_label
from scarce.remedies.semi_supervised import request_of

ENGINE = "model"
"""The learner of the ``remedies`` rows (not registered: it is the config's ``model``)."""


def create_learner(row, *, plan) -> Any:
    """The learner of ``row`` (a :class:`~scarce.experiment.config.Row`) for the cell ``plan`` (a
    :class:`~scarce.experiment.plan.CellPlan`): the engine for remedy rows. The row's remedy is built
    here, once for the cell, and applied to every part the selection trains on; every learner scores
    validation in the cell's ``plan.select_by``."""
    if row.learner is None:
        return ModelLearner(plan.config, plan.base_setup, create_remedy(row.remedy), select_by=plan.select_by)
    spec = dict(row.learner)
    return LEARNERS.create(spec.pop("name"), remedy=row.remedy, num_classes=plan.bundle.num_classes,
                           select_by=plan.select_by, unlabelled=plan.unlabelled, **spec)


def check_row(row, *, modality: str) -> None:
    """Refuse, before any work, a reference that cannot run on ``modality`` or a remedy it would ignore."""
    if row.learner is None:
        return
    learner = LEARNERS.get(row.learner["name"])
    if modality not in learner.modalities:
        raise ValueError(f"Reference '{row.label}' ({row.learner['name']}) has no features for {modality} data; "
                         f"it takes {sorted(learner.modalities)}.")
    ignored = sorted(changes_of(create_remedy(row.remedy)).changed - learner.honours)
    if ignored:
        raise ValueError(f"Reference '{row.label}': learner '{row.learner['name']}' trains on the rows only, and remedy "
                         f"'{remedy_label(row.remedy)}' changes `{ignored[0]}`, which it would ignore. Use a remedy that "
                         "adds or resamples rows (e.g. eda, duplicate, oversample), or put it under `remedies`.")


def _no_model(num_classes: int):
    raise RuntimeError("A reference learner's setup has no model: it trains on the setup's rows only.")


@dataclass
class ModelLearner(Learner):
    """The engine: the modality's model pipeline plus a remedy, trained by ``scarce.train.fit_setup``.

    Attributes:
        config: the recipe (its ``train`` section: grid, steps, device).
        base_setup: ``part -> TrainSetup`` before the remedy (:meth:`CellPlan.base_setup`).
        remedy: the row's remedy, built once.
        select_by: the metric of the validation score that keeps checkpoints and chooses points.
    """

    config: Any
    base_setup: Callable[[LabelledDataset], TrainSetup]
    remedy: Remedy
    select_by: str = "accuracy"

    @property
    def axes(self) -> dict:
        """The ``train`` grid (lr, weight decay) and the options the remedy tunes (its ``axes``)."""
        return {"lr": list(self.config.train.lr), "weight_decay": list(self.config.train.weight_decay),
                **tuned_axes(self.remedy, taken=("lr", "weight_decay"))}

    @property
    def checks(self) -> int:
        """Validation checks in one fit (every ``eval_every`` steps and at the last): the step
        counts a selection can choose from."""
        t = self.config.train
        return -(-t.steps // t.eval_every)

    def prepare(self, part: LabelledDataset, *, seed: int) -> TrainSetup:
        """The setup built from ``part`` only, with the remedy applied."""
        return self.remedy.apply(self.base_setup(part), seed=seed)

    def fit(self, setup: TrainSetup, *, hparams: Mapping[str, Any], seed: int, val: LabelledDataset | None,
            stop_at: int | None = None):
        return self.fit_points(setup, [hparams], seed=seed, val=val, stop_at=stop_at)[0]

    def fit_grid(self, setup: TrainSetup, *, points, seed: int, val: LabelledDataset | None) -> list:
        """One fit per point of the grid, trained together (``scarce.train.fit_points``)."""
        return self.fit_points(setup, points, seed=seed, val=val)

    def fit_points(self, setup: TrainSetup, points, *, seed: int, val: LabelledDataset | None,
                   stop_at: int | None = None) -> list:
        """One fit per point; with a self-training request, teacher and students
        (:func:`scarce.experiment.selftrain.self_train`)."""
        request = request_of(setup)
        if request is not None:
            return self_train(_EngineTrainer(self, seed), replace(setup, self_training=None), request,
                              unlabelled=setup.unlabelled, points=points, val=val, stop_at=stop_at,
                              num_classes=setup.num_classes)
        return self._by_axes(setup, points, seed=seed, val=val, stop_at=stop_at)

    def _by_axes(self, setup: TrainSetup, points, *, seed: int, val, stop_at: int | None = None) -> list:
        """The points grouped by the remedy's tuned options (each group trained together, on the
        setup with those options taken: :func:`at_point`), in the order of ``points``."""
        names = [n for n in self.remedy.axes if n not in ("lr", "weight_decay")]
        groups: dict[tuple, list[int]] = {}
        for i, p in enumerate(points):
            groups.setdefault(tuple(p.get(n) for n in names), []).append(i)
        fits: list = [None] * len(points)
        for members in groups.values():
            part = at_point(setup, points[members[0]])
            for i, f in zip(members, self._fit(part, [points[i] for i in members], seed=seed, val=val,
                                               stop_at=stop_at)):
                fits[i] = f
        return fits

    def _fit(self, setup: TrainSetup, points, *, seed: int, val, stop_at: int | None = None) -> list:
        from scarce.train import fit_setup

        configs = [self.config.train.engine_config(lr=hp["lr"], weight_decay=hp["weight_decay"], select_by=self.select_by)
                   for hp in points]
        return fit_setup(setup, configs=configs, seed=seed, val=val, stop_at=stop_at)

    def score(self, setup: TrainSetup, fitted, test: LabelledDataset) -> dict:
        from scarce.inference import evaluate, image_collate

        metrics = evaluate(fitted.model, test, collate=setup.collate or image_collate, device=self.config.train.device)
        notes = {**setup.notes, **fitted.notes}
        return {"metrics": metrics, "n_train_after_remedy": len(setup.train) + notes.get("n_pseudo", 0), "notes": notes}


def tuned_axes(remedy: Remedy, *, taken: tuple[str, ...]) -> dict:
    """The remedy's tuned options (``Remedy.axes``) as grid axes; a name the learner's own grid
    uses is refused."""
    axes = {name: list(values) for name, values in remedy.axes.items()}
    clash = sorted(set(axes) & set(taken))
    if clash:
        raise ValueError(f"Remedy '{remedy.name}' tunes '{clash[0]}', which the learner's grid already holds.")
    return axes


def at_point(setup: TrainSetup, point: Mapping[str, Any]) -> TrainSetup:
    """``setup`` with the grid point's values of the options its parts tune (a consistency loss's
    ``at``); unchanged when none is tuned."""
    if setup.consistency is None:
        return setup
    return replace(setup, consistency=setup.consistency.at(point))


class _EngineTrainer(Trainer):
    """Self-training through the engine (:class:`ModelLearner`)."""

    def __init__(self, learner: ModelLearner, seed: int) -> None:
        self.learner, self.seed = learner, seed

    def fit(self, setup, points, *, val, stop_at):
        return self.learner._by_axes(setup, points, seed=self.seed, val=val, stop_at=stop_at)

    def probabilities(self, setup, fitted, data):
        from scarce.inference import image_collate, predict

        logits = predict(fitted.model, data, collate=setup.collate or image_collate,
                         device=self.learner.config.train.device)
        return softmax(logits)

    def features(self, setup, data):
        from scarce.inference import image_collate

        collate, rows = setup.collate or image_collate, []
        for start in range(0, len(data), 256):
            x, _ = collate([data[i] for i in range(start, min(start + 256, len(data)))])
            rows.append(np.asarray(x, dtype=np.float32))
        x = np.concatenate(rows)
        if x.ndim != 2:
            raise ValueError(f"label_spreading needs feature vectors; this row's model reads inputs of shape "
                             f"{tuple(x.shape[1:])}. It runs on a frozen-feature probe.")
        return x

    def labelled(self, setup):
        return setup.train, setup.train.labels

    def with_rows(self, setup, rows, *, share):
        train = ConcatDataset([setup.train, rows])
        sampler_fn = ShareSamplerFn(len(setup.train), len(train), share) if share is not None else setup.sampler_fn
        return replace(setup, train=train, sampler_fn=sampler_fn)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(N, C)`` logits."""
    z = np.asarray(logits, dtype=np.float64)
    z = np.exp(z - z.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


@dataclass
class _Features:
    featurizer: Any
    x: np.ndarray
    labels: np.ndarray
    setup: TrainSetup
    _cache: tuple = (None, None)
    pool: tuple = (None, None)

    def of_pool(self, data: LabelledDataset) -> np.ndarray:
        """Features of the unlabelled pool (computed once per prepared part)."""
        if self.pool[0] is not data:
            self.pool = (data, self.featurizer.transform(data))
        return self.pool[1]

    def of(self, data: LabelledDataset) -> np.ndarray:
        """Features of ``data`` (the last one asked for is kept: the grid reuses one validation part)."""
        if self._cache[0] is not data:
            self._cache = (data, self.featurizer.transform(data))
        return self._cache[1]


@dataclass
class LogisticFit:
    model: Any
    val_score: tuple[float, float] | None
    history: list
    summary: dict
    notes: dict = field(default_factory=dict)


DEFAULT_C = (0.01, 0.1, 1.0, 10.0)


class LogisticLearner(Learner):
    """Logistic regression on the modality's raw features (its modality's ``featurizer``: flattened pixels for
    images, TF-IDF of word 1-2 grams for text, MFCC mean + std for audio), fitted on the training
    part only (optionally standardised), its inverse regularisation ``C`` chosen on the grid ``C``
    like every other row's hyper-parameters.

    Args:
        remedy: a remedy spec applied to the training part first (rows only; see module doc).
        num_classes: number of classes.
        C: the grid of inverse regularisation strengths (positive).
        standardize: standardise features (fitted on the training part).
        features: options of the modality's featurizer (e.g. ``max_features`` for TF-IDF).
        max_iter: the solver's iteration cap.
        select_by: the metric ``C`` is chosen by on validation (``scarce.metrics.METRICS``).
        unlabelled: the cell's unlabelled pool (the recipe's ``unlabelled:``), for a remedy that
            self-trains (``pseudo_label``): the teacher is this learner on the labelled rows.
    """

    modalities = frozenset(modality_names())
    honours = frozenset({"train", "class_prior", "self_training"})

    def __init__(self, *, remedy: Any = "baseline", num_classes: int, C=DEFAULT_C, standardize: bool = True,
                 features: Mapping[str, Any] | None = None, max_iter: int = 2000, select_by: str = "accuracy",
                 unlabelled: LabelledDataset | None = None) -> None:
        if isinstance(C, (int, float)) and not isinstance(C, bool):
            C = [C]
        if not isinstance(C, (list, tuple)) or not C or not all(
                isinstance(c, (int, float)) and not isinstance(c, bool) and c > 0 for c in C):
            raise ValueError(f"`C` must be a positive number or a non-empty list of them, got {C!r}.")
        if not isinstance(standardize, bool):
            raise ValueError(f"`standardize` must be true or false, got {standardize!r}.")
        if features is not None and not isinstance(features, Mapping):
            raise ValueError(f"`features` must be a mapping of featurizer options, got {features!r}.")
        self.remedy, self.num_classes, self.unlabelled = create_remedy(remedy), num_classes, unlabelled
        self.axes = {"C": [float(c) for c in C], **tuned_axes(self.remedy, taken=("C",))}
        self.standardize, self.features = standardize, dict(features or {})
        self.max_iter = check_int("max_iter", max_iter, minimum=1)
        self.select_by = check_choice("select_by", select_by, METRICS)

    def prepare(self, part: LabelledDataset, *, seed: int) -> _Features:
        setup = self.remedy.apply(TrainSetup(train=part, num_classes=self.num_classes, model_fn=_no_model,
                                             clean_train=part, unlabelled=self.unlabelled), seed=seed)
        featurizer = get_modality(part.modality).featurizer(**self.features)
        return _Features(featurizer, featurizer.fit_transform(setup.train), setup.train.labels, setup)

    def fit(self, feats: _Features, *, hparams: Mapping[str, Any], seed: int, val: LabelledDataset | None,
            stop_at: int | None = None) -> LogisticFit:
        request = request_of(feats.setup)
        if request is not None:
            return self_train(_LogisticTrainer(self), feats, request, unlabelled=feats.setup.unlabelled,
                              points=[hparams], val=val, stop_at=stop_at, num_classes=self.num_classes)[0]
        return self._fit_one(feats, hparams=hparams, val=val)

    def _fit_one(self, feats: _Features, *, hparams: Mapping[str, Any], val: LabelledDataset | None) -> LogisticFit:
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import balanced_accuracy_score, log_loss
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        steps = [StandardScaler()] if self.standardize else []
        clf = make_pipeline(*steps, LogisticRegression(C=hparams["C"], max_iter=self.max_iter)).fit(feats.x, feats.labels)
        classes = clf.classes_
        train_accuracy = float(balanced_accuracy_score(feats.labels, clf.predict(feats.x)))  # see inference.fit_score
        summary = {"steps": None, "best_step": None,
                   "final_train_loss": float(log_loss(feats.labels, clf.predict_proba(feats.x), labels=classes)),
                   "train_accuracy": train_accuracy, "last_train_accuracy": train_accuracy, "val_improving_late": None}
        if val is None:
            return LogisticFit(clf, None, [], summary)
        xv = feats.of(val)
        score = classification_metrics(val.labels, clf.predict(xv), num_classes=self.num_classes)[self.select_by]
        nll = float(log_loss(val.labels, clf.predict_proba(xv), labels=classes))
        return LogisticFit(clf, (score, -nll), [{"step": None, "val_score": score, "val_nll": nll}], summary)

    def score(self, feats: _Features, fitted: LogisticFit, test: LabelledDataset) -> dict:
        pred = fitted.model.predict(feats.featurizer.transform(test))
        out = {"metrics": classification_metrics(test.labels, pred, num_classes=test.num_classes)}
        notes = {**feats.setup.notes, **fitted.notes}
        if feats.setup.train is not feats.setup.clean_train or notes:  # a remedy changed the rows: say what it did
            out.update(n_train_after_remedy=len(feats.setup.train) + notes.get("n_pseudo", 0), notes=notes)
        return out


class _LogisticTrainer(Trainer):
    """Self-training of the logistic-regression reference (features of the pool computed once)."""

    def __init__(self, learner: LogisticLearner) -> None:
        self.learner = learner

    def fit(self, feats, points, *, val, stop_at):
        return [self.learner._fit_one(feats, hparams=p, val=val) for p in points]

    def probabilities(self, feats, fitted, data):
        probs = np.zeros((len(data), self.learner.num_classes))
        probs[:, fitted.model.classes_] = fitted.model.predict_proba(feats.of_pool(data))
        return probs

    def features(self, feats, data):
        import scipy.sparse

        x = feats.x if data is feats.setup.train else feats.of_pool(data)
        return x.toarray() if scipy.sparse.issparse(x) else np.asarray(x)

    def labelled(self, feats):
        return feats.setup.train, feats.labels

    def with_rows(self, feats, rows, *, share):
        import scipy.sparse

        extra = feats.featurizer.transform(rows)
        x = (scipy.sparse.vstack([feats.x, extra]).tocsr() if scipy.sparse.issparse(feats.x)
             else np.concatenate([feats.x, extra]))
        return _Features(feats.featurizer, x, np.concatenate([feats.labels, rows.labels]), feats.setup,
                         pool=feats.pool)
