"""The strategy advisor: which of the four transfer cases is this dataset in?

The seeds' rule crosses data size with similarity to the pretraining domain:

=============  ===================================  ====================================
               similar to the pretraining domain    different
=============  ===================================  ====================================
small          freeze all, retrain the head         use only early layers (truncate),
               (``linear_probe``)                   retrain the head
large          fine-tune the later layers           fine-tune everything
               (``finetune_last``)                  (``finetune_all``)
=============  ===================================  ====================================

**Size** is the number of labelled examples per class (small below ``size_threshold``, 100 by
default: under it, the reference runs found frozen features ahead of any fine-tuning).

**Similarity** is *measured*, not assumed: the share of the raw-pixel nearest-neighbour error
that the frozen pretrained features remove, on a small stratified labelled sample,

    similarity = (acc_pretrained - acc_pixels) / (1 - acc_pixels),

with leave-one-out cosine 1-NN accuracies. Why this measure: the pretraining domain only matters
through the features it taught the network. If the target classes separate far better in the
pretrained feature space than in pixel space, the target shares the structure (textures, parts,
objects) the features encode, i.e. it is "similar" in the sense that matters for freezing; if the
features add little over pixels (greyscale sketches, spectrograms, simple centred objects),
the later, task-specific layers are not worth keeping frozen. Normalising by the pixel baseline
removes the task's own difficulty (a 2-class task scores high in any space), which a raw probe
accuracy would confound with similarity. It needs only ~20 labelled examples per class (the user
has them by definition: they are the scarce training data), no test data, and one forward pass.
Label-free alternatives (distance between the target's and ImageNet's BatchNorm statistics, FID)
measure appearance — image size, colour, blur — which changes under upsampling even when the
content is ImageNet-like, and they do not say whether the features help.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scarce._checks import check_float, check_int

CASES = {
    ("small", "similar"): ("linear_probe", "freeze all pretrained layers and retrain the head"),
    ("large", "similar"): ("finetune_last", "fine-tune the later layers (and the head) at a lower rate"),
    ("small", "different"): ("truncate", "use only the early, generic layers and retrain a head on them"),
    ("large", "different"): ("finetune_all", "fine-tune every layer (pretrained weights as initialisation)"),
}


@dataclass(frozen=True)
class Advice:
    """The recommended case and strategy, with the reasons (the remedy that carries a strategy out
    is named where remedies are known: :mod:`scarce.report.advice`)."""

    case: str
    strategy: str
    reasons: list[str]
    per_class: int
    similarity: float | None
    measures: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return "\n".join([f"Case: {self.case}  ->  strategy: {self.strategy}", *(f"  - {r}" for r in self.reasons)])


def decide(per_class: int, similarity: float, *, size_threshold: int = 100,
           similarity_threshold: float = 0.3) -> Advice:
    """The seeds' four-case rule on a size and a measured similarity (pure function).

    Args:
        per_class: labelled training examples per class (the smallest class for imbalanced data).
        similarity: the measured domain similarity (see module docstring), at most 1.
        size_threshold: ``per_class`` at or above this is "large".
        similarity_threshold: ``similarity`` at or above this is "similar".

    Example:
        >>> decide(10, 0.5).strategy
        'linear_probe'
        >>> decide(1000, 0.05).strategy
        'finetune_all'
    """
    check_int("per_class", per_class, minimum=1)
    check_float("similarity", similarity, high=1.0)
    check_int("size_threshold", size_threshold, minimum=2)
    check_float("similarity_threshold", similarity_threshold, low=-1.0, high=1.0)
    size = "large" if per_class >= size_threshold else "small"
    sim = "similar" if similarity >= similarity_threshold else "different"
    strategy, what = CASES[(size, sim)]
    reasons = [
        f"{per_class} examples per class is {size} (threshold {size_threshold}): "
        + ("too few to move pretrained layers without overfitting" if size == "small" else
           "enough to adapt pretrained layers"),
        f"domain similarity {similarity:.2f} is {'>=' if sim == 'similar' else '<'} {similarity_threshold:g}: the "
        f"pretrained features {'remove much' if sim == 'similar' else 'remove little'} of the pixel-space "
        "nearest-neighbour error, so the target looks "
        + ("like the pretraining domain" if sim == "similar" else "unlike the pretraining domain"),
        f"{size} & {sim} -> {what}.",
    ]
    return Advice(case=f"{size} & {sim}", strategy=strategy, reasons=reasons, per_class=per_class,
                  similarity=float(similarity))


def similarity_from_accuracies(acc_pretrained: float, acc_pixels: float) -> float:
    """``(acc_pretrained - acc_pixels) / (1 - acc_pixels)``; 0 when pixels are already perfect."""
    check_float("acc_pretrained", acc_pretrained, low=0.0, high=1.0)
    check_float("acc_pixels", acc_pixels, low=0.0, high=1.0)
    if acc_pixels >= 1.0:
        return 0.0
    return (acc_pretrained - acc_pixels) / (1.0 - acc_pixels)


def measure_similarity(data, *, backbone: str = "efficientnet_lite0", pretrained=True, sample_per_class: int = 20,
                       size: int | None = 96, seed: int = 0, cache_dir=None, device: str = "auto",
                       download: bool = False) -> dict:
    """Measure the domain similarity of a labelled image dataset to the backbone's pretraining data.

    Returns a dict with ``similarity``, ``acc_pretrained``, ``acc_pixels`` and ``n`` (sample size).

    Example:
        >>> from scarce.data import load_dataset
        >>> m = measure_similarity(load_dataset("digits").train, pretrained=False, sample_per_class=3, size=32)
        >>> sorted(m)
        ['acc_pixels', 'acc_pretrained', 'n', 'similarity']
    """
    from scarce.backbones.cache import extract_features
    from scarce.backbones.probes import loo_knn_accuracy
    from scarce.backbones.registry import create_backbone
    from scarce.data.subsets import stratified_subset

    check_int("sample_per_class", sample_per_class, minimum=2)
    counts = np.bincount(data.labels, minlength=data.num_classes)
    k = int(min(sample_per_class, counts.min()))
    if k < 2:
        raise ValueError(f"`data` must hold at least 2 examples per class to measure similarity, got {counts.min()}.")
    idx = stratified_subset(data.labels, per_class=k, seed=seed).train
    images = [np.asarray(data.get(int(i))) for i in idx]
    labels = data.labels[idx]
    grey = images[0].ndim == 2 or images[0].shape[2] == 1
    bb = create_backbone(backbone, pretrained=pretrained, download=download)
    feats = extract_features(bb, images, size=size, grayscale="repeat" if grey else "error", cache_dir=cache_dir,
                             device=device, progress=False)
    pixels = np.stack([im.astype(np.float32).ravel() for im in images])
    pixels = pixels - pixels.mean(0)
    acc_pre, acc_pix = loo_knn_accuracy(feats, labels), loo_knn_accuracy(pixels, labels)
    return {"similarity": similarity_from_accuracies(acc_pre, acc_pix), "acc_pretrained": acc_pre,
            "acc_pixels": acc_pix, "n": len(idx)}


def advise(data, *, per_class: int | None = None, backbone: str = "efficientnet_lite0", size: int | None = 96,
           sample_per_class: int = 20, size_threshold: int = 100, similarity_threshold: float = 0.3,
           seed: int = 0, cache_dir=None, device: str = "auto", download: bool = False) -> Advice:
    """Measure similarity on a sample of ``data`` and apply :func:`decide`.

    Args:
        data: the labelled training pool (image dataset).
        per_class: the training size per class to advise for (default: the smallest class of ``data``).
        cache_dir: feature cache folder, ``"default"`` (``$SCARCE_CACHE/features``) or ``None``.
        download: fetch the backbone's weights when they are not on disk (never unasked).

    Example:
        >>> from scarce.data import load_dataset
        >>> a = advise(load_dataset("digits").train, per_class=10, sample_per_class=3, size=32)
        >>> a.case.startswith("small")
        True
    """
    if per_class is None:
        per_class = int(np.bincount(data.labels).min())
    check_int("per_class", per_class, minimum=1)  # before any work
    check_int("size_threshold", size_threshold, minimum=2)
    check_float("similarity_threshold", similarity_threshold, low=-1.0, high=1.0)
    m = measure_similarity(data, backbone=backbone, sample_per_class=sample_per_class, size=size, seed=seed,
                           cache_dir=cache_dir, device=device, download=download)
    adv = decide(per_class, m["similarity"], size_threshold=size_threshold, similarity_threshold=similarity_threshold)
    reasons = [*adv.reasons, f"measured on {m['n']} labelled examples: leave-one-out 1-NN accuracy "
               f"{m['acc_pretrained']:.1%} with frozen {backbone} features vs {m['acc_pixels']:.1%} on pixels."]
    return Advice(case=adv.case, strategy=adv.strategy, reasons=reasons, per_class=per_class,
                  similarity=m["similarity"], measures=m)
