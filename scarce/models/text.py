"""Text classifiers trained from scratch, and their tokenising collate.

Texts become hashed unigram + bigram ids (lower-cased words and punctuation; a stable CRC-32
hash into ``buckets`` rows). Hashing needs no vocabulary state, so every word a remedy adds (an
EDA synonym, a typo) gets its own row, while the pipeline is built before the remedy runs.

* ``bag_of_embeddings``: a fastText-style model, the mean of the n-gram embeddings → dropout →
  linear head.
* ``hashed_linear``: logistic regression on the bag of hashed n-grams (each n-gram's weight,
  summed and scaled by 1/sqrt(length)); its regularisation is the engine's weight-decay grid,
  tuned on the validation split.
* :class:`TfidfFeatures`: TF-IDF features for the scikit-learn logistic-regression reference.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from scarce._checks import check_float, check_int
from scarce._torch import labels_to_tensor

_TOKEN = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Lower-cased words and punctuation marks.

    Example:
        >>> tokenize("Not bad, isn't it?")
        ['not', 'bad', ',', "isn't", 'it', '?']
    """
    return _TOKEN.findall(text.lower())


@lru_cache(maxsize=2**20)
def _bucket(gram: str, buckets: int) -> int:
    return 1 + zlib.crc32(gram.encode("utf-8")) % (buckets - 1)  # 0 is padding


class HashedNgrams:
    """``collate(list[(text, y)]) -> (ids (B, L) int64, y)``: hashed n-gram ids, padded with 0.

    Example:
        >>> x, y = HashedNgrams(buckets=1000)([("a fine film", 1), ("bad", 0)])
        >>> tuple(x.shape), y.tolist()
        ((2, 5), [1, 0])
    """

    def __init__(self, *, buckets: int = 2**16, ngrams: int = 2, max_tokens: int = 256) -> None:
        self.buckets = check_int("buckets", buckets, minimum=2)
        self.ngrams = check_int("ngrams", ngrams, minimum=1, maximum=3)
        self.max_tokens = check_int("max_tokens", max_tokens, minimum=1)

    def ids(self, text: str) -> list[int]:
        toks = tokenize(text)[: self.max_tokens] or ["<empty>"]
        grams = list(toks)
        for n in range(2, self.ngrams + 1):
            grams += [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]
        return [_bucket(g, self.buckets) for g in grams]

    def __call__(self, batch: Sequence[tuple[str, object]]):
        rows = [self.ids(x) for x, _ in batch]
        out = np.zeros((len(rows), max(map(len, rows))), np.int64)
        for i, r in enumerate(rows):
            out[i, : len(r)] = r
        ys = [y for _, y in batch]
        y = labels_to_tensor(ys)
        return torch.from_numpy(out), y


def _check_sizes(num_classes: int, buckets: int) -> None:
    check_int("num_classes", num_classes, minimum=2)
    check_int("buckets", buckets, minimum=2)


class BagOfEmbeddings(nn.Module):
    """fastText-style: the mean of the hashed n-gram embeddings → dropout → linear head, on ids
    ``(B, L)`` (0 = padding).

    Example:
        >>> m = BagOfEmbeddings(num_classes=2, buckets=100)
        >>> tuple(m(torch.tensor([[3, 4, 0]])).shape)
        (1, 2)
    """

    def __init__(self, *, num_classes: int, buckets: int = 2**16, dim: int = 32, dropout: float = 0.3) -> None:
        super().__init__()
        _check_sizes(num_classes, buckets)
        check_int("dim", dim, minimum=1)
        check_float("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
        self.emb = nn.EmbeddingBag(buckets, dim, mode="mean", padding_idx=0)
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.emb(ids)))


class HashedLinear(nn.Module):
    """Logistic regression on the bag of hashed n-grams: each n-gram's weight, summed and scaled by
    1/sqrt(length), plus a bias; weights start at zero."""

    def __init__(self, *, num_classes: int, buckets: int = 2**16) -> None:
        super().__init__()
        _check_sizes(num_classes, buckets)
        self.weight = nn.EmbeddingBag(buckets, num_classes, mode="sum", padding_idx=0)
        nn.init.zeros_(self.weight.weight)
        self.bias = nn.Parameter(torch.zeros(num_classes))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        length = (ids > 0).sum(1, keepdim=True).clamp_min(1).float()
        return self.weight(ids) / length.sqrt() + self.bias


class TfidfFeatures:
    """TF-IDF of word unigrams and bigrams (sublinear tf), fitted on the training texts only;
    dense, for the logistic-regression reference of the runner."""

    def __init__(self, *, max_features: int | None = 5000) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        if max_features is not None:
            check_int("max_features", max_features, minimum=1)

        self.vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, max_features=max_features,
                                   token_pattern=r"(?u)\b\w+(?:'\w+)?\b")

    @staticmethod
    def _texts(ds) -> list[str]:
        return [ds.get(i) for i in range(len(ds))]

    def fit_transform(self, ds):
        return self.vec.fit_transform(self._texts(ds)).toarray().astype(np.float32)

    def transform(self, ds):
        return self.vec.transform(self._texts(ds)).toarray().astype(np.float32)
