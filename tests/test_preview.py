"""``scarce preview`` (issue 18, "See it"): for every shipped recipe (datasets that need a data root
on tiny fixtures of the same layout) one section per row and nothing fetched; the pictures come from
the ablation's own code path and seeds; text, audio, balancing, transfer and synthetic previews;
remedies that cannot be shown say so; bad input exits 2 before anything is written; report.html
embeds the previews; the page renders in headless Chromium (skipped where it is absent)."""

import base64
import io
import re
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from fixtures import write_cifar10, write_fashion_mnist, write_fsdd, write_rotten_tomatoes
from scarce.cli import main
from scarce.experiment.config import dump_config, load_config

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))
DATA = {"cifar10": write_cifar10, "fashion_mnist": lambda root: write_fashion_mnist(root, n_train=60, n_test=20),
        "rotten_tomatoes": write_rotten_tomatoes, "fsdd": write_fsdd}
# Rows that may not be shown, by a remedy their label names, and what the page must then say.
MAY_NOT_SHOW = {"synthetic": "needs a trained generator: no preview", "sentence_encoder": "sentence encoder",
                "eda": "WordNet"}
SECTION = re.compile(r'<section class="preview-row" data-row="([^"]*)">(.*?)</section>', re.S)


def _sections(page: str) -> dict[str, str]:
    return dict(SECTION.findall(page))


def _images(html: str) -> list[bytes]:
    return [base64.b64decode(s) for s in re.findall(r'<img src="data:image/png;base64,([^"]+)"', html)]


def _unavailable(section: str) -> list[str]:
    return re.findall(r'<p class="unavailable">(.*?)</p>', section, re.S)


