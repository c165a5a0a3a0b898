"""Answer scoring, the one source of truth for both harnesses (lm-eval and Inspect): split the
trace (:mod:`.traces`), extract the answer from the final part (:mod:`.extraction`), compare it
with the gold answer by answer type (:mod:`.equivalence`, sympy work in the time-bounded worker
:mod:`.pool`). :func:`score_response` is the entry point. The rules, policies and time bound are
specified in docs/scoring.md.
"""

from __future__ import annotations

from r1k_plugins.core.equivalence import compare, is_equivalent, same_text
from r1k_plugins.core.extraction import (
    check_answer_type,
    extract_answer,
    extract_from_final,
)
from r1k_plugins.core.pool import DEFAULT_TIMEOUT, STATS, shutdown, warm_up
from r1k_plugins.core.traces import split_reasoning
from r1k_plugins.core.vocab import ANSWER_TYPES

__all__ = [
    "ANSWER_TYPES",
    "DEFAULT_TIMEOUT",
    "STATS",
    "extract_answer",
    "extract_answer_for",
    "is_equivalent",
    "score_response",
    "shutdown",
    "split_reasoning",
    "warm_up",
]


def score_response(response: str, gold: str, answer_type: str, timeout: float = DEFAULT_TIMEOUT) -> dict:
    """Score one raw model response against ``gold``.

    Returns ``{"correct": bool, "extracted": str | None, "finished": bool, "reason": str}`` where
    reason is one of:

    * ``"correct"`` / ``"wrong"``: an answer was extracted and compared;
    * ``"empty"``: the response is empty or whitespace;
    * ``"unfinished_thinking"``: a thinking section was opened and never closed (never correct,
      even if a boxed answer appears inside the reasoning);
    * ``"no_answer"``: finished, but no answer could be extracted from the final part;
    * ``"timeout"``: the math_verify comparison exceeded ``timeout`` (scored wrong);
    * ``"error"``: the comparison worker crashed (scored wrong; logged).

    Blocking (up to about ``timeout``); thread-safe. From async code (Inspect scorers) call it
    through ``asyncio.to_thread`` / ``anyio.to_thread.run_sync``.
    """
    check_answer_type(answer_type)
    if response is None or not str(response).strip():
        return {"correct": False, "extracted": None, "finished": True, "reason": "empty"}
    _, final, finished = split_reasoning(str(response))
    if not finished:
        return {"correct": False, "extracted": None, "finished": False, "reason": "unfinished_thinking"}
    extracted = _answer_against(final, gold, answer_type)
    if extracted is None:
        return {"correct": False, "extracted": None, "finished": True, "reason": "no_answer"}
    ok, how = compare(extracted, gold, answer_type, timeout)
    reason = "correct" if ok else (how if how in ("timeout", "error") else "wrong")
    return {"correct": ok, "extracted": extracted, "finished": True, "reason": reason}


def _answer_against(final: str, gold: str, answer_type: str) -> str | None:
    whole = final.strip()
    if answer_type != "choice" and gold is not None and same_text(whole, str(gold), answer_type):
        return whole  # the whole final part is the gold answer as written ('odd $n$')
    return extract_from_final(final, answer_type)


def extract_answer_for(response: str, gold: str, answer_type: str) -> str | None:
    """The answer :func:`score_response` compares with ``gold``: :func:`extract_answer`'s, except
    that a final part which is, as a whole, the gold answer written out ('odd $n$' for gold
    'odd $n$', where extraction alone would take the math span '$n$') is taken whole. For
    harnesses that extract first and compare later (lm-eval's filter); None as
    :func:`extract_answer` gives it."""
    check_answer_type(answer_type)
    if not response:
        return None
    _, final, finished = split_reasoning(str(response))
    return _answer_against(final, gold, answer_type) if finished else None
