"""A cell's unlabelled pool (the recipe's ``unlabelled:``): its source, its checks, and the task a
mismatch leaves.

* ``from: pool`` (for measuring): the dataset's training pool minus the cell's labelled subset
  (its training and validation parts), labels hidden, ``limit`` examples drawn with the cell's
  (size, seed); with ``mismatch: {share, classes}`` the ``classes`` leave the labelled task (its
  training pool and test set, :func:`task_bundle`) and ``share`` of the pool is drawn from their
  training examples.
* ``path``: a user's own data, read and decoded once per process with the loaders of labelled data
  (:func:`scarce.data.read_unlabelled`), ``limit`` of it drawn per cell.

A delivered model (``scarce train``) is trained on the whole training pool, so ``from: pool`` has
nothing left for it: a row that reads the pool (:func:`reads_pool`) needs ``path``
(:func:`check_delivery`, before any work), and its pool is :func:`delivery_pool`.

The pool is the same for every row of a cell (paired), never holds a labelled example of the cell
nor a test example (:func:`check_pools`, before any work), and is what every part of the cell
(hold-out, each fold, the retrain) sees as ``TrainSetup.unlabelled``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from scarce._checks import check_choice, check_float, check_int
from scarce._lru import lru_get
from scarce.data.classes import ClassView, class_indices
from scarce.data.loaders import DatasetBundle
from scarce.data.subsets import SubsetSplit
from scarce.data.unlabelled import UnlabelledDataset, check_unlabelled, hide_labels, overlap, read_unlabelled
from scarce.experiment.config import UnlabelledConfig
from scarce.remedies.composition import changes_of, declared

SOURCES = ("pool",)
_READ: OrderedDict = OrderedDict()
MAX_READ = 2
POOL_SOURCE = "the dataset's training pool minus the cell's labelled subset (labels hidden)"
POOL_PARTS = frozenset({"self_training", "consistency"})
"""The parts of a setup (:data:`scarce.remedies.composition.PARTS`) a remedy changes to train on the
unlabelled pool: a self-training request, an unlabelled consistency loss."""


def check_config(u: UnlabelledConfig) -> None:
    """Refuse a malformed ``unlabelled:`` section before any data is read."""
    if u.source is not None and u.path is not None:
        raise ValueError("`unlabelled` takes one of `from: pool` and `path: ...`, got both.")
    if u.source is not None:
        check_choice("unlabelled.from", u.source, SOURCES)
    if u.path is not None and (not isinstance(u.path, str) or not u.path.strip()):
        raise ValueError(f"`unlabelled.path` must be a file or folder path, got {u.path!r}.")
    if u.limit is not None:
        check_int("unlabelled.limit", u.limit, minimum=1)
    check_float("unlabelled.mismatch.share", u.mismatch.share, low=0.0, high=1.0, high_inclusive=False)
    if (u.mismatch.share > 0 or u.mismatch.classes) and u.source != "pool":
        raise ValueError("`unlabelled.mismatch` builds the pool from the dataset's own classes: it needs "
                         f"`unlabelled.from: pool`, got from={u.source!r}, path={u.path!r}.")
    if u.mismatch.share > 0 and not u.mismatch.classes:
        raise ValueError("`unlabelled.mismatch.share` > 0 needs `unlabelled.mismatch.classes`: the classes left out "
                         "of the labelled task whose examples make that share of the pool.")


def task_bundle(bundle: DatasetBundle, classes) -> DatasetBundle:
    """The labelled task: ``bundle`` without ``classes`` (``unlabelled.mismatch.classes``; their training
    examples kept in ``extra["outside"]`` for the pool), or ``bundle`` itself when there are none."""
    if not classes:
        return bundle
    out = class_indices(classes, bundle.train.class_names, name="unlabelled.mismatch.classes")
    keep = [c for c in range(bundle.num_classes) if c not in out]
    if len(keep) < 2:
        raise ValueError(f"`unlabelled.mismatch.classes` leaves {len(keep)} class(es) for the labelled task; "
                         "keep at least two.")
    train = ClassView(bundle.train, keep=keep)
    outside = np.flatnonzero(np.isin(bundle.train.labels, out))
    return replace(bundle, train=train, test=ClassView(bundle.test, keep=keep),
                   test_split=f"{bundle.test_split}, classes {train.class_names} only",
                   extra={**bundle.extra, "full_train": bundle.train, "outside": outside,
                          "outside_classes": [bundle.train.class_names[c] for c in out]})


def _user_pool(u: UnlabelledConfig, bundle: DatasetBundle) -> UnlabelledDataset:
    def read() -> UnlabelledDataset:
        pool = read_unlabelled(u.path, like=bundle.train, text_column=u.text_column)
        check_unlabelled(pool, like=bundle.train)
        return pool

    return lru_get(_READ, (u.path, u.text_column, id(bundle.train)), read, bound=MAX_READ)


def cell_pool(u: UnlabelledConfig, bundle: DatasetBundle, split: SubsetSplit, *, size: int, seed: int,
              limit: int | None = None) -> UnlabelledDataset | None:
    """The unlabelled pool of cell (``size``, ``seed``) (``None`` without ``unlabelled:``).

    Args:
        u: the recipe's section.
        bundle: the labelled task (:func:`task_bundle`).
        split: the cell's labelled subset (never in the pool).
        limit: a cap below ``u.limit`` (the preflight's tiny cells).
    """
    if not u.enabled:
        return None
    rng = np.random.default_rng([seed, size, 0x554E4C])
    cap = min(x for x in (u.limit, limit, np.inf) if x is not None)
    if u.path is not None:
        pool = _user_pool(u, bundle)
        n = int(min(cap, len(pool)))
        return pool if n == len(pool) else pool.subset(np.sort(rng.choice(len(pool), n, replace=False)))
    rest = np.setdiff1d(np.arange(len(bundle.train)), split.all)
    if len(rest) == 0:
        raise ValueError(f"`unlabelled: {{from: pool}}` leaves no unlabelled example at size {size}: the dataset's "
                         "training pool is the labelled subset itself. Use a smaller size, or name your unlabelled "
                         "data with `unlabelled: {path: ...}`.")
    n = int(min(cap, len(rest) + (len(bundle.extra.get("outside", ())) if u.mismatch.share else 0)))
    n_out = int(round(u.mismatch.share * n))
    inside = np.sort(rng.choice(rest, min(n - n_out, len(rest)), replace=False))
    if "outside" not in bundle.extra:
        return hide_labels(bundle.train, inside, source=POOL_SOURCE)
    outside = bundle.extra["outside"]
    picked = np.sort(rng.choice(outside, min(n_out, len(outside)), replace=False))
    positions = np.concatenate([bundle.train.indices[inside], picked])
    return hide_labels(bundle.extra["full_train"], positions, class_names=bundle.train.class_names,
                       source=f"{POOL_SOURCE}, {len(picked)} of them from classes outside the task "
                              f"({', '.join(bundle.extra['outside_classes'])})")


def pseudo_accuracy(pool: UnlabelledDataset, positions: np.ndarray, labels: np.ndarray) -> float | None:
    """The share of pseudo-labels that name the true class of their pool example, for a pool drawn
    from a labelled dataset (``from: pool``): measured by the harness after training, for the results
    page; no remedy and no selection ever reads it. An example of a class outside the task counts as
    wrong. ``None`` for a user's own pool (no labels) or without pseudo-labels.

    Example:
        >>> from scarce.data import ArrayDataset
        >>> base = ArrayDataset(np.zeros((4, 1, 1, 1), np.uint8), [0, 1, 0, 1], class_names=["a", "b"])
        >>> pseudo_accuracy(hide_labels(base, [1, 2, 3], source="x"), np.array([0, 1]), np.array([1, 1]))
        0.5
    """
    truth = pool.hidden_classes()
    if len(positions) == 0 or truth is None:
        return None
    truth = [truth[i] for i in positions]
    named = [pool.class_names[c] for c in labels]
    return round(float(np.mean([t == n for t, n in zip(truth, named)])), 4)


def check_pools(u: UnlabelledConfig, bundle: DatasetBundle, test,
                cells: Iterable[tuple[int, int, SubsetSplit]]) -> list[str]:
    """Problems of the pools of ``cells`` ((size, seed, split)), before any work: an empty pool, a
    user's pool that does not read or that shares an example with the test split."""
    if not u.enabled:
        return []
    problems = []
    for size, seed, split in cells:
        try:
            cell_pool(u, bundle, split, size=size, seed=seed)
        except (ValueError, OSError) as err:
            problems.append(str(err))
            break
    if u.path is not None and not problems:
        pool = _user_pool(u, bundle)
        shared = overlap(pool, test)
        if shared:
            i, j = shared[0]
            problems.append(f"`unlabelled.path`: {len(shared)} unlabelled example(s) are also in the test split "
                            f"(e.g. {pool.name_of(i)} = test example {j}); a pool that holds test examples would "
                            "train on the test set. Remove them from the unlabelled data.")
    return problems


def reads_pool(remedy) -> bool:
    """Whether ``remedy`` trains on the unlabelled pool: it declares a change to a part of
    :data:`POOL_PARTS` (a remedy that declares nothing is not taken to).

    Example:
        >>> from scarce.remedies.base import create_remedy
        >>> reads_pool(create_remedy("pseudo_label")), reads_pool(create_remedy("augment"))
        (True, False)
    """
    return declared(remedy) and bool(changes_of(remedy).changed & POOL_PARTS)


def check_delivery(u: UnlabelledConfig, *, row: str, reads: bool) -> None:
    """Refuse, before any data is read, a delivered row (``scarce train``) that reads the pool
    (``reads``: :func:`reads_pool`) without one it can use: no ``unlabelled:``, or ``from: pool``,
    which leaves nothing once every labelled example trains the model."""
    check_config(u)
    if reads and not u.enabled:
        raise ValueError(f"Row '{row}' trains on unlabelled examples and the recipe names none: add "
                         "`unlabelled: {path: <your folder or file>}` (images or clips directly in a folder, or a "
                         "text file) to train the delivered model with them.")
    if reads and u.source is not None:
        raise ValueError(f"Row '{row}' reads `unlabelled: {{from: {u.source}}}`, which measures a remedy on the "
                         "dataset's own examples with their labels hidden; a delivered model is trained on every "
                         "labelled example, so that pool is empty. A delivered model needs your own unlabelled data: "
                         "`unlabelled: {path: <your folder or file>}`.")


def delivery_pool(u: UnlabelledConfig, bundle: DatasetBundle, *, seed: int) -> UnlabelledDataset:
    """The unlabelled pool of a delivered model: the user's ``path`` (``limit`` of it, drawn with
    ``seed``), read and checked as a cell's pool is (it decodes for the task and shares no example
    with the test split), after :func:`check_delivery`.

    Raises:
        ValueError: every problem of the pool, naming ``unlabelled.path``.
    """
    whole = SubsetSplit(np.arange(len(bundle.train)), np.zeros(0, np.int64))
    problems = check_pools(u, bundle, bundle.test, [(0, seed, whole)])
    if problems:
        raise ValueError(" ".join(problems))
    return cell_pool(u, bundle, whole, size=0, seed=seed)
