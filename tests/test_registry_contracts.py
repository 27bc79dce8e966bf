"""Contract tests over every registry: each entry, parametrised by name, keeps the promises every
entry of its kind makes (timm's ``test_models.py``, imblearn's ``test_common.py``).

A newly registered entry is collected here automatically; where a case needs per-entry inputs
(a dataset's files, a remedy's cheap options) a registered name without a case fails
``test_every_*_has_a_case``. Augmentations have their own contract (test_augment_contract.py).
"""

import copy
import socket
import subprocess
import sys
from dataclasses import fields, is_dataclass
from pathlib import Path

import numpy as np
import pytest
import torch

from fixtures import (ROWS, SPECS, skip_unless_buildable, spec_name, tiny_setup, tiny_transfer_backbones,
                      write_audio_folder, write_fashion_mnist, write_fsdd, write_image_folder,
                      write_rotten_tomatoes, write_text_csv)
from scarce.backbones.registry import BACKBONES, create_backbone
from scarce.data.datasets import MODALITIES, Subset
from scarce.data.loaders import DATASETS, load_dataset, stratified_test_split
from scarce.remedies.composition import PARTS, UNDECLARED, Changes
from scarce.experiment.rows import LEARNERS
from scarce.experiment.selection import Learner
from scarce.remedies.catalogue import REMEDIES
from scarce.remedies.base import Remedy, TrainSetup, create_remedy
from scarce.models import MODELS, auto_model, create_model


@pytest.fixture(scope="module", autouse=True)
def _cheap():
    with tiny_transfer_backbones():
        yield


def _split(full):
    """Train and test parts of one dataset, as a bundle has them (Subsets sharing the base arrays)."""
    pool, test = stratified_test_split(full.labels, test_fraction=0.3, seed=0)
    return Subset(full, pool), Subset(full, test)


def _rows(ds):
    """A deep copy of every example and the labels, to compare after the fact."""
    return [copy.deepcopy(ds.get(i)) for i in range(len(ds))], np.array(ds.labels, copy=True)


def _same_rows(ds, snapshot):
    xs, labels = snapshot
    return np.array_equal(ds.labels, labels) and len(ds) == len(xs) and all(
        np.array_equal(np.asarray(ds.get(i)), np.asarray(x)) for i, x in enumerate(xs))


# ------------------------------------------------------------------------------------ datasets
def _cifar10(tmp):
    write_image_folder(tmp / "cifar10-jpeg" / "train", classes=("cat", "dog", "frog"))
    write_image_folder(tmp / "cifar10-jpeg" / "test", classes=("cat", "dog", "frog"), n=2)
    return {"root": tmp}


def _fashion_mnist(tmp):
    write_fashion_mnist(tmp)
    return {"root": tmp}


def _rotten_tomatoes(tmp):
    write_rotten_tomatoes(tmp)
    return {"root": tmp}


DATASET_CASES = {  # name -> build the files in tmp_path, return load_dataset's options
    "digits": lambda tmp: {},
    "cifar10": _cifar10,
    "fashion_mnist": _fashion_mnist,
    "image_folder": lambda tmp: {"path": str(write_image_folder(tmp / "imgs", n=5))},
    "rotten_tomatoes": _rotten_tomatoes,
    "text_csv": lambda tmp: {"path": str(write_text_csv(tmp / "d.csv")), "text_column": "review",
                             "label_column": "stars"},
    "fsdd": lambda tmp: {"root": write_fsdd(tmp, takes=range(6))},
    "audio_folder": lambda tmp: {"path": str(write_audio_folder(tmp / "clips", n=5))},
}


