"""Quality measures, the `synthetic` remedy, the digits size option and the `scarce synth` CLI."""

import numpy as np
import pytest

from scarce.data import ArrayDataset
from scarce.remedies.base import TrainSetup, create_remedy
from scarce.synth.quality import (classification_accuracy_score, feature_fid, frechet_distance, memorisation_check,
                                  train_feature_classifier)


from test_synth import _one_thread  # noqa: F401  (autouse fixture: one torch thread)


def test_frechet_distance_matches_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    # same covariance, mean shifted by (2, 0, 0): distance = 4
    assert frechet_distance(a, a + np.array([2.0, 0, 0])) == pytest.approx(4.0, rel=1e-6)
    # N(0, I) vs N(0, 4I) in 3-D: 3 * (1 + 4 - 2*2) = 3 (sampling error aside)
    assert frechet_distance(a, 2 * rng.normal(size=(4000, 3))) == pytest.approx(3.0, abs=0.3)
    with pytest.raises(ValueError, match="same D"):
        frechet_distance(a, a[:, :2])


def test_memorisation_check_flags_planted_copies():
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8)
    heldout = rng.integers(0, 256, (40, 8, 8, 1), dtype=np.uint8)
    fresh = rng.integers(0, 256, (20, 8, 8, 1), dtype=np.uint8)
    noisy_copies = np.clip(train[:3].astype(int) + rng.integers(-3, 4, (3, 8, 8, 1)), 0, 255).astype(np.uint8)
    synthetic = np.concatenate([fresh, train[5:10], noisy_copies])
    report = memorisation_check(synthetic, train, heldout)
    assert report.flagged.tolist() == list(range(20, 28))
    assert report.summary()["n_flagged"] == 8 and report.median_ratio > 0.5
    clean = memorisation_check(fresh, train, heldout)
    assert clean.flagged.size == 0


def test_feature_classifier_fid_and_cas(tiny_images):
    x, y = tiny_images.data, tiny_images.labels
    clf = train_feature_classifier(x, y, seed=0, steps=20, width=4)
    assert clf(x).shape == (len(x), 16)
    assert feature_fid(x, x, extractor=clf) == pytest.approx(0.0, abs=1e-3)
    assert feature_fid(x, 255 - x, extractor=clf) > 1e-3
    assert classification_accuracy_score(x, y, x, y, seed=0, steps=30) > 0.9


def _setup(counts=(6, 6), size=16):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(len(counts)), counts)
    x = (rng.integers(0, 50, (len(y), size, size, 1)) + y[:, None, None, None] * 150).astype(np.uint8)
    ds = ArrayDataset(x, y, class_names=[str(c) for c in range(len(counts))])
    return TrainSetup(train=ds, num_classes=len(counts), model_fn=lambda n: None, clean_train=ds)


FAST = {"steps": 2, "ngf": 4, "ndf": 4, "nz": 8, "batch_size": 4}


def test_synthetic_remedy_adds_labelled_samples_with_provenance():
    setup = _setup()
    out = create_remedy({"name": "synthetic", "n_per_class": 5, **FAST}).apply(setup, seed=0)
    assert len(out.train) == 12 + 10 and out.clean_train is setup.train
    assert out.notes["synthetic_indices"] == [12, 22] and out.notes["n_synthetic"] == 10
    assert out.train.is_synthetic.tolist() == [False] * 12 + [True] * 10
    assert np.bincount(out.train.labels[12:]).tolist() == [5, 5]
    assert out.train[15][0].shape == (16, 16, 1) and setup.train is not out.train and len(setup.train) == 12


def test_synthetic_remedy_fits_gan_on_training_subset_only_and_caches(tmp_path, monkeypatch):
    import scarce.synth.trainer as trainer

    seen = []
    real = trainer.train_gan

    def spy(images, labels, **kw):
        seen.append((images.copy(), labels.copy()))
        return real(images, labels, **kw)

    monkeypatch.setattr(trainer, "train_gan", spy)
    setup = _setup(counts=(8, 3))
    remedy = create_remedy({"name": "synthetic", "fill": True, "cache_dir": str(tmp_path), **FAST})
    out = remedy.apply(setup, seed=1)
    assert len(seen) == 1 and np.array_equal(seen[0][0], setup.train.data)
    assert np.array_equal(seen[0][1], setup.train.labels)
    assert np.bincount(out.train.labels).tolist() == [8, 8]
    again = remedy.apply(setup, seed=2)  # same subset and options: the GAN comes from the cache
    assert len(seen) == 1 and again.notes["gan_cached"] is True


