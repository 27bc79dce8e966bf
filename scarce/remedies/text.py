"""Text remedies: offline expansion with EDA / AEDA / character noise, the duplication control,
and transfer with a frozen sentence encoder.

An expansion remedy replaces the training set by each text followed by ``n_aug`` augmented
copies (the EDA paper's protocol). Since every remedy trains for the same number of steps,
``duplicate`` — the same rows repeated, no new information — is the control that separates
augmentation from repetition. Without ``word_rate`` (the EDA paper's α: the share of words
changed) / ``n_aug`` the EDA paper's defaults for the training-set size are used
(:func:`scarce.augment.text.eda_defaults`). Augmenters come from :mod:`scarce.augment.registry`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from scarce._cache import resolve_cache_dir
from scarce._checks import check_float, check_int
from scarce.data.datasets import ArrayDataset, ConcatDataset
from scarce.remedies.base import NoPreview, Remedy, TrainSetup, register_remedy
from scarce.remedies.composition import Changes


def _texts(setup: TrainSetup) -> list[str]:
    if setup.train.modality != "text":
        raise ValueError(f"Text remedies need a text dataset, got modality {setup.train.modality!r}.")
    return [setup.train.get(i) for i in range(len(setup.train))]


def _check_optional(word_rate, n_aug) -> None:
    if word_rate is not None:
        check_float("word_rate", word_rate, low=0.0, high=1.0, low_inclusive=False)
    if n_aug is not None:
        check_int("n_aug", n_aug, minimum=1)


@dataclass(frozen=True, kw_only=True)
class _Expand(Remedy):
    """Each training text followed by ``n_aug`` augmented copies (labels repeated).

    A subclass names its augmenter in :mod:`scarce.augment.registry` (``augment``), the augmenter
    option that takes ``word_rate`` (``rate_option``; ``None``: the augmenter has no such share) and
    its other options (:meth:`_options`).
    """

    word_rate: float | None = None
    n_aug: int | None = None
    changes = Changes(wraps={"train"}, modalities={"text"})
    augment = ""
    rate_option = None  # a class attribute (not a field): the augmenter option that takes word_rate

    def __post_init__(self) -> None:
        if self.word_rate is not None and self.rate_option is None:
            raise ValueError(f"Remedy '{self.name}' takes no `word_rate` (its augmenter '{self.augment}' changes no "
                             f"share of words), got word_rate={self.word_rate!r}; remove it.")
        _check_optional(self.word_rate, self.n_aug)
        self._augmenter(0.1)  # build once now, so bad options or a missing backend fail before training

    def _options(self) -> dict:
        """The augmenter's options other than ``word_rate``."""
        return {}

    def _augmenter(self, word_rate: float):
        """The augmenter from the registry (one per ``word_rate``, kept for every cell)."""
        from scarce.augment.registry import create_augment

        built = self.__dict__.get("_built", {})
        if word_rate not in built:
            options = self._options()
            if self.rate_option is not None:
                options[self.rate_option] = word_rate
            built = {**built, word_rate: create_augment(self.augment, **options)}
            object.__setattr__(self, "_built", built)
        return built[word_rate]

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        from scarce.augment.text import eda_defaults, expand

        texts = _texts(setup)
        d_rate, d_n_aug = eda_defaults(len(texts))
        rate = self.word_rate if self.word_rate is not None else d_rate
        n_aug = self.n_aug if self.n_aug is not None else d_n_aug
        rows, labels = expand(self._augmenter(rate), texts, setup.train.labels, n_aug=n_aug, seed=seed)
        train = ArrayDataset(rows, labels, class_names=setup.train.class_names, modality="text")
        notes = {f"{self.name}_n_aug": n_aug}
        if self.rate_option is not None:
            notes[f"{self.name}_word_rate"] = rate
        return replace(setup, train=train).with_notes(**notes)


@register_remedy("eda", help="text: EDA (synonym replace/insert, swap, delete) expansion, offline WordNet")
@dataclass(frozen=True, kw_only=True)
class EDARemedy(_Expand):
    """EDA (SR, RI, RS, RD) expansion; synonyms from the offline WordNet (``nltk_data`` /
    ``SCARCE_DATA`` / ``NLTK_DATA``); ``word_rate`` is the EDA paper's α."""

    operations: tuple[str, ...] = ("sr", "ri", "rs", "rd")
    nltk_data: str | None = None
    augment = "eda"
    rate_option = "word_rate"

    def _options(self) -> dict:
        from scarce.augment.wordnet import WordNetSynonyms

        syn = self.__dict__.get("_syn")
        if syn is None and {"sr", "ri"} & set(self.operations):
            syn = WordNetSynonyms(nltk_data=self.nltk_data)
            object.__setattr__(self, "_syn", syn)  # one cached synonym table for every cell
        return {"operations": tuple(self.operations), "synonyms": syn}