@pytest.fixture
def offline(monkeypatch):
    """No network and no data root from the environment: a loader that reaches out fails."""
    def refuse(*args, **kwargs):
        raise AssertionError("a dataset loader tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("SCARCE_DATA", raising=False)


def test_every_dataset_has_a_case():
    assert set(DATASET_CASES) == set(DATASETS.names()), "add a tiny fixture for the new dataset to DATASET_CASES"


def _labels_in_range(labels, num_classes):
    labels = np.asarray(labels)
    return labels.dtype.kind in "iu" and labels.min() >= 0 and labels.max() < num_classes


@pytest.mark.parametrize("name", DATASETS.names())
def test_dataset_contract(name, tmp_path, offline):
    modality = DATASETS.meta(name).get("modality")
    assert modality in MODALITIES, f"dataset '{name}' must declare modality= one of {sorted(MODALITIES)}"
    bundle = load_dataset(name, **DATASET_CASES[name](tmp_path))
    assert bundle.modality == modality == bundle.test.modality
    assert len(bundle.train) > 0 and len(bundle.test) > 0
    assert bundle.num_classes >= 2 and bundle.test.num_classes == bundle.num_classes
    for part in (bundle.train, bundle.test):
        assert _labels_in_range(part.labels, bundle.num_classes)
        x, y = part[len(part) - 1]
        assert isinstance(y, (int, np.integer)) and 0 <= y < bundle.num_classes
        assert isinstance(x, str) if modality == "text" else isinstance(x, np.ndarray)


# ------------------------------------------------------------------------------------ models
INPUTS = {"image": {"in_channels": 3, "image_size": 16}, "text": {}, "audio": {"n_mels": 16}}


def _batch(modality):
    g = torch.Generator().manual_seed(0)
    if modality == "image":
        return torch.rand(2, 3, 16, 16, generator=g)
    if modality == "text":
        return torch.randint(1, 2**16, (2, 7), generator=g, dtype=torch.int64)
    mask = torch.ones(2, 1, 16, 20)
    mask[1, :, :, 12:] = 0  # the second clip is shorter
    return torch.cat([torch.randn(2, 1, 16, 20, generator=g) * mask, mask], dim=1)


@pytest.mark.parametrize("name", MODELS.names())
def test_model_contract(name):
    modality = MODELS.meta(name).get("modality")
    assert modality in MODALITIES, f"model '{name}' must declare modality= one of {sorted(MODALITIES)}"
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = create_model(name, num_classes=3, modality=modality, **INPUTS[modality])
        torch.manual_seed(0)
        again = create_model(name, num_classes=3, **INPUTS[modality])
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)  # the weights are a function of the torch seed (the engine seeds it)
    x = _batch(modality)
    assert model.train()(x).shape == (2, 3)
    with torch.no_grad():
        out = model.eval()(x)
    assert out.shape == (2, 3) and out.dtype == torch.float32 and torch.isfinite(out).all()


@pytest.mark.parametrize("modality", sorted(MODALITIES))
def test_auto_model_resolves_for_every_modality(modality):
    name = auto_model(modality, image_size=INPUTS[modality].get("image_size"))
    assert name in MODELS.names(modality=modality)
    model = create_model("auto", modality=modality, num_classes=3, **INPUTS[modality])
    assert type(model) is type(create_model(name, num_classes=3, **INPUTS[modality]))
    with torch.no_grad():
        assert model.eval()(_batch(modality)).shape == (2, 3)


# ------------------------------------------------------------------------------------ remedies
CASES = {**SPECS, "chain": {"name": "chain", "remedies": ["oversample", "focal"]}}


def test_every_remedy_has_a_case():
    assert {spec_name(s) for s in CASES.values()} == set(REMEDIES.names()), \
        "a registered remedy has no cheap spec: add one to SPECS in tests/fixtures.py"


def _case(name):
    return next(spec for spec in CASES.values() if spec_name(spec) == name)


@pytest.mark.parametrize("name", REMEDIES.names())
def test_remedy_entry_is_a_remedy_named_by_its_key(name):
    entry = REMEDIES.get(name)
    if isinstance(entry, type):  # a class registered by `register_remedy`, which wrote its name
        assert issubclass(entry, Remedy) and entry.name == name
        assert not is_dataclass(entry) or "name" not in {f.name for f in fields(entry)}
    skip_unless_buildable(_case(name))
    remedy = create_remedy(_case(name))
    assert isinstance(remedy, Remedy) and isinstance(remedy.deliverable, bool)
    assert isinstance(remedy.changes, Changes) and remedy.changes is not UNDECLARED, \
        f"'{name}' must declare `changes` (a Changes)"
    assert isinstance(remedy.components, tuple) and all(isinstance(m, Remedy) for m in remedy.components)
    if remedy.components:  # a composite (chain) is named after its members
        assert remedy.name == "+".join(m.name for m in remedy.components)
    else:
        assert remedy.name == name
    spec = _case(name)
    labelled = create_remedy({**({"name": spec} if isinstance(spec, str) else spec), "label": "my row"})
    assert labelled.name == "my row"  # a label renames it and changes nothing else
    assert (labelled.changes, labelled.components, labelled.deliverable) == \
        (remedy.changes, remedy.components, remedy.deliverable)