def test_cells_sharing_a_gan_in_parallel_fit_it_once(tmp_path, monkeypatch):
    import threading
    import time

    import scarce.synth.trainer as trainer

    seen = []
    real = trainer.train_gan

    def slow(images, labels, **kw):
        seen.append(1)
        time.sleep(0.5)  # both callers are inside fit_gan while the first fits
        return real(images, labels, **kw)

    monkeypatch.setattr(trainer, "train_gan", slow)
    setup = _setup()
    images, labels = setup.train.data, np.asarray(setup.train.labels)
    infos = []

    def cell():
        remedy = create_remedy({"name": "synthetic", "cache_dir": str(tmp_path), **FAST})
        infos.append(remedy.fit_gan(images, labels, 2)[1])

    threads = [threading.Thread(target=cell) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 1 and sorted(i["gan_cached"] for i in infos) == [False, True]
    assert max(i.get("gan_wait_seconds", 0) for i in infos) >= 0.4  # the second waited for the first's fit


@pytest.mark.parametrize("options, match", [
    ({"n_per_class": -1}, "`n_per_class` must be >= 0"),
    ({"ratio": -0.5}, "`ratio` must be in"),
    ({"n_per_class": 3, "ratio": 1.0}, "at most one"),
    ({"loss": "wgan"}, "`loss` must be one of"),
    ({"policy": "blur"}, "policy"),
])
def test_synthetic_remedy_bad_options(options, match):
    with pytest.raises(ValueError, match=match):
        create_remedy({"name": "synthetic", **options})


def test_synthetic_remedy_rejects_unsupported_image_size():
    with pytest.raises(ValueError, match="supported power of two"):
        create_remedy({"name": "synthetic", "n_per_class": 1, **FAST}).apply(_setup(size=8), seed=0)


def test_digits_size_option():
    from scarce.data.loaders import load_dataset

    b = load_dataset("digits", size=16)
    assert b.train.get(0).shape == (16, 16, 1) and b.test.get(0).shape == (16, 16, 1)
    assert load_dataset("digits").train.get(0).shape == (8, 8, 1)
    with pytest.raises(ValueError, match="`size` must be an integer >= 8"):
        load_dataset("digits", size=4)


def test_cli_synth_train_and_sample(tmp_path, capsys):
    from scarce.cli import main

    cfg = tmp_path / "gan.yaml"
    cfg.write_text(f"dataset: {{name: digits, options: {{size: 16}}}}\nsubset: {{per_class: 4}}\n"
                   f"arch: {{ngf: 4, ndf: 4, nz: 8}}\ntrain: {{steps: 2, batch_size: 8}}\nout: {tmp_path / 'gan'}\n")
    assert main(["synth", "train", str(cfg), "--quiet"]) == 0
    ckpt = tmp_path / "gan" / "checkpoint.pt"
    assert main(["synth", "sample", str(ckpt), "--n", "3", "--class", "7", "--out", str(tmp_path / "s")]) == 0
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [f"class7_0000{i}.png" for i in range(3)]
    assert main(["synth", "sample", str(ckpt), "--n", "-1", "--out", str(tmp_path / "s")]) == 2
    assert "`n` must be >= 0" in capsys.readouterr().err
    cfg.write_text("dataset: {name: digits}\narhc: {}\n")
    assert main(["synth", "train", str(cfg)]) == 2
    assert "Did you mean 'arch'" in capsys.readouterr().err


@pytest.mark.parametrize("recipe", ["recipes/synthetic_images.yaml", "recipes/synthetic_images_cifar10.yaml"])
def test_recipes_load_and_build_their_remedies(recipe):
    from pathlib import Path

    from scarce.experiment.config import load_config
    from scarce.experiment.runner import validate_config

    config = load_config(Path(__file__).resolve().parents[1] / recipe)
    if config.dataset.name == "digits":  # embedded; CIFAR-10 validation needs the data root
        validate_config(config, data_root=None)
    labels = [create_remedy(spec).name for spec in config.remedies]
    core = ["baseline", "synthetic 0.25", "synthetic 0.5", "control 0.25", "control 0.5"]
    extra = ["augmentation", "augmentation+synthetic 0.25"] if config.dataset.name == "digits" else []  # CIFAR: cut
    assert labels == core + extra


@pytest.mark.slow
def test_quality_script_smoke(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, str(root / "recipes/synthetic_quality.py"), str(root / "recipes/synthetic_images.yaml"),
                    "--smoke", "--out", str(tmp_path)], check=True, cwd=root)
    text = (tmp_path / "quality.md").read_text()
    assert text.count("| 10 |") == 2  # the real subset, and the one GAN both synthetic rows share (measured once)
    assert "synthetic 0.25 = synthetic 0.5" in text
