"""Issue 15 item 6: the share of synthetic images in every batch (``synthetic`` with ``share``, the
``ShareSampler``) and its compute-matched control (``synthetic_control``)."""

import json
from pathlib import Path

import numpy as np
import pytest

from scarce.balance.share import ShareSampler
from scarce.data.datasets import as_image_array
from scarce.remedies.added_rows import ShareSamplerFn
from scarce.remedies.base import Chain, create_remedy
from scarce.steps import StepBatches
from test_synth import _one_thread  # noqa: F401  (autouse fixture: one torch thread)
from test_synth_remedy import FAST, _setup  # a tiny two-class image setup and a GAN of 2 steps

ROOT = Path(__file__).resolve().parents[1]


def _mask(n_real, n_added):
    return np.r_[np.zeros(n_real, bool), np.ones(n_added, bool)]


# ------------------------------------------------------------------------------------ the sampler
@pytest.mark.parametrize("n_real, n_added, share, batch", [
    (80, 500, 0.25, 64),  # 500 synthetic beside 80 real: still 16 of every 64
    (16, 3, 0.5, 7),  # an odd batch, a pool smaller than its share
    (30, 30, 0.3, 10),  # a share that is not a binary fraction
])
def test_every_engine_batch_holds_the_share_to_one_image(n_real, n_added, share, batch):
    sampler = ShareSampler(_mask(n_real, n_added), share=share, seed=0)
    batches = list(StepBatches(n_real + n_added, steps=300, batch_size=batch, seed=0, sampler=sampler))  # many epochs
    added = np.array([sum(i >= n_real for i, _ in b) for b in batches])
    assert set(added.tolist()) <= {int(np.floor(batch * share)), int(np.ceil(batch * share))}
    assert abs(added.sum() - 300 * batch * share) <= 1


def test_each_epoch_draws_every_real_row_and_depends_on_seed_and_epoch_only():
    state = np.random.get_state()[1].copy()
    s = ShareSampler(_mask(10, 40), share=0.5, seed=3)
    e0, e1 = s.indices(0), s.indices(1)
    assert len(s) == 20 and sorted(e0[e0 < 10].tolist()) == list(range(10))  # one pass over the real rows
    assert len(set(e0[e0 >= 10].tolist())) == 10 and e0.max() < 50  # 10 different added rows
    fresh = ShareSampler(_mask(10, 40), share=0.5, seed=3)
    fresh.set_epoch(1)
    assert list(fresh) == e1.tolist()  # no state carried between epochs
    assert not np.array_equal(e0, e1)
    assert not np.array_equal(ShareSampler(_mask(10, 40), share=0.5, seed=4).indices(0), e0)
    assert np.array_equal(np.random.get_state()[1], state)  # the global RNG is not touched


def test_shards_are_the_blocks_of_the_single_process_epoch():
    one = ShareSampler(_mask(9, 20), share=0.25, seed=1, num_samples=12)
    shards = [ShareSampler(_mask(9, 20), share=0.25, seed=1, num_samples=12, rank=r, world_size=3) for r in range(3)]
    assert [len(s) for s in shards] == [4, 4, 4]
    assert np.array_equal(np.concatenate([s.indices(2) for s in shards]), one.indices(2))


@pytest.mark.parametrize("kwargs, match", [
    ({"added": _mask(5, 0)}, "mark some rows and leave some unmarked"),
    ({"added": np.ones(4, int)}, "1-D boolean mask"),
    ({"added": _mask(5, 5), "share": 1.0}, r"`share` must be in \(0, 1\)"),
    ({"added": _mask(5, 5), "rank": 2, "world_size": 2}, "`rank` must be < `world_size`"),
])
def test_sampler_refuses_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ShareSampler(**{"share": 0.5, **kwargs})


# ------------------------------------------------------------------------------------ the remedies
@pytest.mark.parametrize("share", [0, 1, 1.5, -0.25, float("nan")])
@pytest.mark.parametrize("name", ["synthetic", "synthetic_control"])
def test_bad_share_is_refused_naming_it(name, share):
    with pytest.raises(ValueError, match=r"`share` must be in \(0, 1\)"):
        create_remedy({"name": name, "share": share})
    with pytest.raises(TypeError, match="`share` must be a number"):
        create_remedy({"name": name, "share": "half"})


@pytest.mark.parametrize("name", ["synthetic", "synthetic_control"])
@pytest.mark.parametrize("other, part", [("balanced_sampler", "sampler_fn"), ("crt", "sampler_fn"),
                                         ("oversample", "train")])
def test_share_is_refused_beside_another_sampler_or_rows_remedy(name, other, part):
    with_share = create_remedy({"name": name, "share": 0.25})
    for chain in ((with_share, create_remedy(other)), (create_remedy(other), with_share)):
        with pytest.raises(ValueError, match=f"`{part}`"):
            Chain(*chain)
    assert Chain(create_remedy(name), create_remedy(other))  # without `share`: composes as before


def test_synthetic_share_sets_the_sampler_on_the_same_rows_and_gan(tmp_path):
    setup = _setup()
    spec = {"name": "synthetic", "n_per_class": 20, "cache_dir": str(tmp_path), **FAST}
    plain = create_remedy(spec).apply(setup, seed=0)
    shared = create_remedy({**spec, "share": 0.25}).apply(setup, seed=0)
    assert plain.sampler_fn is None and "batch_share" not in plain.notes  # unchanged without `share`
    assert shared.notes["gan_cached"] and shared.notes["gan_key"] == plain.notes["gan_key"]  # one GAN for all shares
    assert np.array_equal(as_image_array(shared.train), as_image_array(plain.train))
    assert shared.notes["batch_share"] == 0.25 and shared.notes["synthetic_indices"] == [12, 52]
    idx = np.concatenate([shared.sampler_fn(shared.train.labels, seed=0).indices(e) for e in range(4)])[:64]
    assert int((idx >= 12).sum()) == 16
    with pytest.raises(ValueError, match="built for 52 training rows .* got 30"):
        shared.sampler_fn(shared.train.labels[:30], seed=0)


