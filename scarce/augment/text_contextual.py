"""Contextual word substitution with a masked language model from a local folder (extra ``text``).

A minimal augmenter: a share ``word_rate`` of the non-stop, non-reserved words is masked one at a time
and replaced by a word sampled from the model's top-``top_k`` predictions for that position.
The model is loaded from ``model_path`` only (``local_files_only=True``): nothing is downloaded.
It needs a checkpoint with a masked-LM head (e.g. a saved ``distilbert-base-uncased``); the
sentence-encoder package used by the recipes has no such head.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

from scarce._checks import check_float, check_int
from scarce.augment.text import STOP_WORDS, _split_core, _TextAugmenter


@dataclass(frozen=True, kw_only=True)
class ContextualAug(_TextAugmenter):
    """Masked-LM word substitution.

    Args:
        model_path: a local Hugging Face folder with a masked-LM head (``config.json`` and weights).
        word_rate: share of eligible words substituted, in (0, 1] (``p`` is, as for every
            augmenter, the probability that a text is augmented at all).
        top_k: candidates sampled from per masked word.

    Example:
        >>> # ContextualAug(model_path="models/distilbert-base-uncased").augment(["a fine film"], seed=0)
    """

    model_path: str
    word_rate: float = 0.15
    top_k: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        check_float("word_rate", self.word_rate, low=0.0, high=1.0, low_inclusive=False)
        check_int("top_k", self.top_k, minimum=1)
        path = Path(os.fspath(self.model_path)).expanduser()
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"`model_path` must be a local model folder with config.json (a masked-LM "
                                    f"checkpoint saved with save_pretrained), got '{path}'. Nothing is downloaded.")

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_backend"}

    def _backend(self):
        got = self.__dict__.get("_lm")
        if got is None:
            try:
                from transformers import AutoModelForMaskedLM, AutoTokenizer
            except ImportError:
                raise ImportError("ContextualAug needs transformers: `pip install scarce[text]`.") from None
            tok = AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)
            model = AutoModelForMaskedLM.from_pretrained(self.model_path, local_files_only=True).eval()
            if tok.mask_token is None:
                raise ValueError(f"The model in '{self.model_path}' has no mask token; use a masked-LM checkpoint.")
            got = (tok, model)
            object.__setattr__(self, "_lm", got)
        return got

    def _augment_one(self, text: str, rng: random.Random) -> str:
        import torch

        tok, model = self._backend()
        tokens = text.split()
        eligible = [i for i, t in enumerate(tokens) if (c := _split_core(t)[1]).isalpha()
                    and c.lower() not in STOP_WORDS and not self._is_reserved(c, t)]
        if not eligible:
            return text
        chosen = rng.sample(eligible, max(1, int(round(self.word_rate * len(eligible)))))
        masked = []
        for i in chosen:
            pre, _, post = _split_core(tokens[i])
            masked.append(" ".join(tokens[:i] + [pre + tok.mask_token + post] + tokens[i + 1:]))
        enc = tok(masked, return_tensors="pt", padding=True, truncation=True)
        with torch.no_grad():
            logits = model(**enc).logits
        for row, i in enumerate(chosen):
            pos = (enc["input_ids"][row] == tok.mask_token_id).nonzero()
            if not len(pos):
                continue  # the mask was truncated away
            top = logits[row, int(pos[0])].topk(self.top_k * 2).indices.tolist()
            core = _split_core(tokens[i])[1]
            words = [w for w in tok.convert_ids_to_tokens(top) if w.isalpha() and w.lower() != core.lower()][: self.top_k]
            if words:
                pre, _, post = _split_core(tokens[i])
                tokens[i] = pre + words[rng.randrange(len(words))] + post
        return " ".join(tokens)
