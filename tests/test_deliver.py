"""`scarce train` / `scarce predict` / `scarce.load_model`: round trips per modality, the card, the
CLI, every bad input refused before any work, the atomic write, and loading without pickle."""

import csv
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from fixtures import RATE, tone, write_audio_folder, write_image_folder, write_text_csv

import scarce
from scarce.cli import main
from scarce.data.datasets import ArrayDataset, ImageFolderDataset
from scarce.deliver import train as deliver
from scarce.deliver.train import train_model
from scarce.deliver.saved_model import CARD, CARD_FIELDS, WEIGHTS, load_model
from scarce.inference import image_collate, predict

ROOT = Path(__file__).resolve().parents[1]
TRAIN = {"steps": 4, "batch_size": 8, "lr": [0.01], "weight_decay": [0.0001], "eval_every": 2}


def _recipe(tmp_path, dataset, model, *, name="r", **extra):
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "dataset": dataset, "model": model, "seeds": [3], "train": TRAIN,
                                    "remedies": ["baseline"], **extra}))
    return path


@pytest.fixture(scope="module")
def image_model(tmp_path_factory):
    """A tiny image folder (8x8 RGB, 2 classes) and a model trained on it with augmentation."""
    tmp = tmp_path_factory.mktemp("image")
    folder = write_image_folder(tmp / "images", n=4, size=(8, 8))
    recipe = _recipe(tmp, {"name": "image_folder", "options": {"path": str(folder), "test_fraction": 0.25}},
                     {"name": "small_cnn", "options": {"width": 4}},
                     remedies=[{"name": "augment", "preset": "light", "label": "aug"}],
                     evidence={"rows": [{"remedy": "aug", "gain": 0.05, "ci": [0.01, 0.09]}]})
    return tmp, folder, recipe, train_model(recipe, out=tmp / "model")


def test_image_round_trip_matches_the_in_memory_model(image_model):
    tmp, folder, _, trained = image_model
    model = scarce.load_model(trained.path)
    assert model.classes == ["cat", "dog"] and model.modality == "image"
    proba = model.predict_proba(folder)  # a folder of class folders
    expected = predict(trained.model, ImageFolderDataset(folder), collate=image_collate, device="cpu")
    assert proba.shape == (8, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-9)
    np.testing.assert_allclose(proba, torch.softmax(torch.from_numpy(expected).double(), 1).numpy(), atol=1e-5)
    assert model.predict(folder) == [model.classes[i] for i in expected.argmax(1)]
    arrays = np.stack([ImageFolderDataset(folder).get(i) for i in range(8)])  # in memory: one batch = the files
    np.testing.assert_allclose(model.predict_proba(arrays), proba, atol=1e-12)
    assert model.predict(arrays[0]) == model.predict(folder)[:1]


