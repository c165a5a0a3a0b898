"""Answer scoring for r1k: the one source of truth for both harnesses (lm-eval and Inspect).

Split by job: :mod:`.traces` (trace splitting), :mod:`.extraction` (the answer string),
:mod:`.equivalence` (comparison), :mod:`.pool` (math_verify workers under a time bound); this
module puts them together (:func:`score_response`) and is the public API.

Pipeline (``score_response``)::

    response --split_reasoning--> (reasoning, final part, finished)
             --extract_answer---> extracted answer string (from the final part only)
             --is_equivalent----> bool (compared with the gold answer by ``answer_type``)

Trace formats understood by :func:`split_reasoning`:

* s1: ``<|im_start|>think\\n...<|im_start|>answer\\nAnswer: ... \\boxed{42}<|im_end|>``
* think tags: ``<think>\\n...\\n</think>\\nfinal text ... \\boxed{42}`` (a bare ``</think>`` also
  counts: chat templates often put the opening ``<think>`` in the prompt)
* plain: no thinking section; the whole text is the final part.

The answer is looked for only in the final part (never inside the reasoning), and only in its
last :data:`MAX_EXTRACT_CHARS` characters, so a 1 MB response costs about as much as a short one.

Answer types and their equivalence rules (:func:`is_equivalent`):

* ``numeric`` / ``expression``: a cheap normalised-string check, then an exact rational check
  for plain numbers (``1,000``, ``-3.0``, ``0.5``, ``\\frac{1}{2}``, ``3/4``, ``50\\%``) and for
  sets / tuples / intervals of plain numbers (``\\{3,1\\}``, ``(1,-2)``, ``[2,5)``); anything
  the fast path cannot decide goes to math_verify (``parse`` + ``verify``, default settings,
  ``strict=True``) in a worker process under a hard time bound.
  Policies (same as math_verify's, so fast and slow paths agree):

  - units are ignored: ``5 \\text{ cm}``, ``5 cm`` and ``5`` are equal (we never check units);
  - percent: a ``%`` on either side accepts the number as written *or* divided by 100, so
    ``50\\%`` equals both ``50`` and ``0.5``; without a ``%`` sign ``0.5`` does not equal ``50``;
  - decimals equal fractions exactly (``0.5`` == ``\\frac{1}{2}``); a decimal approximation of an
    irrational or repeating value is equal when math_verify says so (it rounds to 6 places:
    ``0.333333`` == ``\\frac{1}{3}`` but ``0.3333`` != ``\\frac{1}{3}``);
  - ``\\dfrac``/``\\tfrac`` == ``\\frac``; ``\\left``/``\\right``, ``\\!``, ``\\,``, ``^\\circ``, ``$``
    delimiters and whitespace are ignored; ``x = 5`` equals ``5``;
  - thousands separators: ``1,000`` == ``1000`` (a bare ``d{1,3}(,ddd)+`` is a number, not a tuple);
  - tuples/intervals/sets compare as math_verify does: ``\\{1,2\\}`` == ``\\{2,1\\}``,
    ``(1, 2)`` == ``(1,2)``, ``(3,2,1)`` != ``(1,2,3)``, but a set equals a tuple or a bare list
    with the same elements (``\\{1,2,3\\}`` == ``(3,2,1)`` == ``1, 2, 3``);
  - scientific ``1.0e3`` is not read as 1000 for expressions (``e`` may be Euler's number); for
    ``numeric`` answers a bare ``1e3`` is 1000;
  - a percent on a mixed number applies to the whole value: ``5 1/2%`` is 0.055 only (not 5.5);
    an improper mixed number (``11 7/6``) is no number;
  - unicode numerals read as numbers: ``½`` = 1/2, ``2¼`` = 9/4, ``−3`` = -3, full-width digits,
    CJK numerals (``三`` = 3); ``π``, ``√2``, ``∞``, ``x²`` read as LaTeX (:func:`.latex.unicode_math`);
  - an ellipsis list (``1, 2, 3, \\ldots``) never equals a finite list;
  - mixed numbers ``7 2/3`` == ``23/3`` (a zero denominator makes no number; ``7 + 2/3`` is a sum);
    LaTeX thousands ``12,\\! 345`` == ``12345``; percent words (``pct``, ``percent``,
    ``percentage``) act as ``%``; ``3=y`` == ``y=3`` == ``3``; bare lists (``-3, 5``, ``x=5 \\text{ or }
    x=-3``) compare as sets; matrix entries are normalised one by one;
  - a unit or currency sign glued to a number is dropped (``1,000.99€``, ``144m²``); a decimal
    comma (``1000,99``, no space after it) reads as a point when the other side has a fractional
    part; ``17\\text{ apples}`` is 17; a stray trailing backslash is dropped; repeating decimals
    are exact (``0.\\overline{3}`` = 1/3); an option letter with its text (``C. x = 42``) equals
    the bare letter;
  - plain-text / Python-style math (``sqrt(3)*2``, ``3**(1/3)``) is rewritten to LaTeX
    (:func:`r1k_plugins.core.latex.plain_to_latex`); math_verify runs with its LaTeX parser only (its expression parser
    eval()s through sympy's ``parse_expr``).

* ``choice``: the sets of option letters (A-J) of prediction and gold are compared: ``A, B`` for
  gold ``A`` is wrong (an extra letter), ``A`` for gold ``A, B`` too (a missing one); a gold ``AB``
  (Inspect's text of a two-letter target) means A and B.
* ``text``: case-, whitespace-, punctuation-, article- and accent-insensitive string equality after
  stripping LaTeX wrappers (``\\text{}``, ``\\textbf{}``, ``\\mathrm{}``, ``\\boxed{}``, ``$``);
  ``ice-cream`` == ``Ice Cream`` == ``icecream``.

Time bound: every math_verify/sympy call runs in a small persistent pool of worker processes
(``python -I -c ...`` children running :func:`_worker_main`, JSON lines over pipes). The caller waits at
most ``timeout`` seconds for the verdict; a worker that has not answered by then is killed and
replaced in the background, and the comparison counts as not equivalent (reason ``timeout``).
Inside the worker an interval timer (the worker's own main thread, so signals work there)
interrupts most over-long sympy work a little earlier, keeping the worker alive; a CPU-time
rlimit makes an orphaned worker die by itself. Nothing here uses ``signal`` in the calling
process, so all functions are safe from any thread, asyncio executors included. Results of
math_verify comparisons are memoised (LRU, per process). No model output is ever ``eval``-ed.

Environment: ``R1K_SCORING_WORKERS`` sets the pool size (default ``min(4, cpu count)``, at
least 1). Workers start lazily on the first comparison that needs sympy (about 1 s, not counted
against ``timeout``; :func:`warm_up` starts them ahead of time).
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


def score_response(
    response: str, gold: str, answer_type: str, timeout: float = DEFAULT_TIMEOUT
) -> dict:
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
