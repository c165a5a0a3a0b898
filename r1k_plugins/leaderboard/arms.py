"""Model identity and training arm: from the model path's ``r1k_run.json`` manifest."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1k_plugins.core.vocab import MODES
from r1k_plugins.leaderboard.ingest import display_path

MANIFEST = "r1k_run.json"
MODE_ORDER = {m: i for i, m in enumerate(MODES)}
FAMILIES = ("base", *MODES, "other")
"""An arm's family: its first stage's data mode (forward / reverse / mixed), base, or other. It
picks the arm's colour on the plots and the HTML board."""


@dataclass
class ArmInfo:
    arm: str
    manifest: dict[str, Any] | None  # summary for the outputs; None: no manifest (base)
    warning: str | None = None


def model_key(model_id: str) -> str:
    """Canonical identity of a model: an existing local folder by its absolute path, else the id."""
    s = model_id.strip()
    looks_path = s.startswith(("/", "./", "../", "~")) or os.sep in s
    if looks_path or os.path.exists(s):
        p = Path(s).expanduser()
        try:
            if p.exists():
                return str(p.resolve())
        except OSError:
            pass
        if s.startswith(("/", "./", "../", "~")):
            return os.path.normpath(str(p))
    return s.rstrip("/") or s


def is_local(key: str) -> bool:
    return key.startswith("/") and os.path.exists(key)


def _arm_from_manifest(m: dict, depth: int = 0) -> str:
    stage = str(m.get("stage") or "").lower()
    mode = m.get("data_mode")
    parent = m.get("parent")
    if depth > 8:
        return "?"
    if stage == "sft":
        return f"{mode}-SFT" if mode else "SFT"
    if stage == "dpo":
        if isinstance(parent, dict):
            return f"{_arm_from_manifest(parent, depth + 1)} -> DPO"
        base = _manifest_at(m.get("base_model"))
        if base is not None:
            return f"{_arm_from_manifest(base, depth + 1)} -> DPO"
        return f"{mode}-DPO" if mode else "DPO"
    return stage or "unknown"


def _manifest_at(path: Any) -> dict | None:
    if not isinstance(path, str) or not path:
        return None
    f = Path(path) / MANIFEST
    try:
        if f.is_file():
            obj = json.loads(f.read_text(encoding="utf-8"))
            return obj if isinstance(obj, dict) else None
    except (OSError, ValueError, RecursionError):
        return None
    return None


def find_manifest(key: str) -> Path | None:
    """``<model>/r1k_run.json``, or the run folder's one for ``<run>/checkpoint-N``."""
    if not key.startswith("/"):
        return None
    p = Path(key)
    cands = [p / MANIFEST]
    if p.name.startswith("checkpoint-"):
        cands.append(p.parent / MANIFEST)
    for c in cands:
        try:
            if c.is_file():
                return c
        except OSError:
            return None
    return None


def arm_for(key: str) -> ArmInfo:
    """The arm of a model; a path without a manifest (or a hub id) is ``base``."""
    mf = find_manifest(key)
    if mf is None:
        if key.startswith("/") and not os.path.exists(key):
            return ArmInfo("base", None, f"{key}: model folder not found here, so no r1k_run.json could be read; "
                                         "arm shown as 'base'")
        return ArmInfo("base", None)
    try:
        m = json.loads(mf.read_text(encoding="utf-8"))
        if not isinstance(m, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError, RecursionError) as e:
        return ArmInfo("unknown", {"path": display_path(mf)},
                       f"{display_path(mf)}: unreadable run manifest ({e}); arm shown as 'unknown'")
    warning = None
    if m.get("schema") != "r1k_run/1":
        warning = f"{display_path(mf)}: manifest schema {m.get('schema')!r}, expected 'r1k_run/1'; arm may be wrong"
    parent = m.get("parent")
    summary = {
        "path": display_path(mf),
        "stage": m.get("stage"),
        "data_mode": m.get("data_mode"),
        "base_model": m.get("base_model"),
        "parent_arm": _arm_from_manifest(parent) if isinstance(parent, dict) else None,
    }
    return ArmInfo(_arm_from_manifest(m), summary, warning)


def arm_family(arm: str) -> str:
    """The family (:data:`FAMILIES`) of an arm name: ``mixed-SFT -> DPO`` is ``mixed``."""
    if arm == "base":
        return "base"
    first = arm.split(" -> ")[0].split("-")[0]
    return first if first in MODES else "other"


def is_dpo(arm: str) -> bool:
    """Whether the arm ends in (or is) a DPO stage."""
    return "DPO" in arm


def arm_sort_key(arm: str) -> tuple:
    """base first, then SFT arms (forward, reverse, mixed), then longer pipelines."""
    if arm == "base":
        return (0, (), arm)
    stages = arm.split(" -> ")
    modes = tuple(MODE_ORDER.get(s.split("-")[0], 3) for s in stages)
    return (len(stages), modes, arm)
