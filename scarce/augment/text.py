"""Text augmentation that works offline and reproducibly: EDA, AEDA and character noise.

Every augmenter maps ``list[str] -> list[str]`` of the same length (``augment(texts, seed=...)``),
and is also a per-sample transform ``aug(text, rng=np.random.Generator) -> str`` for the engine.
:func:`expand` makes ``n_aug`` augmented rows per text (offline expansion, as the EDA paper does).

* :class:`EDA` (Wei & Zou, 2019): synonym replacement (SR), random insertion (RI), random swap (RS)
  and random deletion (RD); each augmented copy applies one operation to a share ``word_rate`` of
  the words (the paper's α). :func:`eda_defaults` gives the paper's α and ``n_aug`` for a training size.
* :class:`AEDA` (Karimi et al., 2021): random punctuation insertion.
* :class:`CharNoise`: keyboard, OCR or random-character noise through nlpaug, seeded.

Every augmenter takes ``p`` (probability of augmenting a text; ``0``: identity) and is registered
in :mod:`scarce.augment.registry` (``create_augment("eda", word_rate=0.1)``).

Protected tokens: stop words are never replaced by synonyms nor used as insertion sources;
``reserved`` tokens (case-sensitive, e.g. entity names or ``[SEP]``) are never replaced, deleted
or noised. An empty or whitespace-only text is an error unless ``on_empty="keep"`` (then it is
returned as it is); a non-empty text never becomes empty.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from scarce._checks import check_choice, check_float, check_int
from scarce._rng import seeded_globals

# A classic English stop-word list (the one EDA's reference code uses, plus contractions' parts).
STOP_WORDS = frozenset("""
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself
it its itself they them their theirs themselves what which who whom this that these those am is are was were be
been being have has had having do does did doing a an the and but if or because as until while of at by for with
about against between into through during before after above below to from up down in out on off over under again
further then once here there when where why how all any both each few more most other some such no nor not only
own same so than too very s t can will just don should now d ll m o re ve y ain aren couldn didn doesn hadn hasn
haven isn ma mightn mustn needn shan shouldn wasn weren won wouldn
""".split())

PUNCTUATION = (".", ";", "?", ":", "!", ",")  # AEDA's marks
_CORE = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)
EMPTY_POLICIES = ("error", "keep")


def check_texts(texts, *, name: str = "texts") -> list[str]:
    """``texts`` as a list of ``str``: a non-empty list (or tuple); UTF-8 ``bytes`` items are decoded.

    Raises:
        TypeError: not a list, or an item that is ``None`` or neither ``str`` nor ``bytes`` (named).
        ValueError: an empty list, or bytes that are not UTF-8 (named by position).
    """
    if isinstance(texts, (str, bytes)) or not isinstance(texts, Sequence):
        raise TypeError(f"`{name}` must be a list of str, got {type(texts).__name__}; wrap one text as [text].")
    if len(texts) == 0:
        raise ValueError(f"`{name}` must hold at least one text, got an empty list.")
    out = []
    for i, t in enumerate(texts):
        if isinstance(t, bytes):
            try:
                t = t.decode("utf-8")
            except UnicodeDecodeError as err:
                raise ValueError(f"`{name}[{i}]` must be UTF-8 text, got bytes invalid at position {err.start}.") from None
        if not isinstance(t, str):
            raise TypeError(f"`{name}[{i}]` must be a str, got {type(t).__name__} ({t!r:.40}).")
        out.append(t)
    return out


def text_key(text: str) -> int:
    """A stable 64-bit key of a text (blake2b of its UTF-8 bytes), for seeding and caches."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def eda_defaults(n_train: int) -> tuple[float, int]:
    """The EDA paper's recommended ``(word_rate, n_aug)`` (its α and n_aug) for ``n_train`` texts.

    Table 3 of Wei & Zou (2019): 500 → (0.05, 16), 2,000 → (0.05, 8), 5,000 and more → (0.1, 4).
    Sizes in between take the row of the next larger size.

    Example:
        >>> eda_defaults(400), eda_defaults(2000), eda_defaults(10_000)
        ((0.05, 16), (0.05, 8), (0.1, 4))
    """
    n_train = check_int("n_train", n_train, minimum=1)
    if n_train <= 500:
        return 0.05, 16
    if n_train <= 2000:
        return 0.05, 8
    return 0.1, 4


