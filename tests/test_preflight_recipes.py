"""Every shipped recipe, run on a tiny copy of its dataset with one corrupt file planted, fails
before any cell runs, names the file and writes nothing (issue 14, "fail before the work")."""

from pathlib import Path

import pytest

from fixtures import write_cifar10, write_fashion_mnist, write_fsdd, write_rotten_tomatoes
from scarce.cli import main
from scarce.experiment.config import load_config

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))


def _cifar(root: Path) -> Path:
    base = write_cifar10(root)
    bad = base / "test" / "cat" / "0001.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return bad


def _fashion(root: Path) -> Path:
    folder = write_fashion_mnist(root, n_train=60, n_test=20)
    bad = folder / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(bad.read_bytes()[:-40])  # a download cut short
    return bad


def _rotten(root: Path) -> Path:
    write_rotten_tomatoes(root)
    bad = root / "rotten-tomatoes" / "rotten_tomatoes_corpus_full.csv.bz2"
    bad.write_bytes(bad.read_bytes()[:30])
    return bad


def _fsdd(root: Path) -> Path:
    write_fsdd(root)
    bad = root / "fsdd" / "recordings" / "3_jack_1.wav"  # a test-split take
    bad.write_bytes(bad.read_bytes()[:30])
    return bad


PLANT = {"cifar10": _cifar, "fashion_mnist": _fashion, "rotten_tomatoes": _rotten, "fsdd": _fsdd}


def test_every_shipped_dataset_has_a_planting():  # digits is embedded: there is no file to corrupt
    used = {load_config(p).dataset.name for p in RECIPES}
    assert used - {"digits"} <= set(PLANT), "a recipe uses a dataset this test cannot corrupt: add a planting"


@pytest.mark.parametrize("recipe", [p for p in RECIPES if load_config(p).dataset.name != "digits"], ids=lambda p: p.stem)
def test_a_recipe_with_one_corrupt_file_fails_before_any_cell(recipe, tmp_path, capsys):
    pytest.importorskip("soundfile")
    dataset = load_config(recipe).dataset.name
    (tmp_path / "data").mkdir()
    bad = PLANT[dataset](tmp_path / "data")
    out = tmp_path / "out"
    tail = ["--set", "sizes=[8]", "--set", "subset.imbalance_ratio=2"] if load_config(recipe).subset.kind == \
        "long_tailed" else ["--set", "sizes=[2]"]
    code = main(["ablate", str(recipe), "--smoke", "--quiet", *tail, "--set", "test_limit=null",
                 "--data-root", str(tmp_path / "data"), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and bad.name in err and "Traceback" not in err
    assert not out.exists()

