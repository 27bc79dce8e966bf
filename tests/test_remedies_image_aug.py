"""The image augmentation remedies: registered, pure, validated, and wired into a cell."""

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("albumentations")

from scarce.data import ArrayDataset  # noqa: E402
from scarce.remedies import TrainSetup, create_remedy  # noqa: E402
from scarce.remedies.base import list_remedies  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _setup(counts=(6, 3), channels=1):
    labels = np.repeat(np.arange(len(counts)), counts)
    x = np.random.default_rng(0).integers(0, 256, (labels.size, 8, 8, channels), dtype=np.uint8)
    ds = ArrayDataset(x, labels)
    return TrainSetup(train=ds, num_classes=len(counts), model_fn=lambda n: None, clean_train=ds)


def test_registered():
    assert {"augment", "mixup", "cutmix", "augment_balance"} <= set(list_remedies())


@pytest.mark.parametrize("preset", ["light", "medium", "strong", "randaugment", "trivialaugment"])
def test_augment_sets_a_seeded_transform_and_is_pure(preset):
    setup = _setup()
    out = create_remedy({"name": "augment", "preset": preset, "hflip": False}).apply(setup, seed=0)
    assert setup.transform is None and out.train is setup.train and out.clean_train is setup.clean_train
    x = setup.train.get(0)
    y = out.transform(x, rng=np.random.default_rng(3))
    assert y.shape == x.shape and np.array_equal(y, out.transform(x, rng=np.random.default_rng(3)))
    assert out.notes["augment"] == preset


def test_augment_composes_after_an_existing_transform():
    setup = _setup()
    first = create_remedy({"name": "augment", "preset": "light"}).apply(setup, seed=0)
    both = create_remedy({"name": "augment", "preset": "strong"}).apply(first, seed=0)
    assert both.transform is not first.transform
    assert both.transform(setup.train.get(0), rng=np.random.default_rng(0)).shape == (8, 8, 1)


@pytest.mark.parametrize("name", ["mixup", "cutmix"])
def test_batch_mixers_set_batch_transform_with_soft_targets(name):
    import torch

    out = create_remedy({"name": name, "alpha": 0.5}).apply(_setup(), seed=0)
    x, y = out.batch_transform(torch.zeros(4, 1, 8, 8), torch.tensor([0, 1, 0, 1]), generator=torch.Generator())
    assert y.shape == (4, 2)
    chained = create_remedy({"name": "chain", "remedies": ["mixup", "cutmix"]}).apply(_setup(), seed=0)
    assert chained.batch_transform(torch.zeros(4, 1, 8, 8), torch.tensor([0, 1, 0, 1]),
                                   generator=torch.Generator())[1].shape == (4, 2)


def test_augment_balance_brings_classes_up_and_keeps_clean_train():
    setup = _setup(counts=(6, 3))
    out = create_remedy({"name": "augment_balance", "preset": "medium", "hflip": False}).apply(setup, seed=0)
    assert np.bincount(out.train.labels).tolist() == [6, 6]
    assert out.clean_train is setup.clean_train and out.notes["n_augmented"] == 3
    again = create_remedy({"name": "augment_balance", "preset": "medium", "hflip": False}).apply(setup, seed=0)
    assert np.array_equal(out.train.data, again.train.data)


@pytest.mark.parametrize("spec,match", [
    ({"name": "augment", "preset": "wild"}, "`preset`"),
    ({"name": "augment", "preset": "light", "p": 2}, "`p`"),
    ({"name": "augment", "preset": "randaugment", "magnitude": 99}, "`magnitude`"),
    ({"name": "mixup", "alpha": 0}, "`alpha`"),
    ({"name": "cutmix", "alpha": -1.0}, "`alpha`"),
    ({"name": "augment_balance", "target": "min"}, "`target`"),
])
def test_bad_options_fail_in_the_constructor(spec, match):
    with pytest.raises((ValueError, TypeError), match=match):
        create_remedy(spec)


def test_text_dataset_is_refused():
    ds = ArrayDataset(["a b", "c d"], [0, 1], modality="text")
    setup = TrainSetup(train=ds, num_classes=2, model_fn=lambda n: None)
    with pytest.raises(ValueError, match="image dataset"):
        create_remedy("augment").apply(setup, seed=0)


@pytest.mark.parametrize("recipe", ["image_augmentation.yaml", "image_augmentation_digits.yaml"])
def test_recipes_build_every_remedy(recipe):
    from scarce.experiment.config import load_config

    for spec in load_config(ROOT / "recipes" / recipe).remedies:
        assert create_remedy(spec).name


def test_digits_recipe_smoke(tmp_path):
    """The recipe's smoke mode runs end to end (two of its remedies, to stay fast)."""
    from scarce.cli import main

    recipe = ROOT / "recipes/image_augmentation_digits.yaml"
    remedies = "[{name: augment, preset: strong, hflip: false, label: strong}, {name: cutmix, label: cutmix}]"
    assert main(["ablate", str(recipe), "--smoke", "--set", f"remedies={remedies}", "--out", str(tmp_path),
                 "--quiet"]) == 0
    assert "| cutmix |" in (tmp_path / "results.md").read_text()


@pytest.mark.slow
def test_cifar_recipe_smoke(tmp_path):
    import os

    from scarce.cli import main

    root = os.environ.get("SCARCE_DATA", str(ROOT.parent.parent / "shared/data"))
    if not Path(root, "cifar10-jpeg").is_dir():
        pytest.skip(f"CIFAR-10 not under {root} (set SCARCE_DATA)")
    recipe = ROOT / "recipes/image_augmentation.yaml"
    assert main(["ablate", str(recipe), "--smoke", "--data-root", root, "--out", str(tmp_path), "--quiet"]) == 0