def _split_core(token: str) -> tuple[str, str, str]:
    m = _CORE.match(token)
    return m.group(1), m.group(2), m.group(3)


def _match_case(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


@dataclass(frozen=True, kw_only=True)
class _TextAugmenter:
    """Shared behaviour: validation, the empty-text policy and the list / per-sample interfaces."""

    reserved: tuple[str, ...] = ()
    on_empty: str = "error"
    p: float = 1.0

    def __post_init__(self) -> None:
        check_float("p", self.p, low=0.0, high=1.0)
        if isinstance(self.reserved, str) or not isinstance(self.reserved, Iterable):
            raise TypeError(f"`reserved` must be a list of tokens, got {self.reserved!r}.")
        object.__setattr__(self, "reserved", tuple(check_texts(list(self.reserved), name="reserved"))
                           if self.reserved else ())
        check_choice("on_empty", self.on_empty, EMPTY_POLICIES)

    def _augment_one(self, text: str, r: random.Random) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, text: str, *, rng: np.random.Generator | random.Random) -> str:
        """Augment one text with ``rng`` (the engine's per-sample transform interface).

        A NumPy generator is turned into one seeded ``random.Random`` per call: the kernels draw
        from it because its scalar draws are several times cheaper than NumPy's.
        """
        if not isinstance(rng, random.Random):
            rng = random.Random(int(rng.integers(2**63)))
        if not isinstance(text, str):
            raise TypeError(f"`text` must be a str, got {type(text).__name__}.")
        if not text.strip():
            if self.on_empty == "keep":
                return text
            raise ValueError("`text` is empty or whitespace-only; pass on_empty='keep' to leave such texts as they are.")
        if self.p < 1.0 and rng.random() >= self.p:
            return text
        out = self._augment_one(text, rng)
        return out if out.strip() else text

    def augment(self, texts: Sequence[str], *, seed: int) -> list[str]:
        """One augmented version of each text (same length and order), reproducible from ``seed``.

        Example:
            >>> AEDA().augment(["a fine film"], seed=0) == AEDA().augment(["a fine film"], seed=0)
            True
        """
        texts = check_texts(texts)
        seed = check_int("seed", seed, minimum=0)
        self._check_empty(texts)
        return [self(t, rng=random.Random(f"{seed}/{i}")) for i, t in enumerate(texts)]

    def _check_empty(self, texts: list[str]) -> None:
        if self.on_empty == "error":
            for i, t in enumerate(texts):
                if not t.strip():
                    raise ValueError(f"`texts[{i}]` is empty or whitespace-only; pass on_empty='keep' to leave "
                                     "such texts as they are.")

    def _is_reserved(self, core: str, token: str) -> bool:
        return bool(self.reserved) and (core in self.reserved or token in self.reserved)


