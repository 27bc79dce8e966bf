"""Everything downstream of the unlabelled pool, through the CLI: ``scarce search`` races a
self-training row and states the pool, ``best.yaml`` keeps ``unlabelled:`` and the tuned threshold,
``scarce train`` fits the row with the pool and its card records it, ``scarce predict`` reads the
saved model as any other; and every bad pool is refused before any work, with nothing written."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from scarce.cli import main

CLASSES = ("a", "b", "c")
STEPS = {"steps": 4, "eval_every": 2, "lr": [0.01], "weight_decay": [0.0001], "batch_size": 16}


def _images(folder: Path, classes, n: int, rng: np.random.Generator) -> None:
    """``n`` distinct 8x8 RGB images per class (noise around a class brightness) in ``folder/<class>/``,
    or directly in ``folder`` when ``classes`` is a list of class indices for unlabelled images."""
    from PIL import Image

    for c, name in enumerate(classes):
        where = folder / name if isinstance(name, str) else folder
        where.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            mean = 40 + 80 * (c if isinstance(name, str) else name)
            pixels = np.clip(rng.normal(mean, 10, (8, 8, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(where / f"{c}_{i:02d}.png")


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """``train/<class>/`` (3 classes x 10), ``test/<class>/`` (3 x 4) and ``pool/`` (30 images, no classes)."""
    root, rng = tmp_path_factory.mktemp("ssl"), np.random.default_rng(0)
    _images(root / "train", CLASSES, 10, rng)
    _images(root / "test", CLASSES, 4, rng)
    _images(root / "pool", [0, 1, 2], 10, rng)
    return root


def _recipe(path: Path, data: Path, *, remedies, unlabelled=None, **extra) -> Path:
    recipe = {"name": "ssl", "dataset": {"name": "image_folder", "options": {"path": str(data / "train"),
                                                                            "test_path": str(data / "test")}},
              "model": {"name": "small_cnn"}, "sizes": [10], "seeds": [0], "selection": "holdout", "train": STEPS,
              "remedies": remedies, **extra}
    if unlabelled is not None:
        recipe["unlabelled"] = unlabelled
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def test_search_then_train_then_predict_carries_the_pool(data, tmp_path, capsys):
    # the self-training row is the reference (the first row): on this easy task both rows score alike,
    # and a tie keeps the reference ahead, so the race's winner, and the delivered model, self-trains
    recipe = _recipe(tmp_path / "r.yaml", data, remedies=[{"name": "pseudo_label", "threshold": [0.5, 0.9]},
                                                          "baseline"], unlabelled={"path": str(data / "pool")})
    out = tmp_path / "search"
    assert main(["search", str(recipe), "--budget", "2cells", "--out", str(out), "--quiet"]) == 0, \
        capsys.readouterr().err
    head = (out / "search.md").read_text(encoding="utf-8").split("## Standing")[0]
    assert f"Unlabelled pool: 30 examples per cell ({data / 'pool'})" in head
    assert "pseudo-labelled rows added" in head and "`pseudo_label(threshold=[0.5, 0.9])`" in head
    assert "Unlabelled pool: 30 examples per cell" in (out / "results.md").read_text(encoding="utf-8")
    assert "Unlabelled pool: 30 examples per cell" in (out / "report.html").read_text(encoding="utf-8")
    rows = list(csv.DictReader((out / "results.csv").open(encoding="utf-8")))
    assert {r["n_unlabelled"] for r in rows} == {"30"}
    assert all(r["n_pseudo"] == "" for r in rows if r["remedy"] == "baseline")
    assert all(r["n_pseudo"].isdigit() for r in rows if r["remedy"] != "baseline")

    best = yaml.safe_load((out / "best.yaml").read_text(encoding="utf-8"))
    assert best["unlabelled"]["path"] == str(data / "pool")
    chosen = best["evidence"]["chosen"]["threshold"]
    assert best["remedies"] == [{"name": "pseudo_label", "threshold": chosen}]  # the tuned value, pinned

    model = tmp_path / "model"
    assert main(["train", str(out / "best.yaml"), "--out", str(model)]) == 0, capsys.readouterr().err
    assert "plus 30 unlabelled examples" in capsys.readouterr().out
    card = json.loads((model / "card.json").read_text(encoding="utf-8"))
    pool = card["train"]["unlabelled"]
    assert pool["source"] == str(data / "pool") and pool["n_unlabelled"] == 30
    assert pool["pseudo_threshold"] == chosen and isinstance(pool["n_pseudo"], int)
    assert sum(pool["pseudo_per_class"]) == pool["n_pseudo"]
    assert card["remedy"]["n_train_after_remedy"] == 30 + pool["n_pseudo"]

    preds = tmp_path / "preds.csv"
    assert main(["predict", str(model), str(data / "test"), "--out", str(preds)]) == 0, capsys.readouterr().err
    got = list(csv.DictReader(preds.open(encoding="utf-8")))
    assert len(got) == 12 and len({r["input"] for r in got}) == 12 and {r["prediction"] for r in got} <= set(CLASSES)


def test_a_search_on_the_datasets_own_pool_says_what_a_delivered_model_needs(data, tmp_path, capsys):
    recipe = _recipe(tmp_path / "r.yaml", data, remedies=[{"name": "pseudo_label", "threshold": 0.5}, "baseline"],
                     unlabelled={"from": "pool"})
    out = tmp_path / "search"
    assert main(["search", str(recipe), "--budget", "2cells", "--size", "5", "--out", str(out), "--quiet"]) == 0
    assert "Unlabelled pool: 15 examples per cell (the dataset's training pool minus" in (out / "search.md").read_text()
    best = (out / "best.yaml").read_text(encoding="utf-8")
    assert "--set 'unlabelled={path: YOUR_FOLDER_OR_FILE}'" in best.split("name:")[0]  # the header's comment
    capsys.readouterr()
    assert main(["train", str(out / "best.yaml"), "--out", str(tmp_path / "m")]) == 2
    assert "A delivered model needs your own unlabelled data" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_a_row_that_reads_no_pool_is_delivered_without_it(data, tmp_path, capsys):
    recipe = _recipe(tmp_path / "r.yaml", data, remedies=["baseline"], unlabelled={"path": str(tmp_path / "absent")})
    assert main(["train", str(recipe), "--out", str(tmp_path / "m")]) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "m" / "card.json").read_text(encoding="utf-8"))["train"]["unlabelled"] is None


def _bad_pool(kind: str, data: Path, tmp: Path):
    """An ``unlabelled:`` section of kind ``kind`` and the words its refusal must hold."""
    folder = tmp / kind
    folder.mkdir()
    if kind == "empty":
        return {"path": str(folder)}, ["`unlabelled.path`", "holds no images"]
    if kind == "audio":
        from fixtures import tone

        import soundfile as sf

        sf.write(folder / "clip.wav", tone(400), 8000)
        return {"path": str(folder)}, ["`unlabelled.path`", "audio file"]
    if kind == "undecodable":
        shutil.copy(next((data / "pool").glob("*.png")), folder)
        (folder / "broken.png").write_bytes(b"not a png")
        return {"path": str(folder)}, ["`unlabelled.path`", "broken.png"]
    if kind == "test_overlap":
        shutil.copy(next((data / "pool").glob("*.png")), folder)
        shutil.copy(next((data / "test" / "b").glob("*.png")), folder / "copy.png")
        return {"path": str(folder)}, ["`unlabelled.path`", "copy.png", "test split"]
    if kind == "from_pool":
        return {"from": "pool"}, ["from: pool"]
    return None, ["unlabelled examples", "names none"]  # a self-training row without `unlabelled:`


KINDS = ["empty", "audio", "undecodable", "test_overlap", "from_pool", "missing"]


@pytest.mark.parametrize("kind", KINDS)
def test_search_refuses_a_bad_pool_before_any_work(kind, data, tmp_path, capsys):
    section, words = _bad_pool(kind, data, tmp_path)
    recipe = _recipe(tmp_path / "r.yaml", data, remedies=["baseline", {"name": "pseudo_label", "threshold": 0.5}],
                     unlabelled=section)
    out = tmp_path / "out"
    assert main(["search", str(recipe), "--budget", "2cells", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err
    if kind == "from_pool":  # the search's size takes every labelled example: nothing is left to hide
        assert "leaves no unlabelled example" in err
    assert not out.exists()


@pytest.mark.parametrize("kind", KINDS)
def test_train_refuses_a_bad_pool_before_any_work(kind, data, tmp_path, capsys, monkeypatch):
    import scarce.experiment.learners as learners

    section, words = _bad_pool(kind, data, tmp_path)
    recipe = _recipe(tmp_path / "r.yaml", data, remedies=[{"name": "pseudo_label", "threshold": 0.5}],
                     unlabelled=section)
    monkeypatch.setattr(learners.ModelLearner, "fit", lambda *a, **k: pytest.fail("trained"))
    out = tmp_path / "model"
    assert main(["train", str(recipe), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert all(w in err for w in words), err
    if kind == "from_pool":
        assert "A delivered model needs your own unlabelled data" in err and "unlabelled: {path:" in err
    if kind == "missing":
        assert "Row 'pseudo_label(threshold=0.5)'" in err
    assert not out.exists() and not list(tmp_path.glob(".model.*"))


def test_train_refuses_a_threshold_still_to_tune(data, tmp_path, capsys):
    recipe = _recipe(tmp_path / "r.yaml", data, remedies=[{"name": "pseudo_label", "threshold": [0.5, 0.9]}],
                     unlabelled={"path": str(data / "pool")})
    assert main(["train", str(recipe), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "tunes `threshold` among [0.5, 0.9]" in err and "threshold: 0.5" in err
    assert not (tmp_path / "m").exists()


def test_the_pool_line_and_columns_are_pure_functions_of_records():
    from scarce.report.pool import cost_note, pool_line, row_fields

    recs = [{"remedy": "baseline", "n_unlabelled": n, "unlabelled_source": src} for n, src in
            ((50, "s1"), (60, "s2"), (60, "s3"))]
    recs += [{"remedy": "pl", "n_unlabelled": 60, "unlabelled_source": "s1", "notes": {"n_pseudo": n}} for n in (3, 9, 5)]
    line = pool_line(recs)
    assert line.startswith("Unlabelled pool: 50–60 examples per cell (s1; s2; and 1 more)") and line.endswith("`pl` 5.")
    assert row_fields(recs[3:]) == {"n_unlabelled": 60, "n_pseudo": 5}
    assert row_fields(recs[:3]) == {"n_unlabelled": 60, "n_pseudo": None}
    old = [{"remedy": "baseline", "notes": {}}]  # a log without a pool (or from before it existed)
    assert pool_line(old) is None and row_fields(old) == {"n_unlabelled": None, "n_pseudo": None}
    assert cost_note(old) == "" and "train s holds a self-training row's teacher" in cost_note(recs)


def test_best_recipe_pins_a_tuned_threshold_inside_a_chain():
    from scarce.search.report import pin_tuned

    spec = {"name": "chain", "remedies": ["augment", {"name": "pseudo_label", "threshold": [0.8, 0.95]}]}
    assert pin_tuned(spec, {"lr": 0.01, "threshold": 0.8}) == {
        "name": "chain", "remedies": ["augment", {"name": "pseudo_label", "threshold": 0.8}]}
    assert pin_tuned({"name": "pseudo_label", "threshold": 0.9}, {"lr": 0.01}) == {"name": "pseudo_label",
                                                                                    "threshold": 0.9}
