import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scarce.cli import main
from scarce.experiment.config import load_config
from scarce.remedies.base import remedy_label

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--set", "sizes=[3,5]", "--set", "seeds=[0,1,2]", "--set", "train.steps=12", "--set", "train.eval_every=6", "--set", "train.lr=[0.01]",
        "--set", "test_limit=60", "--set", "remedies=[baseline]", "--quiet"]


def test_import_is_light_and_offline():
    code = ("import sys, socket\n"
            "def no(*a, **k): raise RuntimeError('network touched')\n"
            "socket.socket.connect = no\n"
            "import scarce, scarce.data, scarce.experiment\n"
            "heavy = [m for m in ('torch', 'timm', 'albumentations', 'nlpaug', 'sentence_transformers', "
            "'audiomentations', 'matplotlib') if m in sys.modules]\n"
            "print(heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_list(capsys):
    assert main(["list", "datasets"]) == 0
    rows = [line.split()[:2] for line in capsys.readouterr().out.splitlines()]
    assert ["digits", "image"] in rows and ["fsdd", "audio"] in rows and ["text_csv", "text"] in rows
    assert main(["list", "models"]) == 0
    models = {tuple(line.split()[:2]) for line in capsys.readouterr().out.splitlines()}
    assert {("small_cnn", "image"), ("hashed_linear", "text"), ("audio_tdnn", "audio")} <= models
    assert main(["list", "remedies"]) == 0
    out = capsys.readouterr().out
    assert "baseline" in out and "chain" in out


def test_errors_are_clear_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: {name: digitz}\n")
    assert main(["ablate", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "Did you mean 'digits'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    assert main(["report", str(tmp_path / "nothing")]) == 2


def _run(out, extra=()):
    cmd = [sys.executable, "-m", "scarce.cli", "ablate", "recipes/digits.yaml", "--out", str(out), *TINY, *extra]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _metrics(out):
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    return rows, {r["key"]: r["metrics"] for r in rows}


def test_kill_and_rerun_completes_with_same_metrics(tmp_path):
    full, killed = tmp_path / "full", tmp_path / "killed"
    assert _run(full).wait(timeout=300) == 0
    proc = _run(killed)
    log = killed / "results.jsonl"
    deadline = time.time() + 200
    while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 3):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    n_before = len(log.read_text().splitlines())
    assert 3 <= n_before < 12, "the kill must land mid-grid"
    assert _run(killed).wait(timeout=300) == 0
    rows, metrics = _metrics(killed)
    _, expected = _metrics(full)
    assert len(rows) == len(expected) == 12 and len({r["key"] for r in rows}) == 12
    assert metrics == expected
    for name in ("results.md", "results.csv", "config.yaml", "metric_vs_size.png"):
        assert (killed / name).exists()


def test_smoke_recipe_is_one_cell(tmp_path):
    assert main(["ablate", str(ROOT / "recipes/digits.yaml"), "--smoke", "--out", str(tmp_path), "--quiet"]) == 0
    rows = [json.loads(x) for x in (tmp_path / "results.jsonl").read_text().splitlines()]
    expected = {remedy_label(s) for s in load_config(ROOT / "recipes/digits.yaml").remedies} | {"logreg"}
    assert sorted(r["remedy"] for r in rows) == sorted(expected)
    assert {(r["size"], r["seed"]) for r in rows} == {(5, 0)}
    # a balanced test split: `select_by: auto` is accuracy (the smoke grid: the recipe's first lr and its one
    # weight decay)
    assert {r["tuning"]["select_by"] for r in rows} == {"accuracy"}
    assert all(r["val_accuracy"] == r["val_score"] for r in rows)
    assert {r["remedy"]: r["hparams"] for r in rows} == {
        **{label: {"lr": 0.001, "step": 2, "weight_decay": 0.01} for label in expected - {"logreg"}},
        "logreg": {"C": 1.0}}
