"""``report.html``: one self-contained page per ablation, the same content as ``results.md``.

The page holds the title, the unlabelled pool (when the run had one: :mod:`scarce.report.pool`), the
command, the resolved config (in a ``<details>``), the headline metric
and why it was chosen, the verdicts (``scarce.report.verdict``), the plots (PNG embedded as ``data:`` URIs, so the page opens from disk and sends
as one file), the Warnings, every table of ``results.md`` as a real HTML ``<table>`` (click a header to
sort), the Failed cells and, when the results folder holds them (``scarce preview RECIPE --out
<this folder>``), the previews of what each remedy does to the data. It references no network resource and needs no JavaScript framework;
every user string (labels, config values, the command, error messages) is escaped.

Example:
    >>> from scarce.report.results import Results
    >>> page = render_html(Results([], {"name": "empty"}))
    >>> page.startswith("<!doctype html>")
    True
"""

from __future__ import annotations

import base64
import dataclasses
import html
import re
from pathlib import Path

import yaml

from scarce.experiment.config import ExperimentConfig
from scarce.experiment.log import PREVIEW_SECTIONS
from scarce.report import plots, pool
from scarce.report import verdict as vd

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222;line-height:1.45}
h1{font-size:1.6em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}h3{margin-top:1.4em}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px}
pre{background:#f7f7f7;padding:.8em;overflow:auto;font-size:.85em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{background:#f0f0f0;cursor:pointer;user-select:none}
tbody tr:nth-child(even){background:#fafafa}
table.failed td{white-space:normal;text-align:left}table.hparams td{text-align:left}
.note{font-style:italic;color:#444;font-size:.9em}
.warnings li{color:#8a4b00}
.verdicts li.helps{color:#1a6b1a}.verdicts li.hurts{color:#a11}.verdicts li.not-shown{color:#666}
figure{display:inline-block;margin:.5em 1em .5em 0}img{max-width:100%}
table.preview td,table.preview th{text-align:left;white-space:normal;vertical-align:top}
.previews figure{display:block}.unavailable{color:#8a4b00}audio{height:2em;vertical-align:middle}
.clip{display:inline-block;margin:.2em 1em .2em 0;font-size:.85em}
"""


# Click a header to sort its table by that column (numbers by their leading value, else as text).
_JS = """
document.querySelectorAll('table').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){
    th.addEventListener('click',function(){
      var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows),up=th.dataset.dir!=='up';
      th.dataset.dir=up?'up':'down';
      function key(r){var s=r.cells[i].textContent,n=parseFloat(s.replace(/^[^0-9+\\-.]*/,''));return isNaN(n)?s:n;}
      rows.sort(function(a,c){var x=key(a),y=key(c);var d=(typeof x===typeof y)?(x<y?-1:x>y?1:0):
        (typeof x==='number'?-1:1);return up?d:-d;});
      rows.forEach(function(r){b.appendChild(r);});
    });
  });
});
"""

_PLOT_ALT = {"metric_vs_size.png": "learning curves: the headline metric against the training size",
             "gain_vs_size.png": "paired gains over the reference per size, with their intervals"}


def read_previews(out_dir: str | Path) -> str | None:
    """The previews ``scarce preview`` wrote into ``out_dir`` (an HTML fragment), or ``None``."""
    path = Path(out_dir) / PREVIEW_SECTIONS
    return path.read_text(encoding="utf-8") if path.is_file() else None


def render_html(results, *, command: str | None = None, previews: str | None = None) -> str:
    """One self-contained HTML page with everything ``results.md`` shows, the plots embedded.

    Args:
        results: a :class:`~scarce.report.results.Results`.
        command: the command that produced the results (shown verbatim, escaped); ``None`` omits it.
        previews: the fragment :func:`read_previews` returns (written by ``scarce preview``), shown
            after the tables; ``None`` omits it.

    Returns:
        The page as a string (UTF-8 text, no external resources).

    Raises:
        ValueError: ``command`` or ``previews`` is given and is not a string.
    """
    for key, value in (("command", command), ("previews", previews)):
        if value is not None and not isinstance(value, str):
            raise ValueError(f"`{key}` must be a string or None, got {type(value).__name__}.")
    name = results.config.name if results.config else ""
    metric, why = results.metric_choice
    summaries = results.summaries()
    parts = [f"<h1>Results: {html.escape(name)}</h1>", f"<p>{_inline(results.overview())}</p>"]
    parts += [f"<p>{_inline(line)}</p>" for line in [pool.pool_line(results.records)] if line]
    if command:
        parts.append(f"<p>Produced by <code>{html.escape(command)}</code>.</p>")
    parts.append(_config(results.config))
    parts.append(f"<p>Headline metric: <strong>{html.escape(metric)}</strong> ({_inline(why)}).</p>")
    parts.append(_verdicts(results.verdicts(summaries[metric]), margin=results.margin, metric=metric))
    parts.append(_figures(results) if results.records else "<p>No finished cells yet: nothing to plot.</p>")
    parts.append(f"<p>{_inline(results.units_note())}</p>")
    parts.append(_warnings(results.warnings(summaries[metric])))
    parts += [_table(t) for t in results.tables(summaries)]
    if previews:
        parts.append(previews)
    parts.append("<p class=\"note\">Rebuild this page from the log with <code>scarce report &lt;this folder&gt;</code>."
                 "</p>")
    return ("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>Results: {html.escape(name)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            + "\n".join(parts) + f"\n<script>{_JS}</script>\n</body>\n</html>\n")


def _inline(text: str) -> str:
    """Markdown-inline text (`code`, **strong**, a note wrapped in _..._) as escaped HTML."""
    text = str(text)
    if len(text) > 1 and text.startswith("_") and text.endswith("_"):
        text = text[1:-1]
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]*)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)


def _config(config: ExperimentConfig | None) -> str:
    text = yaml.safe_dump(dataclasses.asdict(config), sort_keys=False, allow_unicode=True) if config else "(no config.yaml)\n"
    return ("<details><summary>Config (the resolved <code>config.yaml</code>)</summary>\n"
            f"<pre>{html.escape(text)}</pre></details>")


def _figures(results) -> str:
    out = []
    for file, fig in results.figures().items():
        data = base64.b64encode(plots.png_bytes(fig)).decode("ascii")
        alt = _PLOT_ALT.get(file, file)
        out.append(f"<figure><img src=\"data:image/png;base64,{data}\" alt=\"{html.escape(alt)}\">"
                   f"<figcaption class=\"note\">{html.escape(file)}</figcaption></figure>")
    return "<div class=\"plots\">" + "".join(out) + "</div>"


def _verdicts(verdicts: list, *, margin: float, metric: str) -> str:
    """The Verdicts section of ``results.md``: the rule, then one line per comparison."""
    if not verdicts:
        return ""
    intro, lines = vd.section(verdicts, margin=margin, metric=metric)
    items = "".join(f"<li class=\"{html.escape(v.outcome.replace(' ', '-'))}\">{_inline(line)}</li>"
                    for v, line in zip(verdicts, lines))
    return f"<section class=\"verdicts\"><h2>Verdicts</h2><p class=\"note\">{_emphasis(intro)}</p><ul>{items}</ul></section>"


def _emphasis(text: str) -> str:
    """:func:`_inline` with _emphasis_ as ``<em>``."""
    return re.sub(r"(?<![\w])_([^_]+)_(?![\w])", r"<em>\1</em>", _inline(text))


def _warnings(warnings: list[str]) -> str:
    if not warnings:
        return "<section class=\"warnings\"><h2>Warnings</h2><p>None: no row looks under-trained and the reference is above the majority-class rate.</p></section>"
    items = "".join(f"<li>{_inline(w)}</li>" for w in warnings)
    return f"<section class=\"warnings\"><h2>Warnings</h2><ul>{items}</ul></section>"


def _table(table) -> str:
    """A report ``Table`` as a heading, its notes and a ``<table>`` (header row in ``<thead>``)."""
    level = min(max(int(table.level), 2), 6)
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>\n" for row in table.rows)
    notes = "".join(f"<p class=\"note\">{_inline(n)}</p>" for n in table.notes)
    return (f"<section>\n<h{level}>{_inline(table.title)}</h{level}>\n{notes}\n"
            f"<table class=\"{html.escape(table.kind)}\" data-metric=\"{html.escape(table.metric)}\">\n"
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n</section>")
