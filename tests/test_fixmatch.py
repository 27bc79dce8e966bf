"""FixMatch: the engine's unlabelled term (scarce.consistency, scarce.train) and the `fixmatch` remedy."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from fixtures import SPECS, image_rows, one_torch_thread, tiny_setup, tiny_transfer_backbones
from scarce.consistency import UnlabelledTerm, fixmatch_loss, joint_forward, unlabelled_term
from scarce.data.unlabelled import hide_labels
from scarce.inference import image_collate
from scarce.models import create_model
from scarce.remedies.base import Chain, TrainSetup, create_remedy
from scarce.remedies.fixmatch import FixMatchTerm
from scarce.train import TrainConfig, fit_setup

pytest.importorskip("albumentations")


@pytest.fixture(autouse=True)
def _one_thread():
    with one_torch_thread():
        yield


def _small_cnn(n):
    return create_model("small_cnn", num_classes=n, in_channels=1, image_size=8, width=4)


def _no_dropout(n):  # stacked copies draw dropout masks per copy: without it they compute what runs alone do
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, n))


def _setup(tiny_images, model_fn=_small_cnn, **remedy) -> TrainSetup:
    """8×8 grey squares, a width-4 small_cnn, the rows themselves as the pool, and `fixmatch` with ``remedy``."""
    setup = TrainSetup(train=tiny_images, num_classes=3, clean_train=tiny_images, model_fn=model_fn,
                       unlabelled=hide_labels(tiny_images, range(len(tiny_images)), source="the rows, labels hidden"))
    if not remedy:
        return setup
    return create_remedy({"name": "fixmatch", "weak": {"name": "light", "hflip": False}, **remedy}).apply(setup, seed=0)


CONFIG = TrainConfig(steps=4, batch_size=8, eval_every=2, lr=1e-2, device="cpu")


def _states(results):
    return [list(r.model.state_dict().values()) for r in results]


# ------------------------------------------------------------------------------------ the loss
def test_the_unlabelled_loss_counts_only_confident_examples_and_no_gradient_reaches_the_weak_view():
    weak = torch.tensor([[5.0, 0.0, 0.0], [0.2, 0.1, 0.0], [0.0, 0.0, 9.0]], requires_grad=True)
    strong = torch.tensor([[1.0, 2.0, 0.0], [0.0, 9.0, 0.0], [0.0, 0.0, 0.0]], requires_grad=True)
    terms, mask = fixmatch_loss(weak, strong, threshold=0.9)
    assert mask.tolist() == [1.0, 0.0, 1.0]  # the unsure example (top probability 0.37) does not count
    expected = [torch.nn.functional.cross_entropy(strong[i:i + 1].detach(), torch.tensor([t])).item() for i, t in
                ((0, 0), (2, 2))]
    assert terms.tolist() == pytest.approx([expected[0], 0.0, expected[1]])
    term = FixMatchTerm(thresholds=(0.9,), weights=(2.0,), ratio=1, weak_views="", strong_views="")
    loss, _ = term.loss(weak, strong)
    assert loss.item() == pytest.approx(2.0 * sum(expected) / 3)  # the mean over every unlabelled example
    loss.backward()
    assert weak.grad is None and strong.grad[1].abs().sum() == 0 and strong.grad[0].abs().sum() > 0
    assert fixmatch_loss(weak, strong, threshold=0.0)[1].tolist() == [1.0, 1.0, 1.0]


def test_a_tuned_term_takes_its_grid_points_values_and_ignores_other_axes():
    term = FixMatchTerm(thresholds=(0.7, 0.95), weights=(1.0,), ratio=2, weak_views="w", strong_views="s")
    assert dict(term.axes) == {"fixmatch_threshold": (0.7, 0.95)}
    with pytest.raises(ValueError, match="fixmatch_threshold.*at\\(point\\)"):
        term.threshold
    fixed = term.at({"fixmatch_threshold": 0.95, "threshold": 0.5, "lr": 0.1})
    assert (fixed.threshold, fixed.weight, fixed.axes) == (0.95, 1.0, {})
    assert fixed.at({"lr": 0.1}) is fixed
    assert "thresholds=(0.95,)" in repr(fixed) and "strong_views='s'" in repr(fixed)


# ------------------------------------------------------------------------------------ the engine
def test_weight_zero_trains_the_very_model_of_no_consistency(tiny_images):
    plain = fit_setup(_setup(tiny_images), configs=[CONFIG], seed=0)
    off = fit_setup(_setup(tiny_images, weight=0.0, ratio=2), configs=[CONFIG], seed=0)
    assert all(torch.equal(p, q) for p, q in zip(*_states(plain + off)))
    assert [h["loss"] for h in plain[0].history] == [h["loss"] for h in off[0].history]
    assert "confident_share" not in off[0].notes


def test_a_weighted_term_changes_training_and_records_the_share_that_counted(tiny_images):
    plain = fit_setup(_setup(tiny_images), configs=[CONFIG], seed=0)
    every = fit_setup(_setup(tiny_images, weight=1.0, ratio=2, threshold=0.0), configs=[CONFIG], seed=0)
    none = fit_setup(_setup(tiny_images, weight=1.0, ratio=2, threshold=1.0), configs=[CONFIG], seed=0)
    assert not all(torch.equal(p, q) for p, q in zip(*_states(plain + every)))
    assert every[0].notes == {"confident_share": 1.0, "confident_share_late": 1.0, "unlabelled_batch": 16}
    assert none[0].notes["confident_share"] == 0.0
    # an unlabelled batch shared with the labelled one changes BatchNorm's batch statistics, so even
    # with nothing confident the model differs from the plain one: FixMatch's joint forward


def test_grid_points_stacked_or_point_by_point_agree_with_a_term(tiny_images):
    setup = _setup(tiny_images, _no_dropout, weight=1.0, ratio=2, threshold=0.0)
    configs = [CONFIG, replace(CONFIG, lr=3e-3)]
    stacked = fit_setup(setup, configs=configs, seed=0)
    alone = fit_setup(setup, configs=configs, seed=0, stack=False)
    for a, b in zip(stacked, alone):
        np.testing.assert_allclose([h["loss"] for h in a.history], [h["loss"] for h in b.history], rtol=1e-3)
        assert a.notes == b.notes
        for p, q in zip(a.model.state_dict().values(), b.model.state_dict().values()):
            torch.testing.assert_close(p.float(), q.float(), rtol=1e-3, atol=1e-3)


def test_the_joint_forward_splits_as_separate_forwards_and_falls_back_when_shapes_differ():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 3))
    forward = lambda x: net(x)[None]  # noqa: E731  (the engine's one-copy forward: (1, B, C))
    parts = [torch.randn(2, 3, 4), torch.randn(5, 3, 4), torch.randn(5, 3, 4)]
    joined = joint_forward(forward, parts)
    assert [tuple(t.shape) for t in joined] == [(1, 2, 3), (1, 5, 3), (1, 5, 3)]
    for t, p in zip(joined, parts):
        torch.testing.assert_close(t, forward(p))
    calls = []
    ragged = joint_forward(lambda x: calls.append(x.shape) or forward(x.reshape(len(x), 3, 4)),
                           [torch.randn(2, 12), torch.randn(5, 3, 4), torch.randn(5, 3, 4)])
    assert len(calls) == 3 and [t.shape[1] for t in ragged] == [2, 5, 5]


def _stream(setup, *, seed=0, workers=0):
    term = UnlabelledTerm(setup.consistency, setup.unlabelled, steps=3, batch=4, seed=seed, collate=image_collate,
                          copies=1, num_workers=workers)
    return [(w.clone(), s.clone()) for w, s in term]


def test_the_unlabelled_stream_is_reproducible_from_the_seed_whatever_the_workers(tiny_images):
    setup = _setup(tiny_images, ratio=2)
    first = _stream(setup)
    assert len(first) == 3 and tuple(first[0][0].shape) == (8, 1, 8, 8)
    for other in (_stream(setup), _stream(setup, workers=1)):
        assert all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(first, other))
    assert not torch.equal(first[0][0], _stream(setup, seed=1)[0][0])
    assert not torch.equal(first[0][0], first[0][1])  # the weak and the strong views differ
    assert not torch.equal(first[0][0], first[1][0])  # a new draw every step


def test_a_term_without_pool_or_of_another_kind_is_refused_by_the_engine(tiny_images):
    setup = _setup(tiny_images, ratio=1)
    with pytest.raises(ValueError, match="`setup.unlabelled` holds no example"):
        fit_setup(replace(setup, unlabelled=None), configs=[CONFIG], seed=0)
    with pytest.raises(TypeError, match="scarce.consistency.Consistency, got str"):
        unlabelled_term(replace(setup, consistency="fixmatch"))


# ------------------------------------------------------------------------------------ the remedy
def test_options_are_checked_when_the_remedy_is_made():
    for spec, message in (({"threshold": 1.5}, "`threshold` must be"), ({"ratio": 0}, "`ratio` must be"),
                          ({"weight": [1.0, 1.0]}, "`weight` must not repeat"),
                          ({"strong": "mixup"}, "`strong` names 'mixup', a batch augmentation"),
                          ({"weak": "light", "strong": "eda"}, "one modality"),
                          ({"strong": "randaugmnt"}, "randaugment"), ({"weak": 3}, "`weak` must be 'auto'"),
                          ({"strong": {"name": "cutout", "holes": 0}}, "`holes` must be")):
        with pytest.raises((ValueError, TypeError), match=message):
            create_remedy({"name": "fixmatch", **spec})
    r = create_remedy({"name": "fixmatch", "threshold": [0.7, 0.95], "weight": [0.5, 1.0]})
    assert dict(r.axes) == {"fixmatch_threshold": (0.7, 0.95), "fixmatch_weight": (0.5, 1.0)}
    assert r.changes.replaces == {"consistency"} and r.changes.modalities == {"image", "text", "audio"}
    assert create_remedy({"name": "fixmatch", "strong": "cutout"}).changes.modalities == {"image"}


def test_without_an_unlabelled_pool_apply_says_how_to_name_one(tiny_images):
    setup = TrainSetup(train=tiny_images, num_classes=3, model_fn=lambda n: None)
    with pytest.raises(ValueError, match=r"'fixmatch' trains on unlabelled.*unlabelled: \{from: pool, limit: 5000\}.*"
                                         r"unlabelled: \{path:"):
        create_remedy("fixmatch").apply(setup, seed=0)


def test_the_weak_view_is_the_rows_own_transform_when_it_has_one_else_the_preset():
    base = tiny_setup(image_rows())
    alone = create_remedy("fixmatch").apply(base, seed=0)
    assert alone.consistency.weak_views == "light" and alone.notes["fixmatch_ratio"] == 7
    assert alone.consistency.strong_views == "light+randaugment(hflip=False)+cutout"
    augmented = create_remedy({"name": "augment", "preset": "medium"}).apply(base, seed=0)
    after = create_remedy("fixmatch").apply(augmented, seed=1)
    assert after.consistency.weak is augmented.transform and after.transform is augmented.transform
    assert after.notes["fixmatch_weak"] == "the row's per-sample transform"
    explicit = create_remedy({"name": "fixmatch", "weak": "identity"}).apply(augmented, seed=1)
    x = base.train.get(0)
    weak, strong = explicit.consistency.views(x, rng=np.random.default_rng(0))
    assert weak is x and strong.shape == x.shape and not np.array_equal(strong, x)


def test_frozen_feature_remedies_refuse_fixmatch_naming_both_and_why():
    fixmatch = create_remedy("fixmatch")
    with tiny_transfer_backbones():
        for label in ("linear_probe", "truncate", "label_spreading"):
            probe = create_remedy(SPECS[label])
            for chain in ((probe, fixmatch), (fixmatch, probe)):
                with pytest.raises(ValueError, match=rf"'{probe.name}' and 'fixmatch'|'fixmatch' and '{probe.name}'"):
                    Chain(*chain)
        with pytest.raises(ValueError, match=r"changes `consistency`.*cannot take .*augmented views of FixMatch"):
            Chain(create_remedy(SPECS["linear_probe"]), fixmatch)
        Chain(create_remedy(SPECS["finetune"]), fixmatch)  # a fine-tuned backbone reads the views: composes


def test_a_tuned_threshold_is_a_grid_axis_and_the_record_holds_the_chosen_value(tmp_path):
    from scarce.experiment.config import ExperimentConfig, from_dict
    from scarce.report import ablate

    config = from_dict(ExperimentConfig, dict(
        name="fixmatch", sizes=[5], seeds=[0], selection="holdout", unlabelled={"from": "pool", "limit": 40},
        model={"name": "small_cnn", "options": {"width": 4}},
        train=dict(steps=4, eval_every=2, lr=[1e-2], weight_decay=[1e-4], batch_size=16),
        remedies=[{"name": "fixmatch", "threshold": [0.7, 0.95], "ratio": 1, "weak": {"name": "light", "hflip": False},
                   "strong": [{"name": "randaugment", "hflip": False}, "cutout"]}]))
    (record,) = ablate(config, out_dir=tmp_path / "run", progress=False).records
    assert record["hparams"]["fixmatch_threshold"] in (0.7, 0.95) and record["n_unlabelled"] == 40
    notes = record["notes"]
    assert notes["unlabelled_batch"] == 16 and 0.0 <= notes["confident_share"] <= 1.0
    assert notes["fixmatch_threshold"] == [0.7, 0.95] and notes["fixmatch_weak"] == "light(hflip=False)"


def test_the_preview_shows_weak_and_strong_views():
    from scarce.preview.run import preview_row

    base = tiny_setup(image_rows())
    blocks, notes, skipped = preview_row("fixmatch", create_remedy("fixmatch"), base, examples=(0, 12), seed=0,
                                         draws=1)
    assert not skipped and notes["fixmatch_weak"] == "light"
    (block,) = [b for b in blocks if b.title == "Unlabelled views"]
    assert block.png and "7 unlabelled examples per labelled one" in block.text
