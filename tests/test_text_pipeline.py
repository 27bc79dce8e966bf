"""Text datasets, models, the sentence-encoder cache and the text remedies (no real data needed)."""

import json
import zlib

import numpy as np
import pytest

from fixtures import NEG, POS, write_rotten_tomatoes, write_text_csv
from scarce.data import load_dataset
from scarce.data.text import text_dataset
from scarce.remedies import TrainSetup, create_remedy


def test_rotten_tomatoes_drops_plot_empty_and_repeats_with_fixed_split(tmp_path):
    write_rotten_tomatoes(tmp_path)
    b = load_dataset("rotten_tomatoes", root=tmp_path)
    assert b.modality == "text" and b.train.class_names == ["rotten", "fresh"]
    assert len(b.train) + len(b.test) == 40 and np.bincount(b.test.labels).tolist() == [4, 4]
    texts = {b.train.get(i) for i in range(len(b.train))} | {b.test.get(i) for i in range(len(b.test))}
    assert "a plot summary" not in texts
    again = load_dataset("rotten_tomatoes", root=tmp_path)
    assert [again.test.get(i) for i in range(8)] == [b.test.get(i) for i in range(8)]


def test_rotten_tomatoes_missing_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="rotten_tomatoes_corpus_full.csv.bz2"):
        load_dataset("rotten_tomatoes", root=tmp_path)


def test_text_csv_and_jsonl_with_label_mapping(tmp_path):
    write_text_csv(tmp_path / "d.csv", repeats=3)
    b = load_dataset("text_csv", root=tmp_path, path="d.csv", text_column="review", label_column="stars")
    assert b.extra["label_mapping"] == {"bad": 0, "good": 1} and len(b.train) + len(b.test) == 24
    lines = [json.dumps({"text": t, "label": 1}) for t in POS] + [json.dumps({"text": t, "label": 0}) for t in NEG]
    (tmp_path / "d.jsonl").write_text("\n".join(lines), encoding="utf-8")
    j = load_dataset("text_csv", path=str(tmp_path / "d.jsonl"), test_fraction=0.5)
    assert j.train.class_names == ["0", "1"] and len(j.test) == 4