@pytest.fixture
def hermetic(tmp_path, monkeypatch):
    """No data root, WordNet or GAN cache of the machine: the cwd and SCARCE_DATA are tmp folders."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("SCARCE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("SCARCE_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("NLTK_DATA", raising=False)
    return tmp_path


def _tiny_png():
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (2, 2)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda p: p.stem)
def test_every_shipped_recipe_previews_each_row(recipe, hermetic, monkeypatch, capsys):
    from scarce.preview import draw

    monkeypatch.setattr(draw, "png_bytes", lambda fig: _tiny_png())  # drawing is tested below, once per kind
    config = load_config(recipe)
    tail = []
    if config.dataset.name in DATA:
        DATA[config.dataset.name](hermetic / "data")
        tail = ["--size", "8", "--set", "subset.imbalance_ratio=2"] if config.subset.kind == "long_tailed" else \
            ["--size", "2"]
    out = hermetic / "out"
    assert main(["preview", str(recipe), "--out", str(out), "--examples", "2", *tail]) == 0, capsys.readouterr().err
    page = (out / "preview.html").read_text(encoding="utf-8")
    sections = _sections(page)
    rows = config.rows()
    assert list(sections) == [r.label for r in rows]  # one section per row, in order
    assert "http://" not in page and "https://" not in page and "<script" not in page
    for label, body in sections.items():
        excuses = [k for k in MAY_NOT_SHOW if k in label or k in body.split("</p>", 1)[0]]
        said = _unavailable(body)
        if said:
            assert excuses and any(MAY_NOT_SHOW[k] in s for k in excuses for s in said), (label, said)
        else:
            assert "<h4>" in body, label  # something shown
    assert len(list((out / "preview").glob("*.png"))) == len(_images(page))


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits")
    assert main(["preview", str(ROOT / "recipes" / "digits.yaml"), "--out", str(out)]) == 0
    return out


def test_digits_pictures_decode_and_are_the_png_files(digits):
    from PIL import Image

    page = (digits / "preview.html").read_text(encoding="utf-8")
    sections = _sections(page)
    assert list(sections) == ["baseline", "augment", "mixup", "logreg"]
    titles = {k: re.findall(r"<h4>(.*?)</h4>", v) for k, v in sections.items()}
    assert titles == {"baseline": ["Training examples"], "augment": ["Per-sample augmentation"],
                      "mixup": ["Batch transform"], "logreg": ["Training examples"]}
    files = sorted((digits / "preview").glob("*.png"))
    assert sorted(_images(page)) == sorted(f.read_bytes() for f in files)
    for f in files:
        with Image.open(f) as im:
            im.load()
            assert im.size[0] > 200 and im.size[1] > 100
    assert (digits / "preview" / "sections.html").read_text(encoding="utf-8") in page


def test_draws_and_batches_follow_the_ablations_code_path_and_seed(monkeypatch):
    """The augmented draws are those training makes (ModelLearner.prepare on the cell's part, Draws with
    the cell's seed), and the mixed batch that of a generator seeded with it."""
    import torch

    from scarce.experiment.rows import Row
    from scarce.experiment.learners import create_learner
    from scarce.experiment.plan import CellPlan, get_bundle
    from scarce.preview import draw, preview_config
    from scarce.steps import Draws

    grids = []
    monkeypatch.setattr(draw, "image_grid", lambda rows, **kw: grids.append((rows, kw)) or b"png")
    config = load_config(ROOT / "recipes" / "digits.yaml", overrides=["sizes=[10]", "selection=holdout"])
    p = preview_config(config, seed=3, examples=3, draws=2)
    rows = {r.label: r for r in p.rows}
    assert "hold-out" in p.part and "seed 3" in p.part
    (_, _), (augmented, _), (mixed, mixed_kw), _ = grids  # baseline, augment, mixup, logreg
    plan = CellPlan.cut(config, get_bundle(config, None), size=10, seed=3)
    part = plan.train
    setup = create_learner(Row("augment", config.remedies[1]), plan=plan).prepare(part, seed=3)
    shown = [int(np.flatnonzero(part.labels == c)[0]) for c in range(3)]  # the first example of classes 0, 1, 2
    draws = Draws(part, setup.transform, 3)
    for r in range(2):
        for j, i in enumerate(shown):
            np.testing.assert_array_equal(augmented[1 + r][j], draws[(i, r * 3 + j)][0])
    assert not np.array_equal(augmented[1][0], augmented[0][0])
    mix = create_learner(Row("mixup", config.remedies[2]), plan=plan).prepare(part, seed=3)
    from scarce.inference import image_collate

    x, y = image_collate([part[i] for i in shown])
    want, soft = mix.batch_transform(x.clone(), y, generator=torch.Generator().manual_seed(3))
    np.testing.assert_allclose(np.stack(mixed[1]), (want.permute(0, 2, 3, 1).numpy() + 2) / 4, atol=1e-5)
    assert mixed_kw["cell_titles"][1][0].count("+") == min(1, int((soft[0] >= 0.005).sum()) - 1)
    assert rows["mixup"].notes == {"mixup_alpha": 0.4}


def test_text_rows_show_each_original_with_its_new_rows(hermetic, capsys):
    write_rotten_tomatoes(hermetic / "data")
    spec = "[baseline, {name: eda, operations: [rs, rd], n_aug: 2, label: eda}, {name: duplicate, n_aug: 2, label: dup}]"
    assert main(["preview", str(ROOT / "recipes" / "text_eda.yaml"), "--out", "o", "--size", "5", "--set",
                 f"remedies={spec}", "--set", "references=[]", "--set", "selection=auto", "--examples", "3"]
                ) == 0, capsys.readouterr().err
    sections = _sections((hermetic / "o" / "preview.html").read_text(encoding="utf-8"))
    eda = sections["eda"]
    table = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td></tr>", eda)
    assert len(table) == 3
    for _, orig, new in table:  # each text's 2 copies: new rows, or unchanged (EDA may leave a short text as is)
        unchanged = re.search(r" ?\(\+(\d) unchanged cop(y|ies)\)$", new)
        fresh = [t for t in (new[:unchanged.start()] if unchanged else new).split(" ‖ ") if t]
        assert orig not in fresh and len(fresh) + int(unchanged.group(1) if unchanged else 0) == 2, new
    assert "10 training rows became 30" in eda  # k = 5 under cross-validation: the whole subset
    assert "No new example" in sections["dup"] and "10 training rows became 30" in sections["dup"]
    assert len(_images(sections["dup"])) == 1  # the class counts


def test_a_self_training_row_shows_the_pool_examples_a_stand_in_teacher_labels_most_confidently(hermetic, capsys,
                                                                                                 monkeypatch):
    from scarce.preview import draw

    grids = []
    real = draw.image_grid
    monkeypatch.setattr(draw, "image_grid", lambda rows, **kw: grids.append(kw["cell_titles"]) or real(rows, **kw))
    spec = "[baseline, {name: pseudo_label, threshold: [0.8, 0.95], label: pl}]"
    assert main(["preview", str(ROOT / "recipes" / "digits.yaml"), "--out", "o", "--set", f"remedies={spec}",
                 "--set", "references=[]", "--set", "unlabelled={from: pool, limit: 200}"]) == 0, capsys.readouterr().err
    section = _sections((hermetic / "o" / "preview.html").read_text(encoding="utf-8"))["pl"]
    assert re.findall(r"<h4>(.*?)</h4>", section) == ["Pseudo-labels"] and not _unavailable(section)
    assert "200 unlabelled examples" in section and re.search(r"\d+ at threshold 0.8, \d+ at threshold 0.95", section)
    assert "stand-in" in section and "the real teacher is the row" in section
    captions = [c for row in grids[-1] for c in row]  # the pseudo-labels grid: "class (confidence)", class by class
    parsed = [re.fullmatch(r"(\d) \((0\.\d\d|1\.00)\)", c) for c in captions]
    assert all(parsed) and len(captions) <= 2 * 10, captions
    classes = [int(m.group(1)) for m in parsed]
    assert classes == sorted(classes) and len(set(classes)) >= 5
    assert len(_images(section)) == 1


def test_text_pseudo_labels_are_a_table_of_pool_texts_with_label_and_confidence(hermetic, capsys):
    write_rotten_tomatoes(hermetic / "data")
    assert main(["preview", str(ROOT / "recipes" / "text_eda.yaml"), "--out", "o", "--size", "5", "--set",
                 "remedies=[{name: pseudo_label, label: pl}]", "--set", "references=[]",
                 "--set", "unlabelled={from: pool}"]) == 0, capsys.readouterr().err
    section = _sections((hermetic / "o" / "preview.html").read_text(encoding="utf-8"))["pl"]
    table = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", section)
    assert table and all(re.fullmatch(r"(fresh|rotten) \(\d\.\d\d\)", label) for label, _ in table), table
    assert re.search(r"\d+ unlabelled examples \(the dataset&#x27;s training pool minus the cell", section), section


@pytest.fixture(scope="module")
def audio(tmp_path_factory):
    pytest.importorskip("soundfile")
    root = tmp_path_factory.mktemp("audio")
    write_fsdd(root / "data")
    spec = "[{name: waveform, preset: strong}, {name: specaugment, freq_width: 4}]"
    assert main(["preview", str(ROOT / "recipes" / "audio_fsdd.yaml"), "--out", str(root / "o"), "--size", "2",
                 "--data-root", str(root / "data"), "--set", f"remedies={spec}", "--set", "references=[]"]) == 0
    return root / "o" / "preview.html"


def test_audio_shows_log_mels_and_playable_clips(audio):
    sections = _sections(audio.read_text(encoding="utf-8"))
    wave_row, spec_row = sections.values()
    clips = [base64.b64decode(s) for s in re.findall(r'<audio controls preload="auto" src="data:audio/wav;base64,'
                                                      r'([^"]+)"', wave_row)]
    assert len(clips) == 4  # two clips: original and first draw
    for raw in clips:
        with wave.open(io.BytesIO(raw)) as w:
            assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2) and w.getnframes() > 100
    assert clips[0] != clips[1]  # the draw differs from the original
    assert len(_images(wave_row)) == 1 and len(_images(spec_row)) == 1 and "<audio" not in spec_row


