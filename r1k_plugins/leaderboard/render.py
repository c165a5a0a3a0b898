"""Render the leaderboard document as CSV, JSON, Markdown and a self-contained HTML page."""

from __future__ import annotations

import base64
import csv
import html
import io
import json
from typing import Any

from r1k_plugins.leaderboard.board import AGREE_ALPHA, AGREE_SIGMAS, SIGNIFICANT_Z
from r1k_plugins.leaderboard.ingest import HARNESSES, INSPECT, LMEVAL

HARNESS_LABEL = {LMEVAL: "lm-eval", INSPECT: "Inspect"}


# --------------------------------------------------------------------------- helpers


def fmt(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "–"
    if abs(x) >= 1000 or (x != 0 and abs(x) < 0.001):
        s = f"{x:+.3g}" if signed else f"{x:.3g}"
    else:
        s = f"{x:+.3f}" if signed else f"{x:.3f}"
    return s


def _num_csv(x: Any) -> str:
    if x is None:
        return ""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return repr(x)
    return str(x)


def figure_text(f: dict) -> str:
    s = fmt(f["score"])
    if f.get("stderr") is not None:
        s += f" ± {fmt(f['stderr'])}"
    return s


def delta_text(d: dict) -> str:
    if d["delta"] is None:
        return "–"
    s = fmt(d["delta"], signed=True)
    if d["stderr"] is not None:
        s += f" ± {fmt(d['stderr'])}"
    if d.get("significant"):
        s += " *"
    return s


def _decoding_text(d: dict | None) -> str:
    if not d or d.get("greedy") is None:
        return "?"
    if d["greedy"]:
        return "greedy"
    return "sampled" + (f" T={d['temperature']:g}" if d.get("temperature") is not None else "")


def _agreement_index(doc: dict) -> dict[tuple[str, str], dict]:
    return {(c["row"], c["task"]): c for c in doc["cross_harness"]}


def _verdict(c: dict) -> str:
    if c["agree"] is True:
        return "agree"
    if c["agree"] is False:
        return "DISAGREE"
    return "not judged"


# --------------------------------------------------------------------------- JSON / CSV


def to_json(doc: dict) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"


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
    cols = csv_columns(doc)
    agree = _agreement_index(doc)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in doc["rows"]:
        m = r["manifest"] or {}
        vals: dict[str, Any] = {"name": r["name"], "arm": r["arm"], "model": r["model"], "run": r["run"],
                                "stage": m.get("stage"), "data_mode": m.get("data_mode")}
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
                vals[f"{t}|agreement"] = _verdict(c)
        w.writerow([_num_csv(vals.get(c)) for c in cols])
    return buf.getvalue()


# --------------------------------------------------------------------------- Markdown


def _md(s: Any) -> str:
    """A table cell / list item: Markdown renders inline HTML, so text from result files is escaped
    (``<script>``, ``<img onerror=...>`` show as text: no ``<`` reaches the renderer), and ``|`` / newlines cannot break the table."""
    text = str(s).replace("&", "&amp;").replace("<", "&lt;")  # no tag can open; "->" stays readable
    return " ".join(text.replace("|", "\\|").replace("`", "\\`").split("\n"))


def _task_header(t: dict) -> str:
    return f"{t['name']} (group)" if t["group"] else t["name"]


def score_cell(r: dict, t: dict, agree: dict, sep: str) -> str:
    per_h = r["results"].get(t["name"])
    if not per_h:
        return "–"
    parts = []
    for h in HARNESSES:
        f = per_h.get(h)
        if f is not None:
            n = f"n={f['n']}, " if f["n"] is not None else ""
            parts.append(f"{figure_text(f)} ({n}{HARNESS_LABEL[h]})")
    c = agree.get((r["name"], t["name"]))
    if c is not None and c["agree"] is False:
        parts[-1] += " ⚠"
    return sep.join(parts)


def _summary_line(doc: dict) -> str:
    n_files = len(doc["sources"])
    by_h = {h: sum(1 for s in doc["sources"] if s["harness"] == h) for h in HARNESSES}
    return (f"{len(doc['rows'])} row(s) · {len(doc['tasks'])} task(s) · {n_files} result file(s) used "
            f"({by_h[LMEVAL]} lm-eval, {by_h[INSPECT]} Inspect) · {len(doc['skipped'])} skipped")


def to_markdown(doc: dict, plots: list[str]) -> str:
    agree = _agreement_index(doc)
    out = ["# r1k leaderboard", "",
           f"<!-- generated by `r1k leaderboard export`; {doc['schema']}; {doc['generator']} -->", "",
           _summary_line(doc), "",
           f"Cells: primary metric ± 1 stderr (n, harness); the metric per task is named in the header. "
           "⚠ = lm-eval and Inspect disagree (see Cross-harness agreement).", ""]
    tasks = doc["tasks"]
    out.append("## Scores")
    out.append("")
    out.append("| Model | Arm | " + " | ".join(f"{_md(_task_header(t))} [{_md(t['metric'])}]" for t in tasks) + " |")
    out.append("|---|---|" + "---:|" * len(tasks))
    for r in doc["rows"]:
        cells = ["<br>".join(_md(p) for p in score_cell(r, t, agree, "\n").split("\n")) for t in tasks]
        out.append(f"| {_md(r['name'])} | {_md(r['arm'])} | " + " | ".join(cells) + " |")
    out.append("")

    if doc["baseline"] is not None:
        b = doc["baseline"]
        out += [f"## Deltas vs baseline `{_md(b['name'])}`", "",
                "Row minus baseline, same harness. *paired*: both sides have per-sample logs (mean per-item "
                "difference over the common items, paired stderr); *unpaired*: from the two stderrs "
                f"(√(se₁²+se₂²)). * = |Δ| > {SIGNIFICANT_Z:g}·se.", ""]
        cols = [(t, h) for t in tasks for h in t["harnesses"]]
        out.append("| Model | Arm | " + " | ".join(f"{_md(t['name'])} ({HARNESS_LABEL[h]})" for t, h in cols) + " |")
        out.append("|---|---|" + "---:|" * len(cols))
        for r in doc["rows"]:
            if r["name"] == b["name"]:
                continue
            cells = []
            for t, h in cols:
                d = r.get("deltas", {}).get(t["name"], {}).get(h)
                n = f" (n={d['n']})" if d is not None and d["n"] else ""
                if d is not None and d.get("n_row") and d["n"] and (d["n_row"], d["n_base"]) != (d["n"], d["n"]):
                    n = f" (n={d['n']} common of {d['n_row']} / {d['n_base']})"
                cells.append("–" if d is None else f"{delta_text(d)} {d['method']}{n}")
            out.append(f"| {_md(r['name'])} | {_md(r['arm'])} | " + " | ".join(_md(c) for c in cells) + " |")
        out.append("")

    if doc["cross_harness"]:
        out += ["## Cross-harness agreement", "",
                "The same model and task run in both harnesses. *paired* (both have per-sample logs): "
                "verdicts compared item by item on the common record ids, flagged when an exact McNemar "
                f"test gives p < {AGREE_ALPHA:g}; *unpaired*: flagged when |lm-eval − Inspect| > "
                f"{AGREE_SIGMAS:g}·√(se₁²+se₂²). A sampled run is never compared with a greedy one.", "",
                "| Model | Task | Metric | lm-eval | Inspect | decoding | method | common items | identical | "
                "p / threshold | first differing | verdict |",
                "|---|---|---|---:|---:|---|---|---:|---:|---:|---|---|"]
        for c in doc["cross_harness"]:
            v = _verdict(c)
            dec = " / ".join(_decoding_text(c[h].get("decoding")) for h in (LMEVAL, INSPECT))
            if c.get("method") == "paired":
                common = f"{c['n_common']} (of {c['n_lmeval']} / {c['n_inspect']})"
                ident, test = f"{c['identical']:.1%}", f"p={c['p_value']:.3g}"
                first = ", ".join(map(str, c["first_differing"])) or "–"
            else:
                common, ident, test, first = "–", "–", fmt(c.get("threshold")), "–"
            verdict = "**DISAGREE** ⚠" if v == "DISAGREE" else (v if not c.get("note") else f"{v}: {c['note']}")
            out.append(f"| {_md(c['row'])} | {_md(c['task'])} | {_md(c['metric'])} | {figure_text(c[LMEVAL])} | "
                       f"{figure_text(c[INSPECT])} | {_md(dec)} | {c.get('method') or '–'} | {common} | {ident} | "
                       f"{test} | {_md(first)} | {_md(verdict)} |")
        out.append("")

    if doc.get("probe"):
        from r1k_plugins.leaderboard.dynamics import markdown_section

        out += markdown_section(doc["probe"], "dynamics.png" in plots)
    if doc.get("arms_compare"):
        from r1k_plugins.leaderboard import arms_compare

        out += arms_compare.markdown_section(doc["arms_compare"])
    plots = [p for p in plots if p != "dynamics.png"]
    if plots:
        out += ["## Plots", ""]
        for p in plots:
            alt = "Directional distinction (r1k_direction)" if p.startswith("direction") else "Scores per task"
            out += [f"![{alt}]({p})", ""]

    out += [f"## Inputs ({len(doc['sources'])} used, {len(doc['skipped'])} skipped)", ""]
    out += ["| File | Harness | Model | Tasks |", "|---|---|---|---|"]
    for s in doc["sources"]:
        tasks_txt = ", ".join(s["tasks"])
        if s["superseded_tasks"]:
            tasks_txt += f" (superseded: {', '.join(s['superseded_tasks'])})"
        out.append(f"| {_md(s['path'])} | {HARNESS_LABEL[s['harness']]} | {_md(s['model'])} | {_md(tasks_txt)} |")
    out.append("")
    if doc["skipped"]:
        out += ["### Skipped", "", "| File | Reason |", "|---|---|"]
        out += [f"| {_md(s['path'])} | {_md(s['reason'])} |" for s in doc["skipped"]]
        out.append("")
    if doc["warnings"]:
        out += ["## Warnings", ""] + [f"- {_md(w)}" for w in doc["warnings"]] + [""]
    return "\n".join(out)


# --------------------------------------------------------------------------- HTML

_CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#ffffff; --head:#f6f8fa; --warn:#fff1e5;
        --warnfg:#bc4c00; --ok:#1a7f37; --bad:#cf222e; }
* { box-sizing: border-box; }
body { font: 14px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg);
       background: var(--bg); margin: 0 auto; padding: 24px 32px; max-width: 1400px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px;
     border-bottom: 1px solid var(--line); padding-bottom: 4px; }
