"""Maker for a remedy that self-trains (its setup carries a self-training request): the unlabelled
pool examples a teacher would label most confidently, per class, each captioned "pseudo-label
(confidence)".

A preview trains no network, so the teacher here is a cheap stand-in: logistic regression on the
modality's raw features (the ``logreg`` reference's featurizer: pixels, TF-IDF, MFCC statistics)
fitted on the preview's labelled part. The row's real teacher is its own model, trained and chosen
like the row; what it labels, and how confidently, differs. The pool is the cell's, as every row of
the ablation sees it (a seeded sample of :data:`MAX_POOL` of it when it is larger).
"""

from __future__ import annotations

import numpy as np

from scarce.modalities import get_modality
from scarce.preview.base import Block, PreviewContext
from scarce.preview.samples import show_examples
from scarce.remedies.semi_supervised import request_of

PER_CLASS = 2
"""Pool examples shown per class, the most confident first."""
MAX_POOL = 2000
"""Pool examples the stand-in teacher labels (a seeded sample of a larger pool)."""


def cheap_teacher(train, pool, *, num_classes: int) -> np.ndarray:
    """``(len(pool), num_classes)`` class probabilities of logistic regression on the modality's raw
    features (standardised), fitted on the labelled ``train``; a class absent from ``train`` gets 0.

    Example:
        >>> from scarce.data import ArrayDataset
        >>> x = np.concatenate([np.zeros((4, 2, 2, 1)), np.full((4, 2, 2, 1), 255)]).astype(np.uint8)
        >>> data = ArrayDataset(x, [0] * 4 + [1] * 4)
        >>> cheap_teacher(data, data.subset([0, 7]), num_classes=2).argmax(1).tolist()
        [0, 1]
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    featurizer = get_modality(train.modality).featurizer()
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    clf.fit(featurizer.fit_transform(train), np.asarray(train.labels))
    probs = np.zeros((len(pool), num_classes))
    probs[:, clf.classes_] = clf.predict_proba(featurizer.transform(pool))
    return probs


def confident_per_class(probs: np.ndarray, per_class: int) -> list[int]:
    """Positions of the ``per_class`` most confident rows of each predicted class, class by class."""
    labels, conf = probs.argmax(1), probs.max(1)
    out: list[int] = []
    for c in range(probs.shape[1]):
        members = np.flatnonzero(labels == c)
        out += members[np.argsort(-conf[members], kind="stable")][:per_class].tolist()
    return out


def preview_self_training(ctx: PreviewContext) -> list[Block]:
    """The pool examples the stand-in teacher is most confident about, per class (see the module doc)."""
    request, pool = request_of(ctx.after), ctx.after.unlabelled
    if request is None or pool is None or len(pool) == 0:
        return [Block("Pseudo-labels", f"'{ctx.label}' changes the self-training request; there is no unlabelled "
                                       "pool to show it on.")]
    if len(pool) > MAX_POOL:
        pool = pool.subset(np.sort(np.random.default_rng(ctx.seed).choice(len(pool), MAX_POOL, replace=False)))
    probs = cheap_teacher(ctx.before.train, pool, num_classes=ctx.before.num_classes)
    shown = confident_per_class(probs, PER_CLASS)
    conf = probs.max(1)
    passing = ", ".join(f"{int((conf >= t).sum())} at threshold {t:g}" for t in request.thresholds)
    items = [(pool.get(i), int(probs[i].argmax())) for i in shown]
    captions = [f"{ctx.class_names[y]} ({conf[i]:.2f})" for (_, y), i in zip(items, shown)]
    text = (f"{len(pool)} unlabelled examples ({pool.source}); the {PER_CLASS} per class a teacher labels most "
            f"confidently, captioned pseudo-label (confidence). Confident enough to join the training rows: {passing}. "
            "The teacher here is a stand-in (logistic regression on raw features, fitted on the "
            f"{len(ctx.before.train)} labelled examples): the real teacher is the row's own model, trained like the "
            "row, and labels differently.")
    return show_examples(ctx, items, title="Pseudo-labels", text=text, name="pseudo_labels", captions=captions)