def test_remedies_that_cannot_show_say_so_and_the_others_still_show(hermetic, capsys):
    from scarce.remedies.composition import Changes
    from scarce.remedies.catalogue import REMEDIES
    from scarce.remedies.base import NoPreview, Remedy

    class Secret(Remedy):
        name, changes = "secret", Changes(replaces={"loss_fn"})

        def apply(self, setup, *, seed):
            return setup

        def preview_apply(self, setup, *, seed):
            raise NoPreview("'secret' keeps its loss to itself.")

    class Broken(Remedy):
        name, changes = "broken", Changes(wraps={"transform"})

        def apply(self, setup, *, seed):
            raise RuntimeError("boom")

    REMEDIES.register("secret_preview", lambda: Secret())
    REMEDIES.register("broken_preview", lambda: Broken())
    try:
        code = main(["preview", str(ROOT / "recipes" / "digits.yaml"), "--out", "o", "--examples", "2", "--set",
                     "remedies=[secret_preview, broken_preview, {name: chain, remedies: [secret_preview, augment]}]"])
    finally:
        REMEDIES.unregister("secret_preview")
        REMEDIES.unregister("broken_preview")
    assert code == 0, capsys.readouterr().err
    s = _sections((hermetic / "o" / "preview.html").read_text(encoding="utf-8"))
    assert _unavailable(s["secret_preview"]) == ["&#x27;secret&#x27; keeps its loss to itself."]
    assert "<h4>" not in s["secret_preview"]
    assert _unavailable(s["broken_preview"]) == ["Remedy &#x27;broken_preview&#x27; cannot be previewed: RuntimeError: boom"]
    chain = s["secret_preview+augment"]
    assert len(_unavailable(chain)) == 1 and "<h4>Per-sample augmentation</h4>" in chain  # the other member shows


