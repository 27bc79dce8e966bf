import numpy as np
import pytest

from scarce.remedies import TrainSetup, create_remedy
from scarce.experiment.config import ExperimentConfig, TrainSection
from scarce.experiment.runner import Experiment, read_log
from scarce.report.ablation import ablate

pytest.importorskip("timm")


def setup_for(ds):
    from scarce.models import create_model

    return TrainSetup(train=ds, num_classes=ds.num_classes, clean_train=ds,
                      model_fn=lambda n: create_model("small_cnn", num_classes=n, in_channels=1, image_size=8))


def test_options_are_validated_before_any_work():
    with pytest.raises(ValueError, match="Did you mean 'resnet18'"):
        create_remedy({"name": "linear_probe", "backbone": "resnet_18"})
    with pytest.raises(ValueError, match="`grayscale` must be one of"):
        create_remedy({"name": "finetune", "grayscale": "rgb"})
    with pytest.raises(ValueError, match="`strategy` must be one of"):
        create_remedy({"name": "finetune", "strategy": "finetune_first"})
    with pytest.raises(ValueError, match="Bad options for remedy 'truncate'"):
        create_remedy({"name": "truncate"})


def test_greyscale_is_repeated_and_noted_or_refused(tiny_images, tmp_path):
    r = create_remedy({"name": "linear_probe", "size": 32, "cache_dir": str(tmp_path), "backbone": "resnet18",
                       "pretrained": False})
    s = r.apply(setup_for(tiny_images), seed=0)
    assert s.notes["grayscale"] == "repeated to 3 channels" and s.notes["feature_dim"] == 512
    x, y = s.collate([tiny_images[i] for i in range(4)])
    assert x.shape == (4, 512) and s.model_fn(3)(x).shape == (4, 3)
    strict = create_remedy({"name": "finetune", "size": 32, "grayscale": "error", "backbone": "resnet18",
                            "pretrained": False})
    with pytest.raises(ValueError, match="`grayscale: repeat`"):
        strict.apply(setup_for(tiny_images), seed=0)


def test_frozen_probe_refuses_augmentation():
    for aug in ("augment", "mixup"):
        for order in ([aug, "linear_probe"], ["linear_probe", aug]):
            with pytest.raises(ValueError, match="cannot take a per-sample or batch augmentation, nor the augmented "
                                                 "views of FixMatch; chain the augmentation or `fixmatch` with "
                                                 "`finetune` instead"):
                create_remedy({"name": "chain", "remedies": order})
    create_remedy({"name": "chain", "remedies": ["augment", "finetune", "mixup"]})


def test_transfer_remedies_run_in_an_ablation(tmp_path, monkeypatch):
    monkeypatch.setenv("SCARCE_CACHE", str(tmp_path / "cache"))
    common = {"size": 16}
    cfg = ExperimentConfig(
        name="t", sizes=[3], seeds=[0], test_limit=20,
        train=TrainSection(steps=2, batch_size=16, lr=[1e-3], eval_every=2),
        remedies=["baseline", {"name": "linear_probe", **common},
                  {"name": "finetune", "label": "ft_last", "n_stages": 1, **common}])
    ablate(cfg, out_dir=tmp_path / "out", progress=False)
    recs = {r["remedy"]: r for r in read_log(tmp_path / "out" / "results.jsonl")}
    assert set(recs) == {"baseline", "linear_probe(size=16)", "ft_last"}
    assert recs["ft_last"]["notes"]["strategy"] == "finetune_last"
    assert all(0 <= r["metrics"]["accuracy"] <= 1 for r in recs.values())
    assert len(list((tmp_path / "cache" / "features").rglob("*.npz"))) > 0  # $SCARCE_CACHE/features


def test_truncate_and_gradual_unfreeze_build_the_intended_models(tiny_images, tmp_path):
    s = setup_for(tiny_images)
    t = create_remedy({"name": "truncate", "n_stages": 3, "size": 32, "cache_dir": str(tmp_path)}).apply(s, seed=0)
    assert t.notes["feature_dim"] == 24 and t.notes["n_stages"] == 3  # lite0 stages 0-2 end with 24 channels
    ft = create_remedy({"name": "truncate", "n_stages": 3, "frozen": False, "size": 32}).apply(s, seed=0)
    m = ft.model_fn(3)
    assert m.backbone.num_stages == 3 and m.backbone.frozen_stages == 0
    g = create_remedy({"name": "gradual_unfreeze", "every": 5, "size": 32}).apply(s, seed=0)
    m = g.model_fn(3)
    assert m.backbone.frozen_stages == 9 and m.unfreeze_every == 5 and g.notes["gradual"] == 5
    scales = [grp["lr_scale"] for grp in g.param_groups_fn(m)]
    assert scales[0] == 1.0 and set(scales[1:]) == {0.1}


@pytest.mark.parametrize("recipe, names, sizes", [
    ("recipes/transfer.yaml", {"baseline", "linear_probe", "truncate"}, [10, 50]),
    ("recipes/transfer_fashion.yaml", {"baseline", "linear_probe", "truncate"}, [10, 50]),
    ("recipes/transfer_finetune.yaml", {"linear_probe", "finetune"}, [50, 250]),
])
def test_recipes_parse_and_build_every_remedy(recipe, names, sizes):
    from pathlib import Path

    from scarce.experiment.config import load_config

    cfg = load_config(Path(__file__).parents[1] / recipe)
    for spec in cfg.remedies:
        create_remedy(spec)
    assert {spec["name"] for spec in cfg.remedies} == names and cfg.sizes == sizes


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["recipes/transfer.yaml", "recipes/transfer_fashion.yaml",
                                    "recipes/transfer_finetune.yaml"])
def test_recipe_smoke_on_real_data(recipe, tmp_path, monkeypatch):
    import os
    from pathlib import Path

    from scarce.cli import main

    if not os.environ.get("SCARCE_DATA"):
        pytest.skip("needs SCARCE_DATA pointing at the shared datasets")
    monkeypatch.setenv("SCARCE_CACHE", str(tmp_path / "cache"))
    assert main(["ablate", str(Path(__file__).parents[1] / recipe), "--smoke", "--out", str(tmp_path / "o"),
                 "--quiet"]) == 0


def test_logreg_probe_script_smoke(tmp_path, monkeypatch):
    import importlib.util
    from pathlib import Path

    monkeypatch.setenv("SCARCE_CACHE", str(tmp_path))
    path = Path(__file__).parents[1] / "recipes" / "transfer_logreg_probe.py"
    spec = importlib.util.spec_from_file_location("transfer_logreg_probe", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out = mod.main(mod.get_args_parser().parse_args(["--smoke"]))
    assert set(out) == {5} and 0.0 <= out[5][0] <= 1.0
