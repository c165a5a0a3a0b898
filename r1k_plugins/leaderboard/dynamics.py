"""The paper's measurement on the board: ``r1k probe direction`` outputs (schema ``r1k_probe/1``).

- a per-token directional-distinction table: the last checkpoint of each arm, Δ per prompt
  direction with 95% CIs, y+ and y-;
- ``dynamics.png``: Δ against epoch for every arm and test direction (D_f/T_f, D_f/T_r, D_r/T_r,
  D_r/T_f, D_m), DPO checkpoints continuing the mixed arm, with CI bands; and a panel with y+ and y-
  of the mixed and DPO arms (the paper's learning-dynamics figure);
- ``dynamics.csv``: every checkpoint x prompt direction, the same numbers as the JSON.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

from r1k_plugins.leaderboard.ingest import Skipped, display_path

SCHEMA = "r1k_probe/1"
DIRS = ("forward", "reverse", "all")
_HEAD = b'"schema": "r1k_probe/1"'
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
                   **{k: _stat(s.get(k)) for k in ("y_plus", "y_minus", "delta")}}
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
                "delta_ci_high", "max_tokens"])
    for c in probe["checkpoints"]:
        for d in DIRS:
            s = c["summary"][d]
            vals = [s[k][m] for k in ("y_plus", "y_minus", "delta") for m in ("mean", "ci_low", "ci_high")]
            w.writerow([c["arm"], c["run"] or "", c["model"], c["label"], "" if c["step"] is None else c["step"],
                        "" if c["epoch"] is None else f"{c['epoch']:.4g}", d, s["n"],
                        *("" if v is None else f"{v:.6f}" for v in vals),
                        "" if c["max_tokens"] is None else c["max_tokens"]])
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


def _curves(probe: dict) -> tuple[list[dict], list[dict], float]:
    """Δ curves [(label, color, style, xs, stat list)] and y± curves, and where DPO begins on x
    (at the last epoch of the SFT arm it continues)."""
    runs: dict[tuple[str, str | None], list[dict]] = {}
    from r1k_plugins.leaderboard.arms import is_mitigation_arm

    for c in probe["checkpoints"]:
        if c["arm"] == "base" or is_mitigation_arm(c["arm"]):  # the paper's figure: the paper's arms
            continue
        runs.setdefault((c["arm"], c["run"]), []).append(c)
    ends: dict[str, float] = {}
    for (arm, _), cs in runs.items():
        if _family(arm) != "dpo":
            ends[arm] = max([ends.get(arm, 0.0)] + [c["epoch"] or 0.0 for c in cs])
    sft_end = max(ends.values(), default=0.0)
    dpo_start = None
    deltas, ys = [], []
    for (arm, run), cs in runs.items():
        fam = _family(arm)
        cs = sorted(cs, key=lambda c: (c["step"] if c["step"] is not None else -1))
        if fam == "dpo":
            steps = [c["step"] or 0 for c in cs]
            top = max(steps) or 1
            start = ends.get(arm.split(" -> ")[0], sft_end)  # where its SFT parent arm ended
            dpo_start = start if dpo_start is None else min(dpo_start, start)
            xs = [start + s / top for s in steps]  # DPO continues its parent arm over one x unit
        else:
            xs = [c["epoch"] if c["epoch"] is not None else float(i + 1) for i, c in enumerate(cs)]
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
    from r1k_plugins.leaderboard.arms import is_mitigation_arm
    from r1k_plugins.leaderboard.plots import _new_figure, _png

    deltas, ys, sft_end = _curves(probe)
    if not any(len(c["x"]) for c in deltas):
        return None
    has_dpo = any(_family(c["arm"]) == "dpo" and not is_mitigation_arm(c["arm"]) for c in probe["checkpoints"])
    fig = _new_figure(12.5 if ys else 7.5, 4.6)
    ax = fig.add_subplot(1, 2, 1) if ys else fig.add_subplot(1, 1, 1)
    _draw(ax, deltas)
    ax.axhline(0, color="#8c959f", lw=0.8)
    ax.set_title("Directional distinction Δ = y+ − y− (nats/token)", fontsize=11)
    ax.set_xlabel("SFT epoch" + (" | then DPO steps (scaled to one unit)" if has_dpo else ""))
    ax.set_ylabel("Δ (95% CI band)")
    panels = [ax]
    if ys:
        ax2 = fig.add_subplot(1, 2, 2)
        _draw(ax2, ys)
        ax2.set_title("Mixed SFT → DPO: y+ and y− (mean log-prob per token)", fontsize=11)
        ax2.set_xlabel("SFT epoch" + (" | then DPO steps" if has_dpo else ""))
        ax2.set_ylabel("mean log-prob per token")
        panels.append(ax2)
    for a in panels:
        if has_dpo:
            a.axvspan(sft_end, sft_end + 1, color="#8250df", alpha=0.06, lw=0)
            a.axvline(sft_end, color="#8250df", lw=0.8, ls="--")
        a.grid(alpha=0.3)
        a.legend(fontsize=8, ncol=2, frameon=False)
    return _png(fig)
