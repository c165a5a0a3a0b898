"""Model identity on the board, and each row's training arm (read from the model path's
``r1k_run.json`` through :mod:`r1k_plugins.core.runs`, with the board's warnings)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1k_plugins.core.runs import RUN_MANIFEST, RUN_SCHEMA, arm_name, model_arm
from r1k_plugins.core.vocab import MODES

MODE_ORDER = {m: i for i, m in enumerate(MODES)}


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


def arm_for(key: str) -> ArmInfo:
    """The arm of a model (core.runs.model_arm); a path without a manifest (or a hub id) is ``base``."""
    if not key.startswith("/"):
        return ArmInfo("base", None)
    info = model_arm(key)
    if info.path is None:
        if not os.path.exists(key):
            return ArmInfo(
                "base",
                None,
                f"{key}: model folder not found here, so no {RUN_MANIFEST} could be read; arm shown as 'base'",
            )
        return ArmInfo("base", None)
    from r1k_plugins.leaderboard.ingest import display_path

    shown = display_path(info.path)
    m = info.manifest
    if m is None:
        return ArmInfo(
            "unknown", {"path": shown}, f"{shown}: unreadable run manifest ({info.problem}); arm shown as 'unknown'"
        )
    warning = None
    if m.schema_id != RUN_SCHEMA:
        warning = f"{shown}: manifest schema {m.schema_id!r}, expected {RUN_SCHEMA!r}; arm may be wrong"
    summary = {
        "path": shown,
        "stage": m.stage,
        "data_mode": m.data_mode,
        "base_model": m.base_model,
        "parent_arm": arm_name(m.parent) if m.parent is not None else None,
    }
    return ArmInfo(info.arm, summary, warning)


def arm_sort_key(arm: str) -> tuple:
    """base first, then SFT arms (forward, reverse, mixed), then longer pipelines."""
    if arm == "base":
        return (0, (), arm)
    stages = arm.split(" -> ")
    modes = tuple(MODE_ORDER.get(s.split("-")[0], 3) for s in stages)
    return (len(stages), modes, arm)
