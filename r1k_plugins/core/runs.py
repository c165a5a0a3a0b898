"""A training run folder, read and written in one place: the ``r1k_run.json`` manifest
(:class:`RunManifest`), the run's ``checkpoint-N`` folders, and the training arm a model belongs
to (its name, e.g. ``mixed-SFT -> DPO``, and its family: base, forward, reverse, mixed, other).

Training writes the manifest; the probe, the leaderboard and the demo read it through this module.
The format is described in docs/training.md.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.io import atomic_write_text
from r1k_plugins.core.readers import load_json_file
from r1k_plugins.core.schemas import validate_model
from r1k_plugins.core.vocab import MODES

RUN_MANIFEST = "r1k_run.json"
"""The manifest's file name in a run folder (a folder without it is an unfinished run)."""
RUN_SCHEMA = "r1k_run/1"
CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
ARM_FAMILIES = ("base", *MODES[:3], "other")
"""Arm families: a model without a manifest (base), the data mode of its first SFT stage, other."""


class RunManifest(BaseModel):
    """``r1k_run.json``: what a run trained, on what, with which settings, and what it reached.

    Every field is optional (older manifests and hand-made ones in tests carry a few); unknown keys
    are kept. Fields are written in this order.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, protected_namespaces=())

    schema_id: str | None = Field(None, alias="schema")
    base_model: str | None = None
    stage: str | None = None
    data_mode: str | None = None
    data_file: str | None = None
    data_sha256: str | None = None
    data_kind: str | None = None
    data_options: dict[str, Any] | None = None
    effective_batch_size: int | None = None
    num_processes: int | None = None
    distributed_type: str | None = None
    record_counts: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    model_args: dict[str, Any] | None = Field(None, alias="model_config")
    peft: dict[str, Any] | None = None
    adapter_dir: str | None = None
    versions: dict[str, str | None] | None = None
    device: str | None = None
    wall_time_s: float | None = None
    final_metrics: dict[str, Any] = {}
    checkpoints: list[dict[str, Any]] = []  # [{"name", "step", "epoch"}] of every kept checkpoint-N
    parent: RunManifest | None = None  # the starting model's own manifest (an SFT run for DPO)
    output_dir: str | None = None
    seed: int | None = None
    resumed_from: str | None = None
    recipe: str | None = None
    command: list[str] | None = None
    created_utc: str | None = None

    # ---- derived fields -----------------------------------------------------------------------
    @property
    def final_step(self) -> int | None:
        v = self.final_metrics.get("global_step")
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    @property
    def final_epoch(self) -> float | None:
        v = self.final_metrics.get("epoch")
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    @property
    def arm(self) -> str:
        return arm_name(self)

    # ---- file I/O -----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_unset=True)

    def write(self, path: str | Path) -> None:
        """Write atomically (a folder path gets ``RUN_MANIFEST`` inside it)."""
        p = Path(path)
        if p.is_dir():
            p = p / RUN_MANIFEST
        atomic_write_text(p, json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")

    @classmethod
    def from_obj(cls, obj: Any, where: str) -> RunManifest:
        if not isinstance(obj, dict):
            raise R1KError(f"{where}: a run manifest is a JSON object, got {type(obj).__name__}")
        return validate_model(cls, obj, where)

    @classmethod
    def read(cls, path: str | Path) -> RunManifest:
        """Read ``path`` (a manifest file, or a run folder holding one); R1KError naming the file."""
        p = Path(path)
        if p.is_dir():
            p = p / RUN_MANIFEST
        return cls.from_obj(load_json_file(p, "run manifest"), str(p))

    @classmethod
    def read_or_none(cls, path: str | Path) -> RunManifest | None:
        """The manifest at ``path`` (file or run folder), or None when it is missing or unreadable."""
        try:
            return cls.read(path)
        except R1KError:
            return None


def new_manifest(**fields: Any) -> RunManifest:
    """A manifest for a finished run (training), schema id set; ``fields`` use the file's key names."""
    return RunManifest.model_validate({"schema": RUN_SCHEMA, **fields})


# ---- checkpoints ---------------------------------------------------------------------------------
def list_checkpoints(out: Path) -> list[tuple[int, Path, dict]]:
    """The ``checkpoint-N`` folders of a run in step order: (N, folder, its trainer_state.json or {})."""
    if not out.is_dir():
        return []
    found = []
    for c in out.iterdir():
        m = CHECKPOINT_RE.match(c.name)
        if m and c.is_dir():
            try:
                state = json.loads((c / "trainer_state.json").read_text(encoding="utf-8"))
            except (OSError, ValueError, RecursionError):
                state = {}
            found.append((int(m.group(1)), c, state if isinstance(state, dict) else {}))
    return sorted(found, key=lambda t: t[0])