def test_synthetic_samples_a_cached_generator_and_never_trains(hermetic, monkeypatch, capsys):
    import scarce.synth.trainer as trainer
    from scarce.experiment.plan import cut_subset, get_bundle
    from scarce.remedies.synthetic import Synthetic
    from scarce.data.datasets import as_image_array

    spec = {"name": "synthetic", "n_per_class": 2, "steps": 1, "ngf": 4, "ndf": 4, "nz": 8, "batch_size": 8,
            "cache_dir": "gan"}
    args = ["preview", str(ROOT / "recipes" / "synthetic_images.yaml"), "--out", "o", "--examples", "3",
            "--set", "remedies=[{name: synthetic, n_per_class: 2, steps: 1, ngf: 4, ndf: 4, nz: 8, batch_size: 8, "
            "cache_dir: gan}]", "--set", "references=[]", "--set", "selection=holdout"]
    assert main(args) == 0
    page = (hermetic / "o" / "preview.html").read_text(encoding="utf-8")
    assert "needs a trained generator: no preview" in page and not (hermetic / "gan").exists()
    config = load_config(ROOT / "recipes" / "synthetic_images.yaml", overrides=["selection=holdout"])
    bundle = get_bundle(config, None)
    part = bundle.train.subset(cut_subset(config, bundle.train.labels, 10, 0).train)
    remedy = Synthetic(**{k: v for k, v in spec.items() if k != "name"})
    remedy.fit_gan(as_image_array(part), np.asarray(part.labels), 10)  # what `scarce ablate` leaves in the cache
    monkeypatch.setattr(trainer, "train_gan", lambda *a, **k: pytest.fail("a preview trained a GAN"))
    assert main(args) == 0, capsys.readouterr().err
    body = next(iter(_sections((hermetic / "o" / "preview.html").read_text(encoding="utf-8")).values()))
    assert not _unavailable(body)
    assert "80 training rows became 100" in body and "20 new rows" in body and len(_images(body)) == 2


def test_transfer_shows_the_backbones_input_without_weights(hermetic, capsys):
    write_fashion_mnist(hermetic / "data", n_train=60, n_test=20)
    spec = "[{name: linear_probe, backbone: resnet18, size: 32}, {name: finetune, backbone: resnet18, size: 24}]"
    assert main(["preview", str(ROOT / "recipes" / "transfer_fashion.yaml"), "--out", "o", "--size", "2",
                 "--examples", "2", "--set", f"remedies={spec}"]) == 0, capsys.readouterr().err
    s = _sections((hermetic / "o" / "preview.html").read_text(encoding="utf-8"))
    assert list(s) == ["linear_probe(backbone=resnet18,size=32)", "finetune(backbone=resnet18,size=24)"]
    assert "(3×32×32: resized" in s["linear_probe(backbone=resnet18,size=32)"]
    assert "(3×24×24: resized" in s["finetune(backbone=resnet18,size=24)"]
    assert "grayscale = repeated to 3 channels" in s["finetune(backbone=resnet18,size=24)"]