@dataclass(frozen=True, kw_only=True)
class EDA(_TextAugmenter):
    """Easy Data Augmentation: SR, RI, RS and RD, one operation per augmented copy.

    Args:
        word_rate: share of the words changed (SR, RI, RS) or deletion probability (RD), in (0, 1]:
            the EDA paper's α (named ``alpha`` before; MixUp's ``alpha`` is a Beta concentration).
        operations: any of ``"sr", "ri", "rs", "rd"``.
        synonyms: ``word -> synonyms`` (default: offline WordNet, :class:`WordNetSynonyms`).
        reserved: tokens never replaced or deleted.
        p: probability that a text is augmented at all.
        nltk_data, data_root: where to find WordNet when ``synonyms`` is not given.

    Example:
        >>> from scarce.augment.wordnet import DictSynonyms
        >>> eda = EDA(word_rate=0.5, operations=("sr",), synonyms=DictSynonyms({"film": ["movie"]}))
        >>> eda.augment(["A charming film."], seed=0)
        ['A charming movie.']
    """

    word_rate: float = 0.1
    operations: tuple[str, ...] = ("sr", "ri", "rs", "rd")
    synonyms: object = None
    nltk_data: str | None = None
    data_root: str | None = None
    stop_words: frozenset = field(default=STOP_WORDS, repr=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_float("word_rate", self.word_rate, low=0.0, high=1.0, low_inclusive=False)
        ops = (self.operations,) if isinstance(self.operations, str) else tuple(self.operations)
        if not ops:
            raise ValueError("`operations` must name at least one of 'sr', 'ri', 'rs', 'rd'.")
        for op in ops:
            check_choice("operations", op, ("sr", "ri", "rs", "rd"))
        object.__setattr__(self, "operations", ops)
        if self.synonyms is None and {"sr", "ri"} & set(ops):
            from scarce.augment.wordnet import WordNetSynonyms

            object.__setattr__(self, "synonyms", WordNetSynonyms(nltk_data=self.nltk_data, data_root=self.data_root))
        elif self.synonyms is not None and not callable(self.synonyms):
            raise TypeError(f"`synonyms` must be a callable word -> list of synonyms, got {type(self.synonyms).__name__}.")

    def _candidates(self, tokens: list[str]) -> list[int]:
        """Positions whose word may be replaced or serve as an insertion source."""
        out = []
        for i, tok in enumerate(tokens):
            _, core, _ = _split_core(tok)
            if core.isalpha() and core.lower() not in self.stop_words and not self._is_reserved(core, tok):
                out.append(i)
        return out

    def _augment_one(self, text: str, rng: random.Random) -> str:
        tokens = text.split()
        n = len(tokens)
        op = self.operations[rng.randrange(len(self.operations))]
        k = max(1, int(self.word_rate * n))
        if op == "sr":
            tokens = self._replace(tokens, k, rng)
        elif op == "ri":
            tokens = self._insert(tokens, k, rng)
        elif op == "rs" and n >= 2:
            for _ in range(k):
                i, j = rng.sample(range(n), 2)
                tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "rd" and n >= 2:
            keep = [t for t in tokens if self._is_reserved(_split_core(t)[1], t) or rng.random() >= self.word_rate]
            tokens = keep if keep else [tokens[rng.randrange(n)]]  # never delete every word
        return " ".join(tokens)

    def _replace(self, tokens: list[str], k: int, rng: random.Random) -> list[str]:
        tokens = list(tokens)
        done = 0
        order = self._candidates(tokens)
        rng.shuffle(order)
        for i in order:
            pre, core, post = _split_core(tokens[i])
            syns = self.synonyms(core)
            if syns:
                tokens[i] = pre + _match_case(syns[rng.randrange(len(syns))], core) + post
                done += 1
                if done >= k:
                    break
        return tokens

    def _insert(self, tokens: list[str], k: int, rng: random.Random) -> list[str]:
        words = [_split_core(tokens[i])[1] for i in self._candidates(tokens)]
        tokens = list(tokens)
        for _ in range(k):
            rng.shuffle(words)
            for w in words:
                syns = self.synonyms(w)
                if syns:
                    tokens.insert(rng.randrange(len(tokens) + 1), syns[rng.randrange(len(syns))].lower())
                    break
            else:
                break
        return tokens


@dataclass(frozen=True, kw_only=True)
class AEDA(_TextAugmenter):
    """An Easier Data Augmentation: insert between 1 and ``ratio`` × words punctuation marks.

    Example:
        >>> out = AEDA().augment(["what a fine film"], seed=1)[0]
        >>> out.replace(" ", "").strip(".;?:!,") != "" and len(out.split()) > 4
        True
    """

    ratio: float = 1 / 3
    marks: tuple[str, ...] = PUNCTUATION

    def __post_init__(self) -> None:
        super().__post_init__()
        check_float("ratio", self.ratio, low=0.0, high=1.0, low_inclusive=False)
        if not self.marks or not all(isinstance(m, str) and m for m in self.marks):
            raise ValueError(f"`marks` must be a non-empty list of non-empty strings, got {self.marks!r}.")

    def _augment_one(self, text: str, rng: random.Random) -> str:
        tokens = text.split()
        count = rng.randint(1, max(1, int(self.ratio * len(tokens))))
        for pos in sorted(rng.sample(range(len(tokens) + 1), min(count, len(tokens) + 1)), reverse=True):
            tokens.insert(pos, self.marks[rng.randrange(len(self.marks))])
        return " ".join(tokens)


CHAR_KINDS = ("keyboard", "ocr", "random")


@dataclass(frozen=True, kw_only=True)
class CharNoise(_TextAugmenter):
    """Character-level noise through nlpaug (keyboard typos, OCR confusions or random characters).

    nlpaug draws from Python's and NumPy's global generators; each call here seeds them from
    ``rng`` and restores their state afterwards, so results depend only on the seed and the global
    state is untouched. Stop words and ``reserved`` tokens are not noised.

    Args:
        kind: ``"keyboard"``, ``"ocr"`` or ``"random"`` (random character substitution).
        word_rate, char_rate: shares of words noised and of characters noised in such a word (nlpaug's
            ``aug_word_p`` / ``aug_char_p``). p: as for every augmenter.

    Example:
        >>> # CharNoise(kind="keyboard").augment(["the film is charming"], seed=0)
    """

    kind: str = "keyboard"
    word_rate: float = 0.1
    char_rate: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        check_choice("kind", self.kind, CHAR_KINDS)
        check_float("word_rate", self.word_rate, low=0.0, high=1.0, low_inclusive=False)
        check_float("char_rate", self.char_rate, low=0.0, high=1.0, low_inclusive=False)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_backend"}

    def _nlpaug(self):
        aug = self.__dict__.get("_backend")
        if aug is None:
            try:
                import nlpaug.augmenter.char as nac
            except ImportError:
                raise ImportError("CharNoise needs nlpaug: `pip install scarce[text]`.") from None
            common = dict(aug_word_p=self.word_rate, aug_char_p=self.char_rate, aug_word_max=None, aug_char_max=None,
                          stopwords=sorted(STOP_WORDS | set(self.reserved)))
            if self.kind == "keyboard":
                aug = nac.KeyboardAug(include_special_char=False, min_char=2, **common)
            elif self.kind == "ocr":
                aug = nac.OcrAug(**common)
            else:
                aug = nac.RandomCharAug(action="substitute", include_numeric=False, min_char=2, spec_char="", **common)
            object.__setattr__(self, "_backend", aug)
        return aug

    def _augment_one(self, text: str, rng: random.Random) -> str:
        aug = self._nlpaug()
        with seeded_globals(rng.getrandbits(31)):
            out = aug.augment(text)
        out = out[0] if isinstance(out, list) else out
        if not isinstance(out, str):
            raise RuntimeError(f"nlpaug returned {type(out).__name__} for a text; expected a str.")
        return out


def expand(augmenter: _TextAugmenter, texts: Sequence[str], labels, *, n_aug: int, seed: int,
           keep_original: bool = True) -> tuple[list[str], np.ndarray]:
    """Offline expansion: each text followed by ``n_aug`` augmented versions, labels repeated.

    Args:
        augmenter: any augmenter of this module (``aug(text, rng=...)``).
        texts: the training texts.
        labels: one label per text.
        n_aug: augmented copies per text (>= 1).
        seed: copy ``j`` of a text draws from ``random.Random(f"{seed}/{text_key(text)}/{j}")``: the same
            text gets the same copies whatever its position, so nested subsets share their
            augmented rows (and an embedding cache hits across sizes).
        keep_original: also keep each original text (as the EDA paper does).

    Returns:
        ``(texts, labels)`` with ``len(texts) * (n_aug + keep_original)`` rows.

    Example:
        >>> t, y = expand(AEDA(), ["good", "bad film"], [1, 0], n_aug=2, seed=0)
        >>> len(t), y.tolist()
        (6, [1, 1, 1, 0, 0, 0])
    """
    texts = check_texts(texts)
    n_aug = check_int("n_aug", n_aug, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(texts):
        raise ValueError(f"`labels` must hold one label per text: {len(texts)} texts, {labels.size} labels.")
    augmenter._check_empty(texts)
    out_t, out_y = [], []
    for t, y in zip(texts, labels.tolist()):
        if keep_original:
            out_t.append(t)
            out_y.append(y)
        key = text_key(t)
        for j in range(n_aug):
            out_t.append(augmenter(t, rng=random.Random(f"{seed}/{key}/{j}")))
            out_y.append(y)
    return out_t, np.asarray(out_y, dtype=labels.dtype)
