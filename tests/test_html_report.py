"""report.html: one self-contained page per ablation (issue 18): it parses, holds every table of
results.md with its rows, embeds both plots as PNG data URIs, escapes user strings, references no
network resource, is written by ``Results.write`` / ``scarce report``, and renders in headless
Chromium (skipped where Chromium is absent)."""

import base64
import json
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
import yaml

from scarce.cli import main
from scarce.experiment.cells import cell_key
from scarce.report.html import render_html
from scarce.report.results import Results
from scarce.metrics import METRICS

EVIL = "<script>alert('x')</script>"
REMEDIES = ["baseline", "augment", EVIL]
SIZES = [5, 10]
SEEDS = [0, 1, 2]


def _record(remedy, size, seed):
    acc = 0.6 + 0.02 * size / 5 + 0.01 * seed + 0.03 * REMEDIES.index(remedy)
    return {"key": cell_key(remedy, size, seed), "remedy": remedy, "size": size, "seed": seed, "n_test": 90,
            "metrics": {"accuracy": acc, "balanced_accuracy": acc, "macro_f1": acc, "per_class_recall": [acc] * 3},
            "hparams": {"lr": 0.01}, "hparams_at_edge": ["lr"], "seconds": 2.0, "prep_seconds": 0.1,
            "train_seconds": 1.9, "test_counts": [30, 30, 30]}


def _results():
    records = [_record(r, k, s) for r in REMEDIES for k in SIZES for s in SEEDS]
    config = {"name": "demo <b>&", "metric": "auto", "remedies": REMEDIES, "sizes": SIZES, "seeds": SEEDS,
              "dataset": {"name": "digits"}, "train": {"lr": [0.01]}}
    failed = [{"remedy": "augment", "size": 20, "seed": 0, "error": "ValueError: <img src=x onerror=alert(1)>"}]
    return Results(records, config, failed)


class _Page(HTMLParser):
    """Tables (class, metric, body rows), image sources and script bodies of a page."""

    def __init__(self):
        super().__init__()
        self.tables, self.images, self.scripts, self.tags = [], [], [], []
        self._in_body = self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "table":
            self.tables.append({"class": a.get("class"), "metric": a.get("data-metric"), "rows": 0})
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.tables[-1]["rows"] += 1
        elif tag == "img":
            self.images.append(a.get("src", ""))
        elif tag == "script":
            self._in_script = True
            self.scripts.append("")

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data


@pytest.fixture(scope="module")
def page():
    return render_html(_results(), command="scarce ablate r.yaml --out <dir>")


def _parse(text):
    p = _Page()
    p.feed(text)
    p.close()
    return p


def test_one_table_per_metric_with_a_row_per_remedy_plus_gain_hparam_and_failed_tables(page):
    p = _parse(page)
    metric_tables = [t for t in p.tables if t["class"] == "metric"]
    assert sorted(t["metric"] for t in metric_tables) == sorted(METRICS)
    assert all(t["rows"] == len(REMEDIES) for t in metric_tables)
    by_class = {t["class"]: t for t in p.tables if t["class"] != "metric"}
    assert by_class["gain"]["rows"] == (len(REMEDIES) - 1) * len(SIZES)  # every row but the reference, per size
    assert by_class["hparams"]["rows"] == len(REMEDIES) * len(SIZES)
    assert by_class["failed"]["rows"] == 1
    assert "<details>" in page and "<summary>" in page  # the config, folded
    assert "Headline metric: <strong>accuracy</strong>" in page


def test_every_image_is_an_embedded_png(page):
    p = _parse(page)
    assert len(p.images) == 2
    for src in p.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(b"\x89PNG\r\n\x1a\n")


def test_user_strings_are_escaped_and_nothing_is_fetched(page):
    p = _parse(page)
    assert len(p.scripts) == 1 and "alert" not in p.scripts[0]  # only the page's own sorting script
    assert p.tags.count("img") == 2 and "b" not in p.tags  # the error's <img> and the name's <b> are text
    assert "&lt;script&gt;alert(" in page and "&lt;img src=x onerror" in page
    assert "<code>scarce ablate r.yaml --out &lt;dir&gt;</code>" in page
    assert "http://" not in page and "https://" not in page


