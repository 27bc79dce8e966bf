"""`scarce ablate` refuses a chain that would lose a remedy, or a remedy for another modality,
before any training and before anything is written to --out."""

import time

from scarce.cli import main

TRAIN = "train: {steps: 2, batch_size: 8, lr: [0.01], eval_every: 2}\n"


def _ablate(tmp_path, config, capsys):
    path = tmp_path / "config.yaml"
    path.write_text(config)
    out = tmp_path / "out"
    start = time.time()
    code = main(["ablate", str(path), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert time.time() - start < 30
    assert code != 0 and not (out / "results.jsonl").exists() and not out.exists()
    return err


def test_a_chain_that_would_lose_a_remedy_is_refused_before_any_cell(tmp_path, capsys):
    err = _ablate(tmp_path, "name: t\ndataset: {name: digits}\nsizes: [3]\nseeds: [0]\n" + TRAIN +
                  "remedies: [baseline, {name: chain, remedies: [crt, focal]}]\n", capsys)
    assert "'crt' and 'focal' both change `loss_fn`" in err and "Put 'focal' before 'crt'" in err


def test_a_remedy_for_another_modality_is_refused_before_any_cell(tmp_path, capsys):
    rows = ["text,label"] + [f"a {w} film number {i},{w}" for w in ("good", "bad") for i in range(12)]
    (tmp_path / "reviews.csv").write_text("\n".join(rows) + "\n")
    err = _ablate(tmp_path, f"name: t\ndataset: {{name: text_csv, options: {{path: {tmp_path / 'reviews.csv'}}}}}\n"
                  "model: {name: hashed_linear}\nsizes: [3]\nseeds: [0]\n" + TRAIN +
                  "remedies: [baseline, {name: augment, preset: light}]\n", capsys)
    assert "'augment' works on image data and the dataset's modality is 'text'" in err
