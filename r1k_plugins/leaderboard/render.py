"""Write the board: one function per format.

``to_markdown`` and ``to_html`` walk the same :class:`model.Board` (sections.py builds it), so
they show the same sections, tables and cell texts; ``to_json`` writes the document with the
board under ``"board"``; ``to_csv`` writes the document's per-row figures at full precision.
A renderer shows every section it is given: adding content means adding a section, not code here.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
from typing import Any

from r1k_plugins.leaderboard.board import verdict
from r1k_plugins.leaderboard.model import (
    Board,
    Cell,
    Section,
    Span,
    Table,
    Text,
    spans,
    to_dict,
)

# --------------------------------------------------------------------------- escaping


def md_escape(s: Any) -> str:
    """Text for a Markdown table cell or list item. Markdown renders inline HTML, so text from
    result files is escaped (``<script>``, ``<img onerror=...>`` show as text: no ``<`` reaches the
    renderer), and ``|`` / newlines / backticks cannot break the table."""
    text = str(s).replace("&", "&amp;").replace("<", "&lt;")  # no tag can open; "->" stays readable
    return " ".join(text.replace("|", "\\|").replace("`", "\\`").split("\n"))


def md_prose_escape(s: Any) -> str:
    """Text for a Markdown paragraph or heading: a ``<`` that could open a tag and a ``&`` that
    could start an entity are escaped; ``p < 0.05`` and ``|Δ|`` stay as written."""
    text = re.sub(r"&(?=#?\w+;)", "&amp;", str(s))
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)


def html_escape(s: Any) -> str:
    """Text for HTML content and attribute values."""
    return html.escape(str(s), quote=True)


# --------------------------------------------------------------------------- Markdown

_MD_STYLE = {"": "{}", "code": "`{}`", "em": "*{}*", "strong": "**{}**"}


def _md_text(t: Text, cell: bool = False) -> str:
    esc = md_escape if cell else md_prose_escape
    return "".join(_MD_STYLE[s.style].format(esc(s.text)) for s in t)


def _md_cell(c: Cell) -> str:
    # a line break inside a cell: each line escaped, joined by <br>
    lines: list[list[Span]] = [[]]
    for s in spans(c.text):
        for i, part in enumerate(s.text.split("\n")):
            if i:
                lines.append([])
            if part:
                lines[-1].append(Span(part, s.style))
    return "<br>".join(_md_text(tuple(ln), cell=True) for ln in lines)


def _md_table(t: Table) -> list[str]:
    out = []
    if t.caption:
        out += [_md_text(t.caption), ""]
    out.append("| " + " | ".join(md_escape(c.text) for c in t.columns) + " |")
    out.append("|" + "".join("---:|" if c.numeric else "---|" for c in t.columns))
    out += ["| " + " | ".join(_md_cell(c) for c in r.cells) + " |" for r in t.rows]
    return out + [""]


def _md_section(s: Section) -> list[str]:
    out = ["#" * s.level + " " + _md_text(s.title), ""]
    for p in s.intro:
        out += [_md_text(p), ""]
    for t in s.tables:
        out += _md_table(t)
    for im in s.images:
        out += [f"![{md_escape(im.alt)}]({im.file})", ""]
    if s.bullets:
        out += ["- " + _md_text(b, cell=True) for b in s.bullets] + [""]
    return out


def to_markdown(board: Board) -> str:
    """GitHub Markdown: ``# title``, the generator comment, the intro, then every section."""
    out = [f"# {md_prose_escape(board.title)}", "", f"<!-- {board.generator.replace('--', '- -')} -->", ""]
    for p in board.intro:
        out += [_md_text(p), ""]
    for s in board.sections:
        out += _md_section(s)
    return "\n".join(out)


# --------------------------------------------------------------------------- HTML

CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#ffffff; --head:#f6f8fa; --warn:#fff1e5;
        --warnfg:#bc4c00; --ok:#1a7f37; --bad:#cf222e; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg);
       background: var(--bg); margin: 0 auto; padding: 24px 32px; max-width: 1400px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px;
     border-bottom: 1px solid var(--line); padding-bottom: 4px; } h3 { font-size: 15px; margin: 18px 0 6px; }