def test_the_catalogue_is_listed_without_importing_a_heavy_backend():
    code = ("import sys\n"
            "from scarce.remedies.catalogue import REMEDIES\n"
            "print(len(REMEDIES.names()), [m for m in ('torch', 'timm', 'albumentations', 'nlpaug', "
            "'audiomentations', 'sklearn', 'sentence_transformers') if m in sys.modules])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.split(maxsplit=1) == [str(len(REMEDIES.names())), "[]\n"]


def _accepted(remedy):
    return sorted(remedy.changes.modalities or MODALITIES)


@pytest.mark.parametrize("label", sorted(CASES))
def test_remedy_contract(label):
    skip_unless_buildable(CASES[label])
    remedy = create_remedy(CASES[label])
    assert isinstance(remedy.changes, Changes), f"'{label}' must declare `changes` (a Changes)"
    assert remedy.changes.modalities is None or remedy.changes.modalities <= set(MODALITIES)
    for modality in _accepted(remedy):
        full = ROWS[modality](counts=(12, 6, 4))
        train, test = _split(full)
        setup = tiny_setup(train)
        before = {f.name: getattr(setup, f.name) for f in fields(TrainSetup)}
        notes, rows, test_rows, base_rows = dict(setup.notes), _rows(train), _rows(test), _rows(full)
        out = remedy.apply(setup, seed=0)
        assert isinstance(out, TrainSetup)
        for key, value in before.items():
            assert getattr(setup, key) is value, f"{label} on {modality}: the input setup's `{key}` was replaced"
        assert dict(setup.notes) == notes, f"{label} on {modality}: the input setup's notes changed"
        assert _same_rows(train, rows), f"{label} on {modality}: the input training rows changed"
        assert _same_rows(test, test_rows), f"{label} on {modality}: the test split changed"
        assert _same_rows(full, base_rows), f"{label} on {modality}: the arrays train and test share changed"
        if remedy.changes.changed:
            assert out is not setup, \
                f"{label} declares changes to {sorted(remedy.changes.changed)} but returned its input"
        assert out.num_classes == setup.num_classes and out.train.modality == modality


# ------------------------------------------------------------------------------------ backbones
@pytest.mark.parametrize("name", BACKBONES.names())
def test_backbone_contract(name):
    assert BACKBONES.meta(name).get("modality") == "image", f"backbone '{name}' must declare modality='image'"
    try:
        bb = create_backbone(name, pretrained=False, download=False)
    except ImportError as err:  # an optional backend (named in the message) is not installed
        pytest.skip(str(err))
    with torch.no_grad():
        feats = bb.forward_features(torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)))
    assert feats.shape == (2, bb.num_features) and torch.isfinite(feats).all()


# ------------------------------------------------------------------------------------ reference learners
@pytest.mark.parametrize("name", LEARNERS.names())
def test_reference_learner_contract(name):
    learner = LEARNERS.create(name, num_classes=3)
    assert isinstance(learner, Learner)
    assert learner.modalities and set(learner.modalities) <= set(MODALITIES)
    assert set(learner.honours) <= PARTS
    assert learner.axes and all(len(values) > 0 for values in learner.axes.values())
    for modality in sorted(learner.modalities):
        train, test = _split(ROWS[modality](counts=(12, 6, 4)))
        prepared = learner.prepare(train, seed=0)
        fitted = learner.fit(prepared, hparams={k: v[0] for k, v in learner.axes.items()}, seed=0, val=test)
        metrics = learner.score(prepared, fitted, test)["metrics"]
        assert 0.0 <= metrics["accuracy"] <= 1.0, modality