def test_the_card_holds_what_rebuilds_and_explains_the_model(image_model):
    _, _, _, trained = image_model
    card = json.loads((trained.path / CARD).read_text())
    assert set(CARD_FIELDS) <= set(card)
    assert card["dataset"]["name"] == "image_folder" and card["dataset"]["n_train"] == 6
    assert card["pipeline"]["model"] == "small_cnn"
    assert card["pipeline"]["model_options"] == {"width": 4, "in_channels": 3, "image_size": 8}
    assert card["pipeline"]["inputs"] == {"height": 8, "width": 8, "channels": 3}
    assert card["remedy"]["label"] == "aug" and card["remedy"]["spec"]["preset"] == "light"
    assert card["train"]["lr"] == 0.01 and card["train"]["seed"] == 3 and card["train"]["steps"] == 4
    assert card["evidence"]["rows"][0]["gain"] == 0.05
    assert set(card["versions"]) >= {"scarce", "torch", "python"}
    import hashlib

    assert card["weights"]["sha256"] == hashlib.sha256((trained.path / WEIGHTS).read_bytes()).hexdigest()
    assert sorted(p.name for p in trained.path.iterdir()) == [CARD, WEIGHTS]
    assert not [p for p in trained.path.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_loading_never_unpickles(image_model, monkeypatch):
    _, folder, _, trained = image_model

    def refuse(*a, **k):
        raise AssertionError("unpickling was attempted")

    for target, name in ((pickle, "load"), (pickle, "loads"), (pickle, "Unpickler"), (torch, "load")):
        monkeypatch.setattr(target, name, refuse)
    assert len(load_model(trained.path).predict(folder)) == 8


def test_cli_train_and_predict(image_model, tmp_path, capsys):
    tmp, folder, recipe, _ = image_model
    assert main(["train", str(recipe), "--out", str(tmp_path / "m"), "--set", "train.steps=2"]) == 0
    assert "model.safetensors" in capsys.readouterr().out
    assert main(["predict", str(tmp_path / "m"), str(folder / "cat" / "0000.png"), str(folder / "dog")]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert rows[0] == ["input", "prediction", "p_cat", "p_dog"] and len(rows) == 1 + 5
    assert all(abs(float(r[2]) + float(r[3]) - 1) < 1e-5 and r[1] in ("cat", "dog") for r in rows[1:])
    out = tmp_path / "preds.csv"
    assert main(["predict", str(tmp_path / "m"), str(folder), "--out", str(out), "--top", "1"]) == 0
    written = list(csv.reader(out.open()))
    assert written[0] == ["input", "prediction", "top1", "p_top1"] and len(written) == 9
    assert all(r[1] == r[2] for r in written[1:])


def _break(model_dir, tmp_path, how):
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in (CARD, WEIGHTS):
        (broken / name).write_bytes((model_dir / name).read_bytes())
    how(broken)
    return broken


def _drop_classes(d):
    card = json.loads((d / CARD).read_text())
    del card["classes"]
    (d / CARD).write_text(json.dumps(card))


def _flip_a_byte(d):
    data = bytearray((d / WEIGHTS).read_bytes())
    data[-1] ^= 1
    (d / WEIGHTS).write_bytes(bytes(data))


@pytest.mark.parametrize("how, message", [
    (lambda d: (d / CARD).unlink(), "has no card.json"),
    (lambda d: (d / WEIGHTS).unlink(), "has no model.safetensors"),
    (lambda d: (d / CARD).write_text("{not json"), "does not parse as JSON"),
    (_drop_classes, "lacks the field `classes`"),
    (_flip_a_byte, "SHA-256 differs"),
])
def test_a_broken_model_folder_is_refused(image_model, tmp_path, capsys, how, message):
    _, folder, _, trained = image_model
    broken = _break(trained.path, tmp_path, how)
    assert main(["predict", str(broken), str(folder)]) == 2
    assert message in capsys.readouterr().err
    with pytest.raises((ValueError, FileNotFoundError), match=message.replace("`", ".")):
        load_model(broken)


def test_bad_inputs_are_refused_before_any_prediction(image_model, tmp_path, capsys, monkeypatch):
    _, folder, _, trained = image_model
    import soundfile as sf

    sf.write(tmp_path / "clip.wav", tone(), RATE)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.csv").write_text("text\nhello\n")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    big = tmp_path / "big.png"
    from PIL import Image

    Image.fromarray(np.zeros((9, 8, 3), np.uint8)).save(big)
    monkeypatch.setattr("scarce.inference.predict", lambda *a, **k: pytest.fail("predicted before checking inputs"))
    cases = [([str(tmp_path / "clip.wav")], "is an audio file: this model takes image inputs"),
             ([str(tmp_path / "empty")], "holds no usable file: this model takes image inputs"),
             ([str(folder), str(tmp_path / "broken.png")], "does not decode as an image"),
             ([str(big)], "trained on 8x8 images"),
             ([str(tmp_path / "missing.png")], "does not exist")]
    for inputs, message in cases:
        assert main(["predict", str(trained.path), *inputs]) == 2, inputs
        assert message in capsys.readouterr().err
    model = load_model(trained.path)
    with pytest.raises(ValueError, match="uint8"):
        model.predict(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(TypeError, match="must be one of"):
        model.predict([3])


def _refused(tmp_path, capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_recipes_are_refused_before_any_work(image_model, tmp_path, capsys, monkeypatch):
    tmp, folder, recipe, trained = image_model
    monkeypatch.setattr("scarce.data.loaders.load_dataset", lambda *a, **k: pytest.fail("work started"))
    out = str(tmp_path / "m")
    _refused(tmp_path, capsys, ["train", str(recipe), "--out", out, "--set", "train.lr=[0.01,0.1]"],
             "Config key 'train.lr' is a grid of 2 values")
    _refused(tmp_path, capsys, ["train", str(recipe), "--out", out, "--set", "train.weight_decay=[0.0,0.1]"],
             "'train.weight_decay' is a grid")
    _refused(tmp_path, capsys, ["train", str(recipe), "--out", out, "--set", "remedies=[baseline,mixup]"],
             "pass --row LABEL")
    _refused(tmp_path, capsys, ["train", str(recipe), "--out", out, "--row", "nope"], "`--row` must be the label")
    _refused(tmp_path, capsys, ["train", str(recipe), "--out", out, "--set", "references=[logreg]", "--row", "logreg"],
             "is a reference learner")
    _refused(tmp_path, capsys, ["train", str(recipe), "--out", str(trained.path)], "exists and is not empty")
    assert not (tmp_path / "m").exists()


def test_an_interrupted_train_leaves_no_model_folder(image_model, tmp_path, monkeypatch):
    _, _, recipe, _ = image_model

    def crash(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(deliver, "load_model", crash)  # fails after the files are written, before the rename
    with pytest.raises(KeyboardInterrupt):
        train_model(recipe, out=tmp_path / "m")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "old.txt").write_text("keep me")
    with pytest.raises(KeyboardInterrupt):
        train_model(recipe, out=tmp_path / "m", force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["m"] and (tmp_path / "m" / "old.txt").exists()
    monkeypatch.undo()
    train_model(recipe, out=tmp_path / "m", force=True)  # --force replaces it
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [CARD, WEIGHTS]


def test_text_round_trip(tmp_path, capsys):
    data = write_text_csv(tmp_path / "reviews.csv")
    recipe = _recipe(tmp_path, {"name": "text_csv", "options": {"path": str(data), "text_column": "review",
                                                                 "label_column": "stars"}},
                     {"name": "bag_of_embeddings", "options": {"buckets": 256, "dim": 8, "ngrams": 1}})
    trained = train_model(recipe, out=tmp_path / "model")
    model = load_model(trained.path)
    texts = ["a charming film", "boring story and poor acting", "a dull movie"]
    expected = predict(trained.model, ArrayDataset(texts, [0, 0, 0], modality="text"), collate=trained.collate)
    assert model.card["pipeline"]["collate"] == {"name": "hashed_ngrams", "buckets": 256, "ngrams": 1,
                                                 "max_tokens": 256}
    assert model.predict(texts) == [model.classes[i] for i in expected.argmax(1)]
    (tmp_path / "in.csv").write_text("id,text\n1,a charming film\n2,boring story and poor acting\n3,a dull movie\n")
    (tmp_path / "in.txt").write_text("a charming film\n\nboring story and poor acting\na dull movie\n")
    for source in ("in.csv", "in.txt"):
        np.testing.assert_allclose(model.predict_proba(tmp_path / source), model.predict_proba(texts), atol=1e-12)
    assert main(["predict", str(trained.path), str(tmp_path / "in.csv")]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert [r[0] for r in rows[1:]] == texts
    (tmp_path / "bad.csv").write_text("review\nhello\n")
    _refused(tmp_path, capsys, ["predict", str(trained.path), str(tmp_path / "bad.csv")], "column named `text`")
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "a.png").write_bytes(b"x")
    _refused(tmp_path, capsys, ["predict", str(trained.path), str(tmp_path / "pics")],
             "holds no usable file: this model takes text inputs (.csv, .txt); it holds image files")


def test_audio_round_trip(tmp_path):
    folder = write_audio_folder(tmp_path / "clips", n=4, rate=16000)
    recipe = _recipe(tmp_path, {"name": "audio_folder", "options": {"path": str(folder), "test_fraction": 0.25}},
                     {"options": {"n_mels": 16, "width": 4}})
    trained = train_model(recipe, out=tmp_path / "model")
    model = load_model(trained.path)
    assert model.card["pipeline"]["inputs"] == {"sample_rate": 16000}
    files = sorted(folder.rglob("*.wav"))
    import soundfile as sf

    clips = [sf.read(f, dtype="float32")[0] for f in files]
    expected = predict(trained.model, ArrayDataset(clips, [0] * len(clips), modality="audio", sample_rate=16000),
                       collate=trained.collate)
    proba = model.predict_proba(files)
    np.testing.assert_allclose(proba, torch.softmax(torch.from_numpy(expected).double(), 1).numpy(), atol=1e-5)
    np.testing.assert_allclose(model.predict_proba(clips), proba, atol=1e-12)
    sf.write(tmp_path / "slow.wav", tone(), RATE)
    with pytest.raises(ValueError, match="expected 16000 Hz"):
        model.predict([tmp_path / "slow.wav"])
    (tmp_path / "x.png").write_bytes(b"x")
    with pytest.raises(ValueError, match="is an image file: this model takes audio inputs"):
        model.predict(str(tmp_path / "x.png"))


def test_digits_train_then_predict_on_an_exported_folder(tmp_path):
    """The issue's Must show, small: the saved model's accuracy on the held-out test split, read back
    from PNG files, is the in-memory model's accuracy on that split."""
    from PIL import Image

    from scarce.data.loaders import load_dataset
    from scarce.inference import evaluate

    out = tmp_path / "digits_model"
    trained = train_model(ROOT / "recipes" / "digits.yaml", out=out, row="augment",
                          overrides=["train.lr=[0.01]", "train.weight_decay=[0.0001]", "train.steps=20"])
    test = load_dataset("digits").test
    for i in range(len(test)):
        x, y = test[i]
        (tmp_path / "test" / str(y)).mkdir(parents=True, exist_ok=True)
        Image.fromarray(x[..., 0]).save(tmp_path / "test" / str(y) / f"{i:04d}.png")
    assert main(["predict", str(out), str(tmp_path / "test"), "--out", str(tmp_path / "preds.csv")]) == 0
    rows = list(csv.DictReader((tmp_path / "preds.csv").open()))
    accuracy = np.mean([Path(r["input"]).parent.name == r["prediction"] for r in rows])
    assert len(rows) == len(test) == 539
    assert accuracy == pytest.approx(evaluate(trained.model, test, device="cpu")["accuracy"], abs=1e-12)
    assert accuracy > 0.5  # 20 steps already learn most digits (chance: 0.1)


def test_the_best_yaml_of_a_search_trains_as_is(image_model, tmp_path):
    """``scarce search`` writes best.yaml with ``best_recipe``: one row, the chosen (lr, wd) as one-value lists."""
    from types import SimpleNamespace

    from scarce.experiment.config import load_config
    from scarce.search.report import best_recipe

    _, folder, _, _ = image_model
    recipe = _recipe(tmp_path, {"name": "image_folder", "options": {"path": str(folder), "test_fraction": 0.25}},
                     {"name": "small_cnn", "options": {"width": 4}}, remedies=["baseline", "mixup"])
    config = load_config(recipe, overrides=["train.lr=[0.01, 0.1]"])
    winner = SimpleNamespace(label="mixup", spec="mixup")
    result = SimpleNamespace(candidates=[winner], winner="mixup", reference=SimpleNamespace(label="baseline",
                                                                                            spec="baseline"),
                             size=3, records=[{"remedy": "mixup", "seed": 5, "hparams": {"lr": 0.1, "weight_decay": 0.0}}])
    best = tmp_path / "best.yaml"
    best.write_text(yaml.safe_dump(best_recipe(result, config), sort_keys=False))
    trained = train_model(best, out=tmp_path / "model")
    card = trained.card
    assert (card["remedy"]["label"], card["train"]["lr"], card["train"]["weight_decay"], card["train"]["seed"]) == (
        "mixup", 0.1, 0.0, 5)
