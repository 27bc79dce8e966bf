"""Quality of synthetic images: Fréchet distance in a feature space, classification accuracy score
(CAS: train on synthetic, test on real) and a memorisation check (are samples copies of training
images?).

The Fréchet distance works on features from any extractor (a callable mapping uint8
``(N, H, W, C)`` images to ``(N, D)`` floats). The default extractor is a small CNN trained on the
*real training subset* (:func:`train_feature_classifier`): ImageNet backbones are not meaningful on
8-16 px digits, and no pretrained weights are downloaded at run time. Its values are therefore
comparable only within one dataset and subset, not with published FIDs (Inception features).

Example:
    >>> import numpy as np
    >>> a = np.random.default_rng(0).normal(size=(200, 4))
    >>> round(frechet_distance(a, a), 6)
    0.0
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from scarce._checks import check_float, check_int


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets ``(N, D)`` and ``(M, D)``:
    ``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))``."""
    from scipy import linalg

    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"`a` and `b` must be (N, D) feature arrays with the same D, got {a.shape} and {b.shape}.")
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"`a` and `b` need at least 2 rows each, got {len(a)} and {len(b)}.")
    mu = a.mean(0) - b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    sa, sb = np.atleast_2d(sa), np.atleast_2d(sb)
    with warnings.catch_warnings():  # near-singular products are handled below
        warnings.simplefilter("ignore")
        covmean = linalg.sqrtm(sa @ sb)
        if not np.isfinite(covmean).all():
            eps = np.eye(sa.shape[0]) * 1e-6
            covmean = linalg.sqrtm((sa + eps) @ (sb + eps))
    covmean = np.real(covmean)
    return float(max(0.0, mu @ mu + np.trace(sa) + np.trace(sb) - 2 * np.trace(covmean)))


def _to_tensor(images: np.ndarray):
    import torch

    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"`images` must be a uint8 array (N, H, W, C), got {images.dtype} {images.shape}.")
    return torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