@pytest.mark.parametrize("args, message", [
    (["missing.yaml", "--out", "o"], "Config file not found"),
    (["DIGITS", "--out", "o", "--size", "500"], "`--size` 500 cannot be cut"),
    (["DIGITS", "--out", "o", "--seed", "-1"], "`seed` must be"),
    (["DIGITS", "--out", "o", "--size", "0"], "`size` must be"),
    (["DIGITS", "--out", "o", "--set", "remedies=[augmnt]"], "Did you mean"),
    (["DIGITS", "--out", "a_file"], "`--out` must be a folder"),
])
def test_bad_input_exits_2_before_writing_anything(args, message, hermetic, capsys):
    (hermetic / "a_file").write_text("x")
    assert main(["preview", *(str(ROOT / "recipes" / "digits.yaml") if a == "DIGITS" else a for a in args)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (hermetic / "o").exists() and (hermetic / "a_file").read_text() == "x"


def test_report_html_embeds_the_previews_of_its_folder(digits, tmp_path, capsys):
    import json

    from scarce.experiment.cells import cell_key

    out = tmp_path / "run"
    out.mkdir()
    config = load_config(ROOT / "recipes" / "digits.yaml")
    (out / "config.yaml").write_text(dump_config(config), encoding="utf-8")
    with open(out / "results.jsonl", "w", encoding="utf-8") as f:
        for remedy in ("baseline", "augment", "mixup", "logreg"):
            for seed in config.seeds:
                acc = 0.8 + 0.01 * seed
                f.write(json.dumps({"key": cell_key(remedy, 5, seed), "remedy": remedy, "size": 5, "seed": seed,
                                    "n_test": 100, "metrics": {"accuracy": acc, "balanced_accuracy": acc,
                                                               "macro_f1": acc, "per_class_recall": [acc] * 10},
                                    "hparams": {"lr": 0.01}, "hparams_at_edge": [], "seconds": 1.0,
                                    "prep_seconds": 0.1, "train_seconds": 0.9, "test_counts": [10] * 10}) + "\n")
    assert main(["report", str(out)]) == 0
    assert "preview-row" not in (out / "report.html").read_text(encoding="utf-8")
    shutil.copytree(digits / "preview", out / "preview")
    assert main(["report", str(out)]) == 0
    report = (out / "report.html").read_text(encoding="utf-8")
    assert list(_sections(report)) == ["baseline", "augment", "mixup", "logreg"] and len(_images(report)) == 2 + 4
    (out / "report.html").unlink()
    assert main(["preview", str(ROOT / "recipes" / "digits.yaml"), "--out", str(out), "--seed", "1"]) == 0
    assert "rebuilt" in capsys.readouterr().out
    assert "--seed 1 --out DIR" in (out / "report.html").read_text(encoding="utf-8")


# After load: each image's decoded width, each clip's readiness, and any script error, in the DOM.
PROBE = ("<script>var errs=[];window.addEventListener('error',function(e){errs.push(e.message||'resource')},true);"
         "window.addEventListener('load',function(){document.querySelectorAll('img').forEach(function(i){"
         "i.setAttribute('data-w',i.naturalWidth)});document.querySelectorAll('audio').forEach(function(a){"
         "a.setAttribute('data-ready',a.readyState>0&&!a.error?'yes':'no')});"
         "document.body.setAttribute('data-errors',errs.join('|')||'none')});</script>")


def test_chromium_renders_every_picture_and_clip(audio, digits, tmp_path):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("apt install chromium")
    body = [_sections(p.read_text(encoding="utf-8")) for p in (digits / "preview.html", audio)]
    page = (digits / "preview.html").read_text(encoding="utf-8").replace(
        "</body>", "".join(f'<section class="preview-row" data-row="{k}">{v}</section>' for k, v in body[1].items())
        + "</body>").replace("<body>", "<body>" + PROBE, 1)
    path = tmp_path / "preview.html"
    path.write_text(page, encoding="utf-8")
    flags = [exe, "--headless", "--disable-gpu", "--no-sandbox", "--virtual-time-budget=5000", "--autoplay-policy="
             "no-user-gesture-required", f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()]
    dom = subprocess.run(flags, check=True, capture_output=True, text=True, timeout=120).stdout
    n_img, n_audio = len(_images(page)), page.count("<audio ")
    assert n_img == 4 + 2 and n_audio == 4
    assert dom.count('data-w="') == n_img and 'data-w="0"' not in dom  # every PNG decoded
    assert dom.count('data-ready="yes"') == n_audio  # every WAV read
    assert 'data-errors="none"' in dom


def test_preview_imports_the_plug_ins_of_run_imports_before_reading_the_rows(monkeypatch):
    """A remedy registered by a module of ``run.imports`` previews as the runner would run it."""
    import sys

    from scarce.experiment.config import ExperimentConfig, RunSection
    from scarce.preview import preview_config
    from scarce.remedies import REMEDIES

    monkeypatch.delitem(sys.modules, "ray_plugin", raising=False)
    if "die_once" in REMEDIES:
        REMEDIES.unregister("die_once")
    config = ExperimentConfig(sizes=[5], seeds=[0], remedies=["baseline", "die_once"], run=RunSection(imports=["ray_plugin"]))
    try:
        assert [r.label for r in preview_config(config, examples=2).rows] == ["baseline", "die_once"]
    finally:
        REMEDIES.unregister("die_once")
