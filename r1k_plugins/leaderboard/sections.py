"""What the board shows: the leaderboard document (board.py) -> a :class:`model.Board` of sections.

One function per section, each returning a ``Section`` or None (nothing to show), listed in order
in :func:`board_model`. To add a section (say, sampled-run metrics), write ``def _my_section(doc)
-> Section | None`` here, building its tables from ``Cell`` / ``Row`` / ``Column`` and its prose
with ``prose()``, and add it to the list; Markdown, HTML and JSON all show it. The number
formats shared by the sections (``fmt``, ``figure_text``, ``delta_text``) live here too.
"""

from __future__ import annotations

from typing import Any

from r1k_plugins.core.runs import arm_family, arm_has_dpo
from r1k_plugins.leaderboard import arms_compare
from r1k_plugins.leaderboard.board import (
    AGREE_ALPHA,
    AGREE_SIGMAS,
    SIGNIFICANT_Z,
    verdict,
)
from r1k_plugins.leaderboard.dynamics import DIRS
from r1k_plugins.leaderboard.ingest import HARNESS_LABEL, HARNESSES, INSPECT, LMEVAL
from r1k_plugins.leaderboard.model import (
    Board,
    Cell,
    Column,
    Image,
    Row,
    Section,
    Table,
    code,
    prose,
    strong,
    text,
)

MISSING = "–"

# ---- number formats ----------------------------------------------------------------------------


def fmt(x: float | None, signed: bool = False) -> str:
    """3 decimals (3 significant digits for very large / small values); – for a missing value."""
    if x is None:
        return MISSING
    if abs(x) >= 1000 or (x != 0 and abs(x) < 0.001):
        return f"{x:+.3g}" if signed else f"{x:.3g}"
    return f"{x:+.3f}" if signed else f"{x:.3f}"


def figure_text(f: dict) -> str:
    """``score ± stderr`` of a figure of the document."""
    s = fmt(f["score"])
    if f.get("stderr") is not None:
        s += f" ± {fmt(f['stderr'])}"
    return s


def delta_text(d: dict) -> str:
    """``+delta ± stderr`` and `` *`` when significant."""
    if d["delta"] is None:
        return MISSING
    s = fmt(d["delta"], signed=True)
    if d["stderr"] is not None:
        s += f" ± {fmt(d['stderr'])}"
    if d.get("significant"):
        s += " *"
    return s


def decoding_text(d: dict | None) -> str:
    """greedy / sampled T=...; – for a task that generates nothing (log-likelihood), ? when unknown."""
    if not d:
        return MISSING
    if d.get("greedy") is None:
        return "?"
    if d["greedy"]:
        return "greedy"
    return "sampled" + (f" T={d['temperature']:g}" if d.get("temperature") is not None else "")


def _signed3(x: float | None) -> str:
    return MISSING if x is None else f"{x:+.3f}"


def ci_text(s: dict) -> str:
    """A probe statistic: ``mean [ci_low, ci_high]``."""
    if s["mean"] is None:
        return MISSING
    if s["ci_low"] is None:
        return _signed3(s["mean"])
    return f"{_signed3(s['mean'])} [{_signed3(s['ci_low'])}, {_signed3(s['ci_high'])}]"


# ---- shared cells ------------------------------------------------------------------------------


def arm_cell(arm: str) -> Cell:
    flags = {"arm", f"family:{arm_family(arm)}"} | ({"family:dpo"} if arm_has_dpo(arm) else set())
    return Cell(arm, flags=frozenset(flags))


def _name_cells(r: dict) -> list[Cell]:
    return [Cell(r["name"], title=r["model"]), arm_cell(r["arm"])]


def _row_flags(r: dict, doc: dict) -> frozenset[str]:
    if doc["baseline"] is not None and r["name"] == doc["baseline"]["name"]:
        return frozenset({"baseline"})
    return frozenset({"history"}) if r["run"] else frozenset()


