"""PNG plots of the leaderboard: grouped score bars (scores.png), the directional-distinction
chart (direction.png) and the probe's learning dynamics (dynamics.png), from the document.

Uses matplotlib's object API with the Agg canvas (no pyplot, no global backend change).
"""

from __future__ import annotations

import io
from typing import Any

from r1k_plugins.core.runs import arm_family, arm_has_dpo, is_mitigation_arm
from r1k_plugins.leaderboard.board import DIRECTION_TASK
from r1k_plugins.leaderboard.dynamics import FAMILY_STATS
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


def _dark(hex_color: str) -> bool:
    r, g, b = (int(hex_color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.55


def _colors(rows: list[dict]) -> list[str]:
    """One colour per row: the arm family's hue (base grey, forward blue, reverse orange, mixed
    green, other purple), in distinct shades when a family has several rows."""
    fams = [arm_family(r["arm"]) for r in rows]
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


def new_figure(w: float, h: float):
    """A matplotlib Figure of w x h inches on its own Agg canvas (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes, tightly cropped, without a software/date stamp."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
    return buf.getvalue()


def scores_png(doc: dict) -> bytes:
    rows, note = _plot_rows(doc)
    # plot tasks whose headline figures are proportions (0..1); others go in the footnote
    tasks: list[dict] = []
    off_scale: list[dict] = []
    for t in doc["tasks"]:
        heads = [_headline(r["results"].get(t["name"]))[0] for r in rows]
        vals = [v["score"] for v in heads if v is not None]
        if not vals:
            continue
        (tasks if all(0.0 <= v <= 1.0 for v in vals) else off_scale).append(t)
    nrows = max(1, len(rows))
    ntasks = max(1, len(tasks))
    group_w = 0.8
    bar_w = group_w / nrows
    width = min(30.0, max(7.0, 1.5 + ntasks * (0.22 * nrows + 0.5)))
    fig = new_figure(width, 4.8)
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
        bars = ax.bar(
            xs,
            ys,
            width=bar_w * 0.92,
            color=colors[i],
            edgecolor="white",
            linewidth=0.5,
            label=f"{r['name']} ({r['arm']})",
            zorder=2,
        )
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
        ax.text(
            0.5,
            0.5,
            "no task with 0–1 scores to plot; see the tables",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=10,
            color="#59636e",
        )
    if foot:
        ax.text(
            0,
            -0.15 if len(tasks) else -0.08,
            "; ".join(foot),
            transform=ax.transAxes,
            fontsize=8,
            color="#59636e",
            va="top",
        )
    if not tasks:
        return png_bytes(fig)
    ncol = 1 if nrows <= 12 else 2
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        fontsize=8,
        frameon=False,
        ncol=ncol,
        title="model (arm)",
        title_fontsize=8,
    )
    return png_bytes(fig)


def direction_png(doc: dict) -> bytes | None:
    rows_all, note = _plot_rows(doc)
    rows: list[tuple[dict, dict, str | None]] = []
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
    fig = new_figure(11.0 if has_margin else 7.0, height)
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
        ax.text(
            0.012 if inside else v + 0.012,
            y,
            f"{v:.3f}" + (" (Inspect)" if h == INSPECT else ""),
            va="center",
            ha="left",
            fontsize=8,
            color="white" if inside and _dark(c) else "#24292f",
            fontweight="bold" if inside else "normal",
            zorder=4,
        )
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
        mv: list[float] = [mval if (mval := m.get("value")) is not None else 0.0 for m in margins]
        me: list[float] = [m.get("stderr") or 0.0 for m in margins]
        # under forward / reverse prompts (lm-eval's margin_forward / margin_reverse), where logged
        per_dir = [
            (
                (f["metrics"].get("margin_forward") or {}).get("value"),
                (f["metrics"].get("margin_reverse") or {}).get("value"),
            )
            for _, f, _ in rows
        ]
        split = any(a is not None and b is not None for a, b in per_dir)
        if split:
            fw: list[float] = [a if a is not None else 0.0 for a, _ in per_dir]
            rv: list[float] = [b if b is not None else 0.0 for _, b in per_dir]
            ax2.barh([y + 0.18 for y in ys], fw, color=colors, height=0.34, zorder=2, label="forward prompts")
            ax2.barh(
                [y - 0.18 for y in ys],
                rv,
                color=colors,
                height=0.34,
                hatch="////",
                edgecolor="white",
                zorder=2,
                label="reverse prompts",
            )
            ax2.errorbar(
                mv,
                ys,
                xerr=me,
                fmt="D",
                color="#24292f",
                markersize=4,
                elinewidth=0.9,
                capsize=2.5,
                zorder=4,
                label="all prompts (± stderr)",
            )
            ax2.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=3, frameon=False)
            mv_lo = [min(v - e, a, b) for v, e, a, b in zip(mv, me, fw, rv)]
            mv_hi = [max(v + e, a, b) for v, e, a, b in zip(mv, me, fw, rv)]
        else:
            ax2.barh(ys, mv, xerr=me, color=colors, height=0.65, error_kw={"elinewidth": 0.9, "capsize": 2.5}, zorder=2)
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
    fig.suptitle(f"Directional distinction ({DIRECTION_TASK}; error bars ±1 stderr)", fontsize=11, x=0.01, ha="left")
    if note:
        fig.text(0.01, -0.02, note, fontsize=8, color="#59636e")
    fig.tight_layout()
    return png_bytes(fig)


def render_plots(doc: dict) -> dict[str, bytes]:
    """Every PNG of the board, by file name: scores.png, and direction.png / dynamics.png when the
    document has r1k_direction results / probe outputs."""
    out: dict[str, Any] = {"scores.png": scores_png(doc)}
    d = direction_png(doc)
    if d is not None:
        out["direction.png"] = d
    if doc.get("probe"):
        png = dynamics_png(doc["probe"])
        if png is not None:
            out["dynamics.png"] = png
    return out


# ---- dynamics.png: the probe over training ------------------------------------------------------
DYNAMICS_COLORS = {
    "forward": "#0969da",
    "reverse": "#e16f24",
    "mixed": "#2da44e",
    "dpo": "#8250df",
    "base": "#6e7781",
    "other": "#57606a",
}


def _dyn_family(arm: str) -> str:
    return "dpo" if arm_has_dpo(arm) else arm_family(arm)


def _xs(runs: dict) -> tuple[dict, dict, float]:
    """x of each checkpoint of each (arm, run) (checkpoints sorted by step in place): SFT epochs; a
    DPO run continues its SFT parent arm over one x unit, from where that arm ended. Also where each
    DPO run starts on x, and where the SFT arms end."""
    ends: dict[str, float] = {}
    for (arm, _), cs in runs.items():
        if _dyn_family(arm) != "dpo":
            ends[arm] = max([ends.get(arm, 0.0)] + [c["epoch"] or 0.0 for c in cs])
    sft_end = max(ends.values(), default=0.0)
    out, starts = {}, {}
    for key, cs in runs.items():
        cs.sort(key=lambda c: c["step"] if c["step"] is not None else -1)
        if _dyn_family(key[0]) == "dpo":
            steps = [c["step"] or 0 for c in cs]
            top = max(steps) or 1
            starts[key] = ends.get(key[0].split(" -> ")[0], sft_end)  # where its SFT parent arm ended
            out[key] = [starts[key] + st / top for st in steps]
        else:
            out[key] = [c["epoch"] if c["epoch"] is not None else float(i + 1) for i, c in enumerate(cs)]
    return out, starts, sft_end


def _curves(probe: dict) -> tuple[list[dict], list[dict], float]:
    """Δ curves [(label, color, style, xs, stat list)] and y± curves, and where DPO begins on x
    (at the last epoch of the SFT arm it continues)."""
    runs: dict[tuple[str, str | None], list[dict]] = {}
    for c in probe["checkpoints"]:
        if c["arm"] == "base" or is_mitigation_arm(c["arm"]):  # the paper's figure: the paper's arms
            continue
        runs.setdefault((c["arm"], c["run"]), []).append(c)
    xs_all, starts, sft_end = _xs(runs)
    dpo_start = min(starts.values(), default=None)
    deltas, ys = [], []
    for (arm, run), cs in runs.items():
        fam = _dyn_family(arm)
        xs = xs_all[(arm, run)]
        color = DYNAMICS_COLORS.get(fam, DYNAMICS_COLORS["other"])
        short = {"forward": "D_f", "reverse": "D_r", "mixed": "D_m", "dpo": "D_m→DPO"}.get(fam, arm)
        if fam in ("forward", "reverse"):
            own, other = ("forward", "reverse") if fam == "forward" else ("reverse", "forward")
            deltas.append(
                {
                    "label": f"{short}/T_{own[0]}",
                    "color": color,
                    "style": "-",
                    "x": xs,
                    "s": [c["summary"][own]["delta"] for c in cs],
                }
            )
            deltas.append(
                {
                    "label": f"{short}/T_{other[0]}",
                    "color": color,
                    "style": "--",
                    "x": xs,
                    "s": [c["summary"][other]["delta"] for c in cs],
                }
            )
        else:
            deltas.append(
                {
                    "label": short if fam in ("mixed", "dpo") else arm,
                    "color": color,
                    "style": "-",
                    "x": xs,
                    "s": [c["summary"]["all"]["delta"] for c in cs],
                }
            )
        if fam in ("mixed", "dpo"):
            ys.append(
                {
                    "label": f"{short} y+",
                    "color": color,
                    "style": "-",
                    "x": xs,
                    "s": [c["summary"]["all"]["y_plus"] for c in cs],
                }
            )
            ys.append(
                {
                    "label": f"{short} y−",
                    "color": color,
                    "style": ":",
                    "x": xs,
                    "s": [c["summary"]["all"]["y_minus"] for c in cs],
                }
            )
    return deltas, ys, sft_end if dpo_start is None else dpo_start


FAMILY_STYLE = {  # stat -> (legend name, colour, line style)
    "y_plus": ("y+ (matching trace)", "#2da44e", "-"),
    "y_minus": ("y− (other direction)", "#e16f24", "-"),
    "y_greedy": ("greedy (own output)", "#8250df", "-"),
    "y_irrelevant": ("irrelevant (other item)", "#6e7781", "-"),
    "argmax_share": ("argmax share of y+ (right axis)", "#24292f", "--"),
}


def family_rows(probe: dict) -> list[dict]:
    """The families panel's data: for each DPO arm that continues a mixed SFT arm (or the mixed arm
    alone when there is no DPO), one row per family: its points through mixed SFT then DPO (x as on
    the other panels), and ``dpo_change`` = its last DPO value minus its value where DPO started
    (the SFT arm's last checkpoint), ``None`` without DPO. All items (prompt direction ``all``)."""
    runs: dict[tuple[str, str | None], list[dict]] = {}
    for c in probe["checkpoints"]:
        runs.setdefault((c["arm"], c["run"]), []).append(c)
    xs = _xs(runs)[0]
    chains: list[tuple[str, tuple[str, str | None], tuple[str, str | None] | None]] = []
    for arm, run in runs:
        if _dyn_family(arm) == "dpo":
            parent = arm.split(" -> ")[0]
            sft = [k for k in runs if k[0] == parent and _dyn_family(parent) == "mixed"]
            if sft:
                chains.append((arm, sft[0], (arm, run)))
    if not chains:
        chains.extend([(arm, (arm, run), None) for (arm, run) in runs if _dyn_family(arm) == "mixed"][:1])
    rows = []
    for arm, sft_key, dpo_key in chains:
        pts = list(zip(xs[sft_key], runs[sft_key]))
        start = pts[-1][1] if pts else None
        if dpo_key is not None:
            pts += list(zip(xs[dpo_key], runs[dpo_key]))
        for stat in ("y_plus", "y_minus", *FAMILY_STATS):
            series = [(x, c["summary"]["all"].get(stat)) for x, c in pts]
            series = [(x, s) for x, s in series if s is not None and s["mean"] is not None]
            if not series:
                continue
            change = None
            if dpo_key is not None and start is not None:
                a = start["summary"]["all"].get(stat)
                b = runs[dpo_key][-1]["summary"]["all"].get(stat)
                if a and b and a["mean"] is not None and b["mean"] is not None:
                    change = b["mean"] - a["mean"]
            rows.append(
                {
                    "arm": arm,
                    "stat": stat,
                    "x": [x for x, _ in series],
                    "s": [s for _, s in series],
                    "dpo_change": change,
                }
            )
    return rows


def _families_panel(ax, probe: dict) -> bool:
    """Draw family_rows on ``ax`` (log-probs left, argmax share on a right axis); False if no family."""
    rows = family_rows(probe)
    if not any(r["stat"] in FAMILY_STATS for r in rows):
        return False
    # one chain drawn: among the chains whose families were scored, the plain DPO when there are several
    arms = [r["arm"] for r in rows if r["stat"] in FAMILY_STATS]
    arm = next((a for a in arms if a.endswith("-> DPO")), arms[0])
    rows = [r for r in rows if r["arm"] == arm]
    ax_r = None
    for r in rows:
        name, color, style = FAMILY_STYLE[r["stat"]]
        ch = r["dpo_change"]
        if ch is not None:
            verb = "unchanged" if abs(ch) < 5e-4 else ("gains" if ch > 0 else "loses")
            name += f" — DPO: {verb} {ch:+.3f}"
        target = ax
        if r["stat"] == "argmax_share":
            ax_r = ax_r or ax.twinx()
            target = ax_r
        _draw(target, [{"label": name, "color": color, "style": style, "x": r["x"], "s": r["s"]}])
    ax.set_title(
        f"{arm}: where the mass goes (families)" if "DPO" in arm else "Mixed SFT: response families", fontsize=11
    )
    ax.set_ylabel("mean log-prob per token (95% CI band)")
    handles, labels = ax.get_legend_handles_labels()
    if ax_r is not None:
        ax_r.set_ylabel("argmax share of y+ positions")
        ax_r.set_ylim(-0.02, 1.02)
        h2, l2 = ax_r.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, fontsize=7.5, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=1)
    return True


def _draw(ax, curves: list[dict]) -> None:
    for cv in curves:
        pts = [(x, s) for x, s in zip(cv["x"], cv["s"]) if s["mean"] is not None]
        if not pts:
            continue
        xs = [p[0] for p in pts]
        ax.plot(
            xs,
            [p[1]["mean"] for p in pts],
            cv["style"],
            color=cv["color"],
            marker="o",
            ms=3.5,
            lw=1.6,
            label=cv["label"],
        )
        band = [(x, s["ci_low"], s["ci_high"]) for x, s in pts if s["ci_low"] is not None]
        if len(band) > 1:
            ax.fill_between(
                [b[0] for b in band], [b[1] for b in band], [b[2] for b in band], color=cv["color"], alpha=0.15, lw=0
            )


def dynamics_png(probe: dict) -> bytes | None:
    deltas, ys, sft_end = _curves(probe)
    if not any(len(c["x"]) for c in deltas):
        return None
    has_dpo = any(_dyn_family(c["arm"]) == "dpo" and not is_mitigation_arm(c["arm"]) for c in probe["checkpoints"])
    has_fam = any(k in c["summary"]["all"] for c in probe["checkpoints"] for k in FAMILY_STATS)
    ncols = 1 + bool(ys) + has_fam
    fig = new_figure(5.5 + 6.0 * (ncols - 1) + 1.5 * (ncols == 1), 4.6)
    ax = fig.add_subplot(1, ncols, 1)
    _draw(ax, deltas)
    ax.axhline(0, color="#8c959f", lw=0.8)
    ax.set_title("Directional distinction Δ = y+ − y− (nats/token)", fontsize=11)
    ax.set_xlabel("SFT epoch" + (" | then DPO steps (scaled to one unit)" if has_dpo else ""))
    ax.set_ylabel("Δ (95% CI band)")
    panels = [ax]
    if ys:
        ax2 = fig.add_subplot(1, ncols, 2)
        _draw(ax2, ys)
        ax2.set_title("Mixed SFT → DPO: y+ and y− (mean log-prob per token)", fontsize=11)
        ax2.set_xlabel("SFT epoch" + (" | then DPO steps" if has_dpo else ""))
        ax2.set_ylabel("mean log-prob per token")
        panels.append(ax2)
    for a in panels:
        a.legend(fontsize=8, ncol=2, frameon=False)
    if has_fam:
        ax3 = fig.add_subplot(1, ncols, ncols)
        if _families_panel(ax3, probe):
            ax3.set_xlabel("mixed SFT epoch" + (" | then DPO steps" if has_dpo else ""))
            panels.append(ax3)
        else:
            ax3.set_axis_off()
    for a in panels:
        if has_dpo:
            a.axvspan(sft_end, sft_end + 1, color="#8250df", alpha=0.06, lw=0)
            a.axvline(sft_end, color="#8250df", lw=0.8, ls="--")
        a.grid(alpha=0.3)
    return png_bytes(fig)
