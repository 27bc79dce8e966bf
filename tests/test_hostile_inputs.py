"""Hostile inputs through the CLI (issue 14): every error a user can cause ends as one or two lines
on stderr with exit 2 (an internal failure: exit 3 and one line), never a traceback unless
``--debug``; ``--out`` holds nothing new or stays usable; one bad line of ``results.jsonl`` never
wedges a folder (``report`` and ``ablate`` succeed, the line's cell reruns); a diverging GAN stops
early with a non-zero exit and keeps a healthy checkpoint."""

import csv
import json
import random
import shutil
import subprocess
import sys
import wave
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import scarce.cli as cli
from scarce._checks import UserError
from scarce.experiment.log import MalformedLogWarning, check_record, read_log
from scarce.synth.health import GANDivergedError, HealthCheck
from test_synth import _one_thread  # noqa: F401  (autouse fixture: one torch thread)

ROOT = Path(__file__).resolve().parents[1]
TINY = {"name": "tiny", "dataset": {"name": "digits"}, "model": {"name": "small_cnn", "options": {"width": 4}},
        "sizes": [3], "seeds": [0, 1], "selection": "holdout", "test_limit": 30,
        "train": {"steps": 2, "eval_every": 2, "lr": [0.01], "weight_decay": [0.0001]}, "remedies": ["baseline"]}
KEYS = ["baseline|3|0", "baseline|3|1"]