def _agreement_index(doc: dict) -> dict[tuple[str, str], dict]:
    return {(c["row"], c["task"]): c for c in doc["cross_harness"]}


def _agreement_note(c: dict) -> str:
    v = verdict(c)
    if c.get("method") == "paired":
        return (
            f"lm-eval vs Inspect: {v} (paired: {c['n_common']} common items, identical "
            f"{c['identical']:.1%}, exact McNemar p={c['p_value']:.3g})"
        )
    if c.get("note"):
        return f"lm-eval vs Inspect: {v}: {c['note']}"
    return f"lm-eval vs Inspect: {v} (unpaired: |Δ|={fmt(c['diff'])}, threshold {fmt(c['threshold'])})"


# ---- sections ----------------------------------------------------------------------------------


def _task_header(t: dict) -> str:
    return f"{t['name']} (group)" if t["group"] else t["name"]


def _score_cell(r: dict, t: dict, agree: dict) -> Cell:
    per_h = r["results"].get(t["name"])
    if not per_h:
        return Cell(MISSING, flags=frozenset({"missing"}))
    lines, value = [], None
    for h in HARNESSES:
        f = per_h.get(h)
        if f is not None:
            n = f"n={f['n']}, " if f["n"] is not None else ""
            lines.append(f"{figure_text(f)} ({n}{HARNESS_LABEL[h]})")
            value = f["score"] if value is None else value
    c = agree.get((r["name"], t["name"]))
    flags = set()
    if c is not None and c["agree"] is False:
        lines[-1] += " ⚠"
        flags.add("disagree")
    return Cell(
        "\n".join(lines), value=value, flags=frozenset(flags), title=_agreement_note(c) if c is not None else None
    )


def _scores(doc: dict) -> Section:
    tasks, agree = doc["tasks"], _agreement_index(doc)
    cols = [Column("Model"), Column("Arm")] + [Column(f"{_task_header(t)} [{t['metric']}]", True) for t in tasks]
    rows = [Row(_name_cells(r) + [_score_cell(r, t, agree) for t in tasks], _row_flags(r, doc)) for r in doc["rows"]]
    return Section("scores", text("Scores"), tables=[Table(cols, rows)])


def _delta_cell(d: dict | None) -> Cell:
    if d is None:
        return Cell(MISSING, flags=frozenset({"missing"}))
    n = f" (n={d['n']})" if d["n"] else ""
    if d.get("n_row") and d["n"] and (d["n_row"], d["n_base"]) != (d["n"], d["n"]):
        n = f" (n={d['n']} common of {d['n_row']} / {d['n_base']})"
    flags = set()
    if d.get("significant"):
        flags |= {"significant", "better" if (d["delta"] or 0) > 0 else "worse"}
    ci = None
    if d["delta"] is not None and d["stderr"] is not None:
        ci = (d["delta"] - SIGNIFICANT_Z * d["stderr"], d["delta"] + SIGNIFICANT_Z * d["stderr"])
    return Cell(f"{delta_text(d)} {d['method']}{n}", value=d["delta"], ci=ci, flags=frozenset(flags))


def _deltas(doc: dict) -> Section | None:
    b = doc["baseline"]
    if b is None:
        return None
    cols_th = [(t, h) for t in doc["tasks"] for h in t["harnesses"]]
    cols = [Column("Model"), Column("Arm")] + [Column(f"{t['name']} ({HARNESS_LABEL[h]})", True) for t, h in cols_th]
    rows = [
        Row(
            _name_cells(r) + [_delta_cell(r.get("deltas", {}).get(t["name"], {}).get(h)) for t, h in cols_th],
            _row_flags(r, doc),
        )
        for r in doc["rows"]
        if r["name"] != b["name"]
    ]
    intro = prose(
        "Row minus baseline, same harness. *paired*: both sides have per-sample logs (mean per-item "
        "difference over the common items, paired stderr); *unpaired*: from the two stderrs "
        f"(√(se₁²+se₂²)). * = |Δ| > {SIGNIFICANT_Z:g}·se."
    )
    return Section("deltas", text("Deltas vs baseline ", code(b["name"])), intro=[intro], tables=[Table(cols, rows)])


