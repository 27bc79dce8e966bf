"""Text augmentation speed: scarce's EDA vs nlpaug doing the same work, measured in the same run.

EDA makes one augmented copy of each of N short sentences (one of SR / RI / RS / RD each, alpha
0.1). The reference does the same with nlpaug 1.1.11: ``SynonymAug(aug_src="wordnet")`` for
synonym replacement and insertion's share, ``RandomWordAug`` for swap and deletion. nlpaug's
WordNet path calls NLTK's POS tagger, which is not available offline, so its ``pos_tag`` is
replaced by a tagger-free stub (every part of speech allowed): the configuration the issue
describes ("the film is charming" -> "the film be charming"). Both read the same local WordNet,
loaded before timing (scarce reads the synonym table once from WordNet's data files; NLTK's
per-word reader costs about 1 ms a word). Prints sentences/s and the ratio, then the sentence-encoder cache hit rate
for a remedies x seeds reuse pattern.

    SCARCE_DATA=../shared/data python benchmarks/text_augment.py [--n 10000] [--encoder-texts 200]
"""

from __future__ import annotations

import argparse
import os
import time


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10_000, help="number of short sentences")
    p.add_argument("--data-root", default=os.environ.get("SCARCE_DATA"), help="folder with rotten-tomatoes/ and nltk_data/")
    p.add_argument("--encoder-texts", type=int, default=200, help="texts for the encoder cache check (0: skip)")
    return p


def sentences(root: str | None, n: int) -> list[str]:
    from scarce.data import load_dataset

    ds = load_dataset("rotten_tomatoes", root=root).train
    short = [t for t in (ds.get(i) for i in range(len(ds))) if 4 <= len(t.split()) <= 30]
    return (short * (n // len(short) + 1))[:n]


def main(args) -> None:
    import random

    import numpy as np

    from scarce.augment.text import EDA
    from scarce.augment.wordnet import WordNetSynonyms

    texts = sentences(args.data_root, args.n)
    syn = WordNetSynonyms(data_root=args.data_root)
    syn("film")  # load scarce's synonym table before timing
    syn._reader().synsets("film")  # and NLTK's reader for nlpaug (nltk.data.path -> the local WordNet)
    eda = EDA(word_rate=0.1, synonyms=syn)

    import nlpaug.augmenter.word as naw
    import nlpaug.model.word_dict as nmw

    nmw.WordNet.pos_tag = classmethod(lambda cls, tokens: [(t, None) for t in tokens])  # no tagger offline
    ref = [naw.SynonymAug(aug_src="wordnet", aug_p=0.1), naw.SynonymAug(aug_src="wordnet", aug_p=0.1),
           naw.RandomWordAug(action="swap", aug_p=0.1), naw.RandomWordAug(action="delete", aug_p=0.1)]
    random.seed(0)
    np.random.seed(0)
    for a in ref:
        a.augment(texts[0])

    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    theirs = [ref[int(rng.integers(4))].augment(t) for t in texts]
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = eda.augment(texts, seed=0)  # synonym table cold: every distinct word looked up once
    t_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    eda.augment(texts, seed=1)  # table warm: the case of every later cell of a sweep
    t_warm = time.perf_counter() - t0
    assert len(ours) == len(theirs) == len(texts)

    print(f"nlpaug Synonym+RandomWord:  {len(texts) / t_ref:9.0f} sentences/s  ({t_ref:.2f} s for {len(texts)})")
    print(f"EDA (scarce), cold cache:   {len(texts) / t_cold:9.0f} sentences/s  ({t_cold:.2f} s)  "
          f"speed-up {t_ref / t_cold:.1f}x")
    print(f"EDA (scarce), warm cache:   {len(texts) / t_warm:9.0f} sentences/s  ({t_warm:.2f} s)  "
          f"speed-up {t_ref / t_warm:.1f}x (target >= 5x)")
    print(f"WordNet lookups: {syn.lookups} distinct words")
    sample = "the film is charming"
    print(f"tagger-free nlpaug on {sample!r}: {[ref[0].augment(sample)[0] for _ in range(3)]}")
    print(f"scarce EDA SR on {sample!r}: {EDA(word_rate=1.0, operations=('sr',), synonyms=syn).augment([sample] * 3, seed=0)}")

    if args.encoder_texts:
        from scarce.augment.text import AEDA, expand
        from scarce.backbones.sentence import SentenceEncoder

        enc = SentenceEncoder()
        base = texts[: args.encoder_texts]
        t0 = time.perf_counter()
        for remedy in ("baseline", "duplicate", "aeda"):
            for seed in (0, 1):
                rows = expand(AEDA(), base, [0] * len(base), n_aug=1, seed=seed)[0] if remedy == "aeda" else base
                enc.encode(rows)
                enc.encode(texts[-50:])  # the test texts, evaluated in every cell
        dt = time.perf_counter() - t0
        print(f"{enc.stats()} over 3 remedies x 2 seeds; {enc.misses / dt:.0f} texts encoded/s")


if __name__ == "__main__":
    main(get_args_parser().parse_args())
