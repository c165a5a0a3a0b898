"""The one prompt module: what a model is asked, and how a trace is written.

Both harnesses (lm-eval YAML via ``tasks/utils.py``, Inspect via ``r1k_plugins.eval.inspect_tasks``)
and the SFT/DPO data builders call these functions, so a model is trained on exactly the text
it is later evaluated on.

Trace formats
-------------
``s1``          ``<|im_start|>think\\n{reasoning}\\n<|im_start|>answer\\n{final}`` (s1 / r1k's format)
``think-tags``  ``<think>\\n{reasoning}\\n</think>\\n{final}``
"""

from __future__ import annotations

from r1k_plugins.core.record import Record
from r1k_plugins.core.vocab import S1_ANSWER, S1_THINK, THINK_CLOSE, THINK_OPEN, TRACE_FORMATS

INSTRUCTION = "Think step by step, then give the final answer as \\boxed{...}."
CHOICE_INSTRUCTION = "Think step by step, then give the letter of the correct option as \\boxed{...}."
DIRECTION_TAGS = {"forward": "[forward]", "reverse": "[reverse]"}
# Optional one-line hint naming the reasoning markup (``trace_format`` option of the tasks).
FORMAT_HINTS = {
    "s1": f"Write your reasoning after {S1_THINK} and your final answer after {S1_ANSWER}.",
    "think-tags": f"Write your reasoning inside {THINK_OPEN}{THINK_CLOSE}, then your final answer.",
}


def user_prompt(
    question: str,
    *,
    answer_type: str = "expression",
    direction: str | None = None,
    direction_tags: bool = False,
    trace_format: str | None = None,
) -> str:
    """The user turn: the question, then the s1-style think/answer instruction.

    ``trace_format`` (optional) appends a hint naming the reasoning markup to use.
    """
    instruction = CHOICE_INSTRUCTION if answer_type == "choice" else INSTRUCTION
    if trace_format:
        if trace_format not in FORMAT_HINTS:
            raise ValueError(f"unknown trace format {trace_format!r}; use one of {', '.join(TRACE_FORMATS)}")
        instruction = f"{instruction} {FORMAT_HINTS[trace_format]}"
    head = f"{DIRECTION_TAGS[direction]} " if direction_tags and direction in DIRECTION_TAGS else ""
    return f"{head}{question.strip()}\n\n{instruction}"


def final_answer_text(answer: str, response: str | None = None) -> str:
    """The text after the reasoning: the source's own attempt if it has one, else a boxed answer."""
    if response and response.strip():
        return response.strip()
    return f"Answer: \\boxed{{{answer}}}"


def format_trace(reasoning: str | None, final: str, trace_format: str = "s1") -> str:
    """An assistant completion: reasoning in the chosen trace format, then the final answer."""
    if trace_format not in TRACE_FORMATS:
        raise ValueError(f"unknown trace format {trace_format!r}; use one of {', '.join(TRACE_FORMATS)}")
    reasoning = (reasoning or "").strip()
    if trace_format == "s1":
        return f"{S1_THINK}\n{reasoning}\n{S1_ANSWER}\n{final}"
    return f"{THINK_OPEN}\n{reasoning}\n{THINK_CLOSE}\n{final}"


def think_opening(trace_format: str = "s1") -> str:
    return f"{S1_THINK}\n" if trace_format == "s1" else f"{THINK_OPEN}\n"


def plain_prompt(question: str, **kw) -> str:
    """Prompt for models run without a chat template (lm-eval without --apply_chat_template)."""
    return f"Question: {user_prompt(question, **kw)}\nAssistant: "


def chat_messages(question: str, **kw) -> list[dict]:
    return [{"role": "user", "content": user_prompt(question, **kw)}]


def completion_text(rec: Record, trace_format: str = "s1") -> str:
    """The assistant's trace for a record: its reasoning in ``trace_format``, then its final answer."""
    return format_trace(rec.reasoning, final_answer_text(rec.answer, rec.response), trace_format)


def prompt_messages(rec: Record, direction_tags: bool = False) -> list[dict]:
    return chat_messages(
        rec.question, answer_type=rec.answer_type, direction=rec.direction, direction_tags=direction_tags
    )
