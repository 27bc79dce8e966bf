"""Semi-supervised remedies: rows that use the recipe's unlabelled pool (``unlabelled:``).

* ``pseudo_label`` (self-training; Lee 2013, Xie et al. 2020): a teacher trained by the row's own
  setup labels the pool; the examples it is confident about (softmax ≥ ``threshold``) join the
  training rows of a student trained the same way; ``rounds`` > 1 makes the student the next
  teacher. Works for every modality and on top of any row (a scratch network, a frozen-feature
  probe, a fine-tuned backbone) and for the reference learners.
* ``label_spreading`` (Zhou et al. 2004; as the pseudo-labeller of Iscen et al. 2019): frozen
  backbone features (a ``linear_probe`` with its options), a k-nearest-neighbour graph over the
  labelled rows and the pool, labels spread along it; confident pool examples then train the
  probe's head beside the labelled ones. Cheap on a CPU.

A remedy does not train anything itself: ``apply`` puts a :class:`SelfTraining` request on the
setup and the row's learner carries it out (:mod:`scarce.experiment.selftrain`), so the teacher is
trained and chosen exactly like the row would be (same grid, same validation, same steps), and
selection only ever scores labelled examples. ``threshold`` given as a list is tuned like the
learning rate (the remedy's ``axes``); the chosen value lands in the record's ``hparams``.

scikit-learn's ``SelfTrainingClassifier`` is not used: it wraps an sklearn estimator, retrains
until no example is added, and has no notion of a validation split, a step budget or the engine's
networks; ``LabelSpreading`` is used as is for the graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from scarce._checks import check_float, check_int
from scarce.remedies.base import Remedy, TrainSetup, register_remedy
from scarce.remedies.composition import Changes
from scarce.remedies.transfer import LinearProbe


def require_pool(setup: TrainSetup, remedy: str) -> None:
    """Refuse a setup without unlabelled examples for ``remedy``, saying how a recipe names a pool.

    Raises:
        ValueError: ``setup.unlabelled`` is ``None`` or empty.
    """
    if setup.unlabelled is None or len(setup.unlabelled) == 0:
        raise ValueError(f"Remedy '{remedy}' trains on unlabelled examples and this recipe names none: add "
                         "`unlabelled: {from: pool, limit: 5000}` (the dataset's other training examples, labels "
                         "hidden) or `unlabelled: {path: <your folder or file>}`.")


def _thresholds(value: Any) -> tuple[float, ...]:
    values = value if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise ValueError("`threshold` must be a number in [0, 1) or a non-empty list of them, got [].")
    out = tuple(check_float("threshold", v, low=0.0, high=1.0, high_inclusive=False) for v in values)
    if len(set(out)) != len(out):
        raise ValueError(f"`threshold` must not repeat values, got {list(values)}.")
    return out


def confident(probs: np.ndarray, *, threshold: float, balance: bool = False,
              max_per_class: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pool examples a teacher is confident about: ``(positions, labels, confidence)``.

    Args:
        probs: ``(N, C)`` class probabilities of the pool (rows sum to 1).
        threshold: keep an example whose top probability is at least this.
        balance: keep the same number per class (the smallest count of confident examples of a
            class that has any), the most confident first, so that one easy class cannot take the
            student over.
        max_per_class: keep at most this many per class, the most confident first.

    Example:
        >>> p = np.array([[.9, .1], [.6, .4], [.2, .8], [.05, .95]])
        >>> [a.tolist() for a in confident(p, threshold=0.7)][:2]
        [[0, 2, 3], [0, 1, 1]]
        >>> confident(p, threshold=0.7, balance=True)[0].tolist()
        [0, 3]
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels, conf = probs.argmax(1), probs.max(1)
    keep = np.flatnonzero(conf >= threshold)
    per_class = [keep[labels[keep] == c] for c in range(probs.shape[1])]
    per_class = [ix[np.argsort(-conf[ix], kind="stable")] for ix in per_class]
    cap = max_per_class
    if balance:
        present = [len(ix) for ix in per_class if len(ix)]
        cap = min([*present, *([] if cap is None else [cap])]) if present else 0
    if cap is not None:
        per_class = [ix[:cap] for ix in per_class]
    chosen = np.sort(np.concatenate(per_class)) if per_class else np.zeros(0, np.int64)
    return chosen.astype(np.int64), labels[chosen].astype(np.int64), conf[chosen]


@dataclass(frozen=True)
class SelfTraining:
    """A setup's request to be trained on pseudo-labels of its unlabelled pool (read by the learner).

    Attributes:
        teacher: ``model`` (the row's own setup, trained and chosen like the row) or
            ``label_spreading`` (a k-NN graph over the features the model reads).
        thresholds: the confidence threshold, or the values it is tuned among.
        rounds: teacher → student rounds (the student of one is the teacher of the next).
        balance, max_per_class: see :func:`confident`.
        share: the share of every student batch drawn from the pseudo-labelled rows (``None``: they
            are drawn like the labelled rows).
        neighbours, alpha: the graph of ``label_spreading`` (k nearest neighbours, clamping).
    """

    teacher: str
    thresholds: tuple[float, ...]
    rounds: int = 1
    balance: bool = False
    max_per_class: int | None = None
    share: float | None = None
    neighbours: int = 10
    alpha: float = 0.99

    @property
    def axes(self) -> Mapping[str, tuple]:
        """``{"threshold": values}`` when there is more than one value to choose among."""
        return MappingProxyType({"threshold": self.thresholds} if len(self.thresholds) > 1 else {})

    @property
    def threshold(self) -> float:
        """The one threshold (after :meth:`at`)."""
        if len(self.thresholds) != 1:
            raise ValueError(f"Several thresholds {list(self.thresholds)} are tuned; take one with `at(point)`.")
        return self.thresholds[0]

    def at(self, point: Mapping[str, Any]) -> SelfTraining:
        """This request with the grid point's threshold (unchanged when it is not tuned)."""
        if "threshold" not in self.axes:
            return self
        return replace(self, thresholds=(float(point["threshold"]),))

    def choose(self, probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:func:`confident` with this request's threshold and caps."""
        return confident(probs, threshold=self.threshold, balance=self.balance, max_per_class=self.max_per_class)


@dataclass(frozen=True, kw_only=True)
class _SelfTrainingOptions(Remedy):
    threshold: Any = 0.95
    rounds: int = 1
    balance: bool = False
    max_per_class: int | None = None
    share: float | None = None

    def _check_options(self) -> None:
        _thresholds(self.threshold)
        check_int("rounds", self.rounds, minimum=1, maximum=10)
        if not isinstance(self.balance, bool):
            raise ValueError(f"`balance` must be true or false, got {self.balance!r}.")
        if self.max_per_class is not None:
            check_int("max_per_class", self.max_per_class, minimum=1)
        if self.share is not None:
            check_float("share", self.share, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)

    @property
    def axes(self) -> Mapping[str, tuple]:
        values = _thresholds(self.threshold)
        return MappingProxyType({"threshold": values} if len(values) > 1 else {})

    def _request(self, teacher: str, **graph: Any) -> SelfTraining:
        return SelfTraining(teacher=teacher, thresholds=_thresholds(self.threshold), rounds=self.rounds,
                            balance=self.balance, max_per_class=self.max_per_class, share=self.share, **graph)

    def _with_request(self, setup: TrainSetup, request: SelfTraining) -> TrainSetup:
        require_pool(setup, self.name)
        return replace(setup, self_training=request).with_notes(
            self_training=request.teacher, n_unlabelled=len(setup.unlabelled), rounds=request.rounds)


@register_remedy("pseudo_label", help="self-training: a teacher (the row itself) labels the unlabelled pool")
@dataclass(frozen=True, kw_only=True)
class PseudoLabel(_SelfTrainingOptions):
    """Self-training on the recipe's unlabelled pool, on top of whatever the row is.

    Options: ``threshold`` (softmax confidence to keep a pseudo-label; a list is tuned on
    validation; default 0.95), ``rounds`` (default 1), ``balance`` (the same number per class),
    ``max_per_class``, ``share`` (of every student batch from pseudo-labelled rows; default: drawn
    like the labelled rows, which then sets the sampler).
    """

    def __post_init__(self) -> None:
        self._check_options()

    @property
    def changes(self) -> Changes:
        return Changes(replaces={"self_training"} | ({"sampler_fn"} if self.share is not None else set()))

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        return self._with_request(setup, self._request("model"))


@register_remedy("label_spreading", help="frozen features + labels spread over a k-NN graph of the unlabelled pool")
@dataclass(frozen=True, kw_only=True)
class LabelSpreading(_SelfTrainingOptions):
    """A ``linear_probe`` (every probe option: ``backbone``, ``size``, ``cache_dir``...) whose head
    also trains on pool examples labelled by spreading the labelled rows' classes over a k-NN
    graph of the frozen features (``neighbours``, default 10; ``alpha``, default 0.99), the
    confident ones (``threshold``, default 0.9; a list is tuned) only.
    """

    threshold: Any = 0.9
    neighbours: int = 10
    alpha: float = 0.99
    probe: tuple = ()  # the linear_probe options, as sorted (name, value) pairs

    def __init__(self, *, threshold: Any = 0.9, rounds: int = 1, balance: bool = False,
                 max_per_class: int | None = None, share: float | None = None, neighbours: int = 10,
                 alpha: float = 0.99, **probe: Any) -> None:
        for k, v in dict(threshold=threshold, rounds=rounds, balance=balance, max_per_class=max_per_class,
                         share=share, neighbours=neighbours, alpha=alpha, probe=tuple(sorted(probe.items()))).items():
            object.__setattr__(self, k, v)
        self._check_options()
        check_int("neighbours", neighbours, minimum=1)
        check_float("alpha", alpha, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
        object.__setattr__(self, "_probe", LinearProbe(**probe))

    @property
    def deliverable(self) -> bool:
        return self._probe.deliverable

    @property
    def changes(self) -> Changes:
        probe = self._probe.changes
        extra = {"self_training"} | ({"sampler_fn"} if self.share is not None else set())
        return Changes(replaces=probe.replaces | extra, wraps=probe.wraps, excludes=probe.excludes,
                       modalities=probe.modalities, advice=probe.advice)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        setup = self._probe.apply(setup, seed=seed)
        return self._with_request(setup, self._request("label_spreading", neighbours=self.neighbours,
                                                       alpha=self.alpha))

    def preview_apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        """The probe's preview (what the backbone is fed) with the request kept, so the page also
        shows pool examples a cheap stand-in teacher would pseudo-label."""
        return self._with_request(self._probe.preview_apply(setup, seed=seed),
                                  self._request("label_spreading", neighbours=self.neighbours, alpha=self.alpha))


PCA_DIM = 128
"""Features wider than this are projected on their first ``PCA_DIM`` principal components (fitted on the
labelled rows and the pool together, no label read) before the graph is built: the k-NN search over a
10,000-example pool is then ten times cheaper for 1,280-d backbone features, and little of the
neighbourhood structure is lost."""


def spread_labels(labelled: np.ndarray, labels: np.ndarray, pool: np.ndarray, *, num_classes: int,
                  neighbours: int = 10, alpha: float = 0.99) -> np.ndarray:
    """Class probabilities of the ``pool`` rows by label spreading (scikit-learn's ``LabelSpreading``,
    k-NN kernel) over the L2-normalised features of the labelled rows and the pool (projected on
    :data:`PCA_DIM` principal components first when wider).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.normal(0, .1, (20, 2)) + [5, 0], rng.normal(0, .1, (20, 2)) + [0, 5]
        >>> p = spread_labels(np.r_[a[:2], b[:2]], np.array([0, 0, 1, 1]), np.r_[a[2:], b[2:]], num_classes=2,
        ...                   neighbours=5)
        >>> p.argmax(1).tolist() == [0] * 18 + [1] * 18, bool(np.allclose(p.sum(1), 1))
        (True, True)
    """
    from sklearn.decomposition import PCA
    from sklearn.semi_supervised import LabelSpreading as _Spreading

    x = np.concatenate([np.asarray(labelled, np.float64), np.asarray(pool, np.float64)])
    if x.shape[1] > PCA_DIM and len(x) > PCA_DIM:
        x = PCA(n_components=PCA_DIM, svd_solver="randomized", random_state=0).fit_transform(x)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    y = np.concatenate([np.asarray(labels, np.int64), np.full(len(pool), -1)])
    k = min(neighbours, len(x) - 1)
    model = _Spreading(kernel="knn", n_neighbors=k, alpha=alpha, max_iter=1000).fit(x, y)
    dist = np.zeros((len(x), num_classes))
    dist[:, model.classes_[model.classes_ >= 0]] = model.label_distributions_
    dist = dist[len(labelled):]
    total = dist.sum(1, keepdims=True)
    # a pool example the graph does not reach from any labelled row gets nothing: uniform, never confident
    return np.where(total > 0, dist / np.where(total > 0, total, 1.0), 1.0 / num_classes)


def request_of(setup: TrainSetup) -> SelfTraining | None:
    """The setup's self-training request, if any (typed access for the learners)."""
    return setup.self_training if isinstance(setup.self_training, SelfTraining) else None

