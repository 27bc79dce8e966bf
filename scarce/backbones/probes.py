"""Probes on frozen (cached) features: logistic regression, a torch linear head, k-NN.

Each takes training features/labels and returns a fitted object with ``predict(features)``; the
``C`` of logistic regression and the ``k`` of k-NN can be chosen on a validation split.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scarce._checks import check_float, check_int


def _check_xy(x, y, name: str = "train"):
    x = np.asarray(x, np.float32)
    y = np.asarray(y)
    if x.ndim != 2 or len(x) != len(y) or len(x) == 0:
        raise ValueError(f"`{name}` features must be a non-empty (N, D) array with one label each, "
                         f"got {x.shape} and {len(y)} labels.")
    return x, y


def logistic_probe(x, y, *, val: tuple | None = None, cs: Sequence[float] = (0.01, 0.1, 1.0, 10.0),
                   max_iter: int = 2000):
    """Standardised features + scikit-learn logistic regression; ``C`` chosen on ``val`` if given
    (``val = (features, labels)``), else 1 (or the only value of ``cs``).

    Example:
        >>> import numpy as np
        >>> x = np.r_[np.zeros((5, 3)), np.ones((5, 3))]; y = np.r_[[0] * 5, [1] * 5]
        >>> logistic_probe(x, y).predict(x).tolist() == y.tolist()
        True
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y = _check_xy(x, y)
    if not cs:
        raise ValueError("`cs` must hold at least one value.")
    best = None
    candidates = list(cs) if val is not None else [1.0 if 1.0 in cs else cs[0]]  # no val: C=1 (default)
    for c in candidates:
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter)).fit(x, y)
        score = clf.score(*val) if val is not None else 0.0
        if best is None or score > best[0]:
            best = (score, clf)
    return best[1]


def standardization_stats(x) -> tuple[np.ndarray, np.ndarray]:
    """Column means and scales for ``(x - mean) / scale``; constant columns get scale 1.

    A column that is (numerically) constant on the training rows, e.g. a ReLU unit that never fires
    on ~80 training images, has no scale to learn from. Dividing by ``std + eps`` would blow any
    test value of that column up by ~1/eps and swing the logits; like scikit-learn's
    ``StandardScaler``, such columns are only centred (scale 1).

    Example:
        >>> mean, scale = standardization_stats([[0.0, 1.0], [0.0, 5.0]])
        >>> scale.tolist()
        [1.0, 2.0]
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"`x` must be a non-empty 2-D feature matrix, got shape {x.shape}.")
    mean, std = x.mean(0), x.std(0)
    constant = std <= 1e-6 * np.maximum(1.0, np.abs(mean))
    scale = np.where(constant, 1.0, std)
    return mean.astype(np.float32), scale.astype(np.float32)


class _TorchLinear:
    def __init__(self, model, mean, std):
        self.model, self.mean, self.std = model, mean, std

    def predict(self, x) -> np.ndarray:
        import torch

        with torch.no_grad():
            z = torch.from_numpy((np.asarray(x, np.float32) - self.mean) / self.std)
            return self.model(z).argmax(1).numpy()


def linear_head_probe(x, y, *, num_classes: int | None = None, steps: int = 300, lr: float = 1e-2,
                      weight_decay: float = 1e-4, seed: int = 0):
    """A torch linear head on standardised features, full-batch AdamW (deterministic from ``seed``)."""
    import torch

    x, y = _check_xy(x, y)
    check_int("steps", steps, minimum=1)
    check_float("lr", lr, low=0.0, low_inclusive=False)
    c = int(num_classes or y.max() + 1)
    mean, std = standardization_stats(x)
    gen = torch.Generator().manual_seed(seed)
    head = torch.nn.Linear(x.shape[1], c)
    with torch.no_grad():
        head.weight.normal_(0, 0.01, generator=gen)
        head.bias.zero_()
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=weight_decay)
    xt, yt = torch.from_numpy((x - mean) / std), torch.from_numpy(y.astype(np.int64))
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(head(xt), yt).backward()
        opt.step()
    return _TorchLinear(head.eval(), mean, std)


def knn_probe(x, y, *, val: tuple | None = None, ks: Sequence[int] = (1, 3, 5, 10, 20)):
    """Cosine k-NN on L2-normalised features; ``k`` chosen on ``val`` if given (else 5 or less)."""
    from sklearn.neighbors import KNeighborsClassifier

    x, y = _check_xy(x, y)
    ks = [k for k in ks if k <= len(x)] or [1]
    best = None
    for k in (ks if val is not None else [min(5, len(x))]):
        clf = KNeighborsClassifier(n_neighbors=k, metric="cosine").fit(x, y)
        score = clf.score(*val) if val is not None else 0.0
        if best is None or score > best[0]:
            best = (score, clf)
    return best[1]


def loo_knn_accuracy(x, y, *, k: int = 1) -> float:
    """Leave-one-out cosine k-NN accuracy: how well classes separate in a feature space."""
    x, y = _check_xy(x, y)
    z = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-12)
    sim = z @ z.T
    np.fill_diagonal(sim, -np.inf)
    nn_idx = np.argsort(-sim, axis=1)[:, :k]
    votes = y[nn_idx]
    pred = np.array([np.bincount(v).argmax() for v in votes])
    return float((pred == y).mean())
