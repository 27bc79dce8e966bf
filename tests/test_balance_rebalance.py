import csv

import numpy as np
import pytest

from scarce.balance.rebalance import encode_labels, rebalance, rebalance_csv
from scarce.cli import main


def write(path, rows, header=("id", "label")):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def read(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["index", "label"]
    return [(int(i), lab) for i, lab in rows[1:]]


def test_encode_labels_sorts_numbers_as_numbers():
    codes, names = encode_labels(["10", "2", "2"])
    assert names == ["2", "10"] and codes.tolist() == [1, 0, 0]


def test_cli_rebalance_sampler_and_resample(tmp_path, capsys):
    labels = ["cat"] * 30 + ["dog"] * 6 + ["eel"] * 4
    src = write(tmp_path / "y.csv", [(i, lab) for i, lab in enumerate(labels)])
    out = tmp_path / "idx.csv"
    assert main(["rebalance", str(src), "--out", str(out), "--num-samples", "3000", "--seed", "1"]) == 0
    rows = read(out)
    assert len(rows) == 3000 and all(labels[i] == lab for i, lab in rows)
    freq = np.unique([lab for _, lab in rows], return_counts=True)[1] / 3000
    assert np.abs(freq - 1 / 3).max() < 0.05
    assert main(["rebalance", str(src), "--out", str(out), "--method", "under", "--strategy", "{cat: 10}"]) == 0
    got = [lab for _, lab in read(out)]
    assert (got.count("cat"), got.count("dog"), got.count("eel")) == (10, 6, 4)
    assert main(["rebalance", str(src), "--out", str(out), "--method", "over"]) == 0
    assert len(read(out)) == 90


def test_cli_rebalance_errors(tmp_path, capsys):
    src = write(tmp_path / "y.csv", [(0, "a"), (1, "b")])
    out = tmp_path / "idx.csv"
    assert main(["rebalance", str(src), "--out", str(out), "--column", "lbl"]) == 2
    assert "`column` must be one of the CSV's columns (id, label), got 'lbl'" in capsys.readouterr().err
    assert main(["rebalance", str(tmp_path / "none.csv"), "--out", str(out)]) == 2
    assert main(["rebalance", str(src), "--out", str(out), "--method", "under", "--strategy", "{z: 1}"]) == 2
    assert "unknown class" in capsys.readouterr().err
    one = write(tmp_path / "one.csv", [(0, "a"), (1, "a")])
    assert main(["rebalance", str(one), "--out", str(out)]) == 2
    assert "at least two classes" in capsys.readouterr().err
    assert not out.exists()  # nothing half-written on error


def test_rebalance_api_shards_and_rejects_sampler_options_for_resampling():
    y = [0] * 50 + [1] * 5
    parts = [rebalance(y, num_samples=100, rank=r, world_size=4, seed=2) for r in range(4)]
    np.testing.assert_array_equal(np.concatenate(parts), rebalance(y, num_samples=100, seed=2))
    with pytest.raises(ValueError, match="apply to method='sampler' only"):
        rebalance(y, method="over", num_samples=10)


def test_rebalance_csv_api(tmp_path):
    src = write(tmp_path / "y.csv", [("x",), ("x",), ("y",)], header=("label",))
    path = rebalance_csv(src, tmp_path / "o.csv", method="over", seed=0)
    assert [lab for _, lab in read(path)] == ["x", "x", "y", "y"]


def test_long_tail_report_shows_gain_and_rarest_recalls(tmp_path):
    import importlib.util
    import json
    from pathlib import Path

    import yaml

    spec = importlib.util.spec_from_file_location(
        "long_tail_report", Path(__file__).resolve().parents[1] / "recipes" / "long_tail_report.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cfg = {"name": "lt", "remedies": ["baseline", "balanced_softmax"], "sizes": [100],
           "subset": {"kind": "long_tailed", "imbalance_ratio": 10.0}, "metric": "balanced_accuracy"}
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    recs = []
    for seed, (b, s) in enumerate([(0.5, 0.6), (0.52, 0.64)]):
        for name, ba in (("baseline", b), ("balanced_softmax", s)):
            recs.append({"key": f"{name}|100|{seed}", "remedy": name, "size": 100, "seed": seed,
                         "metrics": {"balanced_accuracy": ba, "accuracy": ba, "macro_f1": ba,
                                     "per_class_recall": [0.9, 0.5, ba / 2, 0.1 if name == "baseline" else 0.4]}})
    (tmp_path / "results.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    text = mod.report(tmp_path, rarest=2)
    row = next(line for line in text.splitlines() if line.startswith("| balanced_softmax"))
    assert "+11.0 [" in row and row.rstrip().endswith("| 31.0 | 40.0 |")
    assert "recall class 3 (n=10)" in text  # profile: 100 * 10^(-3/3)
