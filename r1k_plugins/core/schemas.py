"""One declared schema per input kind (pydantic), and one way to report a violation.

Input kinds (the r1k record itself is :class:`r1k_plugins.core.record.Record`): import source rows
(``SOURCE_TEXT_COLUMNS``), prebuilt SFT / DPO rows, lm-eval ``--metadata`` values. (Recipe keys are
checked by r1k_plugins.training.recipe, on TRL's parser.) Each
violation becomes one ``R1KError`` line: ``WHERE: field 'a.b' <what is wrong> (got <type> <value>)``.
"""

from __future__ import annotations

import math
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, StrictStr, ValidationError

from r1k_plugins.core.errors import R1KError, pydantic_message, short_repr
from r1k_plugins.core.vocab import DIRECTIONS

_short = short_repr


M = TypeVar("M", bound=BaseModel)


def validate_model(model: type[M], obj: Any, where: str, prefix: str = "field") -> M:
    """Validate ``obj`` against ``model``; the first violation becomes a one-line R1KError."""
    try:
        return model.model_validate(obj)
    except ValidationError as e:
        raise R1KError(f"{where}: {pydantic_message(e.errors(include_url=False)[0], prefix)}") from None
    except RecursionError:
        raise R1KError(f"{where}: nested too deeply") from None


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# ---- prebuilt TRL rows ---------------------------------------------------------------------------
class Message(_Open):
    role: StrictStr
    content: StrictStr


Conversation = list[Message]
Turns = StrictStr | Conversation


class _Row(_Open):
    direction: Literal[DIRECTIONS] | None = None  # type: ignore[valid-type]


class PromptCompletionRow(_Row):
    prompt: Turns
    completion: Turns


class MessagesRow(_Row):
    messages: Conversation


class TextRow(_Row):
    text: StrictStr


class DPORow(_Row):
    prompt: Turns | None = None
    chosen: Turns
    rejected: Turns


ROW_MODELS: dict[str, type[BaseModel]] = {
    "sft-prompt-completion": PromptCompletionRow,
    "sft-messages": MessagesRow,
    "sft-text": TextRow,
    "dpo": DPORow,
}


def check_row(kind: str, row: dict, where: str) -> None:
    validate_model(ROW_MODELS[kind], row, where)
    for key in ("messages", "prompt", "completion", "chosen", "rejected"):
        v = row.get(key)
        if isinstance(v, list) and not v and key != "prompt":
            raise R1KError(f"{where}: field '{key}' is an empty conversation")


# ---- import sources ------------------------------------------------------------------------------
# preset -> {column: "text" (a non-empty string) | "answer" (string or number)}
SOURCE_COLUMNS: dict[str, dict[str, str]] = {
    "s1k": {"question": "text", "solution": "answer"},
    "r1k-published": {
        "question": "text",
        "solution": "answer",
        "text": "text",
        "sample_type": "text",
        "relevant-question": "text",
    },
    "math500": {"problem": "text", "answer": "answer"},
    "aime": {"problem": "text", "Problem": "text", "answer": "answer", "Answer": "answer"},
    "gpqa": {
        "Question": "text",
        "Correct Answer": "answer",
        "Incorrect Answer 1": "answer",
        "Incorrect Answer 2": "answer",
        "Incorrect Answer 3": "answer",
    },
}


def check_source_row(preset: str, row: Any, where: str) -> None:
    if not isinstance(row, dict):
        raise R1KError(f"{where}: expected an object (one row per item), got {type(row).__name__}")
    for col, kind in SOURCE_COLUMNS.get(preset, {}).items():
        if col not in row:
            continue  # missing columns: the preset's own check names them
        v = row[col]
        if kind == "text" and not (isinstance(v, str) and v.strip()):
            raise R1KError(f"{where}: column '{col}' must be non-empty text, got {type(v).__name__} {_short(v)}")
        if kind == "answer":
            ok = isinstance(v, str) or (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))
            if not ok:
                raise R1KError(f"{where}: column '{col}' must be text or a number, got {type(v).__name__} {_short(v)}")
            if not isinstance(v, str):
                row[col] = str(v)  # 42 -> "42": answers are text in r1k records


# ---- lm-eval --metadata ----------------------------------------------------------------------------
def check_metadata(metadata: dict, keys: tuple[str, ...]) -> None:
    for key in keys:
        v = metadata.get(key)
        if v is not None and not isinstance(v, str):
            raise R1KError(
                f"--metadata {key}: expected a file path string, got {type(v).__name__} {_short(v)} "
                f'(e.g. --metadata \'{{"{key}": "my_r1k.jsonl"}}\')'
            )
    tf = metadata.get("r1k_trace_format")
    if tf is not None and tf not in ("s1", "think-tags"):
        raise R1KError(f"--metadata r1k_trace_format: {_short(tf)} is not one of s1, think-tags")
    tags = metadata.get("r1k_direction_tags")
    if tags is not None and not isinstance(tags, bool):
        raise R1KError(
            f"--metadata r1k_direction_tags: {_short(tags)} is not true or false "
            "(e.g. --metadata '{\"r1k_direction_tags\": true}')"
        )