p { margin: 4px 0 10px; max-width: 1100px; } p.meta, section p { color: var(--muted); }
.scroll { overflow-x: auto; margin-bottom: 8px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; color: var(--muted); padding: 2px 0 6px; }
th, td { border: 1px solid var(--line); padding: 5px 9px; vertical-align: top; }
th { background: var(--head); text-align: left; font-weight: 600; }
th.num, td.num { text-align: right; }
td { white-space: nowrap; } #inputs td, #skipped td { white-space: normal; }
tbody tr:hover td { background: #f3f6fa; }
td.missing { color: var(--muted); }
td.disagree, tbody tr:hover td.disagree { background: var(--warn); }
td.agree { color: var(--ok); } td.disagree strong { color: var(--bad); }
td.better { color: var(--ok); font-weight: 600; } td.worse { color: var(--bad); font-weight: 600; }
tr.baseline td { font-weight: 600; }
tr.history td { color: var(--muted); }
td.mono { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; white-space: normal; min-width: 9em; }
.arm { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; background: #eef1f4;
       white-space: nowrap; font-weight: 400; }
.arm.forward { background: #ddf4ff; } .arm.reverse { background: #fff1e5; } .arm.mixed { background: #dafbe1; }
.arm.dpo { outline: 1px solid #8250df; }
figure { margin: 6px 0 16px; } figcaption { color: var(--muted); font-size: 12px; }
img.plot { max-width: 100%; border: 1px solid var(--line); }
#warnings li { color: var(--warnfg); }
details summary { cursor: pointer; color: var(--muted); margin: 4px 0; }
code { font-size: 12px; } h2 code, h3 code { font-size: inherit; }
"""

_HTML_TAG = {"code": "code", "em": "em", "strong": "strong"}


def _html_text(t: Text) -> str:
    out = []
    for s in t:
        body = html_escape(s.text).replace("\n", "<br>")
        tag = _HTML_TAG.get(s.style)
        out.append(f"<{tag}>{body}</{tag}>" if tag else body)
    return "".join(out)


def _class(names: list[str]) -> str:
    names = [re.sub(r"[^A-Za-z0-9_-]", "-", n) for n in names if n]
    return f' class="{" ".join(names)}"' if names else ""


def _html_cell(c: Cell, numeric: bool) -> str:
    body = _html_text(spans(c.text))
    flags = sorted(f for f in c.flags if ":" not in f and f != "arm")
    if "arm" in c.flags:
        fams = sorted(f.split(":", 1)[1] for f in c.flags if f.startswith("family:"))
        body = f"<span{_class(['arm', *fams])}>{body}</span>"
    title = f' title="{html_escape(c.title)}"' if c.title else ""
    return f"<td{_class((['num'] if numeric else []) + flags)}{title}>{body}</td>"


def _html_table(t: Table) -> str:
    o = []
    if t.collapsed:
        o.append(f"<details><summary>{html_escape(t.collapsed)}</summary>")
    o.append('<div class="scroll"><table>')
    if t.caption:
        o.append(f"<caption>{_html_text(t.caption)}</caption>")
    o.append(
        "<thead><tr>"
        + "".join(f"<th{_class(['num'] if c.numeric else [])}>{html_escape(c.text)}</th>" for c in t.columns)
        + "</tr></thead><tbody>"
    )
    for r in t.rows:
        o.append(
            f"<tr{_class(sorted(r.flags))}>"
            + "".join(_html_cell(c, col.numeric) for c, col in zip(r.cells, t.columns))
            + "</tr>"
        )
    o.append("</tbody></table></div>")
    if t.collapsed:
        o.append("</details>")
    return "\n".join(o)


def _html_section(s: Section, images: dict[str, bytes]) -> str:
    h = f"h{s.level}"
    o = [f'<section id="{html_escape(s.id)}">', f"<{h}>{_html_text(s.title)}</{h}>"]
    o += [f"<p>{_html_text(p)}</p>" for p in s.intro]
    o += [_html_table(t) for t in s.tables]
    for im in s.images:
        data = images.get(im.file)
        if data is None:
            o.append(f"<p>{html_escape(im.alt)} ({html_escape(im.file)}: not written)</p>")
            continue
        b64 = base64.b64encode(data).decode("ascii")
        o.append(
            f'<figure><img class="plot" alt="{html_escape(im.alt)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{html_escape(im.alt)} ({html_escape(im.file)})</figcaption></figure>"
        )
    if s.bullets:
        o.append("<ul>" + "".join(f"<li>{_html_text(b)}</li>" for b in s.bullets) + "</ul>")
    o.append("</section>")
    return "\n".join(o)


def to_html(board: Board, images: dict[str, bytes]) -> str:
    """A static, self-contained page: inline CSS, the PNGs embedded, no script, nothing fetched."""
    o = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html_escape(board.title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<!-- {html_escape(board.generator).replace('--', '- -')} -->",
        f"<h1>{html_escape(board.title)}</h1>",
    ]
    o += [f'<p class="meta">{_html_text(p)}</p>' for p in board.intro]
    o += [_html_section(s, images) for s in board.sections]
    o.append("</body></html>\n")
    return "\n".join(o)


# --------------------------------------------------------------------------- JSON / CSV


def to_json(doc: dict, board: Board | None = None) -> str:
    """leaderboard.json: the document (board.build), with the board model under ``"board"``."""
    out = dict(doc) if board is None else {**doc, "board": to_dict(board)}
    return json.dumps(out, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


def _num_csv(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return repr(x)
    return str(x)


def csv_columns(doc: dict) -> list[str]:
    cols = ["name", "arm", "model", "run", "stage", "data_mode"]
    has_delta = doc["baseline"] is not None
    xh_tasks = {c["task"] for c in doc["cross_harness"]}
    for t in doc["tasks"]:
        for h in t["harnesses"]:
            p = f"{t['name']}|{h}|"
            cols += [p + "score", p + "stderr", p + "n"]
            if has_delta:
                cols += [p + "delta", p + "delta_stderr", p + "delta_method"]
        if t["name"] in xh_tasks:
            cols.append(f"{t['name']}|agreement")
    return cols


def to_csv(doc: dict) -> str:
    """leaderboard.csv: one line per row, every figure and delta at full precision."""
    cols = csv_columns(doc)
    agree = {(c["row"], c["task"]): c for c in doc["cross_harness"]}
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in doc["rows"]:
        m = r["manifest"] or {}
        vals: dict[str, Any] = {
            "name": r["name"],
            "arm": r["arm"],
            "model": r["model"],
            "run": r["run"],
            "stage": m.get("stage"),
            "data_mode": m.get("data_mode"),
        }
        for t, per_h in r["results"].items():
            for h, f in per_h.items():
                p = f"{t}|{h}|"
                vals[p + "score"], vals[p + "stderr"], vals[p + "n"] = f["score"], f["stderr"], f["n"]
                d = r.get("deltas", {}).get(t, {}).get(h)
                if d is not None:
                    vals[p + "delta"], vals[p + "delta_stderr"] = d["delta"], d["stderr"]
                    vals[p + "delta_method"] = d["method"]
            c = agree.get((r["name"], t))
            if c is not None:
                vals[f"{t}|agreement"] = verdict(c)
        w.writerow([_num_csv(vals.get(c)) for c in cols])
    return buf.getvalue()
