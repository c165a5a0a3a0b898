"""The r1k record: one JSON object per line, validated on read (see docs/data.md)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.io import iter_jsonl, write_jsonl
from r1k_plugins.core.vocab import ANSWER_TYPES, DIRECTIONS

REQUIRED = ("id", "pair_id", "direction", "question", "answer", "answer_type", "source")
OPTIONAL = {"reasoning": None, "response": None, "meta": dict}
FIELDS = REQUIRED + tuple(OPTIONAL)
# The keys that mark a JSON row as an r1k record (rather than a benchmark row or TRL SFT/DPO row);
# such a file is then read with read_records, whose validation names anything else missing.
RECORD_KEYS = frozenset({"id", "pair_id", "direction", "question", "answer"})


def looks_like_record(keys) -> bool:
    return RECORD_KEYS <= set(keys)


@dataclass
class Record:
    id: str
    pair_id: str
    direction: str
    question: str
    answer: str
    answer_type: str
    source: str
    reasoning: str | None = None
    response: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, obj: dict, where: str = "<record>") -> "Record":
        return cls(**validate(obj, where))


def validate(obj: dict, where: str = "<record>") -> dict:
    """Check one record; return the dict with optional fields filled. Raises R1KError(where)."""
    missing = [k for k in REQUIRED if k not in obj]
    if missing:
        raise R1KError(
            f"{where}: record is missing required field(s) {', '.join(missing)} "
            f"(an r1k record needs {', '.join(REQUIRED)}; see docs/data.md)"
        )
    unknown = [k for k in obj if k not in FIELDS]
    if unknown:
        raise R1KError(f"{where}: unknown field(s) {', '.join(unknown)}; put extra columns under 'meta'")
    for k in ("id", "pair_id", "question", "answer", "source"):
        if not isinstance(obj[k], str):
            raise R1KError(f"{where}: field '{k}' must be a string, got {type(obj[k]).__name__}")
    if not obj["question"].strip():
        raise R1KError(f"{where}: field 'question' is empty")
    if obj["direction"] not in DIRECTIONS:
        raise R1KError(f"{where}: field 'direction' is {obj['direction']!r}; use one of {', '.join(DIRECTIONS)}")
    if obj["answer_type"] not in ANSWER_TYPES:
        raise R1KError(
            f"{where}: field 'answer_type' is {obj['answer_type']!r}; use one of {', '.join(ANSWER_TYPES)}"
        )
    out = dict(obj)
    for k, default in OPTIONAL.items():
        if k not in out or out[k] is None:
            out[k] = default() if callable(default) else default
    for k in ("reasoning", "response"):
        if out[k] is not None and not isinstance(out[k], str):
            raise R1KError(f"{where}: field '{k}' must be a string or null")
    if not isinstance(out["meta"], dict):
        raise R1KError(f"{where}: field 'meta' must be an object")
    if out["meta"]:  # the declared schema (nested meta.inversion fields included)
        from r1k_plugins.core.schemas import RecordModel, validate_model

        validate_model(RecordModel, out, where)
    return out


def read_records(path: str | os.PathLike, *, allow_empty: bool = False) -> list[Record]:
    """Read and validate an r1k JSONL file. Errors name file:line and the fix."""
    p = Path(path)
    records: list[Record] = []
    seen: dict[str, int] = {}
    for lineno, obj in iter_jsonl(p):
        where = f"{p}:{lineno}"
        rec = Record.from_dict(obj, where)
        if rec.id in seen:
            raise R1KError(f"{where}: duplicate id {rec.id!r} (first on line {seen[rec.id]}); ids must be unique")
        seen[rec.id] = lineno
        records.append(rec)
    if not records and not allow_empty:
        raise R1KError(f"{p}: no records in file (expected r1k JSONL, one record per line)")
    return records


def write_records(path: str | os.PathLike, records: Iterable[Record | dict]) -> int:
    return write_jsonl(path, (r.to_dict() if isinstance(r, Record) else r for r in records))


def pair_index(records: Iterable[Record]) -> dict[str, dict[str, Record]]:
    """pair_id -> {"forward": rec, "reverse": rec} (either may be absent)."""
    out: dict[str, dict[str, Record]] = {}
    for r in records:
        out.setdefault(r.pair_id, {})[r.direction] = r
    return out