class SmallClassifier:
    """A small CNN (3 conv blocks, global pooling) whose pooled activations are the features.

    Call it on uint8 images to get ``(N, 4·width)`` features; ``predict`` gives class indices.
    """

    def __init__(self, *, channels: int, num_classes: int, width: int = 32, seed: int = 0) -> None:
        import torch
        from torch import nn

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            layers, c = [], channels
            for out in (width, 2 * width, 4 * width):
                layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU(True),
                           nn.MaxPool2d(2, ceil_mode=True)]
                c = out
            self.body = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.head = nn.Linear(c, num_classes)
        self.num_classes = num_classes

    def fit(self, images: np.ndarray, labels: np.ndarray, *, steps: int = 300, batch_size: int = 64,
            lr: float = 3e-3, seed: int = 0) -> "SmallClassifier":
        import torch
        import torch.nn.functional as F

        x, y = _to_tensor(images), torch.as_tensor(np.asarray(labels, np.int64))
        params = list(self.body.parameters()) + list(self.head.parameters())
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        rng = np.random.default_rng(seed)
        self.body.train()
        for _ in range(steps):
            idx = torch.from_numpy(rng.choice(len(x), size=min(batch_size, len(x)), replace=False))
            loss = F.cross_entropy(self.head(self.body(x[idx])), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        self.body.eval()
        return self

    def __call__(self, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
        import torch

        with torch.no_grad():
            x = _to_tensor(images)
            return np.concatenate([self.body(x[s:s + batch_size]).numpy() for s in range(0, len(x), batch_size)])

    def predict(self, images: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self.head(torch.from_numpy(self(images))).argmax(1).numpy()


def train_feature_classifier(images: np.ndarray, labels: Any, *, seed: int = 0, steps: int = 300,
                             width: int = 32) -> SmallClassifier:
    """The default feature extractor: a :class:`SmallClassifier` trained on real training images."""
    labels = np.asarray(labels, np.int64)
    check_int("steps", steps, minimum=1)
    if len(images) != len(labels):
        raise ValueError(f"`labels` must have one entry per image: {len(images)} images, {len(labels)} labels.")
    clf = SmallClassifier(channels=np.asarray(images).shape[-1], num_classes=int(labels.max()) + 1, width=width,
                          seed=seed)
    return clf.fit(images, labels, steps=steps, seed=seed)


def feature_fid(real: np.ndarray, fake: np.ndarray, *, extractor: Callable[[np.ndarray], np.ndarray]) -> float:
    """Fréchet distance between ``real`` and ``fake`` images in ``extractor``'s feature space."""
    return frechet_distance(extractor(real), extractor(fake))


def classification_accuracy_score(synthetic: np.ndarray, synthetic_labels: Any, real: np.ndarray, real_labels: Any,
                                  *, seed: int = 0, steps: int = 300) -> float:
    """CAS (Ravuri & Vinyals 2019): accuracy on real images of a classifier trained only on synthetic ones."""
    clf = train_feature_classifier(synthetic, synthetic_labels, seed=seed, steps=steps)
    return float(np.mean(clf.predict(real) == np.asarray(real_labels)))


@dataclass(frozen=True)
class MemorisationReport:
    """Nearest-training-neighbour distances of synthetic samples vs held-out real images.

    Attributes:
        synthetic_nn: each synthetic sample's distance to its nearest training image.
        heldout_nn: each held-out real image's distance to its nearest training image.
        threshold: distances below it are flagged as copies.
        flagged: indices of synthetic samples flagged as (near-)copies of training images.
    """

    synthetic_nn: np.ndarray
    heldout_nn: np.ndarray
    threshold: float
    flagged: np.ndarray

    @property
    def copy_fraction(self) -> float:
        return float(len(self.flagged) / max(1, len(self.synthetic_nn)))

    @property
    def median_ratio(self) -> float:
        """Median synthetic NN distance / median held-out NN distance (< 1: closer than new real data)."""
        return float(np.median(self.synthetic_nn) / max(np.median(self.heldout_nn), 1e-12))

    def summary(self) -> dict:
        return {"copy_fraction": round(self.copy_fraction, 4), "n_flagged": int(len(self.flagged)),
                "median_ratio": round(self.median_ratio, 4), "threshold": round(self.threshold, 6)}


def _pixels(images: np.ndarray) -> np.ndarray:
    x = np.asarray(images)
    if x.dtype != np.uint8 or x.ndim != 4:
        raise ValueError(f"`images` must be a uint8 array (N, H, W, C), got {x.dtype} {x.shape}.")
    return x.reshape(len(x), -1).astype(np.float32) / 255.0


def _nearest(query: np.ndarray, ref: np.ndarray, batch: int = 1024) -> np.ndarray:
    rn = (ref * ref).sum(1)
    out = []
    for s in range(0, len(query), batch):
        q = query[s:s + batch]
        d2 = (q * q).sum(1)[:, None] + rn[None, :] - 2 * q @ ref.T
        out.append(np.sqrt(np.maximum(d2.min(1), 0.0)))
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def memorisation_check(synthetic: np.ndarray, train: np.ndarray, heldout: np.ndarray, *,
                       extractor: Callable[[np.ndarray], np.ndarray] | None = None, quantile: float = 0.05,
                       factor: float = 0.5) -> MemorisationReport:
    """Flag synthetic samples that are (near-)copies of training images.

    The reference is how close *new* real data comes to the training set: the nearest-training
    distances of held-out real images. A synthetic sample is flagged when its nearest-training
    distance is below ``factor`` × the ``quantile`` of that reference distribution. Distances are
    RMS pixel distances by default, or Euclidean distances in ``extractor``'s feature space.

    Args:
        synthetic, train, heldout: uint8 ``(N, H, W, C)`` images of the same shape.
        extractor: optional feature extractor (default: raw pixels).
        quantile: the reference quantile (default 5%). factor: fraction of it (default 0.5).
    """
    check_float("quantile", quantile, low=0.0, high=1.0)
    check_float("factor", factor, low=0.0)
    if extractor is None:
        feats = [_pixels(a) for a in (synthetic, train, heldout)]
        scale = 1.0 / np.sqrt(feats[1].shape[1])
    else:
        feats = [np.asarray(extractor(a), np.float32) for a in (synthetic, train, heldout)]
        scale = 1.0
    if len(feats[1]) == 0 or len(feats[2]) == 0:
        raise ValueError("`train` and `heldout` must each hold at least one image.")
    syn_nn = _nearest(feats[0], feats[1]) * scale
    held_nn = _nearest(feats[2], feats[1]) * scale
    threshold = float(factor * np.quantile(held_nn, quantile))
    return MemorisationReport(syn_nn, held_nn, threshold, np.flatnonzero(syn_nn < threshold))