def _cross_harness(doc: dict) -> Section | None:
    if not doc["cross_harness"]:
        return None
    names = [
        "Model",
        "Task",
        "Metric",
        "lm-eval",
        "Inspect",
        "decoding",
        "method",
        "common items",
        "identical",
        "p / threshold",
        "first differing",
        "verdict",
    ]
    numeric = {"lm-eval", "Inspect", "common items", "identical", "p / threshold"}
    cols = [Column(n, n in numeric) for n in names]
    rows = []
    for c in doc["cross_harness"]:
        v = verdict(c)
        dec = " / ".join(decoding_text(c[h].get("decoding")) for h in (LMEVAL, INSPECT))
        if c.get("method") == "paired":
            common = Cell(f"{c['n_common']} (of {c['n_lmeval']} / {c['n_inspect']})", value=c["n_common"])
            ident = Cell(f"{c['identical']:.1%}", value=c["identical"])
            test = Cell(f"p={c['p_value']:.3g}", value=c["p_value"])
            ids = ", ".join(map(str, c["first_differing"]))
            first = Cell(ids, flags=frozenset({"mono"})) if ids else Cell(MISSING)
        else:
            common, ident, first = Cell(MISSING), Cell(MISSING), Cell(MISSING)
            test = Cell(fmt(c.get("threshold")), value=c.get("threshold"))
        if v == "DISAGREE":
            vcell = Cell(text(strong("DISAGREE"), " ⚠"), flags=frozenset({"disagree"}))
        elif v == "agree":
            vcell = Cell(v, flags=frozenset({"agree"}))
        else:
            vcell = Cell(v if not c.get("note") else f"{v}: {c['note']}")
        rows.append(
            Row(
                [
                    Cell(c["row"]),
                    Cell(c["task"]),
                    Cell(c["metric"]),
                    Cell(figure_text(c[LMEVAL]), value=c[LMEVAL]["score"]),
                    Cell(figure_text(c[INSPECT]), value=c[INSPECT]["score"]),
                    Cell(dec),
                    Cell(c.get("method") or MISSING),
                    common,
                    ident,
                    test,
                    first,
                    vcell,
                ]
            )
        )
    intro = prose(
        "The same model and task run in both harnesses. *paired* (both have per-sample logs): "
        "verdicts compared item by item on the common record ids, flagged when an exact McNemar "
        f"test gives p < {AGREE_ALPHA:g}; *unpaired*: flagged when |lm-eval − Inspect| > "
        f"{AGREE_SIGMAS:g}·√(se₁²+se₂²). A sampled run is never compared with a greedy one."
    )
    return Section("cross-harness", text("Cross-harness agreement"), intro=[intro], tables=[Table(cols, rows)])


def _setting(x: float | None) -> str:
    return "?" if x is None else f"{x:g}"


def _metric_cell(x: dict, prefix: str = "") -> Cell:
    se = x.get("stderr")
    return Cell(prefix + f"{x['value']:.4f}" + (f" ± {se:.4f}" if se is not None else ""), value=x["value"])