def test_results_write_and_scarce_report_write_report_html(tmp_path, capsys):
    _results().write(tmp_path)
    assert _parse((tmp_path / "report.html").read_text(encoding="utf-8")).tables
    (tmp_path / "report.html").unlink()
    with pytest.raises(ValueError, match="`command` must be a string"):
        render_html(_results(), command=3)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(_results().config), encoding="utf-8")
    with open(tmp_path / "results.jsonl", "w", encoding="utf-8") as f:
        for r in _results().records:
            f.write(json.dumps(r) + "\n")
    assert main(["report", str(tmp_path)]) == 0
    assert "report.html" in capsys.readouterr().out
    assert len(_parse((tmp_path / "report.html").read_text(encoding="utf-8")).images) == 2


# Test-side probe: after load, record each image's decoded width and any script error in the DOM.
PROBE = ("<script>var errs=[];window.addEventListener('error',function(e){errs.push(e.message)});"
         "window.addEventListener('load',function(){document.querySelectorAll('img').forEach(function(i){"
         "i.setAttribute('data-w',i.naturalWidth)});document.querySelector('table.gain th').click();"
         "document.body.setAttribute('data-errors',errs.join('|')||'none')});</script>")


def test_chromium_renders_every_table_and_image(page, tmp_path):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("apt install chromium")
    path = tmp_path / "report.html"
    path.write_text(page.replace("<body>", "<body>" + PROBE, 1), encoding="utf-8")
    flags = [exe, "--headless", "--disable-gpu", "--no-sandbox", "--virtual-time-budget=5000",
             f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "shot.png"
    subprocess.run(flags + [f"--screenshot={shot}", "--window-size=1200,3000", path.as_uri()],
                   check=True, capture_output=True, timeout=120)
    assert shot.read_bytes().startswith(b"\x89PNG")
    dom = subprocess.run(flags + ["--dump-dom", path.as_uri()], check=True, capture_output=True, text=True,
                         timeout=120).stdout
    p = _parse(dom)
    assert sorted(t["class"] for t in p.tables) == sorted(["metric"] * len(METRICS) + ["gain", "hparams", "failed"])
    assert len(p.images) == 2
    assert dom.count('data-w="') == 2 and 'data-w="0"' not in dom  # both PNGs decoded
    assert 'data-errors="none"' in dom  # no script error, the sort click included


def test_chromium_renders_the_report_with_the_demo_previews(tmp_path):
    """The demo's page (issue 18): tables, both plots and the previews `make demo` writes into the same
    folder all render, every picture decodes, no script error."""
    from pathlib import Path

    from scarce.report.html import read_previews
    from scarce.preview.command import preview_command

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("apt install chromium")
    recipe = Path(__file__).resolve().parents[1] / "recipes" / "digits.yaml"
    preview_command(recipe, out=tmp_path / "run")
    previews = read_previews(tmp_path / "run")
    assert previews and "preview-row" in previews
    page = render_html(_results(), command="make demo", previews=previews)
    path = tmp_path / "report.html"
    path.write_text(page.replace("<body>", "<body>" + PROBE, 1), encoding="utf-8")
    dom = subprocess.run([exe, "--headless", "--disable-gpu", "--no-sandbox", "--virtual-time-budget=5000",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    p = _parse(dom)
    n_images = len(_parse(page).images)
    assert n_images > 2  # both plots and the previews' pictures
    assert sorted(t["class"] for t in p.tables if t["class"] in ("metric", "gain", "hparams", "failed")) == \
        sorted(["metric"] * len(METRICS) + ["gain", "hparams", "failed"])
    assert dom.count('data-w="') == n_images and 'data-w="0"' not in dom  # every picture decoded
    assert 'data-errors="none"' in dom
    for row in ("baseline", "augment", "mixup", "logreg"):  # one rendered preview section per recipe row
        assert f'class="preview-row" data-row="{row}"' in dom