def test_text_csv_errors(tmp_path):
    (tmp_path / "d.csv").write_text("text,label\nfine,1\n,0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="row 2: column 'text' must be a non-empty string"):
        load_dataset("text_csv", path=str(tmp_path / "d.csv"))
    with pytest.raises(ValueError, match="`label_column` must name a column"):
        load_dataset("text_csv", path=str(tmp_path / "d.csv"), label_column="y")
    (tmp_path / "b.csv").write_bytes(b"text,label\n\xff\xfe,1\n")
    with pytest.raises(ValueError, match="not UTF-8"):
        load_dataset("text_csv", path=str(tmp_path / "b.csv"))


def test_text_dataset_rejects_non_strings_and_label_mismatch():
    with pytest.raises(TypeError, match=r"`texts\[1\]` must be a str, got NoneType"):
        text_dataset(["a", None], [0, 1])
    with pytest.raises(ValueError, match="one entry per example: 2 examples, 3 labels"):
        text_dataset(["a", "b"], [0, 1, 1])


def _setup(n_per_class=4):
    from scarce.modalities import get_modality
    from scarce.experiment.config import ModelConfig

    train = text_dataset(POS[:n_per_class] + NEG[:n_per_class], [1] * n_per_class + [0] * n_per_class,
                         class_names=["neg", "pos"])
    model_fn, collate = get_modality("text").pipeline(model=ModelConfig(name="hashed_linear"), train=train,
                                                      num_classes=2)
    return TrainSetup(train=train, num_classes=2, model_fn=model_fn, collate=collate, clean_train=train)


@pytest.mark.parametrize("name", ["bag_of_embeddings", "hashed_linear"])
def test_text_models_learn_a_separable_toy_task(name):
    from scarce.models import create_model
    from scarce.models.text import HashedNgrams
    from scarce.inference import evaluate
    from scarce.train import TrainConfig, fit

    ds = text_dataset(POS + NEG, [1] * 4 + [0] * 4)
    col = HashedNgrams(buckets=512)
    r = fit(lambda: create_model(name, num_classes=2, buckets=512, **({"dim": 8} if name == "bag_of_embeddings" else {})), ds, collate=col, seed=0,
            config=TrainConfig(steps=40, batch_size=8, lr=0.1, device="cpu", recompute_bn=False, eval_every=40))
    assert evaluate(r.model, ds, collate=col, device="cpu")["accuracy"] == 1.0


def test_expansion_remedies_and_duplicate_add_the_same_rows():
    setup = _setup()
    dup = create_remedy({"name": "duplicate", "n_aug": 3}).apply(setup, seed=0)
    aeda = create_remedy({"name": "aeda", "n_aug": 3}).apply(setup, seed=0)
    assert len(dup.train) == len(aeda.train) == 4 * len(setup.train)
    assert np.bincount(aeda.train.labels).tolist() == np.bincount(dup.train.labels).tolist()
    assert dup.clean_train is setup.train and aeda.clean_train is setup.train and aeda.notes["aeda_n_aug"] == 3
    default = create_remedy("duplicate").apply(setup, seed=0)
    assert default.notes["duplicate_n_aug"] == 16  # the EDA paper's n_aug for <= 500 texts
    with pytest.raises(ValueError, match="`n_aug` must be >= 1"):
        create_remedy({"name": "duplicate", "n_aug": 0})
    with pytest.raises(ValueError, match=r"`word_rate` must be in \(0, 1\]"):
        create_remedy({"name": "char_noise", "word_rate": 2})
    with pytest.raises(ValueError, match="'aeda' takes no `word_rate`"):
        create_remedy({"name": "aeda", "word_rate": 0.1})
    with pytest.raises(ValueError, match=r"Bad options for remedy 'eda': unknown option `alpha`\. It takes: .*word_rate"):
        create_remedy({"name": "eda", "alpha": 0.1})


def test_text_remedy_refuses_images(tiny_images):
    setup = TrainSetup(train=tiny_images, num_classes=3, model_fn=None)
    with pytest.raises(ValueError, match="need a text dataset"):
        create_remedy("aeda").apply(setup, seed=0)


class FakeModel:
    """Stands in for SentenceTransformer: a deterministic 8-d vector per text, counting calls."""

    def __init__(self):
        self.encoded = 0

    def encode(self, texts, **kw):
        self.encoded += len(texts)
        return np.stack([np.random.default_rng(zlib.crc32(t.encode())).normal(size=8) for t in texts]).astype(np.float32)

    def get_sentence_embedding_dimension(self):
        return 8


def _fake_model_dir(tmp_path):
    d = tmp_path / "fake-model"
    d.mkdir()
    (d / "modules.json").write_text("[]")
    return d


def test_sentence_encoder_cache_encodes_each_text_once(tmp_path):
    from scarce.backbones.sentence import SentenceEncoder

    enc = SentenceEncoder(model_path=_fake_model_dir(tmp_path), cache_dir=tmp_path / "cache")
    enc._model = FakeModel()
    a = enc.encode(["x", "y", "x"])
    b = enc.encode(["y", "z"])
    assert enc._model.encoded == 3 and (enc.hits, enc.misses) == (2, 3) and np.array_equal(a[1], b[0])
    again = SentenceEncoder(model_path=enc.model_path,
                            cache_dir=tmp_path / "cache")
    again._model = FakeModel()
    assert np.array_equal(again.encode(["z", "x"]), np.stack([b[1], a[0]])) and again._model.encoded == 0
    with pytest.raises(TypeError, match=r"`texts\[0\]` must be a str"):
        enc.encode([None])
    with pytest.raises(FileNotFoundError, match="sentence-transformers folder"):
        SentenceEncoder(model_path=tmp_path / "nowhere")


def test_sentence_cache_never_uses_a_corrupt_shard_or_another_models_vectors(tmp_path):
    from scarce.backbones.sentence import SentenceEncoder

    model = _fake_model_dir(tmp_path)
    enc = SentenceEncoder(model_path=model, cache_dir=tmp_path / "cache")
    enc._model = FakeModel()
    first = enc.encode(["a", "b"])
    (shard,) = list((tmp_path / "cache").rglob("shard-*.npz"))
    shard.write_bytes(shard.read_bytes()[:60])  # truncated by a crash or a full disk
    with pytest.warns(RuntimeWarning, match="corrupt"):
        again = SentenceEncoder(model_path=model, cache_dir=tmp_path / "cache")
    again._model = FakeModel()
    assert np.array_equal(again.encode(["a", "b"]), first) and again._model.encoded == 2
    (model / "modules.json").write_text('[{"replaced": true}]')  # other weights in the same folder
    other = SentenceEncoder(model_path=model, cache_dir=tmp_path / "cache")
    other._model = FakeModel()
    other.encode(["a"])
    assert other.namespace != enc.namespace and other._model.encoded == 1


def test_sentence_encoder_remedy_trains_a_linear_head(tmp_path, monkeypatch):
    from scarce.backbones import sentence
    from scarce.inference import evaluate
    from scarce.train import TrainConfig, fit

    enc = sentence.SentenceEncoder(model_path=_fake_model_dir(tmp_path))
    enc._model = FakeModel()
    monkeypatch.setattr(sentence, "shared_encoder", lambda **kw: enc)
    setup = create_remedy({"name": "sentence_encoder", "model_path": str(enc.model_path)}).apply(_setup(), seed=0)
    model = setup.model_fn(2)
    assert model.in_features == 8 and setup.notes["encoder_cache_misses"] == 8
    r = fit(lambda: setup.model_fn(2), setup.train, collate=setup.collate, seed=0,
            config=TrainConfig(steps=30, batch_size=8, lr=0.1, device="cpu"))
    assert evaluate(r.model, setup.train, collate=setup.collate, device="cpu")["accuracy"] == 1.0
    assert enc.misses == 8 and enc.hits > 0


def test_sentence_encoder_remedy_widens_its_head_with_hidden(tmp_path, monkeypatch):
    from torch import nn

    from scarce.backbones import sentence

    enc = sentence.SentenceEncoder(model_path=_fake_model_dir(tmp_path))
    enc._model = FakeModel()
    monkeypatch.setattr(sentence, "shared_encoder", lambda **kw: enc)
    spec = {"name": "sentence_encoder", "model_path": str(enc.model_path), "hidden": 16}
    model = create_remedy(spec).apply(_setup(), seed=0).model_fn(3)
    layers = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in layers] == [(8, 16), (16, 3)]
    assert any(isinstance(m, nn.ReLU) for m in model)
    with pytest.raises(ValueError, match="`hidden`"):
        create_remedy({**spec, "hidden": 0})
