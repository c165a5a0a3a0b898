"""The paper's measurement on the board: read ``r1k probe direction`` outputs (schema
``r1k_probe/1``) into the document's ``probe`` part (every checkpoint, and the last one of each
arm for the table), and write them as ``dynamics.csv`` (every checkpoint x prompt direction).

The per-token table is a section of the board (sections.py), the figure ``dynamics.png`` is
drawn by plots.py.
With response families (``--families``) the CSV carries their columns and the figure a panel
following each family through mixed SFT then DPO (plots.py).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

from r1k_plugins.core.documents import PROBE, document_kind
from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.probe_doc import PROBE_DIRECTIONS as DIRS
from r1k_plugins.core.probe_doc import ProbeCheckpoint, ProbeDocument, Stat
from r1k_plugins.core.vocab import PROBE_FAMILIES
from r1k_plugins.leaderboard.arms import arm_sort_key
from r1k_plugins.leaderboard.ingest import Skipped, display_path

FAMILY_STATS = tuple(PROBE_FAMILIES.values())  # y_greedy, y_irrelevant, argmax_share


def is_probe_file(path: Path) -> bool:
    """A probe output: its ``schema`` field says so (core.documents.document_kind)."""
    return document_kind(path) == PROBE


def split_probe_files(files: list[Path]) -> tuple[list[Path], list[Path]]:
    probes = [f for f in files if f.suffix == ".json" and is_probe_file(f)]
    return probes, [f for f in files if f not in probes]


def _finite(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) else None


def _stat(s: Stat) -> dict:
    return {"mean": _finite(s.mean), "ci_low": _finite(s.ci_low), "ci_high": _finite(s.ci_high), "n": s.n}


def _checkpoint(c: ProbeCheckpoint, src: str, settings: dict) -> dict:
    summ = {}
    for d in DIRS:
        s = c.summary.get(d)
        summ[d] = {
            "n": s.n if s else 0,
            **{k: _stat(getattr(s, k) if s else Stat()) for k in ("y_plus", "y_minus", "delta")},
            **{k: _stat(getattr(s, k)) for k in FAMILY_STATS if s is not None and getattr(s, k) is not None},
        }
    return {
        "model": display_path(c.model),
        "run": display_path(c.run) if c.run is not None else None,
        "label": c.label or "",
        "arm": c.arm or "base",
        "step": c.step,
        "epoch": _finite(c.epoch),
        "summary": summ,
        "source": src,
        "max_tokens": settings.get("max_tokens"),
        "data": settings.get("data"),
    }


def read_probes(files: list[Path], skipped: list[Skipped], warnings: list[str]) -> dict | None:
    """Merge probe files; the newest file wins for a checkpoint probed twice (same run and model)."""
    docs: list[tuple[str, Path, ProbeDocument]] = []
    for f in files:
        try:
            d = ProbeDocument.read(f)
        except R1KError as e:
            msg = str(e)
            skipped.append(
                Skipped(
                    display_path(f),
                    "unreadable probe output: " + (msg[len(f"{f}: ") :] if msg.startswith(f"{f}: ") else msg),
                )
            )
            continue
        docs.append((d.created_utc or "", f, d))
    if not docs:
        return None
    docs.sort(key=lambda t: (t[0], t[1].as_posix()))
    merged: dict[tuple, dict] = {}
    settings_seen = set()
    for _, f, d in docs:
        settings = d.settings
        settings_seen.add(
            (
                settings.get("max_tokens"),
                settings.get("data_sha256") or settings.get("data"),
                settings.get("trace_format"),
            )
        )
        for c in d.checkpoints:
            ck = _checkpoint(c, display_path(f), settings)
            merged[(ck["run"], ck["model"], ck["label"])] = ck
    if len(settings_seen) > 1:
        warnings.append(
            "probe outputs were made with different data, max_tokens or trace formats; "
            "compare their directional distinctions with care"
        )
    cks = list(merged.values())
    cks.sort(key=lambda c: (arm_sort_key(c["arm"]), c["run"] or "", c["step"] if c["step"] is not None else -1))
    return {
        "definition": docs[-1][2].definition,
        "checkpoints": cks,
        "table": _last_per_arm(cks),
        "files": [display_path(f) for _, f, _ in docs],
    }


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


def to_csv(probe: dict) -> str:
    """``dynamics.csv``: one line per checkpoint and prompt direction, the numbers of the JSON."""
    fams = [k for k in FAMILY_STATS if any(k in c["summary"][d] for c in probe["checkpoints"] for d in DIRS)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        [
            "arm",
            "run",
            "model",
            "label",
            "step",
            "epoch",
            "prompt_direction",
            "n",
            "y_plus",
            "y_plus_ci_low",
            "y_plus_ci_high",
            "y_minus",
            "y_minus_ci_low",
            "y_minus_ci_high",
            "delta",
            "delta_ci_low",
            "delta_ci_high",
            "max_tokens",
        ]
        + [f"{k}{m}" for k in fams for m in ("", "_ci_low", "_ci_high")]
    )  # only the families scored
    for c in probe["checkpoints"]:
        for d in DIRS:
            s = c["summary"][d]
            vals = [s[k][m] for k in ("y_plus", "y_minus", "delta") for m in ("mean", "ci_low", "ci_high")]
            w.writerow(
                [
                    c["arm"],
                    c["run"] or "",
                    c["model"],
                    c["label"],
                    "" if c["step"] is None else c["step"],
                    "" if c["epoch"] is None else f"{c['epoch']:.4g}",
                    d,
                    s["n"],
                    *("" if v is None else f"{v:.6f}" for v in vals),
                    "" if c["max_tokens"] is None else c["max_tokens"],
                    *(
                        "" if k not in s or s[k][m] is None else f"{s[k][m]:.6f}"
                        for k in fams
                        for m in ("mean", "ci_low", "ci_high")
                    ),
                ]
            )
    return buf.getvalue()