def test_control_matches_synthetic_counts_and_share_with_copies_of_real_images_only():
    setup = _setup(counts=(6, 3))
    options = {"n_per_class": 7, "share": 0.5}
    syn = create_remedy({"name": "synthetic", **options, **FAST}).apply(setup, seed=1)
    ctl = create_remedy({"name": "synthetic_control", "source": "copy", **options}).apply(setup, seed=1)
    assert ctl.sampler_fn == syn.sampler_fn == ShareSamplerFn(9, 23, 0.5)  # the same batches, index for index
    assert np.array_equal(ctl.train.labels, syn.train.labels) and ctl.clean_train is setup.train
    real, x = setup.train.data, as_image_array(ctl.train)
    assert np.array_equal(x[:9], real)
    for img, y in zip(x[9:], ctl.train.labels[9:]):
        assert any(np.array_equal(img, r) for r in real[setup.train.labels == y])  # a copy of a real image
    assert "n_synthetic" not in ctl.notes and not hasattr(ctl.train, "is_synthetic")
    assert ctl.notes["n_control"] == 14 and ctl.notes["control_indices"] == [9, 23] and ctl.notes["batch_share"] == 0.5


def test_control_augmented_copies_come_from_the_preset_and_the_seed():
    setup = _setup(counts=(6, 3))
    spec = {"name": "synthetic_control", "ratio": 2.0, "share": 0.25, "options": {"hflip": False}}
    a, b = (create_remedy(spec).apply(setup, seed=s) for s in (1, 1))
    x = as_image_array(a.train)
    assert np.array_equal(x, as_image_array(b.train)) and len(x) == 27 and a.notes["control_source"] == "augment:light"
    assert not np.array_equal(x, as_image_array(create_remedy(spec).apply(setup, seed=2).train))
    idle = create_remedy({**spec, "options": {"hflip": False, "p": 0.0}}).apply(setup, seed=1)
    for img, y in zip(as_image_array(idle.train)[9:], idle.train.labels[9:]):  # p=0: the preset does nothing
        assert any(np.array_equal(img, r) for r in setup.train.data[setup.train.labels == y])
    with pytest.raises(ValueError, match="`source` must be one of"):
        create_remedy({"name": "synthetic_control", "source": "gan"})


# ------------------------------------------------------------------------------------ engine, recipes, preview
def test_ablate_trains_with_the_share_sampler(tmp_path):
    from scarce.cli import main

    remedies = ("[{name: synthetic_control, n_per_class: 5, share: 0.5, options: {hflip: false}, label: control}, "
                "{name: synthetic, n_per_class: 5, share: 0.25, steps: 1, ngf: 4, ndf: 4, nz: 8, batch_size: 8, "
                "label: gan}]")
    assert main(["ablate", str(ROOT / "recipes/synthetic_images.yaml"), "--smoke", "--quiet", "--out", str(tmp_path),
                 "--set", f"remedies={remedies}", "--set", "references=[]"]) == 0
    notes = {r["remedy"]: r["notes"] for r in map(json.loads, (tmp_path / "results.jsonl").read_text().splitlines())}
    assert notes["control"]["batch_share"] == 0.5 and notes["gan"]["batch_share"] == 0.25


@pytest.mark.parametrize("recipe", ["synthetic_images.yaml", "synthetic_images_cifar10.yaml"])
def test_recipes_hold_the_issue_design(recipe):
    from scarce.remedies.composition import leaves
    from scarce.experiment.config import load_config

    config = load_config(ROOT / "recipes" / recipe)
    members = [getattr(r, "inner", r) for r in leaves(create_remedy(spec) for spec in config.remedies)]  # unlabelled
    shares = {(r.name, getattr(r, "share", None)) for r in members}
    assert {("synthetic", 0.25), ("synthetic", 0.5), ("synthetic_control", 0.25), ("synthetic_control", 0.5)} <= shares
    gans = [r for r in members if r.name == "synthetic"]
    # the reference width (64) on digits; CIFAR-10 the largest that fits its 90-minute page (the recipe's header)
    assert all(r.ngf == r.ndf >= 48 and r.diffaugment and r.steps >= 2000 for r in gans)
    assert len({(r.steps, r.ngf, r.gan_seed, r.cache_dir) for r in gans}) == 1  # one GAN per cell for every row


def test_preview_shows_the_control_and_says_why_synthetic_is_not_shown(tmp_path, monkeypatch):
    from scarce.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SCARCE_CACHE", str(tmp_path / "cache"))
    remedies = ("[{name: synthetic, n_per_class: 2, share: 0.25, steps: 1, ngf: 4, ndf: 4, nz: 8, batch_size: 8, "
                "label: gan}, {name: synthetic_control, n_per_class: 2, share: 0.5, options: {hflip: false}, "
                "label: control}]")
    assert main(["preview", str(ROOT / "recipes/synthetic_images.yaml"), "--out", "o", "--examples", "2",
                 "--set", f"remedies={remedies}", "--set", "references=[]", "--set", "selection=holdout"]) == 0
    page = (tmp_path / "o" / "preview.html").read_text(encoding="utf-8")
    gan, control = page.split('data-row="control"')
    assert "needs a trained generator: no preview" in gan
    assert "80 training rows became 100" in control and "<h4>Sampling</h4>" in control
    assert 'class="unavailable"' not in control
