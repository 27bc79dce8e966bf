"""The preview as files: ``preview.html`` (self-contained: PNGs and WAVs embedded as ``data:`` URIs,
no network, no script), the PNGs in ``preview/`` and ``preview/sections.html``, the page's body, which
``report.html`` embeds when the results folder holds it (:func:`scarce.report.html.render_html`)."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from scarce._io import atomic_write, atomic_write_text
from scarce.experiment.log import PREVIEW_SECTIONS
from scarce.preview.run import Preview, RowPreview

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}h3{margin-top:1.6em}h4{margin:1em 0 .3em}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}th{background:#f0f0f0}
.note{font-style:italic;color:#444;font-size:.9em}.unavailable{color:#8a4b00}
figure{display:block;margin:.5em 0}img{max-width:100%}audio{height:2em;vertical-align:middle}
.clip{display:inline-block;margin:.2em 1em .2em 0;font-size:.85em}
"""


def slug(text: str) -> str:
    """``text`` as a file-name part: letters, digits and ``_`` only."""
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")[:40] or "row"


def _data_uri(kind: str, payload: bytes) -> str:
    return f"data:{kind};base64,{base64.b64encode(payload).decode('ascii')}"


def _block(block, alt: str) -> str:
    out = [f"<h4>{html.escape(block.title)}</h4>"] if block.title else []
    if block.text:
        out.append(f"<p>{html.escape(block.text)}</p>")
    if block.png is not None:
        out.append(f"<figure><img src=\"{_data_uri('image/png', block.png)}\" alt=\"{html.escape(alt)}\"></figure>")
    if block.table:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in block.table[0])
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>\n"
                       for row in block.table[1:])
        out.append(f"<table class=\"preview\"><thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody></table>")
    for caption, wav in block.audio:
        out.append(f"<span class=\"clip\">{html.escape(caption)} <audio controls preload=\"auto\" "
                   f"src=\"{_data_uri('audio/wav', wav)}\"></audio></span>")
    return "\n".join(out)


def _row(row: RowPreview) -> str:
    head = f"<h3>{html.escape(row.label)}</h3>\n<p class=\"note\">Remedy <code>{html.escape(row.remedy)}</code>"
    if row.learner:
        head += f", trained by the reference learner <code>{html.escape(row.learner)}</code>"
    head += ".</p>"
    parts = [head]
    parts += [f"<p class=\"unavailable\">{html.escape(why)}</p>" for why in row.unavailable]
    parts += [_block(b, f"{row.label}: {b.title or 'preview'}") for b in row.blocks]
    if row.notes:
        notes = "; ".join(f"{k} = {v}" for k, v in row.notes.items())
        parts.append(f"<p class=\"note\">What the remedy recorded: {html.escape(notes)}</p>")
    return f"<section class=\"preview-row\" data-row=\"{html.escape(row.label)}\">\n" + "\n".join(parts) + "\n</section>"


def render_sections(preview: Preview) -> str:
    """The previews as a page fragment: one ``<section class="preview-row">`` per row."""
    intro = (f"<p>What each row's remedy does to the training data of <code>{html.escape(preview.dataset)}</code>: "
             f"{html.escape(preview.part)}. Nothing is trained; rebuild with "
             f"<code>scarce preview RECIPE --size {preview.size} --seed {preview.seed} --out DIR</code>.</p>")
    rows = "\n".join(_row(r) for r in preview.rows)
    return f"<section class=\"previews\">\n<h2>What each remedy does</h2>\n{intro}\n{rows}\n</section>\n"


def render_page(preview: Preview) -> str:
    """``preview.html``: one self-contained page (no script, no external resource)."""
    title = f"Preview: {html.escape(preview.name)} (size {preview.size}, seed {preview.seed})"
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
            + render_sections(preview) + "</body>\n</html>\n")


def write_preview(preview: Preview, out_dir: str | Path) -> Path:
    """Write ``preview.html``, ``preview/<row>_<block>.png`` and ``preview/sections.html`` into
    ``out_dir`` (created; earlier PNGs of ``preview/`` are replaced). Returns the page's path."""
    out_dir = Path(out_dir)
    folder = out_dir / PREVIEW_SECTIONS.parent
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    for i, row in enumerate(preview.rows):
        for j, block in enumerate(row.blocks):
            if block.png is not None:
                png = block.png
                atomic_write(folder / f"{i:02d}_{slug(row.label)}_{j}_{slug(block.name)}.png",
                             lambda tmp, png=png: tmp.write_bytes(png))
    atomic_write_text(out_dir / PREVIEW_SECTIONS, render_sections(preview))
    page = out_dir / "preview.html"
    atomic_write_text(page, render_page(preview))
    return page
