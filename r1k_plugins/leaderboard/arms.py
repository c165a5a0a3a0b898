"""Model identity and training arm: from the model path's ``r1k_run.json`` manifest."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "r1k_run.json"
MODE_ORDER = {"forward": 0, "reverse": 1, "mixed": 2}


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


def _variant(m: dict, stage: str) -> str:
    """What a mitigation arm changes, read from its manifest: ``+SFT`` (DPO loss_type [sigmoid, sft]),
    ``-norm`` (sigmoid_norm), another loss by name, `` [tags]`` (data.direction_tags), `` [CHES]``
    (a ``*-ches`` recipe: DPO on CHES-filtered pairs). Empty for the paper's arms."""
    out = ""
    cfg = m.get("config") if isinstance(m.get("config"), dict) else {}
    if stage == "dpo":
        lt = cfg.get("loss_type", ["sigmoid"])
        lt = [lt] if isinstance(lt, str) else [str(x) for x in (lt or ["sigmoid"])]
        if "sft" in lt and len(lt) > 1:
            out += "+SFT"
            lt = [x for x in lt if x != "sft"]
        if lt == ["sigmoid_norm"]:
            out += "-norm"
        elif lt != ["sigmoid"]:
            out += f"({'+'.join(lt)})"
    opts = m.get("data_options") if isinstance(m.get("data_options"), dict) else {}
    if opts.get("direction_tags"):
        out += " [tags]"
    recipe = m.get("recipe")
    if stage == "dpo" and isinstance(recipe, str) and Path(recipe).stem.endswith("-ches"):
        out += " [CHES]"
    return out


def is_mitigation_arm(arm: str) -> bool:
    """An arm beyond the paper's (forward / reverse / mixed SFT, mixed SFT -> DPO): see :func:`_variant`."""
    return "[" in arm or "DPO+" in arm or "DPO-" in arm or "DPO(" in arm


def _arm_from_manifest(m: dict, depth: int = 0) -> str:
    stage = str(m.get("stage") or "").lower()
    mode = m.get("data_mode")
    parent = m.get("parent")
    if depth > 8:
        return "?"
    if stage == "sft":
        return (f"{mode}-SFT" if mode else "SFT") + _variant(m, stage)
    if stage == "dpo":
        v = _variant(m, stage)
        if isinstance(parent, dict):
            return f"{_arm_from_manifest(parent, depth + 1)} -> DPO{v}"
        base = _manifest_at(m.get("base_model"))
        if base is not None:
            return f"{_arm_from_manifest(base, depth + 1)} -> DPO{v}"
        return (f"{mode}-DPO" if mode else "DPO") + v
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
    from r1k_plugins.leaderboard.ingest import display_path

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


def arm_sort_key(arm: str) -> tuple:
    """base first, then SFT arms (forward, reverse, mixed), then longer pipelines."""
    if arm == "base":
        return (0, (), arm)
    stages = arm.split(" -> ")
    modes = tuple(MODE_ORDER.get(s.split("-")[0], 3) for s in stages)
    return (len(stages), modes, arm)
