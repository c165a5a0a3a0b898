"""The arm comparison: one row per training arm (the paper's and the mitigations of ``r1k demo
--arms``) with the probe's Δ per prompt direction, y+ and y− (last checkpoint, 95% CIs) and the
accuracy on r1k_forward / r1k_reverse (lm-eval, else Inspect; ± 1.96·stderr, i.e. 95% Wald).

:func:`compare` returns plain table rows (dicts) from the board document's rows and probe part,
stored under ``arms_compare``; :func:`table_cells` gives their text, which the board model's "Arms
compared" section (sections.py) shows in every format.
"""

from __future__ import annotations

from typing import Any

from r1k_plugins.core.runs import is_mitigation_arm
from r1k_plugins.leaderboard.arms import arm_sort_key

ACC_TASKS = ("r1k_forward", "r1k_reverse")
HARNESS_PREF = ("lm-eval", "inspect")
Z95 = 1.96

EXPLAIN = (
    "One row per arm: the probe's directional distinction Δ under forward and under reverse prompts, "
    "the mean log-prob per token of the matching trace (y+) and of the other direction's (y−), last "
    "checkpoint, 95% CIs over items; and exact-answer accuracy on the test items (greedy; lm-eval, else "
    "Inspect) ± 1.96·stderr. Mitigation arms: +SFT = DPO loss [sigmoid, sft]; -norm = length-normalised "
    "DPO (sigmoid_norm); [tags] = direction tags in the SFT and DPO prompts (and at evaluation); [CHES] = "
    "DPO on CHES-filtered pairs."
)


def _stat(s: Any) -> dict | None:
    if not isinstance(s, dict) or s.get("mean") is None:
        return None
    return {"mean": s["mean"], "ci_low": s.get("ci_low"), "ci_high": s.get("ci_high")}


def _acc(row: dict, task: str) -> dict | None:
    per_h = (row.get("results") or {}).get(task) or {}
    for h in HARNESS_PREF:
        f = per_h.get(h)
        if isinstance(f, dict) and f.get("score") is not None:
            se = f.get("stderr")
            lo = None if se is None else max(0.0, f["score"] - Z95 * se)
            hi = None if se is None else min(1.0, f["score"] + Z95 * se)
            return {"mean": f["score"], "ci_low": lo, "ci_high": hi, "stderr": se, "n": f.get("n"), "harness": h}
    return None


def compare(rows: list[dict], probe: dict | None) -> list[dict]:
    """One dict per arm, in the board's arm order: arm, model, probe stats, accuracies."""
    last = {c["arm"]: c for c in (probe or {}).get("table") or []}
    by_arm: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row.get("run") is None and row.get("arm") not in by_arm:
            by_arm[row["arm"]] = row
    out = []
    for arm in sorted(set(last) | set(by_arm), key=arm_sort_key):
        c: dict[str, Any] | None = last.get(arm)
        r: dict[str, Any] | None = by_arm.get(arm)
        summ = (c or {}).get("summary") or {}
        out.append(
            {
                "arm": arm,
                "mitigation": is_mitigation_arm(arm),
                "model": (r or {}).get("name") or (c or {}).get("model"),
                "checkpoint": None
                if c is None
                else {"label": c.get("label"), "step": c.get("step"), "epoch": c.get("epoch")},
                "delta_forward": _stat((summ.get("forward") or {}).get("delta")),
                "delta_reverse": _stat((summ.get("reverse") or {}).get("delta")),
                "y_plus": _stat((summ.get("all") or {}).get("y_plus")),
                "y_minus": _stat((summ.get("all") or {}).get("y_minus")),
                "acc": {t: _acc(r, t) for t in ACC_TASKS} if r is not None else {t: None for t in ACC_TASKS},
            }
        )
    return out


def _ci(s: dict | None, signed: bool = True) -> str:
    if s is None:
        return "–"
    fmt = (lambda x: f"{x:+.3f}") if signed else (lambda x: f"{x:.3f}")
    if s.get("ci_low") is None:
        return fmt(s["mean"])
    return f"{fmt(s['mean'])} [{fmt(s['ci_low'])}, {fmt(s['ci_high'])}]"


def _acc_text(a: dict | None) -> str:
    if a is None:
        return "–"
    return f"{_ci(a, signed=False)} (n={a['n']})" if a.get("n") else _ci(a, signed=False)


HEAD = [
    "Arm",
    "Model",
    "Δ forward prompts [95% CI]",
    "Δ reverse prompts [95% CI]",
    "y+ [95% CI]",
    "y− [95% CI]",
    "r1k_forward acc [95% CI]",
    "r1k_reverse acc [95% CI]",
]


def table_cells(rows: list[dict]) -> list[list[str]]:
    return [
        [
            r["arm"],
            r["model"] or "–",
            _ci(r["delta_forward"]),
            _ci(r["delta_reverse"]),
            _ci(r["y_plus"]),
            _ci(r["y_minus"]),
            _acc_text(r["acc"]["r1k_forward"]),
            _acc_text(r["acc"]["r1k_reverse"]),
        ]
        for r in rows
    ]