@register_remedy("aeda", help="text: AEDA (random punctuation insertion) expansion")
@dataclass(frozen=True, kw_only=True)
class AEDARemedy(_Expand):
    """AEDA (random punctuation insertion) expansion; it takes no ``word_rate`` (AEDA inserts 1 to n/3 marks)."""

    augment = "aeda"


@register_remedy("char_noise", help="text: keyboard/OCR/random character-noise expansion (nlpaug)")
@dataclass(frozen=True, kw_only=True)
class CharNoiseRemedy(_Expand):
    """Character-noise expansion through nlpaug; ``word_rate`` is the share of words noised."""

    kind: str = "keyboard"
    augment = "char_noise"
    rate_option = "word_rate"

    def _options(self) -> dict:
        return {"kind": self.kind}


@register_remedy("duplicate", help="control: the training rows repeated as often as an expansion remedy adds rows")
@dataclass(frozen=True, kw_only=True)
class Duplicate(Remedy):
    """The control: each training row repeated ``1 + n_aug`` times — as many rows as an expansion
    remedy with the same ``n_aug`` (default: the EDA paper's for the size), nothing new. Works for
    any modality."""

    n_aug: int | None = None
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


@register_remedy("sentence_encoder", help="text: frozen all-MiniLM-L6-v2 embeddings + linear head (cached)")
@dataclass(frozen=True, kw_only=True)
class SentenceEncoderRemedy(Remedy):
    """Transfer: frozen all-MiniLM-L6-v2 embeddings + a head trained by the engine: linear, or with
    ``hidden`` set, one hidden layer of that width (Linear → ReLU → Linear). A linear head on 384
    frozen dimensions cannot fit more than a few hundred texts (it plateaus below the training
    accuracy the under-training flags ask for); the hidden layer widens it.

    Embeddings are cached by text hash, in memory and on disk in ``cache_dir`` (``default``:
    ``$SCARCE_CACHE/text_embeddings``, i.e. ``~/.cache/scarce/text_embeddings`` unless set; a folder;
    ``null``: memory only), so each text is encoded once across remedies, seeds, sizes and runs.
    Chain it after an expansion remedy to augment before encoding.
    """

    model_path: str | None = None
    cache_dir: str | None = "default"
    hidden: int | None = None
    changes = Changes(replaces={"model_fn", "collate", "param_groups_fn"},
                      excludes={"transform", "batch_transform", "consistency"}, modalities={"text"},
                      advice="It encodes each text once through a frozen encoder (and caches it), so it cannot take "
                      "augmented texts nor the augmented views of FixMatch; expand the training texts before it "
                      "instead (e.g. chain [eda, sentence_encoder]).")

    def __post_init__(self) -> None:
        from scarce.backbones.sentence import default_model_path

        resolve_cache_dir(self.cache_dir, kind="text_embeddings")  # a bad value fails now
        if self.hidden is not None:
            check_int("hidden", self.hidden, minimum=1)
        if self.model_path is None:
            default_model_path()  # fail now (ImportError naming the extra) rather than after other cells

    def preview_apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        """Nothing to show on the data for ``scarce preview``: the texts go unchanged into a frozen
        encoder, which a preview does not load (:class:`~scarce.remedies.base.NoPreview`)."""
        raise NoPreview(f"'{self.name}' leaves the texts as they are and feeds them to a frozen sentence encoder "
                        "(embeddings + a linear head); the encoder is not loaded for a preview.")

    def apply(self, setup: TrainSetup, *, seed: int) -> TrainSetup:
        from scarce.backbones.sentence import shared_encoder

        cache = resolve_cache_dir(self.cache_dir, kind="text_embeddings")
        enc = shared_encoder(model_path=self.model_path, cache_dir=cache)
        enc.encode(_texts(setup))  # encode the training rows in large batches, once
        dim, hidden = enc.dim, self.hidden

        def model_fn(n: int):
            from torch import nn

            if hidden is None:
                return nn.Linear(dim, n)
            return nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, n))

        return replace(setup, model_fn=model_fn, collate=EmbeddingCollate(enc), param_groups_fn=None).with_notes(
            encoder=enc.model_path.name, encoder_cache_hits=enc.hits, encoder_cache_misses=enc.misses,
            encoder_cache_hit_rate=round(enc.hit_rate, 4))