# ---- arms ----------------------------------------------------------------------------------------
def arm_variant(m: RunManifest) -> str:
    """What a mitigation arm changes, read from its manifest: ``+SFT`` (DPO ``loss_type`` [sigmoid,
    sft]), ``-norm`` (``sigmoid_norm``), another loss by name, `` [tags]`` (``data.direction_tags``),
    `` [CHES]`` (a ``*-ches`` recipe: DPO on CHES-filtered pairs). Empty for the paper's arms."""
    stage = (m.stage or "").lower()
    out = ""
    if stage == "dpo":
        lt = (m.config or {}).get("loss_type", ["sigmoid"])
        losses = [lt] if isinstance(lt, str) else [str(x) for x in (lt or ["sigmoid"])]
        if "sft" in losses and len(losses) > 1:
            out += "+SFT"
            losses = [x for x in losses if x != "sft"]
        if losses == ["sigmoid_norm"]:
            out += "-norm"
        elif losses != ["sigmoid"]:
            out += f"({'+'.join(losses)})"
    if (m.data_options or {}).get("direction_tags"):
        out += " [tags]"
    if stage == "dpo" and m.recipe and Path(m.recipe).stem.endswith("-ches"):
        out += " [CHES]"
    return out


def is_mitigation_arm(arm: str) -> bool:
    """An arm beyond the paper's (forward / reverse / mixed SFT, mixed SFT -> DPO): see :func:`arm_variant`."""
    return "[" in arm or "DPO+" in arm or "DPO-" in arm or "DPO(" in arm


def arm_name(m: RunManifest, depth: int = 0) -> str:
    """The training arm of a run: ``forward-SFT``, ``mixed-SFT -> DPO`` (DPO on that SFT model), with
    a mitigation's :func:`arm_variant` appended (``mixed-SFT -> DPO+SFT``, ``mixed-SFT [tags]``)."""
    stage = (m.stage or "").lower()
    mode = m.data_mode
    if depth > 8:
        return "?"
    v = arm_variant(m)
    if stage == "sft":
        return (f"{mode}-SFT" if mode else "SFT") + v
    if stage == "dpo":
        if m.parent is not None:
            return f"{arm_name(m.parent, depth + 1)} -> DPO{v}"
        base = RunManifest.read_or_none(m.base_model) if m.base_model else None
        if base is not None:
            return f"{arm_name(base, depth + 1)} -> DPO{v}"
        return (f"{mode}-DPO" if mode else "DPO") + v
    return stage or "unknown"


def arm_family(arm: str) -> str:
    """One of ARM_FAMILIES: ``base``, else the data mode of the arm's first stage, else ``other``."""
    if arm == "base":
        return "base"
    first = arm.split(" -> ")[0].split("-")[0]
    return first if first in ARM_FAMILIES[1:-1] else "other"


def arm_has_dpo(arm: str) -> bool:
    """True for an arm with a DPO stage (``mixed-SFT -> DPO``, ``DPO``)."""
    return "DPO" in arm


def find_manifest(model: str | Path) -> Path | None:
    """``<model>/r1k_run.json``, or the run folder's one for ``<run>/checkpoint-N``."""
    p = Path(model)
    cands = [p / RUN_MANIFEST]
    if CHECKPOINT_RE.match(p.name):
        cands.append(p.parent / RUN_MANIFEST)
    for c in cands:
        try:
            if c.is_file():
                return c
        except OSError:
            return None
    return None


@dataclass
class ModelArm:
    """The arm of a model folder: ``base`` without a manifest, ``unknown`` when it cannot be read."""

    arm: str
    manifest: RunManifest | None = None
    path: Path | None = None  # the manifest file read
    problem: str | None = None  # why it could not be read

    @property
    def stage(self) -> str | None:
        return self.manifest.stage if self.manifest is not None else None


def model_arm(model: str | Path) -> ModelArm:
    """Read the arm of a local model folder (or checkpoint) from its run manifest."""
    mf = find_manifest(model)
    if mf is None:
        return ModelArm("base")
    try:
        m = RunManifest.read(mf)
    except R1KError as e:
        msg = str(e)
        return ModelArm("unknown", None, mf, msg[len(f"{mf}: ") :] if msg.startswith(f"{mf}: ") else msg)
    return ModelArm(arm_name(m), m, mf)
