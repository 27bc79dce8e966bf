import numpy as np
import pytest
import torch

from scarce.backbones import Preprocess, create_backbone
from scarce.backbones.cache import FeatureCache, FeatureExtractor, extract_features


@pytest.fixture(scope="module")
def backbone():
    torch.manual_seed(0)
    return create_backbone("resnet18", pretrained=False)


def images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 255, (n, 16, 16, 3), dtype=np.uint8)


def test_hits_misses_and_no_second_forward(tmp_path, backbone):
    cache = FeatureCache(tmp_path)
    fx = FeatureExtractor(backbone, Preprocess(backbone.data_config, size=32), cache_dir=cache, progress=False)
    x = images(10)
    first = fx(x)
    assert (cache.hits, cache.misses, fx.forward_images) == (0, 10, 10)
    again = fx(x[3:8])
    assert (cache.hits, cache.misses, fx.forward_images) == (5, 10, 10)
    np.testing.assert_array_equal(again, first[3:8])
    mixed = fx(np.concatenate([x[:2], images(3, seed=1)]))
    assert fx.forward_images == 13 and cache.hit_rate == pytest.approx(7 / 20)
    np.testing.assert_array_equal(mixed[:2], first[:2])
    # a new process (new cache object) reads the shards from disk
    fresh = FeatureCache(tmp_path)
    fx2 = FeatureExtractor(backbone, Preprocess(backbone.data_config, size=32), cache_dir=fresh, progress=False)
    np.testing.assert_array_equal(fx2(x), first)
    assert fx2.forward_images == 0 and fresh.hits == 10


def test_key_includes_preprocessing_and_weights(tmp_path, backbone):
    cache = FeatureCache(tmp_path)
    x = images(4)
    extract_features(backbone, x, size=32, cache_dir=cache, progress=False)
    extract_features(backbone, x, size=48, cache_dir=cache, progress=False)  # other resolution: recomputed
    assert cache.misses == 8
    other = create_backbone("resnet18", pretrained=False)  # other weights: recomputed
    extract_features(other, x, size=32, cache_dir=cache, progress=False)
    assert cache.misses == 12 and cache.hits == 0
    np.testing.assert_allclose(extract_features(backbone, x, size=32, progress=False),
                               extract_features(backbone, x, size=32, cache_dir=cache, progress=False), rtol=1e-5)
    assert cache.hits == 4


def test_corrupted_entry_is_detected_recomputed_and_not_used(tmp_path, backbone):
    x = images(6)
    pre = Preprocess(backbone.data_config, size=32)
    good = FeatureExtractor(backbone, pre, cache_dir=FeatureCache(tmp_path), progress=False)(x)
    (shard,) = list(tmp_path.rglob("*.npz"))
    import io

    with np.load(shard) as z:
        parts = {k: z[k].copy() for k in z.files}
    parts["values"][0, 0] += 1.0  # silent bit rot: still a valid file, wrong numbers
    buf = io.BytesIO()
    np.savez(buf, **parts)
    shard.write_bytes(buf.getvalue())
    cache = FeatureCache(tmp_path)
    fx = FeatureExtractor(backbone, pre, cache_dir=cache, progress=False)
    with pytest.warns(RuntimeWarning, match="failed its checksum"):
        out = fx(x)
    assert cache.corrupt == 1 and fx.forward_images == 6
    np.testing.assert_allclose(out, good, rtol=1e-5)
    shard2 = list(tmp_path.rglob("*.npz"))[0]
    shard2.write_bytes(b"not a zip")  # truncated/garbage file
    cache3 = FeatureCache(tmp_path)
    with pytest.warns(RuntimeWarning):
        FeatureExtractor(backbone, pre, cache_dir=cache3, progress=False)(x)
    assert cache3.corrupt == 1


def test_features_of_a_labelled_dataset_with_greyscale(tiny_images, backbone):
    with pytest.raises(ValueError, match="grayscale='repeat'"):
        extract_features(backbone, tiny_images, size=32, progress=False)
    f = extract_features(backbone, tiny_images, size=32, grayscale="repeat", progress=False, batch_size=16)
    assert f.shape == (60, 512) and f.dtype == np.float32


def test_a_shard_copied_from_another_backbones_folder_is_never_used(tmp_path, backbone):
    import shutil

    from scarce.backbones import create_backbone

    other = create_backbone("mobilenet_v3_small", pretrained=False)
    x = images(4)
    a = FeatureExtractor(backbone, Preprocess(backbone.data_config, size=32), cache_dir=FeatureCache(tmp_path),
                         progress=False)
    good = a(x)
    b = FeatureExtractor(other, Preprocess(other.data_config, size=32), cache_dir=FeatureCache(tmp_path),
                         progress=False)
    (shard,) = list((tmp_path / a.namespace).glob("*.npz"))
    (tmp_path / b.namespace).mkdir()
    shutil.copy(shard, tmp_path / b.namespace / shard.name)  # same keys, other backbone's features
    with pytest.warns(RuntimeWarning, match="another namespace"):
        out = b(x)
    assert b.forward_images == 4 and out.shape[1] == other.num_features != good.shape[1]


@pytest.mark.parametrize("namespace", ["../escaped", "/abs", ".hidden", "a/b", ""])
def test_a_namespace_cannot_leave_the_cache_root(tmp_path, namespace):
    with pytest.raises(ValueError, match="one folder name"):
        FeatureCache(tmp_path / "cache").put(namespace, [b"k"], np.ones((1, 2), np.float32))
    assert not (tmp_path / "escaped").exists()