# ------------------------------------------------------------------------------------ modalities
def _check_modality(modality):
    """Every aspect of a modality object is there and does its job on the tiny dataset of its kind."""
    import json

    from fixtures import CHEAP_MODELS
    from scarce.data.datasets import ArrayDataset
    from scarce.deliver.inputs import InputReader, read_inputs
    from scarce.deliver.saved_model import PIPELINE_FIELDS
    from scarce.experiment.config import ModelConfig
    from scarce.experiment.pipelines import Pipeline
    from scarce.inference import predict
    from scarce.preview.base import Block, PreviewContext, pick_examples
    from scarce.preview.display import Display
    from scarce.train import image_collate

    name = modality.name
    train = ROWS[name]()
    assert isinstance(modality.preprocessing, str) and modality.preprocessing.strip(), name
    auto = modality.auto_model
    for size in (None, 8, 32, 224):
        assert auto.choose(image_size=size) in MODELS.names(modality=name), (name, size)
        assert auto.choose(image_size=size) in auto.help, (name, size)
    # pipeline: describe for the card (JSON-able), then build from the description alone
    pipeline = modality.pipeline
    assert isinstance(pipeline, Pipeline), f"modality '{name}': `pipeline` must be a Pipeline"
    description = pipeline.describe(model=ModelConfig(**CHEAP_MODELS[name]), train=train)
    assert set(PIPELINE_FIELDS) <= set(description) and json.loads(json.dumps(description)) == description
    model_fn, collate = pipeline.build(description)
    # reader: in-memory examples read back unchanged, stacked into a dataset the model predicts on
    reader = modality.reader
    assert isinstance(reader, InputReader), f"modality '{name}': `reader` must be an InputReader"
    assert reader.extensions and all(e.startswith(".") for e in reader.extensions) and reader.what, name
    xs = [train.get(i) for i in range(4)]
    names, examples = read_inputs(xs, modality=name, spec=description["inputs"])
    assert len(names) == 4 and all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(examples, xs))
    data = ArrayDataset(reader.stack(examples), np.zeros(4, np.int64), modality=name,
                        sample_rate=description["inputs"].get("sample_rate"))
    torch.manual_seed(0)
    assert predict(model_fn(3), data, collate=collate or image_collate, device="cpu").shape == (4, 3), name
    # featurizer of the logistic reference: 2-D finite features, fitted on the training part only
    featurizer = modality.featurizer()
    fitted, again = featurizer.fit_transform(train), featurizer.transform(train)
    assert fitted.ndim == 2 and fitted.shape[0] == len(train) and np.isfinite(fitted).all(), name
    assert again.shape == fitted.shape, name
    # preview display: the handful of examples is shown (a picture or a table)
    display = modality.display
    assert isinstance(display, Display), f"modality '{name}': `display` must be a Display"
    assert isinstance(display.handful, int) and display.handful > 0, name
    setup = tiny_setup(train)
    ctx = PreviewContext("row", setup, setup, pick_examples(train.labels, display.handful), 0, 1)
    blocks = display.examples(ctx, ctx.originals(), title="t", text="x", name="examples")
    assert blocks and all(isinstance(b, Block) and (b.png or b.table) for b in blocks), name


@pytest.mark.parametrize("name", MODALITIES)
def test_modality_contract(name):
    from scarce.modalities import get_modality

    _check_modality(get_modality(name))


def test_every_modality_has_a_case():
    from fixtures import CHEAP_MODELS
    from scarce.modalities import MODALITY_REGISTRY, modality_names

    assert modality_names() == MODALITIES and set(MODALITY_REGISTRY.names()) == set(MODALITIES)
    assert set(ROWS) == set(CHEAP_MODELS) == set(MODALITIES), \
        "a registered modality has no tiny dataset or cheap model: add one to ROWS / CHEAP_MODELS in tests/fixtures.py"


def _image_with(**changes):
    from dataclasses import replace

    from scarce.modalities import get_modality

    return replace(get_modality("image"), **changes)


