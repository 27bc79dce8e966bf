"""Smoke runs of the text recipes on the real Rotten Tomatoes copy (slow; skipped without the data)."""

import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SCARCE_DATA", "/work/shared/data"))
needs_data = pytest.mark.skipif(not (DATA / "rotten-tomatoes").is_dir() or not (DATA / "nltk_data").is_dir(),
                                reason="needs $SCARCE_DATA with rotten-tomatoes/ and nltk_data/ (../shared/data)")


@pytest.mark.slow
@needs_data
@pytest.mark.parametrize("recipe", ["text_eda.yaml", "text_eda_encoder.yaml"])
def test_text_recipe_smoke(recipe, tmp_path, monkeypatch):
    from scarce.cli import main

    monkeypatch.setenv("SCARCE_DATA", str(DATA))
    assert main(["ablate", str(ROOT / "recipes" / recipe), "--smoke", "--out", str(tmp_path), "--quiet"]) == 0
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    assert {r["remedy"] for r in records} >= {"baseline"} and len(records) >= 4


@pytest.mark.slow
@needs_data
def test_tfidf_control_recipe_smoke(tmp_path, monkeypatch):
    from scarce.cli import main

    monkeypatch.setenv("SCARCE_DATA", str(DATA))
    assert main(["ablate", str(ROOT / "recipes" / "text_tfidf_control.yaml"), "--smoke", "--out", str(tmp_path),
                 "--quiet"]) == 0
    records = {json.loads(line)["remedy"]: json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()}
    assert set(records) == {"tfidf", "tfidf+eda", "tfidf+duplicate"}
    assert records["tfidf+eda"]["n_train_after_remedy"] == records["tfidf+duplicate"]["n_train_after_remedy"] > records[
        "tfidf"]["n_train"]
    assert "gain in accuracy over `tfidf+duplicate`" in (tmp_path / "results.md").read_text()