p.meta, p.note { color: var(--muted); margin: 4px 0 10px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid var(--line); padding: 5px 9px; vertical-align: top; }
th { background: var(--head); text-align: left; font-weight: 600; white-space: nowrap; }
th .metric { color: var(--muted); font-weight: 400; font-size: 12px; }
td.num { text-align: right; white-space: nowrap; }
td .h { color: var(--muted); font-size: 11px; }
td.flag { background: var(--warn); }
tr:hover td { background: #f3f6fa; } tr:hover td.flag { background: #ffe6cc; }
tr.baseline td { font-weight: 600; }
tr.history td { color: var(--muted); }
.arm { display: inline-block; padding: 0 7px; border-radius: 10px; font-size: 12px; background: #eef1f4;
       white-space: nowrap; }
.arm.forward { background: #ddf4ff; } .arm.reverse { background: #fff1e5; } .arm.mixed { background: #dafbe1; }
.arm.dpo { outline: 1px solid #8250df; }
.ok { color: var(--ok); } .bad { color: var(--bad); font-weight: 600; } .sig { color: var(--bad); }
img.plot { max-width: 100%; border: 1px solid var(--line); margin: 6px 0 16px; }
ul.warn li { color: var(--warnfg); }
code { font-size: 12px; }
"""


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def _arm_class(arm: str) -> str:
    cls = ["arm"]
    first = arm.split(" -> ")[0].split("-")[0]
    if first in ("forward", "reverse", "mixed"):
        cls.append(first)
    if "DPO" in arm:
        cls.append("dpo")
    return " ".join(cls)


def to_html(doc: dict, plots: dict[str, bytes]) -> str:
    agree = _agreement_index(doc)
    tasks = doc["tasks"]
    base_name = doc["baseline"]["name"] if doc["baseline"] else None
    o = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         "<title>r1k leaderboard</title>", f"<style>{_CSS}</style></head><body>",
         "<h1>r1k leaderboard</h1>",
         f'<p class="meta">{_e(_summary_line(doc))} · <code>{_e(doc["schema"])}</code></p>',
         f'<p class="note">Cells: primary metric ± 1 stderr, with n and harness. Highlighted cells: lm-eval and '
         f"Inspect differ by more than {AGREE_SIGMAS:g}·√(se₁²+se₂²).</p>",
         "<h2>Scores</h2>", '<div class="scroll"><table><thead><tr><th>Model</th><th>Arm</th>']
    for t in tasks:
        o.append(f'<th>{_e(_task_header(t))}<br><span class="metric">{_e(t["metric"])}</span></th>')
    o.append("</tr></thead><tbody>")
    for r in doc["rows"]:
        cls = "baseline" if r["name"] == base_name else ("history" if r["run"] else "")
        cls_attr = f' class="{cls}"' if cls else ""
        o.append(f'<tr{cls_attr}><td title="{_e(r["model"])}">{_e(r["name"])}</td>'
                 f'<td><span class="{_arm_class(r["arm"])}">{_e(r["arm"])}</span></td>')
        for t in tasks:
            per_h = r["results"].get(t["name"])
            if not per_h:
                o.append('<td class="num">–</td>')
                continue
            c = agree.get((r["name"], t["name"]))
            flag = c is not None and c["agree"] is False
            lines = []
            for h in HARNESSES:
                f = per_h.get(h)
                if f is None:
                    continue
                n = f"n={f['n']} · " if f["n"] is not None else ""
                lines.append(f'{_e(figure_text(f))} <span class="h">{_e(n + HARNESS_LABEL[h])}</span>')
            title = f' title="{_e(_verdict(c))}: |Δ|={fmt(c["diff"])}, threshold {fmt(c["threshold"])}"' if c else ""
            o.append(f'<td class="num{" flag" if flag else ""}"{title}>' + "<br>".join(lines) +
                     (' <span class="bad">⚠</span>' if flag else "") + "</td>")
        o.append("</tr>")
    o.append("</tbody></table></div>")

    if doc["baseline"] is not None:
        o.append(f"<h2>Deltas vs baseline <code>{_e(base_name)}</code></h2>")
        o.append(f'<p class="note">Row minus baseline, same harness. <em>paired</em>: per-sample logs on both '
                 f"sides (mean per-item difference, paired stderr); <em>unpaired</em>: √(se₁²+se₂²). "
                 f'<span class="sig">*</span> = |Δ| &gt; {SIGNIFICANT_Z:g}·se.</p>')
        cols = [(t, h) for t in tasks for h in t["harnesses"]]
        o.append('<div class="scroll"><table><thead><tr><th>Model</th><th>Arm</th>')
        o += [f"<th>{_e(t['name'])}<br><span class=\"metric\">{_e(HARNESS_LABEL[h])}</span></th>" for t, h in cols]
        o.append("</tr></thead><tbody>")
        for r in doc["rows"]:
            if r["name"] == base_name:
                continue
            o.append(f'<tr><td>{_e(r["name"])}</td><td><span class="{_arm_class(r["arm"])}">{_e(r["arm"])}</span></td>')
            for t, h in cols:
                d = r.get("deltas", {}).get(t["name"], {}).get(h)
                if d is None:
                    o.append('<td class="num">–</td>')
                    continue
                txt = _e(delta_text(d)).replace(" *", ' <span class="sig">*</span>')
                n = f" · n={d['n']}" if d["n"] else ""
                o.append(f'<td class="num">{txt} <span class="h">{_e(d["method"] + n)}</span></td>')
            o.append("</tr>")
        o.append("</tbody></table></div>")

    if doc["cross_harness"]:
        o.append("<h2>Cross-harness agreement</h2>")
        o.append('<table><thead><tr><th>Model</th><th>Task</th><th>Metric</th><th>lm-eval</th><th>Inspect</th>'
                 "<th>|Δ|</th><th>threshold</th><th>verdict</th></tr></thead><tbody>")
        for c in doc["cross_harness"]:
            v = _verdict(c)
            vcls = "ok" if v == "agree" else ("bad" if v == "DISAGREE" else "")
            o.append(f"<tr><td>{_e(c['row'])}</td><td>{_e(c['task'])}</td><td>{_e(c['metric'])}</td>"
                     f'<td class="num">{_e(figure_text(c[LMEVAL]))}</td>'
                     f'<td class="num">{_e(figure_text(c[INSPECT]))}</td>'
                     f'<td class="num">{fmt(c["diff"])}</td><td class="num">{fmt(c["threshold"])}</td>'
                     f'<td class="{vcls}">{_e(v)}{" ⚠" if v == "DISAGREE" else ""}</td></tr>')
        o.append("</tbody></table>")

    if doc.get("probe"):
        from r1k_plugins.leaderboard.dynamics import html_section

        dyn = plots.get("dynamics.png")
        o.append(html_section(doc["probe"], base64.b64encode(dyn).decode("ascii") if dyn else None))
    if doc.get("arms_compare"):
        from r1k_plugins.leaderboard import arms_compare

        o.append(arms_compare.html_section(doc["arms_compare"]))
    plots = {k: v for k, v in plots.items() if k != "dynamics.png"}
    if plots:
        o.append("<h2>Plots</h2>")
        for name, data in plots.items():
            alt = "Directional distinction (r1k_direction)" if name.startswith("direction") else "Scores per task"
            b64 = base64.b64encode(data).decode("ascii")
            o.append(f'<figure><img class="plot" alt="{_e(alt)}" src="data:image/png;base64,{b64}">'
                     f"<figcaption class=\"note\">{_e(alt)} ({_e(name)})</figcaption></figure>")

    o.append(f"<h2>Inputs ({len(doc['sources'])} used, {len(doc['skipped'])} skipped)</h2>")
    o.append('<details><summary>Files used</summary><table><thead><tr><th>File</th><th>Harness</th><th>Model</th>'
             "<th>Tasks</th></tr></thead><tbody>")
    for s in doc["sources"]:
        sup = f" (superseded: {', '.join(s['superseded_tasks'])})" if s["superseded_tasks"] else ""
        o.append(f"<tr><td><code>{_e(s['path'])}</code></td><td>{_e(HARNESS_LABEL[s['harness']])}</td>"
                 f"<td>{_e(s['model'])}</td><td>{_e(', '.join(s['tasks']) + sup)}</td></tr>")
    o.append("</tbody></table></details>")
    if doc["skipped"]:
        o.append('<h3>Skipped</h3><table><thead><tr><th>File</th><th>Reason</th></tr></thead><tbody>')
        o += [f"<tr><td><code>{_e(s['path'])}</code></td><td>{_e(s['reason'])}</td></tr>" for s in doc["skipped"]]
        o.append("</tbody></table>")
    if doc["warnings"]:
        o.append('<h2>Warnings</h2><ul class="warn">' + "".join(f"<li>{_e(w)}</li>" for w in doc["warnings"]) + "</ul>")
    o.append("</body></html>\n")
    return "\n".join(o)
