"""One declared schema per input kind (pydantic), and one way to report a violation.

Input kinds: r1k records (``RecordModel``, incl. ``meta.inversion``), import source rows
(``SOURCE_TEXT_COLUMNS``), prebuilt SFT / DPO rows, recipe ``data.*`` keys and the numeric/bool
trainer keys every recipe uses (``RecipeNumbers``), lm-eval ``--metadata`` values. Each
violation becomes one ``R1KError`` line: ``WHERE: field 'a.b' <what is wrong> (got <type> <value>)``.
"""

from __future__ import annotations

import math
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError, field_validator

from r1k_plugins.core.errors import R1KError


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 40 else r[:37] + "..."


def validate_model(model: type[BaseModel], obj: Any, where: str, prefix: str = "field") -> BaseModel:
    """Validate ``obj`` against ``model``; the first violation becomes a one-line R1KError."""
    try:
        return model.model_validate(obj)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        loc = ".".join(str(x) for x in err["loc"]) or "(row)"
        msg = err["msg"]
        msg = msg[len("Value error, "):] if msg.startswith("Value error, ") else msg[0].lower() + msg[1:]
        got = err.get("input")
        raise R1KError(f"{where}: {prefix} '{loc}': {msg} (got {type(got).__name__} {_short(got)})") from None
    except RecursionError:
        raise R1KError(f"{where}: nested too deeply") from None


# ---- r1k records ---------------------------------------------------------------------------------
class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


Scalar = Union[StrictStr, StrictInt, StrictFloat, None]


class Inversion(_Open):
    """``meta.inversion``: how a reverse record was made (strategy-specific keys are allowed)."""

    strategy: Optional[StrictStr] = None
    span: Optional[tuple[StrictInt, StrictInt]] = None
    hidden_value: Scalar = None
    given_answer: Scalar = None
    from_id: Optional[StrictStr] = None
    variable: Optional[StrictStr] = None


class RecordMeta(_Open):
    inversion: Optional[Inversion] = None


class RecordModel(BaseModel):
    """An r1k record (docs/data.md). Missing / unknown fields are reported by data.schema first."""

    model_config = ConfigDict(extra="forbid")
    id: StrictStr
    pair_id: StrictStr
    direction: Literal["forward", "reverse"]
    question: StrictStr
    answer: StrictStr
    answer_type: Literal["numeric", "expression", "choice", "text"]
    source: StrictStr
    reasoning: Optional[StrictStr] = None
    response: Optional[StrictStr] = None
    meta: Optional[RecordMeta] = None


# ---- prebuilt TRL rows ---------------------------------------------------------------------------
class Message(_Open):
    role: StrictStr
    content: StrictStr


Conversation = list[Message]
Turns = Union[StrictStr, Conversation]


class _Row(_Open):
    direction: Optional[Literal["forward", "reverse"]] = None


class PromptCompletionRow(_Row):
    prompt: Turns
    completion: Turns


class MessagesRow(_Row):
    messages: Conversation


class TextRow(_Row):
    text: StrictStr


class DPORow(_Row):
    prompt: Optional[Turns] = None
    chosen: Turns
    rejected: Turns


ROW_MODELS: dict[str, type[BaseModel]] = {
    "sft-prompt-completion": PromptCompletionRow, "sft-messages": MessagesRow, "sft-text": TextRow,
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
    "r1k-published": {"question": "text", "solution": "answer", "text": "text", "sample_type": "text",
                      "relevant-question": "text"},
    "math500": {"problem": "text", "answer": "answer"},
    "aime": {"problem": "text", "Problem": "text", "answer": "answer", "Answer": "answer"},
    "gpqa": {"Question": "text", "Correct Answer": "answer", "Incorrect Answer 1": "answer",
             "Incorrect Answer 2": "answer", "Incorrect Answer 3": "answer"},
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
            ok = isinstance(v, str) or (isinstance(v, (int, float)) and not isinstance(v, bool)
                                        and math.isfinite(v))
            if not ok:
                raise R1KError(f"{where}: column '{col}' must be text or a number, got {type(v).__name__} "
                               f"{_short(v)}")
            if not isinstance(v, str):
                row[col] = str(v)  # 42 -> "42": answers are text in r1k records


# ---- recipes ---------------------------------------------------------------------------------------
class RecipeData(BaseModel):
    """The recipe's ``data:`` block (and ``--set data.KEY=...``)."""

    model_config = ConfigDict(extra="forbid")
    path: Optional[StrictStr] = None
    mode: Literal["forward", "reverse", "mixed"] = "mixed"
    ratio: Optional[float] = None
    trace_format: Literal["s1", "think-tags"] = "s1"
    direction_tags: StrictBool = False
    seed: Optional[StrictInt] = None

    @field_validator("ratio", mode="before")
    @classmethod
    def _ratio(cls, v):
        if v is None:
            return v
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= v <= 1):
            raise ValueError("must be a number in [0, 1] (reverse share of the mix) or null")
        return float(v)


_BIG = 10 ** 9


def _finite(v, *, lo=None, lo_open=False, hi=None, integer=False, what="a number", nullable=False):
    if v is None:
        if nullable:
            return v
        raise ValueError(f"needs a value (expects {what}), got an empty one")
    if isinstance(v, str):  # "1e-4" as a quoted YAML string: typed like the TRL field
        try:
            v = float(v) if any(c in v.lower() for c in ".ein") else int(v)
        except ValueError:
            raise ValueError(f"expects {what}") from None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"expects {what}")
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"expects {what} (finite)")
    if integer and isinstance(v, float):
        if not v.is_integer():
            raise ValueError(f"expects {what}")
        v = int(v)
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise ValueError(f"expects {what}")
    if hi is not None and v > hi:
        raise ValueError(f"expects {what}")
    return v


