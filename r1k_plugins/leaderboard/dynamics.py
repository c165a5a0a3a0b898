"""The paper's measurement on the board: ``r1k probe direction`` outputs (schema ``r1k_probe/1``).

- a per-token directional-distinction table: the last checkpoint of each arm, Δ per prompt
  direction with 95% CIs, y+ and y-;
- ``dynamics.png``: Δ against epoch for every arm and test direction (D_f/T_f, D_f/T_r, D_r/T_r,
  D_r/T_f, D_m), DPO checkpoints continuing the mixed arm, with CI bands; and a panel with y+ and y-
  of the mixed and DPO arms (the paper's learning-dynamics figure); and, when the probe scored
  response families (``--families``), a panel following every family (y+, y-, greedy, irrelevant,
  argmax share) through mixed SFT then DPO, each labelled with what DPO changed;
- ``dynamics.csv``: every checkpoint x prompt direction, the same numbers as the JSON.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from r1k_plugins.core.vocab import PROBE_FAMILIES
from r1k_plugins.leaderboard.ingest import Skipped, display_path

SCHEMA = "r1k_probe/1"
DIRS = ("forward", "reverse", "all")
_HEAD = b'"schema": "r1k_probe/1"'
FAMILY_STATS = tuple(PROBE_FAMILIES.values())  # y_greedy, y_irrelevant, argmax_share
COLORS = {"forward": "#0969da", "reverse": "#e16f24", "mixed": "#2da44e", "dpo": "#8250df", "base": "#6e7781",
          "other": "#57606a"}


def is_probe_file(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            head = fh.read(256)
    except OSError:
        return False
    return _HEAD in head or b'"schema":"r1k_probe/1"' in head


def split_probe_files(files: list[Path]) -> tuple[list[Path], list[Path]]:
    probes = [f for f in files if f.suffix == ".json" and is_probe_file(f)]
    return probes, [f for f in files if f not in probes]


def _finite(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def _stat(d: Any) -> dict:
    d = d if isinstance(d, dict) else {}
    return {"mean": _finite(d.get("mean")), "ci_low": _finite(d.get("ci_low")), "ci_high": _finite(d.get("ci_high")),
            "n": d.get("n") if isinstance(d.get("n"), int) else None}


def _checkpoint(c: Any, src: str, settings: dict) -> dict | None:
    if not isinstance(c, dict) or not isinstance(c.get("summary"), dict) or not isinstance(c.get("model"), str):
        return None
    summ = {}
    for d in DIRS:
        s = c["summary"].get(d) if isinstance(c["summary"].get(d), dict) else {}
        summ[d] = {"n": s.get("n") if isinstance(s.get("n"), int) else 0,
                   **{k: _stat(s.get(k)) for k in ("y_plus", "y_minus", "delta")},
                   **{k: _stat(s.get(k)) for k in FAMILY_STATS if isinstance(s.get(k), dict)}}
    return {"model": display_path(c["model"]), "run": display_path(c["run"]) if isinstance(c.get("run"), str) else None,
            "label": str(c.get("label") or ""), "arm": str(c.get("arm") or "base"),
            "step": c.get("step") if isinstance(c.get("step"), int) else None, "epoch": _finite(c.get("epoch")),
            "summary": summ, "source": src, "max_tokens": settings.get("max_tokens"),
            "data": settings.get("data")}


def read_probes(files: list[Path], skipped: list[Skipped], warnings: list[str]) -> dict | None:
    """Merge probe files; the newest file wins for a checkpoint probed twice (same run and model)."""
    docs = []
    for f in files:
        try:
            d = json.loads(f.read_bytes())
        except (OSError, ValueError, RecursionError) as e:
            skipped.append(Skipped(display_path(f), f"unreadable probe output: {type(e).__name__}"))
            continue
        if not isinstance(d, dict) or d.get("schema") != SCHEMA or not isinstance(d.get("checkpoints"), list):
            skipped.append(Skipped(display_path(f), "probe output without a checkpoints list"))
            continue
        docs.append((str(d.get("created_utc") or ""), f, d))
    if not docs:
        return None
    docs.sort(key=lambda t: (t[0], t[1].as_posix()))
    merged: dict[tuple, dict] = {}
    settings_seen = set()
    for _, f, d in docs:
        settings = d.get("settings") if isinstance(d.get("settings"), dict) else {}
        settings_seen.add((settings.get("max_tokens"), settings.get("data_sha256") or settings.get("data"),
                           settings.get("trace_format")))
        for c in d["checkpoints"]:
            ck = _checkpoint(c, display_path(f), settings)
            if ck is not None:
                merged[(ck["run"], ck["model"], ck["label"])] = ck
    if len(settings_seen) > 1:
        warnings.append("probe outputs were made with different data, max_tokens or trace formats; "
                        "compare their directional distinctions with care")
    cks = list(merged.values())
    from r1k_plugins.leaderboard.arms import arm_sort_key

    cks.sort(key=lambda c: (arm_sort_key(c["arm"]), c["run"] or "", c["step"] if c["step"] is not None else -1))
    return {"definition": docs[-1][2].get("definition"), "checkpoints": cks, "table": _last_per_arm(cks),
            "files": [display_path(f) for _, f, _ in docs]}


def _last_per_arm(cks: list[dict]) -> list[dict]:
    """The last checkpoint (highest step; the final model) of each arm, in arm order."""
    last: dict[str, dict] = {}
    for c in cks:
        if c["label"] == "start" and c["arm"] != "base":
            continue
        cur = last.get(c["arm"])
        if cur is None or (c["step"] or -1) >= (cur["step"] or -1):
            last[c["arm"]] = c
    return list(last.values())


# ---- text outputs --------------------------------------------------------------------------------
def _f(x: float | None, signed: bool = True) -> str:
    return "–" if x is None else (f"{x:+.3f}" if signed else f"{x:.3f}")


def ci_text(s: dict) -> str:
    if s["mean"] is None:
        return "–"
    if s["ci_low"] is None:
        return _f(s["mean"])
    return f"{_f(s['mean'])} [{_f(s['ci_low'])}, {_f(s['ci_high'])}]"


def to_csv(probe: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["arm", "run", "model", "label", "step", "epoch", "prompt_direction", "n", "y_plus", "y_plus_ci_low",
                "y_plus_ci_high", "y_minus", "y_minus_ci_low", "y_minus_ci_high", "delta", "delta_ci_low",
                "delta_ci_high", "max_tokens"]
               + [f"{k}{m}" for k in FAMILY_STATS for m in ("", "_ci_low", "_ci_high")])
    for c in probe["checkpoints"]:
        for d in DIRS:
            s = c["summary"][d]
            vals = [s[k][m] for k in ("y_plus", "y_minus", "delta") for m in ("mean", "ci_low", "ci_high")]
            w.writerow([c["arm"], c["run"] or "", c["model"], c["label"], "" if c["step"] is None else c["step"],
                        "" if c["epoch"] is None else f"{c['epoch']:.4g}", d, s["n"],
                        *("" if v is None else f"{v:.6f}" for v in vals),
                        "" if c["max_tokens"] is None else c["max_tokens"],
                        *("" if k not in s or s[k][m] is None else f"{s[k][m]:.6f}"
                          for k in FAMILY_STATS for m in ("mean", "ci_low", "ci_high"))])
    return buf.getvalue()


def _step_text(c: dict) -> str:
    ep = "" if c["epoch"] is None else f" (epoch {c['epoch']:.3g})"
    return f"{c['step'] if c['step'] is not None else '–'}{ep}"


def table_rows(probe: dict) -> list[list[str]]:
    rows = []
    for c in probe["table"]:
        s = c["summary"]
        rows.append([c["arm"], c["label"], _step_text(c), ci_text(s["forward"]["delta"]),
                     ci_text(s["reverse"]["delta"]), ci_text(s["all"]["delta"]), _f(s["all"]["y_plus"]["mean"]),
                     _f(s["all"]["y_minus"]["mean"]), str(s["all"]["n"])])
    return rows


HEADER = ["Arm", "Checkpoint", "Step", "Δ forward prompts [95% CI]", "Δ reverse prompts [95% CI]",
          "Δ all [95% CI]", "y+", "y−", "n"]
EXPLAIN = ("Per-token directional distinction (`r1k probe direction`, the paper's measure): under each item's own "
           "prompt, Δ = mean log-prob per token of the direction-matching trace (y+) minus the other direction's "
           "trace (y−), first N tokens, nats/token; last checkpoint of each arm. Unlike lm-eval's `r1k_direction` "
           "(whole traces, per UTF-8 byte, end of training only) it uses the model's own tokens and follows every "
           "checkpoint (dynamics.png, dynamics.csv).")


def markdown_section(probe: dict, has_plot: bool) -> list[str]:
    from r1k_plugins.leaderboard.render import _md  # the board's one Markdown-cell escaper

    out = ["## Directional distinction per token (probe)", "", EXPLAIN, "",
           "| " + " | ".join(HEADER) + " |", "|---|---|---:|" + "---:|" * (len(HEADER) - 3)]
    out += ["| " + " | ".join(_md(x) for x in r) + " |" for r in table_rows(probe)]
    out.append("")
    if has_plot:
        out += ["![Directional distinction over training (probe)](dynamics.png)", ""]
    return out


def html_section(probe: dict, png_b64: str | None) -> str:
    from r1k_plugins.leaderboard.render import _e as e  # the board's one HTML escaper

    head = "".join(f"<th>{e(h)}</th>" for h in HEADER)
    num = ' class="num"'
    body = "".join("<tr>" + "".join(f"<td{num if i >= 2 else ''}>{e(x)}</td>" for i, x in enumerate(r))
                   + "</tr>" for r in table_rows(probe))
    img = (f'<img class="plot" alt="Directional distinction over training" '
           f'src="data:image/png;base64,{png_b64}">') if png_b64 else ""
    return (f"<h2>Directional distinction per token (probe)</h2><p class=\"note\">{e(EXPLAIN)}</p>"
            f"<div class=\"scroll\"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{img}")


# ---- the figure ----------------------------------------------------------------------------------
def _family(arm: str) -> str:
    if "DPO" in arm:
        return "dpo"
    first = arm.split(" -> ")[0].split("-")[0]
    return first if first in ("forward", "reverse", "mixed", "base") else "other"


def _xs(runs: dict) -> tuple[dict, dict, float]:
    """x of each checkpoint of each (arm, run) (checkpoints sorted by step in place): SFT epochs; a
    DPO run continues its SFT parent arm over one x unit, from where that arm ended. Also where each
    DPO run starts on x, and where the SFT arms end."""
    ends: dict[str, float] = {}
    for (arm, _), cs in runs.items():
        if _family(arm) != "dpo":
            ends[arm] = max([ends.get(arm, 0.0)] + [c["epoch"] or 0.0 for c in cs])
    sft_end = max(ends.values(), default=0.0)
    out, starts = {}, {}
    for key, cs in runs.items():
        cs.sort(key=lambda c: (c["step"] if c["step"] is not None else -1))
        if _family(key[0]) == "dpo":
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
        if c["arm"] == "base":
            continue
        runs.setdefault((c["arm"], c["run"]), []).append(c)
    xs_all, starts, sft_end = _xs(runs)
    dpo_start = min(starts.values(), default=None)
    deltas, ys = [], []
    for (arm, run), cs in runs.items():
        fam = _family(arm)
        xs = xs_all[(arm, run)]
        color = COLORS.get(fam, COLORS["other"])
        short = {"forward": "D_f", "reverse": "D_r", "mixed": "D_m", "dpo": "D_m→DPO"}.get(fam, arm)
        if fam in ("forward", "reverse"):
            own, other = ("forward", "reverse") if fam == "forward" else ("reverse", "forward")
            deltas.append({"label": f"{short}/T_{own[0]}", "color": color, "style": "-", "x": xs,
                           "s": [c["summary"][own]["delta"] for c in cs]})
            deltas.append({"label": f"{short}/T_{other[0]}", "color": color, "style": "--", "x": xs,
                           "s": [c["summary"][other]["delta"] for c in cs]})
        else:
            deltas.append({"label": short if fam in ("mixed", "dpo") else arm, "color": color, "style": "-",
                           "x": xs, "s": [c["summary"]["all"]["delta"] for c in cs]})
        if fam in ("mixed", "dpo"):
            ys.append({"label": f"{short} y+", "color": color, "style": "-", "x": xs,
                       "s": [c["summary"]["all"]["y_plus"] for c in cs]})
            ys.append({"label": f"{short} y−", "color": color, "style": ":", "x": xs,
                       "s": [c["summary"]["all"]["y_minus"] for c in cs]})
    return deltas, ys, sft_end if dpo_start is None else dpo_start


FAMILY_STYLE = {  # stat -> (legend name, colour, line style)
    "y_plus": ("y+ (matching trace)", "#2da44e", "-"), "y_minus": ("y− (other direction)", "#e16f24", "-"),
    "y_greedy": ("greedy (own output)", "#8250df", "-"), "y_irrelevant": ("irrelevant (other item)", "#6e7781", "-"),
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
    chains = []
    for arm, run in runs:
        if _family(arm) == "dpo":
            parent = arm.split(" -> ")[0]
            sft = [k for k in runs if k[0] == parent and _family(parent) == "mixed"]
            if sft:
                chains.append((arm, sft[0], (arm, run)))
    if not chains:
        chains = [(arm, (arm, run), None) for (arm, run) in runs if _family(arm) == "mixed"][:1]
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
            rows.append({"arm": arm, "stat": stat, "x": [x for x, _ in series], "s": [s for _, s in series],
                         "dpo_change": change})
    return rows


def _families_panel(ax, probe: dict) -> bool:
    """Draw family_rows on ``ax`` (log-probs left, argmax share on a right axis); False if no family."""
    rows = family_rows(probe)
    if not any(r["stat"] in FAMILY_STATS for r in rows):
        return False
    arms = [r["arm"] for r in rows]  # one chain drawn: the plain DPO when there are several
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
    ax.set_title(f"{arm}: where the mass goes (families)" if "DPO" in arm else
                 "Mixed SFT: response families", fontsize=11)
    ax.set_ylabel("mean log-prob per token (95% CI band)")
    handles, labels = ax.get_legend_handles_labels()
    if ax_r is not None:
        ax_r.set_ylabel("argmax share of y+ positions")
        ax_r.set_ylim(-0.02, 1.02)
        h2, l2 = ax_r.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, fontsize=7.5, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.17),
              ncol=1)
    return True


def _draw(ax, curves: list[dict]) -> None:
    for cv in curves:
        pts = [(x, s) for x, s in zip(cv["x"], cv["s"]) if s["mean"] is not None]
        if not pts:
            continue
        xs = [p[0] for p in pts]
        ax.plot(xs, [p[1]["mean"] for p in pts], cv["style"], color=cv["color"], marker="o", ms=3.5, lw=1.6,
                label=cv["label"])
        band = [(x, s["ci_low"], s["ci_high"]) for x, s in pts if s["ci_low"] is not None]
        if len(band) > 1:
            ax.fill_between([b[0] for b in band], [b[1] for b in band], [b[2] for b in band], color=cv["color"],
                            alpha=0.15, lw=0)


def dynamics_png(probe: dict) -> bytes | None:
    from r1k_plugins.leaderboard.plots import _new_figure, _png

    deltas, ys, sft_end = _curves(probe)
    if not any(len(c["x"]) for c in deltas):
        return None
    has_dpo = any(_family(c["arm"]) == "dpo" for c in probe["checkpoints"])
    has_fam = any(k in c["summary"]["all"] for c in probe["checkpoints"] for k in FAMILY_STATS)
    ncols = 1 + bool(ys) + has_fam
    fig = _new_figure(5.5 + 6.0 * (ncols - 1) + 1.5 * (ncols == 1), 4.6)
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
    return _png(fig)
