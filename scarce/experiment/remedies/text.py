"""Text remedies: offline expansion with EDA / AEDA / character noise, the duplication control,
and transfer with a frozen sentence encoder.

An expansion remedy replaces the training set by each text followed by ``n_aug`` augmented
copies (the EDA paper's protocol). Since every remedy trains for the same number of steps,
``duplicate`` — the same rows repeated, no new information — is the control that separates
augmentation from repetition. Without ``alpha`` / ``n_aug`` the EDA paper's defaults for the
training-set size are used (:func:`scarce.augment.text.eda_defaults`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from scarce._checks import check_float, check_int
from scarce.data.datasets import ArrayDataset, ConcatDataset
from scarce.experiment.composition import Changes
from scarce.experiment.setup import TrainSetup


def _texts(setup: TrainSetup) -> list[str]:
    if setup.train.modality != "text":
        raise ValueError(f"Text remedies need a text dataset, got modality {setup.train.modality!r}.")
    return [setup.train.get(i) for i in range(len(setup.train))]


def _check_optional(alpha, n_aug) -> None:
    if alpha is not None:
        check_float("alpha", alpha, low=0.0, high=1.0, low_inclusive=False)
    if n_aug is not None:
        check_int("n_aug", n_aug, minimum=1)


@dataclass(frozen=True, kw_only=True)
class _Expand:
    """Each training text followed by ``n_aug`` augmented copies (labels repeated)."""

    alpha: float | None = None
    n_aug: int | None = None
    name: str = "expand"
    changes = Changes(wraps={"train"}, modalities={"text"})

    def __post_init__(self) -> None:
        _check_optional(self.alpha, self.n_aug)
        self._augmenter(0.1)  # build once now, so bad options or a missing backend fail before training

    def _augmenter(self, alpha: float):  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        from scarce.augment.text import eda_defaults, expand

        texts = _texts(setup)
        d_alpha, d_n_aug = eda_defaults(len(texts))
        alpha = self.alpha if self.alpha is not None else d_alpha
        n_aug = self.n_aug if self.n_aug is not None else d_n_aug
        rows, labels = expand(self._augmenter(alpha), texts, setup.train.labels, n_aug=n_aug, seed=seed)
        train = ArrayDataset(rows, labels, class_names=setup.train.class_names, modality="text")
        return replace(setup, train=train).with_notes(**{f"{self.name}_alpha": alpha, f"{self.name}_n_aug": n_aug})


@dataclass(frozen=True, kw_only=True)
class EDARemedy(_Expand):
    """EDA (SR, RI, RS, RD) expansion; synonyms from the offline WordNet (``nltk_data`` /
    ``SCARCE_DATA`` / ``NLTK_DATA``)."""

    operations: tuple[str, ...] = ("sr", "ri", "rs", "rd")
    nltk_data: str | None = None
    name: str = "eda"

    def _augmenter(self, alpha: float):
        from scarce.augment.text import EDA
        from scarce.augment.wordnet import WordNetSynonyms

        syn = self.__dict__.get("_syn")
        if syn is None and {"sr", "ri"} & set(self.operations):
            syn = WordNetSynonyms(nltk_data=self.nltk_data)
            object.__setattr__(self, "_syn", syn)  # one cached synonym table for every cell
        return EDA(alpha=alpha, operations=tuple(self.operations), synonyms=syn)


@dataclass(frozen=True, kw_only=True)
class AEDARemedy(_Expand):
    """AEDA (random punctuation insertion) expansion; ``alpha`` is unused (AEDA inserts 1 to n/3 marks)."""

    name: str = "aeda"

    def _augmenter(self, alpha: float):
        from scarce.augment.text import AEDA

        return AEDA()


@dataclass(frozen=True, kw_only=True)
class CharNoiseRemedy(_Expand):
    """Character-noise expansion through nlpaug; ``alpha`` is the share of words noised."""

    kind: str = "keyboard"
    name: str = "char_noise"

    def _augmenter(self, alpha: float):
        from scarce.augment.text import CharNoise

        aug = self.__dict__.get("_aug", {}).get(alpha)
        if aug is None:
            aug = CharNoise(kind=self.kind, word_p=alpha)
            object.__setattr__(self, "_aug", {**self.__dict__.get("_aug", {}), alpha: aug})
        return aug


@dataclass(frozen=True, kw_only=True)
class Duplicate:
    """The control: each training row repeated ``1 + n_aug`` times — as many rows as an expansion
    remedy with the same ``n_aug`` (default: the EDA paper's for the size), nothing new. Works for
    any modality."""

    n_aug: int | None = None
    name: str = "duplicate"
    changes = Changes(wraps={"train"})

    def __post_init__(self) -> None:
        _check_optional(None, self.n_aug)

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        from scarce.augment.text import eda_defaults

        n_aug = self.n_aug if self.n_aug is not None else eda_defaults(len(setup.train))[1]
        train = ConcatDataset([setup.train] * (1 + n_aug))
        return replace(setup, train=train).with_notes(duplicate_n_aug=n_aug)


class EmbeddingCollate:
    """``collate(list[(text, y)]) -> (embeddings (B, D), y)`` through a cached sentence encoder."""

    def __init__(self, encoder) -> None:
        self.encoder = encoder

    def __call__(self, batch):
        import torch

        from scarce._torch import labels_to_tensor

        x = torch.from_numpy(self.encoder.encode([t for t, _ in batch]))
        ys = [y for _, y in batch]
        return x, labels_to_tensor(ys)


@dataclass(frozen=True, kw_only=True)
class SentenceEncoderRemedy:
    """Transfer: frozen all-MiniLM-L6-v2 embeddings + a linear head trained by the engine.

    Embeddings are cached by text hash (in memory, and in ``cache_dir`` if given, default
    ``$SCARCE_CACHE/sentence`` when that variable is set), so each text is encoded once across
    remedies, seeds and sizes. Chain it after an expansion remedy to augment before encoding.
    """

    model_path: str | None = None
    cache_dir: str | None = None
    name: str = "sentence_encoder"
    changes = Changes(replaces={"model_fn", "collate", "param_groups_fn"}, excludes={"transform", "batch_transform"},
                      modalities={"text"}, advice="It encodes each text once through a frozen encoder; expand the "
                      "training texts before it instead (e.g. chain [eda, sentence_encoder]).")

    def __post_init__(self) -> None:
        from scarce.backbones.sentence import default_model_path

        if self.model_path is None:
            default_model_path()  # fail now (ImportError naming the extra) rather than after other cells

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        import os

        from scarce.backbones.sentence import shared_encoder

        cache = self.cache_dir or (os.path.join(os.environ["SCARCE_CACHE"], "sentence")
                                   if os.environ.get("SCARCE_CACHE") else None)
        enc = shared_encoder(model_path=self.model_path, cache_dir=cache)
        enc.encode(_texts(setup))  # encode the training rows in large batches, once
        dim = enc.dim

        def model_fn(n: int):
            from torch import nn

            return nn.Linear(dim, n)

        return replace(setup, model_fn=model_fn, collate=EmbeddingCollate(enc), param_groups_fn=None).with_notes(
            encoder=enc.model_path.name, encoder_cache_hits=enc.hits, encoder_cache_misses=enc.misses,
            encoder_cache_hit_rate=round(enc.hit_rate, 4))