def _sampled(doc: dict) -> list[Section]:
    """Sampled runs (k answers per item): ``doc["sampled"]`` = {"rows", "cross_harness"} as the
    k-samples reader writes it (absent or None: no section)."""
    sampled = doc.get("sampled")
    if not sampled:
        return []
    cols = [
        Column(n)
        for n in ("model", "task", "harness", "k", "temperature", "top_p", "items", "avg@k", "pass@k", "maj@k")
    ]
    rows = [
        Row(
            [
                Cell(r["model"]),
                Cell(r["task"]),
                Cell(r["harness"]),
                Cell(str(r["k"]), value=r["k"]),
                Cell(_setting(r["temperature"]), value=r["temperature"]),
                Cell(_setting(r["top_p"]), value=r["top_p"]),
                Cell(str(r["n_items"]), value=r["n_items"]),
                _metric_cell(r["avg@k"]),
                _metric_cell(r["pass@k"], f"pass@{r['pass_k']} "),
                _metric_cell(r["maj@k"]),
            ]
        )
        for r in sampled["rows"]
    ]
    intro = prose(
        "avg@k: mean accuracy over samples (pass@1 estimate); pass@k: unbiased estimator "
        "1 - C(n-c,k)/C(n,k); maj@k: majority vote of the extracted answers (shared equivalence); "
        "± one standard error over items."
    )
    out = [Section("sampled", text("Sampled runs (k answers per item)"), intro=[intro], tables=[Table(cols, rows)])]
    if sampled.get("cross_harness"):
        bullets = []
        for c in sampled["cross_harness"]:
            v = "agree" if c["agree"] else ("differ" if c["agree"] is False else "not judged")
            bullets.append(
                text(
                    f"{c['model']} / {c['task']}: mean difference {c['mean_diff']:+.4f} over "
                    f"{c['n_common']} items, p={c['p_value']:.3g}: {v}" + (f" ({c['note']})" if c.get("note") else "")
                )
            )
        out.append(
            Section(
                "sampled-cross-harness",
                text("lm-eval vs Inspect on sampled runs"),
                level=3,
                intro=[text("Paired sign-flip test on per-item success proportions.")],
                bullets=bullets,
            )
        )
    return out


PROBE_EXPLAIN = (
    "Per-token directional distinction (`r1k probe direction`, the paper's measure): under each item's own "
    "prompt, Δ = mean log-prob per token of the direction-matching trace (y+) minus the other direction's "
    "trace (y−), first N tokens, nats/token; last checkpoint of each arm. Unlike lm-eval's `r1k_direction` "
    "(whole traces, per UTF-8 byte, end of training only) it uses the model's own tokens and follows every "
    "checkpoint (dynamics.png, dynamics.csv)."
)
PROBE_DIR_LABEL = {"forward": "forward prompts", "reverse": "reverse prompts", "all": "all"}


def _stat_cell(s: dict) -> Cell:
    return Cell(ci_text(s), value=s["mean"], ci=(s["ci_low"], s["ci_high"]) if s["ci_low"] is not None else None)


def _probe(doc: dict, plots: list[str]) -> Section | None:
    probe = doc.get("probe")
    if not probe:
        return None
    cols = (
        [Column("Arm"), Column("Checkpoint"), Column("Step", True)]
        + [Column(f"Δ {PROBE_DIR_LABEL[d]} [95% CI]", True) for d in DIRS]
        + [Column("y+", True), Column("y−", True), Column("n", True)]
    )
    rows = []
    for c in probe["table"]:
        s = c["summary"]
        ep = "" if c["epoch"] is None else f" (epoch {c['epoch']:.3g})"
        step = f"{c['step'] if c['step'] is not None else MISSING}{ep}"
        rows.append(
            Row(
                [arm_cell(c["arm"]), Cell(c["label"], title=c["model"]), Cell(step, value=c["step"])]
                + [_stat_cell(s[d]["delta"]) for d in DIRS]
                + [
                    Cell(_signed3(s["all"]["y_plus"]["mean"]), value=s["all"]["y_plus"]["mean"]),
                    Cell(_signed3(s["all"]["y_minus"]["mean"]), value=s["all"]["y_minus"]["mean"]),
                    Cell(str(s["all"]["n"]), value=s["all"]["n"]),
                ]
            )
        )
    images = [Image("dynamics.png", "Directional distinction over training (probe)")] if "dynamics.png" in plots else []
    return Section(
        "probe",
        text("Directional distinction per token (probe)"),
        intro=[prose(PROBE_EXPLAIN)],
        tables=[Table(cols, rows)],
        images=images,
    )