class RecipeNumbers(BaseModel):
    """Ranges of the trainer keys every recipe sets (TRL/transformers checks the rest)."""

    model_config = ConfigDict(extra="ignore")
    learning_rate: Any = None
    max_steps: Any = None
    num_train_epochs: Any = None
    per_device_train_batch_size: Any = None
    per_device_eval_batch_size: Any = None
    gradient_accumulation_steps: Any = None
    warmup_ratio: Any = None
    warmup_steps: Any = None
    weight_decay: Any = None
    max_grad_norm: Any = None
    beta: Any = None
    logging_steps: Any = None
    save_steps: Any = None
    max_length: Any = None
    max_prompt_length: Any = None
    max_completion_length: Any = None
    seed: Any = None
    # booleans: only true / false (``bf16: no`` would otherwise read as a true-ish string)
    bf16: Optional[StrictBool] = None
    fp16: Optional[StrictBool] = None
    tf32: Optional[StrictBool] = None
    use_cpu: Optional[StrictBool] = None
    use_peft: Optional[StrictBool] = None
    packing: Optional[StrictBool] = None
    gradient_checkpointing: Optional[StrictBool] = None
    activation_checkpointing: Optional[StrictBool] = None
    precompute_ref_log_probs: Optional[StrictBool] = None
    load_in_4bit: Optional[StrictBool] = None
    load_in_8bit: Optional[StrictBool] = None
    trust_remote_code: Optional[StrictBool] = None

    @field_validator("learning_rate", "num_train_epochs", "beta", mode="before")
    @classmethod
    def _pos(cls, v):
        return _finite(v, lo=0, lo_open=True, hi=_BIG, what="a number > 0")

    @field_validator("weight_decay", "max_grad_norm", mode="before")
    @classmethod
    def _nonneg(cls, v):
        return _finite(v, lo=0, hi=_BIG, what="a number >= 0")

    @field_validator("warmup_ratio", mode="before")
    @classmethod
    def _ratio(cls, v):
        return _finite(v, lo=0, hi=1, what="a number in [0, 1]")

    @field_validator("max_steps", mode="before")
    @classmethod
    def _steps(cls, v):
        v = _finite(v, lo=-1, hi=_BIG, integer=True, what=f"an integer from 1 to {_BIG} (or -1: use epochs)")
        if v == 0:
            raise ValueError(f"expects an integer from 1 to {_BIG} (or -1: use epochs)")
        return v

    @field_validator("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps",
                     mode="before")
    @classmethod
    def _count(cls, v):
        return _finite(v, lo=1, hi=_BIG, integer=True, what=f"an integer from 1 to {_BIG}")

    @field_validator("warmup_steps", mode="before")
    @classmethod
    def _warm(cls, v):  # transformers 5 folds warmup_ratio into warmup_steps (< 1: a ratio)
        return _finite(v, lo=0, hi=_BIG, what=f"a number from 0 to {_BIG}")

    @field_validator("logging_steps", "save_steps", mode="before")
    @classmethod
    def _every(cls, v):
        return _finite(v, lo=0, lo_open=True, hi=_BIG, what=f"a number > 0 (at most {_BIG})")

    @field_validator("max_length", "max_prompt_length", "max_completion_length", mode="before")
    @classmethod
    def _len(cls, v):
        return _finite(v, lo=1, hi=_BIG, integer=True, what=f"an integer from 1 to {_BIG}, or null", nullable=True)

    @field_validator("seed", mode="before")
    @classmethod
    def _seed(cls, v):
        return _finite(v, lo=0, hi=2 ** 32 - 1, integer=True, what="an integer from 0 to 2**32-1")


def check_recipe_values(entries: list[tuple[str, Any, str]]) -> None:
    """``entries``: (key, value, where) from the recipe file and --set, in order; data.* included."""
    data: dict[str, tuple[Any, str]] = {}
    for key, value, where in entries:
        if key.startswith("data."):
            data[key[5:]] = (value, where)
        elif key in RecipeNumbers.model_fields:
            validate_model(RecipeNumbers, {key: value}, where, prefix="key")
    for dk, (value, where) in data.items():
        if dk in RecipeData.model_fields:
            validate_model(RecipeData, {dk: value}, where, prefix="key 'data' field")


# ---- lm-eval --metadata ----------------------------------------------------------------------------
def check_metadata(metadata: dict, keys: tuple[str, ...]) -> None:
    for key in keys:
        v = metadata.get(key)
        if v is not None and not isinstance(v, str):
            raise R1KError(f"--metadata {key}: expected a file path string, got {type(v).__name__} {_short(v)} "
                           f"(e.g. --metadata '{{\"{key}\": \"my_r1k.jsonl\"}}')")
    tf = metadata.get("r1k_trace_format")
    if tf is not None and tf not in ("s1", "think-tags"):
        raise R1KError(f"--metadata r1k_trace_format: {_short(tf)} is not one of s1, think-tags")
    tags = metadata.get("r1k_direction_tags")
    if tags is not None and not isinstance(tags, bool):
        raise R1KError(f"--metadata r1k_direction_tags: {_short(tags)} is not true or false "
                       "(e.g. --metadata '{\"r1k_direction_tags\": true}')")