def run(capsys, *argv):
    """``scarce argv`` in-process: (exit code, stderr); asserts the message is clean and short."""
    code = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    if code:
        lines = [x for x in err.splitlines() if not x.startswith("scarce: warning:")]
        assert 1 <= len(lines) <= 2 and lines[0].startswith("scarce: "), err
    return code, err


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()} if folder.exists() else {}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished two-cell digits run (built once per module; copy it per case)."""
    base = tmp_path_factory.mktemp("finished")
    cfg = base / "tiny.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):  # a module fixture runs outside conftest's per-test RNG restore
        assert cli.main(["ablate", str(cfg), "--out", str(base / "out"), "--quiet"]) == 0
    random.setstate(py_state)
    np.random.set_state(np_state)
    assert [r["key"] for r in read_log(base / "out" / "results.jsonl")] == KEYS
    return base


@pytest.fixture
def run_copy(finished, tmp_path):
    shutil.copytree(finished / "out", tmp_path / "out")
    shutil.copy(finished / "tiny.yaml", tmp_path / "tiny.yaml")
    return tmp_path


# ---- one bad line in a finished results.jsonl -------------------------------------------------------------------

def _corrupt(line: bytes) -> dict[str, bytes]:
    rec = json.loads(line)
    kinds = {"number": b"42", "missing_fields": json.dumps({"key": rec["key"]}).encode(),
             "truncated": line[: len(line) // 2], "not_utf8": b"\xff\xfe" + line[2:], "list": b"[1, 2]"}
    for name, change in {"string_metric": {"accuracy": "0.8"}, "nan_metric": {"accuracy": float("nan")},
                         "inf_metric": {"macro_f1": float("inf")}, "bool_metric": {"accuracy": True}}.items():
        kinds[name] = json.dumps({**rec, "metrics": {**rec["metrics"], **change}}).encode()
    kinds["missing_metric"] = json.dumps({**rec, "metrics": {"accuracy": 0.5}}).encode()
    kinds["metrics_not_mapping"] = json.dumps({**rec, "metrics": [0.5]}).encode()
    kinds["key_mismatch"] = json.dumps({**rec, "seed": 0}).encode()
    kinds["size_as_string"] = json.dumps({**rec, "size": "3", "key": rec["key"]}).encode()
    kinds["hparams_not_mapping"] = json.dumps({**rec, "hparams": "lr=0.01"}).encode()
    return kinds


KINDS = sorted(_corrupt(json.dumps({"key": "a|1|0", "remedy": "a", "size": 1, "seed": 0,
                                    "metrics": {"accuracy": 1.0}}).encode()))


@pytest.mark.parametrize("kind", KINDS)
def test_one_corrupt_line_is_skipped_kept_and_rerun(run_copy, capsys, kind):
    out = run_copy / "out"
    log = out / "results.jsonl"
    lines = log.read_bytes().split(b"\n")
    bad = _corrupt(lines[1])[kind]
    log.write_bytes(b"\n".join([lines[0], bad, *lines[2:]]))
    code, err = run(capsys, "report", out)
    assert code == 0 and err.count("malformed") == 1 and "line 2 (" in err
    assert "| baseline | 3 |" in (out / "results.md").read_text()
    code, err = run(capsys, "ablate", run_copy / "tiny.yaml", "--out", out, "--quiet")
    assert code == 0 and err.count("malformed") == 1  # one warning per command, not per read
    after = log.read_bytes().split(b"\n")
    assert after[1] == bad, "the malformed line is kept untouched"
    assert [r["key"] for r in read_log_quiet(log)] == [KEYS[0], KEYS[1]], "the affected cell reran once"


def read_log_quiet(path):
    with pytest.warns(MalformedLogWarning):
        return read_log(path)


def test_cut_off_last_line_is_dropped_and_rerun_without_warning(run_copy, capsys):
    log = run_copy / "out" / "results.jsonl"
    data = log.read_bytes()
    log.write_bytes(data[: data.rfind(b"\n", 0, len(data) - 1) + 40])  # a kill in the middle of the last write
    code, err = run(capsys, "report", run_copy / "out")
    assert code == 0 and "malformed" not in err
    assert run(capsys, "ablate", run_copy / "tiny.yaml", "--out", run_copy / "out", "--quiet")[0] == 0
    assert [json.loads(x)["key"] for x in log.read_text().splitlines()] == KEYS


def test_complete_last_record_without_newline_is_kept(run_copy, capsys):
    log = run_copy / "out" / "results.jsonl"
    log.write_bytes(log.read_bytes().rstrip(b"\n"))
    assert run(capsys, "ablate", run_copy / "tiny.yaml", "--out", run_copy / "out", "--quiet")[0] == 0
    assert [json.loads(x)["key"] for x in log.read_text().splitlines()] == KEYS  # nothing rerun, nothing lost


@pytest.mark.parametrize("state", ["empty_log", "no_log", "blank_lines"])
def test_report_on_an_interrupted_folder(run_copy, capsys, state):
    log = run_copy / "out" / "results.jsonl"
    if state == "empty_log":
        log.write_bytes(b"")
    elif state == "no_log":
        log.unlink()
    else:
        log.write_bytes(b"\n\n" + log.read_bytes().replace(b"\n", b"\n\n"))
    code, err = run(capsys, "report", run_copy / "out")
    assert code == 0 and "malformed" not in err
    assert run(capsys, "ablate", run_copy / "tiny.yaml", "--out", run_copy / "out", "--quiet")[0] == 0
    assert sorted(r["key"] for r in read_log(log)) == KEYS


def test_check_record_schema():
    good = {"key": "b|3|0", "remedy": "b", "size": 3, "seed": 0,
            "metrics": {"accuracy": 1, "balanced_accuracy": 0.5, "macro_f1": 0.5, "per_class_recall": [1.0, None]}}
    assert check_record(good) is None
    assert "missing" in check_record({k: v for k, v in good.items() if k != "seed"})
    assert "size" in check_record({**good, "size": True, "key": "b|True|0"})
    assert "per_class_recall" in check_record({**good, "metrics": {**good["metrics"], "per_class_recall": ["x"]}})


# ---- user errors through the CLI: exit 2, one or two lines, nothing written --------------------------------------

def _bad_config(tmp: Path, text: str | bytes) -> Path:
    path = tmp / "bad.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _tiny_with(**changes) -> str:
    return yaml.safe_dump({**TINY, **changes})


CONFIGS = {
    "malformed_yaml": ("a: [\n", "YAML"),
    "tab_yaml": ("name: x\n\tsizes: [3]\n", "YAML"),
    "not_utf8": (b"name: \xff\xfe\n", "UTF-8"),
    "unknown_key": (_tiny_with(sizez=[3]), "sizez"),
    "unknown_dataset": (_tiny_with(dataset={"name": "digitz"}), "digits"),
    "unknown_remedy": (_tiny_with(remedies=["baselin"]), "baseline"),
    "sizes_wrong_type": (_tiny_with(sizes="many"), "sizes"),
    "sizes_zero": (_tiny_with(sizes=[0]), "sizes"),
    "top_is_list": ("- 1\n- 2\n", "mapping"),
    "unknown_model": (_tiny_with(model={"name": "no_such_model"}), "model"),
}


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_bad_ablate_config(tmp_path, capsys, case):
    text, needle = CONFIGS[case]
    code, err = run(capsys, "ablate", _bad_config(tmp_path, text), "--out", tmp_path / "o", "--quiet")
    assert code == 2 and needle.lower() in err.lower()
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("case", ["missing", "directory"])
def test_unreadable_config_path(tmp_path, capsys, case):
    path = tmp_path / "nope.yaml"
    if case == "directory":
        path.mkdir()
    assert run(capsys, "ablate", path, "--out", tmp_path / "o")[0] == 2
    assert not (tmp_path / "o").exists()


def test_bad_overrides_and_jobs(run_copy, capsys):
    cfg, out = run_copy / "tiny.yaml", run_copy / "o"
    assert run(capsys, "ablate", cfg, "--out", out, "--set", "sizes")[0] == 2
    assert run(capsys, "ablate", cfg, "--out", out, "--set", "train.nope=1")[0] == 2
    assert run(capsys, "ablate", cfg, "--out", out, "--set", "sizes=[3")[0] == 2
    assert run(capsys, "ablate", cfg, "--out", out, "--jobs", "0")[0] == 2
    assert not out.exists()


@pytest.mark.parametrize("case", ["out_is_file", "out_under_file", "different_config", "corrupt_config_yaml"])
def test_bad_out_folder(run_copy, capsys, case):
    cfg, out = run_copy / "tiny.yaml", run_copy / "out"
    if case == "out_is_file":
        out = run_copy / "tiny.yaml"
    elif case == "out_under_file":
        out = run_copy / "tiny.yaml" / "sub"
    elif case == "different_config":
        cfg.write_text(_tiny_with(test_limit=20))
    else:
        (out / "config.yaml").write_text("a: [\n")
    before = snapshot(run_copy)
    assert run(capsys, "ablate", cfg, "--out", out, "--quiet")[0] == 2
    assert snapshot(run_copy) == before
    if case in ("different_config", "corrupt_config_yaml"):  # still usable: --overwrite replaces it
        assert run(capsys, "ablate", cfg, "--out", out, "--quiet", "--overwrite")[0] == 0


@pytest.mark.parametrize("case", ["missing", "file", "corrupt_config", "config_not_utf8"])
def test_bad_report_folder(run_copy, capsys, case):
    out = run_copy / "out"
    if case == "missing":
        out = run_copy / "nothing"
    elif case == "file":
        out = run_copy / "tiny.yaml"
    elif case == "corrupt_config":
        (out / "config.yaml").write_text("a: [\n")
    else:
        (out / "config.yaml").write_bytes(b"name: \xff\n")
    assert run(capsys, "report", out)[0] == 2


def _labels_csv(tmp: Path, content: bytes) -> Path:
    path = tmp / "labels.csv"
    path.write_bytes(content)
    return path


REBALANCE = {
    "missing_file": (None, ()),
    "huge_field": (b"label\n" + b"a" * 200_000 + b"\n", ()),
    "not_utf8": (b"label\n\xff\xfe\n", ()),
    "empty": (b"", ()),
    "unknown_column": (b"label\na\nb\n", ("--column", "y")),
    "bad_strategy_yaml": (b"label\na\nb\nb\n", ("--method", "over", "--strategy", "{a:")),
    "bad_strategy": (b"label\na\nb\nb\n", ("--strategy", "nonsense")),
}


@pytest.mark.parametrize("case", sorted(REBALANCE))
def test_bad_rebalance_input(tmp_path, capsys, case):
    content, extra = REBALANCE[case]
    src = _labels_csv(tmp_path, content) if content is not None else tmp_path / "missing.csv"
    assert run(capsys, "rebalance", src, "--out", tmp_path / "o" / "idx.csv", *extra)[0] == 2
    assert not (tmp_path / "o").exists()


def test_rebalance_out_is_a_folder(tmp_path, capsys):
    src = _labels_csv(tmp_path, b"label\na\nb\nb\n")
    (tmp_path / "o").mkdir()
    assert run(capsys, "rebalance", src, "--out", tmp_path / "o")[0] == 2
    assert list((tmp_path / "o").iterdir()) == []


# ---- scarce synth -------------------------------------------------------------------------------------------------

GAN = "dataset: {name: digits, options: {size: 16}}\nsubset: {per_class: 4}\narch: {ngf: 4, ndf: 4, nz: 8}\n"


def test_synth_train_at_lr_1e5_stops_early_and_keeps_a_healthy_checkpoint(tmp_path, capsys):
    cfg = tmp_path / "gan.yaml"
    cfg.write_text(GAN + f"train: {{steps: 50, batch_size: 8, lr: 1e5, checkpoint_every: 1}}\nout: {tmp_path / 'g'}\n")
    code, err = run(capsys, "synth", "train", cfg, "--quiet")
    assert code == 2 and "diverged at step" in err and "lower learning rate" in err and "DiffAugment" in err
    step = int(err.split("diverged at step ")[1].split(":")[0])
    assert step <= 20
    from scarce.synth.checkpoint import load_checkpoint
    from scarce.synth.trainer import load_generator, sample

    assert load_checkpoint(tmp_path / "g" / "checkpoint.pt")["step"] < step
    g, _ = load_generator(tmp_path / "g" / "checkpoint.pt")
    weights = torch.cat([p.flatten() for p in g.parameters()])
    assert torch.isfinite(weights).all() and weights.abs().max() < 1e3
    images = sample(g, 10, labels=np.arange(10), seed=0)
    assert images.shape == (10, 16, 16, 1) and images.std() > 0
    assert run(capsys, "synth", "sample", tmp_path / "g" / "checkpoint.pt", "--n", "2", "--out", tmp_path / "s")[0] == 0


def test_synth_train_healthy_run_no_false_alarm(tmp_path, capsys):
    cfg = tmp_path / "gan.yaml"
    cfg.write_text(GAN + f"train: {{steps: 12, batch_size: 8, checkpoint_every: 4}}\nout: {tmp_path / 'g'}\n")
    code, err = run(capsys, "synth", "train", cfg, "--quiet")
    assert code == 0 and err == ""
    from scarce.synth.checkpoint import load_checkpoint

    state = load_checkpoint(tmp_path / "g" / "checkpoint.pt")
    assert state["step"] == 12 and max(abs(h["d_loss"]) + abs(h["g_loss"]) for h in state["history"]) < 10


@pytest.mark.parametrize("case, train", [
    ("lr_and_lr_g", "{steps: 2, lr: 0.1, lr_g: 0.1}"),
    ("unknown_train_key", "{steps: 2, lr_generator: 0.1}"),
    ("negative_max_loss", "{steps: 2, max_loss: -1}"),
    ("malformed", "{steps: 2"),
])
def test_bad_synth_train_config(tmp_path, capsys, case, train):
    cfg = tmp_path / "gan.yaml"
    cfg.write_text(GAN + f"train: {train}\nout: {tmp_path / 'g'}\n")
    assert run(capsys, "synth", "train", cfg, "--quiet")[0] == 2
    assert not (tmp_path / "g").exists()


@pytest.mark.parametrize("case", ["missing", "text_file", "truncated_zip"])
def test_bad_checkpoint_to_sample(tmp_path, capsys, case):
    ckpt = tmp_path / "checkpoint.pt"
    if case == "text_file":
        ckpt.write_text("not a checkpoint")
    elif case == "truncated_zip":
        with zipfile.ZipFile(ckpt, "w") as z:
            z.writestr("archive/data.pkl", b"x" * 100)
        ckpt.write_bytes(ckpt.read_bytes()[:60])
    assert run(capsys, "synth", "sample", ckpt, "--n", "2", "--out", tmp_path / "s")[0] == 2
    assert not (tmp_path / "s").exists()


def test_health_rules():
    check = HealthCheck()
    assert check.update(1.0, 1.0, weight=1.0) is None
    assert "weights exploded" in HealthCheck().update(1.0, 1.0, weight=2e4)
    assert "weights exploded" in HealthCheck().update(1.0, 1.0, weight=float("nan"))
    collapse = HealthCheck()
    assert [collapse.update(0.0, 50.0, weight=1.0) for _ in range(2)] == [None, None] and not collapse.healthy
    assert "constant" in collapse.update(0.0, 50.0, weight=1.0)
    recovered = HealthCheck()
    recovered.update(0.0, 50.0, weight=1.0)
    assert recovered.update(0.5, 1.0, weight=1.0) is None and recovered.healthy


# ---- the error table: each class of exception, its exit code and a clean message ----------------------------------

def _wave_error():
    import io

    try:
        wave.open(io.BytesIO(b"RIFF\x00\x00"))
    except (wave.Error, EOFError) as err:
        return err


def _unicode_error():
    try:
        b"\xff".decode("utf-8")
    except UnicodeDecodeError as err:
        return err


def _yaml_error():
    try:
        yaml.safe_load("a: [")
    except yaml.YAMLError as err:
        return err


RAISED = {
    "csv": (csv.Error("field larger than field limit (131072)"), 2),
    "wave": (_wave_error(), 2),
    "unicode": (_unicode_error(), 2),
    "yaml": (_yaml_error(), 2),
    "permission": (PermissionError(13, "Permission denied", "/ro/out"), 2),
    "key": (KeyError("label"), 2),
    "eof": (EOFError("Ran out of input"), 2),
    "bad_zip": (zipfile.BadZipFile("File is not a zip file"), 2),
    "user_error": (UserError("fix this"), 2),
    "gan_diverged": (GANDivergedError("diverged at step 3: x.\nLikely fix: lower lr."), 2),
    "runtime": (RuntimeError("shape mismatch\nwith details"), 3),
    "zero_division": (ZeroDivisionError("division by zero"), 3),
    "assertion": (AssertionError(), 3),
    "interrupt": (KeyboardInterrupt(), 130),
}


@pytest.mark.parametrize("case", sorted(RAISED))
def test_error_table(monkeypatch, capsys, case):
    error, expected = RAISED[case]

    def boom(args, argv):
        raise error

    monkeypatch.setattr(cli.listing, "run", boom)  # `scarce list` raises it
    code, err = run(capsys, "list", "datasets")
    assert code == expected
    if expected == 3:
        assert len(err.splitlines()) == 1 and "bug" in err and "--debug" in err
    with pytest.raises(type(error)):
        cli.main(["--debug", "list", "datasets"])
    with pytest.raises(type(error)):
        cli.main(["list", "datasets", "--debug"])


# ---- true subprocesses: no traceback text reaches stderr --------------------------------------------------------

def _scarce(*argv, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "scarce.cli", *map(str, argv)], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_subprocess_malformed_config_and_debug(tmp_path):
    bad = _bad_config(tmp_path, "a: [\n")
    res = _scarce("ablate", bad, "--out", tmp_path / "o")
    assert res.returncode == 2 and "Traceback" not in res.stderr and len(res.stderr.splitlines()) <= 2
    res = _scarce("--debug", "ablate", bad, "--out", tmp_path / "o")
    assert res.returncode != 0 and "Traceback" in res.stderr
    assert not (tmp_path / "o").exists()


def test_subprocess_report_with_corrupt_lines(run_copy):
    log = run_copy / "out" / "results.jsonl"
    log.write_bytes(b"42\n\xff\n" + log.read_bytes() + b'{"key": "x"}\n')
    res = _scarce("report", run_copy / "out")
    assert res.returncode == 0 and "Traceback" not in res.stderr
    assert "line 1 (not a JSON object); 2 (not UTF-8); 5 (missing remedy, size, seed, metrics)" in res.stderr