def _arms(doc: dict) -> Section | None:
    """The arm comparison (``doc["arms_compare"]``, rows from leaderboard/arms_compare.py)."""
    rows = doc.get("arms_compare")
    if not rows:
        return None
    cols = [Column(h, i >= 2) for i, h in enumerate(arms_compare.HEAD)]
    body = [
        Row([arm_cell(r["arm"])] + [Cell(c) for c in cells[1:]])
        for r, cells in zip(rows, arms_compare.table_cells(rows))
    ]
    return Section("arms", text("Arms compared"), intro=[prose(arms_compare.EXPLAIN)], tables=[Table(cols, body)])


def _plots(plots: list[str]) -> Section | None:
    images = [
        Image(p, "Directional distinction (r1k_direction)" if p.startswith("direction") else "Scores per task")
        for p in plots
        if p != "dynamics.png"
    ]
    return Section("plots", text("Plots"), images=images) if images else None


def _inputs(doc: dict) -> Section:
    rows = []
    for s in doc["sources"]:
        tasks_txt = ", ".join(s["tasks"])
        if s["superseded_tasks"]:
            tasks_txt += f" (superseded: {', '.join(s['superseded_tasks'])})"
        rows.append(
            Row(
                [
                    Cell(s["path"], flags=frozenset({"mono"})),
                    Cell(HARNESS_LABEL[s["harness"]]),
                    Cell(s["model"]),
                    Cell(tasks_txt),
                ]
            )
        )
    table = Table([Column("File"), Column("Harness"), Column("Model"), Column("Tasks")], rows, collapsed="Files used")
    return Section(
        "inputs", text(f"Inputs ({len(doc['sources'])} used, {len(doc['skipped'])} skipped)"), tables=[table]
    )


def _skipped(doc: dict) -> Section | None:
    if not doc["skipped"]:
        return None
    rows = [Row([Cell(s["path"], flags=frozenset({"mono"})), Cell(s["reason"])]) for s in doc["skipped"]]
    return Section("skipped", text("Skipped"), tables=[Table([Column("File"), Column("Reason")], rows)], level=3)


def _warnings(doc: dict) -> Section | None:
    if not doc["warnings"]:
        return None
    return Section("warnings", text("Warnings"), bullets=[text(w) for w in doc["warnings"]])


def summary_line(doc: dict) -> str:
    by_h = {h: sum(1 for s in doc["sources"] if s["harness"] == h) for h in HARNESSES}
    return (
        f"{len(doc['rows'])} row(s) · {len(doc['tasks'])} task(s) · {len(doc['sources'])} result file(s) used "
        f"({by_h[LMEVAL]} lm-eval, {by_h[INSPECT]} Inspect) · {len(doc['skipped'])} skipped"
    )


CELLS_NOTE = (
    "Cells: primary metric ± 1 stderr (n, harness); the metric per task is named in the header. "
    "⚠ = lm-eval and Inspect disagree (see Cross-harness agreement)."
)


def board_model(doc: dict[str, Any], plots: list[str] | None = None) -> Board:
    """The board of ``doc`` (board.build's document); ``plots``: the PNG files written beside it
    (default: ``doc["plots"]``)."""
    plots = list(doc.get("plots") or []) if plots is None else plots
    sections = [
        _scores(doc),
        _deltas(doc),
        _cross_harness(doc),
        *_sampled(doc),
        _probe(doc, plots),
        _arms(doc),
        _plots(plots),
        _inputs(doc),
        _skipped(doc),
        _warnings(doc),
    ]
    return Board(
        title="r1k leaderboard",
        generator=f"generated by `r1k leaderboard export`; {doc['schema']}; {doc['generator']}",
        intro=[text(summary_line(doc)), text(CELLS_NOTE)],
        sections=[s for s in sections if s is not None],
    )
