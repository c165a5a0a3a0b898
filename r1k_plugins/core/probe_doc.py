"""The probe's summary document (``r1k probe direction --out``, schema ``r1k_probe/1``): its type,
written by :mod:`r1k_plugins.probe.run` and read by the leaderboard's dynamics section.

Per checkpoint: which model (arm, step, epoch) and, per prompt direction (forward, reverse, all),
y+, y- and Δ with 95% CIs. Every row type keeps unknown keys, so new measurements (response
families) can be added to a checkpoint or a direction's summary without a new schema id. The
measurement itself is defined in docs/probe.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.io import atomic_write_text
from r1k_plugins.core.readers import load_json_file
from r1k_plugins.core.schemas import validate_model

PROBE_SCHEMA = "r1k_probe/1"
PROBE_DIRECTIONS = ("forward", "reverse", "all")
"""The summary's prompt directions: each record direction, and both together."""


class _Row(BaseModel):
    model_config = ConfigDict(extra="allow", protected_namespaces=())


class Stat(_Row):
    """A mean with its 95% Student-t interval over ``n`` items (null where undefined)."""

    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int | None = None


class DirectionSummary(_Row):
    """One prompt direction of one checkpoint: y+ (own completion), y- (the other direction's), Δ."""

    n: int = 0
    y_plus: Stat = Stat()
    y_minus: Stat = Stat()
    delta: Stat = Stat()
    # response families (``--families``; absent when not scored): the model's own greedy output,
    # another item's trace, and the share of y+ positions where the model's top token is y+'s
    y_greedy: Stat | None = None
    y_irrelevant: Stat | None = None
    argmax_share: Stat | None = None


class ProbeCheckpoint(_Row):
    """One scored model: where it is, its place in training, and its summary per prompt direction."""

    model: str
    kind: str | None = None
    label: str | None = None
    run: str | None = None
    step: int | None = None
    epoch: float | None = None
    arm: str = "base"
    stage: str | None = None
    n_items: int | None = None
    tokens_scored: int | None = None
    seconds: float | None = None
    summary: dict[str, DirectionSummary] = {}


class ProbeDocument(_Row):
    """The whole summary file. ``settings`` holds data, data_sha256, max_tokens, trace_format, ..."""

    schema_id: str = Field(PROBE_SCHEMA, alias="schema")
    definition: str | None = None
    settings: dict[str, Any] = {}
    counts: dict[str, Any] = {}
    checkpoints: list[ProbeCheckpoint]
    created_utc: str | None = None

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    @field_validator("schema_id")
    @classmethod
    def _schema(cls, v: str) -> str:
        if v != PROBE_SCHEMA:
            raise ValueError(f"is {v!r}, not a probe output ({PROBE_SCHEMA})")
        return v

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_unset=True)

    def write(self, path: str | Path) -> None:
        """Write atomically, as ``r1k probe direction`` always has (indent 1, real UTF-8)."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def from_obj(cls, obj: Any, where: str) -> ProbeDocument:
        if not isinstance(obj, dict):
            raise R1KError(f"{where}: a probe output is a JSON object, got {type(obj).__name__}")
        return validate_model(cls, obj, where)

    @classmethod
    def read(cls, path: str | Path) -> ProbeDocument:
        """Read and check a probe output; R1KError naming the file and the field."""
        return cls.from_obj(load_json_file(path, "probe output"), str(path))
