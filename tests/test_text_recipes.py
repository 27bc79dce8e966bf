"""Smoke runs of the text recipes on the real Rotten Tomatoes copy (slow; skipped without the data)."""

import importlib.util
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
@pytest.mark.parametrize("recipe", ["text_eda.yaml", "text_eda_boe.yaml", "text_eda_encoder.yaml"])
def test_text_recipe_smoke(recipe, tmp_path, monkeypatch):
    from scarce.cli import main

    monkeypatch.setenv("SCARCE_DATA", str(DATA))
    assert main(["ablate", str(ROOT / "recipes" / recipe), "--smoke", "--out", str(tmp_path), "--quiet"]) == 0
    records = [json.loads(line) for line in (tmp_path / "results.jsonl").read_text().splitlines()]
    rows = {"text_eda.yaml": {"baseline", "eda", "aeda", "duplicate", "tfidf_logreg"},
            "text_eda_boe.yaml": {"baseline", "eda", "aeda", "duplicate"},
            "text_eda_encoder.yaml": {"sentence_encoder", "eda+sentence_encoder", "duplicate+sentence_encoder"}}[recipe]
    assert {r["remedy"] for r in records} == rows and all("metrics" in r for r in records)


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


def _report_module():
    spec = importlib.util.spec_from_file_location("text_eda_report", ROOT / "recipes" / "text_eda_report.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _log(path, rows):
    def record(remedy, seed, value):
        metrics = {"accuracy": value, "balanced_accuracy": value, "macro_f1": value}
        return {"key": f"{remedy}|5|{seed}", "remedy": remedy, "size": 5, "seed": seed, "metrics": metrics}

    failed = {"key": "x|5|9", "remedy": "x", "size": 5, "seed": 9, "status": "failed", "error": "boom"}
    path.write_text("".join(json.dumps(record(*row)) + "\n" for row in rows) + json.dumps(failed) + "\n")
    return path


def test_text_report_compares_rows_of_two_logs_by_prefix(tmp_path):
    mod = _report_module()
    a = _log(tmp_path / "a.jsonl", [("baseline", s, 0.60 + 0.01 * s) for s in range(3)])
    b = _log(tmp_path / "b.jsonl", [("baseline", s, 0.70 + 0.01 * s + 0.001 * s * s) for s in range(3)])
    table = mod.main(mod.get_args_parser().parse_args(
        [f"hl={a}", f"boe={b}", "--pairs", "boe/baseline:hl/baseline", "--metric", "balanced_accuracy"]))
    assert "| hl/baseline (balanced accuracy) | 61.0 ± " in table  # the prefixes keep the two baselines apart
    assert "| boe/baseline − hl/baseline | +10.2 [" in table and "(n=3, Holm p" in table


def test_text_report_refuses_a_missing_log_or_metric(tmp_path):
    mod = _report_module()
    a = _log(tmp_path / "a.jsonl", [("baseline", s, 0.6) for s in range(2)])
    with pytest.raises(ValueError, match="does not exist"):
        mod.read_logs([str(tmp_path / "nope.jsonl")], "accuracy")
    with pytest.raises(ValueError, match="`--metric` must be a key"):
        mod.read_logs([str(a)], "top5_accuracy")
    with pytest.raises(ValueError, match="treated:reference"):
        mod.main(mod.get_args_parser().parse_args([str(a), "--pairs", "baseline", "--metric", "balanced_accuracy"]))
