"""Process-wide caches are bounded or clearable, and clearing them works."""

from collections import OrderedDict

import scarce.backbones
from scarce.augment import wordnet
from scarce.remedies import transfer


def test_backbone_states_are_a_bounded_lru(monkeypatch):
    made = []
    monkeypatch.setattr(scarce.backbones, "create_backbone", lambda name, pretrained, download=False: made.append(name) or {"name": name})
    transfer.clear_caches()
    a = transfer.load_backbone("a", "default")
    assert a == {"name": "a"} and a is not transfer.load_backbone("a", "default")  # a copy each time
    for name in ("b", "a", "c"):  # "a" used again, so "b" is the oldest when "c" arrives
        transfer.load_backbone(name, "default")
    assert len(transfer._BACKBONE_STATE) == transfer.MAX_BACKBONES == 2
    assert [k[0] for k in transfer._BACKBONE_STATE] == ["a", "c"]
    assert made == ["a", "b", "c"]
    transfer.load_backbone("b", "default")
    assert made == ["a", "b", "c", "b"]  # "b" was dropped, so it is read again
    transfer.clear_caches()
    assert not transfer._BACKBONE_STATE and not transfer._CACHES
    transfer.load_backbone("a", "default")
    assert made[-1] == "a"


def test_feature_caches_are_bounded_and_cleared(tmp_path):
    transfer.clear_caches()
    first = transfer._cache(tmp_path / "0")
    assert transfer._cache(tmp_path / "0") is first
    for i in range(1, transfer.MAX_FEATURE_CACHES + 2):
        transfer._cache(tmp_path / str(i))
    assert len(transfer._CACHES) == transfer.MAX_FEATURE_CACHES
    assert str(tmp_path / "0") not in transfer._CACHES
    transfer.clear_caches()
    assert not transfer._CACHES
    assert transfer._cache(None) is None


def _fake_wordnet(root):
    folder = root / "corpora" / "wordnet"
    folder.mkdir(parents=True)
    for pos in ("noun", "verb", "adj", "adv"):
        (folder / f"data.{pos}").write_text("  licence header\n" + ("00000001 03 n 02 film 0 movie 0 000 | x\n" if pos == "noun" else ""))
    return root


def test_wordnet_clear_caches(tmp_path):
    syn = wordnet.WordNetSynonyms(nltk_data=_fake_wordnet(tmp_path))
    assert syn("film") == ("movie",) and syn("film") == ("movie",)
    assert syn.lookups == 1
    assert str(tmp_path) in wordnet._CACHES and str(tmp_path) in wordnet._TABLES
    wordnet.clear_caches()
    assert not wordnet._CACHES and not wordnet._TABLES and not syn._cache
    assert syn("film") == ("movie",) and syn.lookups == 2  # looked up again after clearing
    wordnet.clear_caches()


def test_shared_sentence_encoder_registers_no_exit_print(monkeypatch):
    import atexit

    from scarce.backbones import sentence

    registered = []
    monkeypatch.setattr(atexit, "register", lambda *a, **k: registered.append(a))
    monkeypatch.setattr(sentence, "SentenceEncoder", lambda **kw: object())
    monkeypatch.setattr(sentence, "_SHARED", OrderedDict())
    enc = sentence.shared_encoder(model_path="m", cache_dir="c")
    assert sentence.shared_encoder(model_path="m", cache_dir="c") is enc
    assert registered == []


def test_shared_sentence_encoders_are_bounded_and_clearable(monkeypatch):
    from scarce.backbones import sentence

    monkeypatch.setattr(sentence, "SentenceEncoder", lambda **kw: object())
    monkeypatch.setattr(sentence, "_SHARED", OrderedDict())
    a = sentence.shared_encoder(model_path="a")
    b = sentence.shared_encoder(model_path="b")
    assert sentence.shared_encoder(model_path="a") is a  # a is now the most recently used
    sentence.shared_encoder(model_path="c")  # over the bound: b (least recently used) is dropped
    assert len(sentence._SHARED) == sentence.MAX_ENCODERS == 2
    assert sentence.shared_encoder(model_path="a") is a and sentence.shared_encoder(model_path="b") is not b
    sentence.clear_encoders()
    assert sentence._SHARED == {}
