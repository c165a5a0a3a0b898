"""PNG plots of the leaderboard: grouped score bars and the directional-distinction chart.

Uses matplotlib's object API with the Agg canvas (no pyplot, no global backend change).
"""

from __future__ import annotations

import io
from typing import Any

from r1k_plugins.core.runs import arm_family
from r1k_plugins.leaderboard.board import DIRECTION_TASK
from r1k_plugins.leaderboard.ingest import INSPECT, LMEVAL

MAX_ROWS = 24  # bars per task group; the tables always hold every row
_FAMILY = {  # arm family -> shades (light to dark)
    "base": ["#8c959f", "#6e7781", "#57606a", "#afb8c1"],
    "forward": ["#0969da", "#54aeff", "#0550ae", "#80ccff"],
    "reverse": ["#e16f24", "#fb8f44", "#bc4c00", "#ffb77c"],
    "mixed": ["#2da44e", "#4ac26b", "#1a7f37", "#6fdd8b"],
    "other": ["#8250df", "#a475f9", "#6639ba", "#c297ff"],
}


_CMAP = {"base": "Greys", "forward": "Blues", "reverse": "Oranges", "mixed": "Greens", "other": "Purples"}


_family = arm_family  # the colour family of an arm (core.runs)


def _dark(hex_color: str) -> bool:
    r, g, b = (int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.55


def _colors(rows: list[dict]) -> list[str]:
    """One colour per row: the arm family's hue (base grey, forward blue, reverse orange, mixed
    green, other purple), in distinct shades when a family has several rows."""
    fams = [_family(r["arm"]) for r in rows]
    count = {f: fams.count(f) for f in set(fams)}
    seen: dict[str, int] = {}
    out = []
    for fam in fams:
        i = seen.get(fam, 0)
        seen[fam] = i + 1
        if count[fam] <= len(_FAMILY[fam]):
            out.append(_FAMILY[fam][i])
        else:
            from matplotlib import colormaps
            from matplotlib.colors import to_hex

            cmap = colormaps[_CMAP[fam]]
            out.append(to_hex(cmap(0.35 + 0.6 * i / max(1, count[fam] - 1))))
    return out


def _headline(per_h: dict | None) -> tuple[dict | None, str | None]:
    if not per_h:
        return None, None
    for h in (LMEVAL, INSPECT):
        if h in per_h and per_h[h]["score"] is not None:
            return per_h[h], h
    return None, None


def _plot_rows(doc: dict) -> tuple[list[dict], str]:
    rows = [r for r in doc["rows"] if r["run"] is None]
    note = ""
    if len(rows) > MAX_ROWS:
        keep = rows[:MAX_ROWS]
        if doc["baseline"] is not None:
            b = next((r for r in rows if r["name"] == doc["baseline"]["name"]), None)
            if b is not None and b not in keep:
                keep = [b] + keep[: MAX_ROWS - 1]
        note = f"first {len(keep)} of {len(rows)} rows shown; see the tables for all"
        rows = keep
    return rows, note


def _new_figure(w: float, h: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def scores_png(doc: dict) -> bytes:
    rows, note = _plot_rows(doc)
    # plot tasks whose headline figures are proportions (0..1); others go in the footnote
    tasks, off_scale = [], []
    for t in doc["tasks"]:
        vals = [_headline(r["results"].get(t["name"]))[0] for r in rows]
        vals = [v["score"] for v in vals if v is not None]
        if not vals:
            continue
        (tasks if all(0.0 <= v <= 1.0 for v in vals) else off_scale).append(t)
    nrows = max(1, len(rows))
    ntasks = max(1, len(tasks))
    group_w = 0.8
    bar_w = group_w / nrows
    width = min(30.0, max(7.0, 1.5 + ntasks * (0.22 * nrows + 0.5)))
    fig = _new_figure(width, 4.8)
    ax = fig.add_subplot(1, 1, 1)
    colors = _colors(rows)
    any_inspect_only = False
    _max_top = 0.0
    for i, r in enumerate(rows):
        xs, ys, es, hatches = [], [], [], []
        for j, t in enumerate(tasks):
            f, h = _headline(r["results"].get(t["name"]))
            if f is None:
                continue
            xs.append(j - group_w / 2 + bar_w * (i + 0.5))
            ys.append(f["score"])
            es.append(f["stderr"] or 0.0)
            hatches.append("//" if h == INSPECT else "")
        if not xs:
            ax.bar([], [], color=colors[i], label=f"{r['name']} ({r['arm']})")
            continue
        bars = ax.bar(xs, ys, width=bar_w * 0.92, color=colors[i], edgecolor="white", linewidth=0.5,
                      label=f"{r['name']} ({r['arm']})", zorder=2)
        for b, hatch in zip(bars, hatches):
            if hatch:
                b.set_hatch(hatch)
                b.set_edgecolor("#24292f")
                any_inspect_only = True
        ax.errorbar(xs, ys, yerr=es, fmt="none", ecolor="#24292f", elinewidth=0.9, capsize=2.5, zorder=3)
        _max_top = max([_max_top] + [y + e for y, e in zip(ys, es)])
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels([f"{t['name']}\n[{t['metric']}]" for t in tasks], fontsize=9)
    ax.set_xlim(-0.6, max(0.6, len(tasks) - 0.4))
    ax.set_ylim(0, min(1.2, max(1.05, _max_top + 0.03)))
    ax.set_ylabel("score (primary metric)")
    ax.grid(axis="y", color="#d1d9e0", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    title = "Scores per task (error bars: ±1 stderr)"
    ax.set_title(title, fontsize=11, loc="left")
    foot = []
    if any_inspect_only:
        foot.append("hatched: Inspect figure (no lm-eval run of that task)")
    if note:
        foot.append(note)
    if off_scale:
        foot.append("not plotted (not a 0–1 score): " + ", ".join(t["name"] for t in off_scale))
    if not tasks:
        ax.text(0.5, 0.5, "no task with 0–1 scores to plot; see the tables", transform=ax.transAxes,
                ha="center", va="center", fontsize=10, color="#59636e")
    if foot:
        ax.text(0, -0.15 if len(tasks) else -0.08, "; ".join(foot), transform=ax.transAxes, fontsize=8,
                color="#59636e", va="top")
    if not tasks:
        return _png(fig)
    ncol = 1 if nrows <= 12 else 2
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, ncol=ncol,
              title="model (arm)", title_fontsize=8)
    return _png(fig)


def direction_png(doc: dict) -> bytes | None:
    rows_all, note = _plot_rows(doc)
    rows: list[tuple[dict, dict, str]] = []
    for r in rows_all:
        f, h = _headline(r["results"].get(DIRECTION_TASK))
        if f is not None:
            rows.append((r, f, h))
    if not rows:
        return None
    margins = [(f["metrics"].get("margin") or {}) for _, f, _ in rows]
    has_margin = any(m.get("value") is not None for m in margins)
    n = len(rows)
    height = max(2.4, 0.9 + 0.38 * n)
    fig = _new_figure(11.0 if has_margin else 7.0, height)
    colors = _colors([r for r, _, _ in rows])
    labels = [f"{r['name']}\n({r['arm']})" if len(r["name"]) > 18 else f"{r['name']} ({r['arm']})" for r, _, _ in rows]
    ys = list(range(n))[::-1]

    ax = fig.add_subplot(1, 2 if has_margin else 1, 1)
    vals = [f["score"] for _, f, _ in rows]
    errs = [f["stderr"] or 0.0 for _, f, _ in rows]
    ax.barh(ys, vals, xerr=errs, color=colors, height=0.65, error_kw={"elinewidth": 0.9, "capsize": 2.5}, zorder=2)
    ax.axvline(0.5, color="#cf222e", linestyle="--", linewidth=1, zorder=3)
    ax.text(0.5, n - 0.45, " chance", color="#cf222e", fontsize=8, va="bottom")
    for y, v, c, (_, _f, h) in zip(ys, vals, colors, rows):
        inside = v >= 0.22
        ax.text(0.012 if inside else v + 0.012, y, f"{v:.3f}" + (" (Inspect)" if h == INSPECT else ""),
                va="center", ha="left", fontsize=8, color="white" if inside and _dark(c) else "#24292f",
                fontweight="bold" if inside else "normal", zorder=4)
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.6, n - 0.1)
    ax.set_xlabel("share of items where the direction-matching trace wins (acc)")
    ax.grid(axis="x", color="#d1d9e0", linewidth=0.6, zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)

    if has_margin:
        ax2 = fig.add_subplot(1, 2, 2, sharey=ax)
        mv = [m.get("value") if m.get("value") is not None else 0.0 for m in margins]
        me = [m.get("stderr") or 0.0 for m in margins]
        # under forward / reverse prompts (lm-eval's margin_forward / margin_reverse), where logged
        per_dir = [((f["metrics"].get("margin_forward") or {}).get("value"),
                    (f["metrics"].get("margin_reverse") or {}).get("value")) for _, f, _ in rows]
        split = any(a is not None and b is not None for a, b in per_dir)
        if split:
            fw = [a if a is not None else 0.0 for a, _ in per_dir]
            rv = [b if b is not None else 0.0 for _, b in per_dir]
            ax2.barh([y + 0.18 for y in ys], fw, color=colors, height=0.34, zorder=2, label="forward prompts")
            ax2.barh([y - 0.18 for y in ys], rv, color=colors, height=0.34, hatch="////", edgecolor="white",
                     zorder=2, label="reverse prompts")
            ax2.errorbar(mv, ys, xerr=me, fmt="D", color="#24292f", markersize=4, elinewidth=0.9, capsize=2.5,
                         zorder=4, label="all prompts (± stderr)")
            ax2.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=3, frameon=False)
            mv_lo = [min(v - e, a, b) for v, e, a, b in zip(mv, me, fw, rv)]
            mv_hi = [max(v + e, a, b) for v, e, a, b in zip(mv, me, fw, rv)]
        else:
            ax2.barh(ys, mv, xerr=me, color=colors, height=0.65, error_kw={"elinewidth": 0.9, "capsize": 2.5},
                     zorder=2)
            mv_lo = [v - e for v, e in zip(mv, me)]
            mv_hi = [v + e for v, e in zip(mv, me)]
        for y, m in zip(ys, margins):
            if m.get("value") is None:
                ax2.text(0, y, "  no margin metric", va="center", ha="left", fontsize=8, color="#59636e")
        ax2.axvline(0.0, color="#24292f", linewidth=0.8, zorder=3)
        ax2.set_xlabel("margin: log-prob per byte, matching − other (nats)")
        ax2.grid(axis="x", color="#d1d9e0", linewidth=0.6, zorder=0)
        ax2.set_axisbelow(True)
        ax2.tick_params(axis="y", labelleft=False)
        lo, hi = min(mv_lo), max(mv_hi)
        pad = 0.08 * max(hi - lo, 1e-3)
        ax2.set_xlim(min(lo, 0) - pad, max(hi, 0) + pad)
        for side in ("top", "right"):
            ax2.spines[side].set_visible(False)
    fig.suptitle(f"Directional distinction ({DIRECTION_TASK}; error bars ±1 stderr)", fontsize=11, x=0.01,
                 ha="left")
    if note:
        fig.text(0.01, -0.02, note, fontsize=8, color="#59636e")
    fig.tight_layout()
    return _png(fig)


def render_plots(doc: dict) -> dict[str, bytes]:
    out: dict[str, Any] = {"scores.png": scores_png(doc)}
    d = direction_png(doc)
    if d is not None:
        out["direction.png"] = d
    return out