@pytest.mark.parametrize("aspect", ["pipeline_at", "featurizer_at", "reader_at", "display_at"])
def test_a_modality_lacking_a_plugin_is_refused(aspect):
    from scarce.modalities import Modality

    kept = {f.name: getattr(_image_with(), f.name) for f in fields(Modality) if f.name != aspect}
    with pytest.raises(TypeError, match=aspect):
        Modality(**kept)
    for missing in (None, "scarce.preview.display"):
        with pytest.raises(ValueError, match=f"`{aspect}` must be an object or a 'module:attr' path"):
            _image_with(**{aspect: missing})


@pytest.mark.parametrize("aspect, wrong", [("pipeline_at", "scarce.deliver.inputs:IMAGE_READER"),
                                           ("reader_at", "scarce.preview.display:IMAGE_DISPLAY"),
                                           ("display_at", "scarce.experiment.pipelines:IMAGE_PIPELINE"),
                                           ("featurizer_at", "scarce.preview.display:ImageDisplay")])
def test_the_contract_fails_for_a_plugin_that_does_not_do_its_job(aspect, wrong):
    _check_modality(_image_with())
    with pytest.raises((AssertionError, AttributeError, TypeError)):
        _check_modality(_image_with(**{aspect: wrong}))


def test_the_auto_model_help_is_the_rule_in_words():
    from scarce.cli.listing import names
    from scarce.modalities import AutoModel, get_modality

    rule = AutoModel(default="big", small="tiny", below_px=16)
    assert [rule.choose(image_size=s) for s in (None, 8, 15, 16, 64)] == ["big", "tiny", "tiny", "big", "big"]
    assert rule.help == "tiny below 16 px, big from 16 px" and AutoModel(default="big").help == "big"
    with pytest.raises(ValueError, match="together"):
        AutoModel(default="big", small="tiny")
    autos = [line.split(None, 2) for line in names("models") if line.startswith("auto ")]
    assert [(m, h) for _, m, h in autos] == [(m, get_modality(m).auto_model.help) for m in MODALITIES]
    assert [h for _, _, h in autos] == ["small_cnn below 32 px, resnet18 from 32 px", "bag_of_embeddings",
                                        "audio_tdnn"]  # `scarce list models` as it always read
    assert [auto_model(m, image_size=s) for m in MODALITIES for s in (28, 32)] == [
        "small_cnn", "resnet18", "bag_of_embeddings", "bag_of_embeddings", "audio_tdnn", "audio_tdnn"]


def test_an_unknown_modality_says_did_you_mean():
    from scarce.modalities import get_modality

    with pytest.raises(ValueError, match="Unknown modality 'imag'. Did you mean 'image'"):
        get_modality("imag")


def test_a_new_modality_is_one_registered_object():
    from scarce.cli.listing import names
    from scarce.data.datasets import ArrayDataset
    from scarce.deliver.inputs import read_inputs
    from scarce.experiment.config import ModelConfig
    from scarce.modalities import MODALITY_REGISTRY, AutoModel, get_modality, modality_names, register_modality
    from scarce.preview.base import PreviewContext, pick_examples
    from scarce.preview.samples import show_examples

    images = ROWS["image"]()
    register_modality(_image_with(name="toy", help="grey toys", auto_model=AutoModel(default="small_cnn")))
    try:
        assert modality_names() == (*MODALITIES, "toy") and auto_model("toy") == "small_cnn"
        assert f"{'auto':24s} toy    small_cnn" in names("models")
        toy = ArrayDataset(images.data, images.labels, class_names=images.class_names, modality="toy")
        model_fn, collate = get_modality("toy").pipeline(model=ModelConfig(name="small_cnn", options={"width": 4}),
                                                         train=toy, num_classes=3)
        setup = TrainSetup(train=toy, num_classes=3, model_fn=model_fn, collate=collate, clean_train=toy)
        ctx = PreviewContext("row", setup, setup, pick_examples(toy.labels, 4), 0, 1)
        assert show_examples(ctx, ctx.originals(), title="t")[0].png
        _, xs = read_inputs(list(images.data[:2]), modality="toy", spec={"height": 16, "width": 16, "channels": 3})
        assert len(xs) == 2
    finally:
        MODALITY_REGISTRY.unregister("toy")
    assert modality_names() == MODALITIES
