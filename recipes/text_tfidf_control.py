"""EDA vs the duplication control with scikit-learn TF-IDF + logistic regression on Rotten Tomatoes.

For each size (k per class, 20% of it held out for validation) and seed: the baseline, EDA
(the paper's alpha (word_rate) / n_aug for the training size) and `duplicate` (the same number of rows, each
original repeated) are fitted with (a) a fixed C = 1 and (b) C tuned on the validation split over
{0.01, 0.1, 1, 10, 100}. Prints paired gains with 95% t-intervals, in points, and writes a
markdown table.

    SCARCE_DATA=../shared/data python recipes/text_tfidf_control.py --out runs/text_tfidf_control.md [--smoke]
"""

from __future__ import annotations

import argparse
import os

GRID = (0.01, 0.1, 1.0, 10.0, 100.0)


def get_args_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[25, 125, 250, 1000], help="k per class (val included)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--data-root", default=os.environ.get("SCARCE_DATA"))
    p.add_argument("--out", default="runs/text_tfidf_control.md")
    p.add_argument("--smoke", action="store_true", help="one size, one seed, 200 test texts")
    return p


def fit_score(train_t, train_y, val_t, val_y, test_t, test_y, *, tuned: bool) -> float:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    xtr = vec.fit_transform(train_t)
    best = (-1.0, 1.0)
    for c in GRID if tuned else (1.0,):
        clf = LogisticRegression(C=c, max_iter=2000).fit(xtr, train_y)
        score = clf.score(vec.transform(val_t), val_y) if tuned else 0.0
        if score > best[0]:
            best = (score, c, clf)
    return 100.0 * best[2].score(vec.transform(test_t), test_y)


def main(args) -> None:
    import numpy as np

    from scarce._io import atomic_write_text
    from scarce.augment.text import EDA, eda_defaults, expand
    from scarce.augment.wordnet import WordNetSynonyms
    from scarce.data import load_dataset, stratified_subset
    from scarce.metrics import paired_diff_ci

    b = load_dataset("rotten_tomatoes", root=args.data_root)
    sizes, seeds = (args.sizes[:1], args.seeds[:1]) if args.smoke else (args.sizes, args.seeds)
    texts = [b.train.get(i) for i in range(len(b.train))]
    n_test = 200 if args.smoke else len(b.test)
    test_t, test_y = [b.test.get(i) for i in range(n_test)], b.test.labels[:n_test]
    syn = WordNetSynonyms(data_root=args.data_root)
    acc: dict[tuple, float] = {}
    for k in sizes:
        for seed in seeds:
            sp = stratified_subset(b.train.labels, per_class=k, seed=seed, val_fraction=0.2)
            tr_t, tr_y = [texts[i] for i in sp.train], b.train.labels[sp.train]
            va_t, va_y = [texts[i] for i in sp.val], b.train.labels[sp.val]
            word_rate, n_aug = eda_defaults(len(tr_t))
            rows = {"baseline": (tr_t, tr_y),
                    "eda": expand(EDA(word_rate=word_rate, synonyms=syn), tr_t, tr_y, n_aug=n_aug, seed=seed),
                    "duplicate": ([t for t in tr_t for _ in range(n_aug + 1)], np.repeat(tr_y, n_aug + 1))}
            for name, (t, y) in rows.items():
                for tuned in (False, True):
                    acc[(name, tuned, k, seed)] = fit_score(t, y, va_t, va_y, test_t, test_y, tuned=tuned)
            print(f"k={k} seed={seed}: " + ", ".join(f"{n}{'/tuned' if tu else ''} {acc[(n, tu, k, seed)]:.1f}"
                                                       for n in rows for tu in (False, True)), flush=True)
    lines = ["| C | comparison | " + " | ".join(f"{2 * k} ex. (k={k})" for k in sizes) + " |",
             "|---|---|" + "---|" * len(sizes)]
    for tuned in (False, True):
        for name in ("baseline", "eda", "duplicate"):
            cells = []
            for k in sizes:
                v = [acc[(name, tuned, k, s)] for s in seeds]
                cells.append(f"{np.mean(v):.1f}")
            lines.append(f"| {'tuned on val' if tuned else 'fixed 1.0'} | {name} accuracy | " + " | ".join(cells) + " |")
        for a, ref in (("eda", "baseline"), ("duplicate", "baseline"), ("eda", "duplicate")):
            cells = []
            for k in sizes:
                iv = paired_diff_ci([acc[(a, tuned, k, s)] for s in seeds], [acc[(ref, tuned, k, s)] for s in seeds])
                cells.append(f"{iv.mean:+.1f} ± {iv.half_width:.1f}" if len(seeds) > 1 else f"{iv.mean:+.1f}")
            lines.append(f"| {'tuned on val' if tuned else 'fixed 1.0'} | {a} − {ref} | " + " | ".join(cells) + " |")
    table = "\n".join(lines) + "\n"
    print(table)
    atomic_write_text(args.out, table)


if __name__ == "__main__":
    main(get_args_parser().parse_args())
