"""The r1k record: one JSON object per line, one pydantic type, validated once on read or build.

``Record`` is the only definition of the record (docs/data.md): its fields, their types, the
allowed directions and answer types (from :mod:`r1k_plugins.core.vocab`) and the declared
``meta.inversion`` keys. A violation becomes one ``R1KError`` line naming where (file:line), the
field and the fix.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictFloat, StrictInt, StrictStr, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from r1k_plugins.core.errors import R1KError, pydantic_message
from r1k_plugins.core.io import iter_jsonl, write_jsonl
from r1k_plugins.core.vocab import ANSWER_TYPES, DIRECTIONS

REQUIRED = ("id", "pair_id", "direction", "question", "answer", "answer_type", "source")
OPTIONAL = ("reasoning", "response", "meta")
FIELDS = REQUIRED + OPTIONAL
# The keys that mark a JSON row as an r1k record (rather than a benchmark row or TRL SFT/DPO row);
# such a file is then read with read_records, whose validation names anything else missing.
RECORD_KEYS = frozenset({"id", "pair_id", "direction", "question", "answer"})


def looks_like_record(keys) -> bool:
    return RECORD_KEYS <= set(keys)


# ---- meta.inversion: declared keys (strategy-specific extra keys are allowed) --------------------
Scalar = StrictStr | StrictInt | StrictFloat | None


class Inversion(BaseModel):
    """``meta.inversion``: how a reverse record was made (strategy-specific keys are allowed)."""

    model_config = ConfigDict(extra="allow")
    strategy: StrictStr | None = None
    span: tuple[StrictInt, StrictInt] | None = None
    hidden_value: Scalar = None
    given_answer: Scalar = None
    from_id: StrictStr | None = None
    variable: StrictStr | None = None


class RecordMeta(BaseModel):
    """``meta``: free-form, except the declared ``inversion`` block."""

    model_config = ConfigDict(extra="allow")
    inversion: Inversion | None = None


# ---- the record ---------------------------------------------------------------------------------
class Record(BaseModel):
    """An r1k record (docs/data.md). ``meta`` stays a plain dict; its ``inversion`` block is checked.

    Reading goes through :meth:`from_dict` / :func:`read_records` (R1KError naming file:line); code
    that builds a record, ``Record(id=..., ...)``, gets pydantic's ValidationError on a bad value
    (turn it into one line with :func:`record_error`).
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str
    pair_id: str
    direction: Literal[DIRECTIONS]  # type: ignore[valid-type]
    question: str
    answer: str
    answer_type: Literal[ANSWER_TYPES]  # type: ignore[valid-type]
    source: str
    reasoning: str | None = None
    response: str | None = None
    meta: dict[str, Any] = {}

    @field_validator("question")
    @classmethod
    def _question_not_empty(cls, v: str) -> str:
        if not v.strip():
            raise PydanticCustomError("empty", "field 'question' is empty")
        return v

    @field_validator("meta", mode="before")
    @classmethod
    def _meta(cls, v: Any) -> Any:
        if v is None:
            return {}
        if isinstance(v, dict) and "inversion" in v:
            try:
                RecordMeta.model_validate(v)
            except ValidationError as e:
                err = e.errors(include_url=False)[0]
                err = {**err, "loc": ("meta",) + tuple(err["loc"])}
                raise PydanticCustomError("meta_declared", "{text}", {"text": pydantic_message(err)}) from None
        return v

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "pair_id": self.pair_id,
            "direction": self.direction,
            "question": self.question,
            "answer": self.answer,
            "answer_type": self.answer_type,
            "source": self.source,
            "reasoning": self.reasoning,
            "response": self.response,
            "meta": self.meta,
        }

    @classmethod
    def from_dict(cls, obj: dict, where: str = "<record>") -> Record:
        """Validate one JSON object; raises R1KError naming ``where`` (file:line), the field and the fix."""
        try:
            return cls.model_validate(obj)
        except ValidationError as e:
            raise R1KError(record_error(e, where)) from None
        except RecursionError:
            raise R1KError(f"{where}: nested too deeply") from None


_STR_FIELDS = ("id", "pair_id", "question", "answer", "source")


def record_error(e: ValidationError, where: str) -> str:
    """A record's ValidationError as one line starting with ``where``: the first violation, in the
    order a reader fixes them: missing fields, unknown fields, values."""
    errors = e.errors(include_url=False)
    missing = [str(err["loc"][0]) for err in errors if err["type"] == "missing"]
    if missing:
        return (
            f"{where}: record is missing required field(s) {', '.join(missing)} "
            f"(an r1k record needs {', '.join(REQUIRED)}; see docs/data.md)"
        )
    unknown = [str(err["loc"][0]) for err in errors if err["type"] == "extra_forbidden"]
    if unknown:
        return f"{where}: unknown field(s) {', '.join(unknown)}; put extra columns under 'meta'"
    errors.sort(key=lambda err: FIELDS.index(err["loc"][0]) if err["loc"] and err["loc"][0] in FIELDS else len(FIELDS))
    err = errors[0]
    field = str(err["loc"][0]) if err["loc"] else ""
    got = err.get("input")
    if field in _STR_FIELDS and err["type"] == "string_type":
        return f"{where}: field '{field}' must be a string, got {type(got).__name__}"
    if field in ("direction", "answer_type") and err["type"] == "literal_error":
        allowed = DIRECTIONS if field == "direction" else ANSWER_TYPES
        return f"{where}: field '{field}' is {got!r}; use one of {', '.join(allowed)}"
    if field in ("reasoning", "response"):
        return f"{where}: field '{field}' must be a string or null"
    if field == "meta" and err["type"] == "dict_type":
        return f"{where}: field 'meta' must be an object"
    if err["type"] in ("empty", "meta_declared"):
        return f"{where}: {err['msg']}"
    return f"{where}: {pydantic_message(err)}"


def read_records(path: str | os.PathLike, *, allow_empty: bool = False) -> list[Record]:
    """Read and validate an r1k JSONL file. Errors name file:line and the fix."""
    p = Path(path)
    records: list[Record] = []
    seen: dict[str, int] = {}
    validate = Record.model_validate
    for lineno, obj in iter_jsonl(p):
        try:
            rec = validate(obj)
        except ValidationError as e:
            raise R1KError(record_error(e, f"{p}:{lineno}")) from None
        except RecursionError:
            raise R1KError(f"{p}:{lineno}: nested too deeply") from None
        if rec.id in seen:
            raise R1KError(f"{p}:{lineno}: duplicate id {rec.id!r} (first on line {seen[rec.id]}); ids must be unique")
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
