"""Probe standardisation: constant feature columns keep scale 1 (not 1/eps)."""

import numpy as np
import pytest

from scarce.backbones.probes import linear_head_probe, standardization_stats


def _features_with_dead_units(seed=0, n=40, d=12, dead=4):
    """Two separable classes in the live columns; ``dead`` ReLU-like columns are 0 on every training row."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    x = rng.normal(size=(n, d)).astype(np.float32) + 2.0 * y[:, None]
    x[:, :dead] = 0.0
    return x, y


def test_constant_columns_get_scale_one_and_others_their_std():
    x, _ = _features_with_dead_units()
    mean, scale = standardization_stats(x)
    assert scale[:4].tolist() == [1.0] * 4
    np.testing.assert_allclose(scale[4:], x[:, 4:].std(0), rtol=1e-5)
    np.testing.assert_allclose(mean, x.mean(0), rtol=1e-5, atol=1e-6)


def test_a_nearly_constant_large_column_counts_as_constant():
    x = np.full((10, 2), 6.0, np.float32)
    x[:, 1] = np.arange(10)
    x[3, 0] = np.float32(6.0) + np.float32(5e-7)  # float noise on a saturated ReLU6 unit
    assert x[:, 0].std() > 0  # not exactly constant: only a relative threshold catches it
    assert standardization_stats(x)[1][0] == 1.0


def test_test_value_on_a_dead_unit_moves_the_standardised_input_by_its_value_only():
    x, _ = _features_with_dead_units()
    mean, scale = standardization_stats(x)
    probe = np.zeros((1, x.shape[1]), np.float32)
    probe[0, 0] = 3.0  # a test image that fires a unit silent on all training images
    z = (probe - mean) / scale
    assert z[0, 0] == pytest.approx(3.0)  # was 3e6 with std + 1e-6


def test_torch_probe_unaffected_by_a_unit_dead_in_training():
    x, y = _features_with_dead_units()
    probe = linear_head_probe(x, y, steps=200, seed=0)
    rng = np.random.default_rng(1)
    xt = rng.normal(size=(50, x.shape[1])).astype(np.float32) + 2.0 * np.repeat([0, 1], 25)[:, None]
    xt[:, :4] = 0.0
    clean = probe.predict(xt)
    xt[:, :4] = 6.0  # the dead units fire at test time
    assert (probe.predict(xt) == clean).mean() >= 0.9


def test_linear_probe_remedy_head_uses_scale_one_for_constant_features(tiny_images):
    pytest.importorskip("timm")
    from scarce.remedies import TrainSetup, create_remedy

    setup = TrainSetup(train=tiny_images, num_classes=3, model_fn=lambda n: None, clean_train=tiny_images)
    out = create_remedy({"name": "linear_probe", "pretrained": False, "size": 32, "cache_dir": None}).apply(setup, seed=0)
    head = out.model_fn(3)
    std = head[0].std.numpy()
    feats = out.collate([tiny_images[i] for i in range(len(tiny_images))])[0].numpy()
    constant = feats.std(0) <= 1e-6 * np.maximum(1.0, np.abs(feats.mean(0)))
    assert constant.any(), "the random backbone should leave some units silent on these images"
    assert np.all(std[constant] == 1.0)  # was 1e-6
