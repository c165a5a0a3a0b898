"""Answer scoring for r1k: the one source of truth for both harnesses (lm-eval and Inspect).

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
  - scientific ``1.0e3`` is not read as 1000 (``e`` may be Euler's number).
  - mixed numbers ``7 2/3`` == ``23/3`` (a zero denominator makes no number; ``7 + 2/3`` is a sum);
    LaTeX thousands ``12,\\! 345`` == ``12345``; percent words (``pct``, ``percent``,
    ``percentage``) act as ``%``; ``3=y`` == ``y=3`` == ``3``; bare lists (``-3, 5``, ``x=5 \\text{ or }
    x=-3``) compare as sets; matrix entries are normalised one by one;
  - plain-text / Python-style math (``sqrt(3)*2``, ``3**(1/3)``) is rewritten to LaTeX
    (:func:`_plain_to_latex`); math_verify runs with its LaTeX parser only (its expression parser
    eval()s through sympy's ``parse_expr``).

* ``choice``: the option letter (A-J) of prediction and gold are compared.
* ``text``: case-, whitespace-, punctuation- and accent-insensitive string equality after
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

import atexit
import json
import logging
import math
import os
import queue
import re
import subprocess
import sys
import threading
import time
import unicodedata
from collections import OrderedDict
from fractions import Fraction

__all__ = [
    "DEFAULT_TIMEOUT",
    "ANSWER_TYPES",
    "split_reasoning",
    "extract_answer",
    "is_equivalent",
    "score_response",
    "warm_up",
    "shutdown",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT: float = 5.0
"""Seconds one math_verify comparison may take before it counts as not equivalent."""

ANSWER_TYPES = ("numeric", "expression", "choice", "text")

MAX_EXTRACT_CHARS = 20_000
"""Only this many trailing characters of the final part are searched for an answer."""

MAX_ANSWER_CHARS = 1_000
"""Longer answers are compared as normalised strings only; they never reach sympy."""

WORKER_STARTUP_TIMEOUT = 120.0
"""Seconds a fresh worker may take to import sympy/math_verify before scoring gives up."""

_END_TOKENS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>", "<|eot_id|>", "<｜end▁of▁sentence｜>", "<|end|>", "</s>")
_S1_THINK = "<|im_start|>think"
_S1_ANSWER = "<|im_start|>answer"


def _check_type(answer_type: str) -> None:
    if answer_type not in ANSWER_TYPES:
        raise ValueError(f"answer_type must be one of {ANSWER_TYPES}, got {answer_type!r}")


# --------------------------------------------------------------------------------------------
# Splitting a trace
# --------------------------------------------------------------------------------------------


def _cut_end_tokens(s: str) -> str:
    for tok in _END_TOKENS:
        i = s.find(tok, 1)  # a marker opening the text is the turn's own header, not an end
        if i >= 0:
            s = s[:i]
    return s


def split_reasoning(text: str) -> tuple[str | None, str, bool]:
    """Split a response into ``(reasoning or None, final_part, finished)``.

    * s1 format: reasoning is what follows ``<|im_start|>think`` up to the last
      ``<|im_start|>answer``; the final part is what follows that marker, cut at the first
      end-of-turn token (``<|im_end|>`` ...). A bare ``<|im_start|>answer`` (the think marker was
      in the prompt) also splits.
    * think tags: reasoning is between ``<think>`` and the last ``</think>`` (or everything before
      a bare ``</think>``); the final part follows the last ``</think>``.
    * otherwise: ``(None, text, True)``.

    ``finished`` is False when a thinking section was opened (``<think>`` / ``<|im_start|>think``)
    and not closed after its last opening; the final part is then ``""``.
    Linear time (only ``str.find``/``rfind``), fine for megabyte responses.
    """
    if not text:
        return None, "", True
    t_s1, a_s1 = text.rfind(_S1_THINK), text.rfind(_S1_ANSWER)
    if t_s1 >= 0 or a_s1 >= 0:
        if t_s1 > a_s1:
            return text[t_s1 + len(_S1_THINK) :].strip(), "", False
        first = text.find(_S1_THINK)
        start = first + len(_S1_THINK) if 0 <= first < a_s1 else 0
        reasoning = text[start:a_s1].strip()
        final = _cut_end_tokens(text[a_s1 + len(_S1_ANSWER) :]).strip()
        return reasoning, final, True
    t_open, t_close = text.rfind("<think>"), text.rfind("</think>")
    if t_open >= 0 or t_close >= 0:
        if t_open > t_close:
            return text[t_open + len("<think>") :].strip(), "", False
        first = text.find("<think>")
        start = first + len("<think>") if 0 <= first < t_close else 0
        reasoning = text[start:t_close].strip()
        final = _cut_end_tokens(text[t_close + len("</think>") :]).strip()
        return reasoning, final, True
    return None, _cut_end_tokens(text).strip(), True


# --------------------------------------------------------------------------------------------
# Extraction
# --------------------------------------------------------------------------------------------

_BOX_CMDS = ("\\boxed", "\\fbox", "\\framebox", "\x08oxed")
"""Box commands: ``\x08oxed`` is ``\boxed`` whose ``\b`` was read as a backspace by a JSON/str escape."""
_MAX_BOX_TRIES = 16
_BEGIN_BOXED = re.compile(r"\\begin\{boxed\}\s*(.*?)\s*\\end\{boxed\}", re.DOTALL)


def _balanced(s: str, k: int) -> str | None:
    """Content of the brace group opening at ``s[k] == '{'``; None if it never closes."""
    depth = 0
    i, n = k, len(s)
    while i < n:
        c = s[i]
        if c == "\\":
            i += 2  # escaped char: \{ \} \\ do not count
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return s[k + 1 : i]
        i += 1
    return None


def _boxes_before(s: str, pos: int):
    """Yield ``(content, start, end)`` of well-formed boxes ending before ``pos``, last first:
    ``\\boxed{...}`` (nested braces fine, a space before the brace allowed), ``\\fbox``,
    ``\\framebox``, a backspace-mangled ``\\boxed``, ``\\boxed 5`` / ``\\boxed5`` and
    ``\\begin{boxed}...\\end{boxed}``. Tries at most a few candidates, so a megabyte of unbalanced
    braces stays cheap."""
    for _ in range(_MAX_BOX_TRIES):
        i, cmd = max((s.rfind(c, 0, pos), c) for c in _BOX_CMDS)
        b = s.rfind("\\begin{boxed}", 0, pos)
        if b > i:
            m = _BEGIN_BOXED.match(s, b)
            if m and m.end() <= len(s):
                yield m.group(1), b, m.end()
            pos = b
            continue
        if i < 0:
            return
        j = i + len(cmd)
        k = j
        while k < len(s) and s[k] in " \t":
            k += 1
        if k < len(s) and s[k] == "{":
            content = _balanced(s, k)
            if content is not None:
                yield content, i, k + len(content) + 2
        elif k < len(s) and (k > j or s[k].isdigit()):  # "\boxed 5" / "\boxed5": up to space or $
            m = re.match(r"[^\s$]+", s[k : k + 200])
            if m:
                yield m.group(0).rstrip("."), i, k + m.end()
        pos = i


def _unclosed_box(s: str) -> str | None:
    """Content of a last ``\\boxed{`` that never closes ('\\boxed{17' at the end of a cut-off
    response): up to the end of its line or a ``$``, when short."""
    i = max(s.rfind(c) for c in _BOX_CMDS)
    if i < 0:
        return None
    m = re.match(r"(?:\\boxed|\\fbox|\\framebox|\x08oxed)\s*\{([^\n$]{1,100})$", s[i:].rstrip())
    if not m or _balanced(s, s.index("{", i)) is not None:
        return None
    body = m.group(1).strip().rstrip(".").strip()
    return body or None


# several boxes that together are the answer: '\boxed{2}, \boxed{4}', '$\boxed{5}$ or $\boxed{-3}$'
_BOX_SEP = re.compile(
    r"\s*\$?\s*(?:,|;|\\quad|\\qquad|,?\s*(?:and|or)|,?\s*\\text\{\s*(?:and|or)\s*\})?\s*\$?\s*"
    r"(?:[a-zA-Z]\s*=\s*)?\$?\s*"
)
_MAX_JOINED_BOXES = 8


def _last_boxed_at(s: str) -> tuple[str | None, int]:
    """(content, start index) of the last box (see :func:`_boxes_before`); boxes right before it,
    separated only by a comma / 'and' / 'or' (several boxed answers forming one answer), are
    joined with ', '. ``(None, -1)`` if there is no box."""
    boxes = _boxes_before(s, len(s))
    last = next(boxes, None)
    if last is None:
        return None, -1
    content, start, _ = last
    parts = [content]
    for prev, p_start, p_end in boxes:
        if len(parts) >= _MAX_JOINED_BOXES or not _BOX_SEP.fullmatch(s[p_end:start]) or not prev.strip():
            break
        parts.append(prev)
        start = p_start
    if len(parts) > 1:
        return ", ".join(x.strip() for x in reversed(parts)), start
    return content, start


def _last_boxed(s: str) -> str | None:
    return _last_boxed_at(s)[0]


_ANSWER_MARK = re.compile(
    r"\banswer\b(?:\s*\*\*)?\s*(?::|=|\bis\b)(?:\s*\*\*)?(?:\s*:)?[ \t]*", re.IGNORECASE
)
_MATH_SPAN = re.compile(
    r"\$\$(.+?)\$\$|(?<!\\)\$((?:\\.|[^$\\])+)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL
)
_PROSE_WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")
_HOPE = re.compile(r"\s*I hope it is correct\.?\s*$", re.IGNORECASE)


def _answer_phrase(final: str, after: int = -1) -> str | None:
    """Text after the last 'answer:' / 'answer is' / 'final answer is' marker that starts after
    index ``after`` (rest of the line, or the next non-empty line when the marker ends its line);
    the first math span of it if it has one. With ``after >= 0`` (a box precedes the marker),
    prose without a math span is rejected so the box stands."""
    last = None
    for last in _ANSWER_MARK.finditer(final):
        pass
    if last is None or last.start() <= after:
        return None
    rest = final[last.end() :]
    line, _, following = rest.partition("\n")
    if not line.strip():
        for nxt in following.split("\n", 5)[:5]:
            if nxt.strip():
                line = nxt
                break
    line = _first_sentence(_HOPE.sub("", line.strip()))
    m = _MATH_SPAN.search(line)
    if after >= 0 and not m and len(_prose_words(line)) >= 3:
        return None  # 'the answer is correct because ...' after a box: prose, keep the box
    if m:
        tail = _IS_VALUE.match(line, m.end())
        if tail and _prose_words(line[: m.start()]):  # 'The smallest $k$ is 17.': the value, not k
            line = tail.group(1)
            m = _MATH_SPAN.search(line)
    elif len(_prose_words(line)) >= 2:  # 'The number of ways is 35.'
        tails = list(_IS_ANY.finditer(line))
        if tails:
            line = line[tails[-1].end() :]
    if m:
        spans = [m]
        while len(spans) < _MAX_JOINED_BOXES:  # '$-3$ and $5$': several spans, one answer
            sep = _SPAN_SEP.match(line, spans[-1].end())
            nxt = _MATH_SPAN.match(line, sep.end()) if sep else None
            if not nxt:
                break
            spans.append(nxt)
        line = ", ".join(next(g for g in x.groups() if g is not None).strip() for x in spans)
    line = line.strip().strip("*").strip()
    line = re.sub(r"[.;,]+$", "", line).strip()
    return line or None


_IS_VALUE = re.compile(r"\s*(?:is|are|equals|=|must be|will be|should be)\s+(.+)$", re.IGNORECASE)
_IS_ANY = re.compile(r"(?:\b(?:is|are|equals|was|be)\b|=)\s*", re.IGNORECASE)
_SPAN_SEP = re.compile(r"\s*(?:,|,?\s*and|,?\s*or)\s*")
_SENTENCE_END = re.compile(r"[.!?]\s+(?=[A-Z])")
_MATH_WORDS = frozenset(
    "sqrt cbrt sin cos tan cot sec csc log exp arcsin arccos arctan sinh cosh tanh frac dfrac tfrac "
    "binom infty inf pmatrix bmatrix matrix begin end text cdot times div".split()
)


def _prose_words(s: str) -> list[str]:
    """Plain words of 3+ letters that are not math function names (``sqrt``, ``log`` ...)."""
    return [w for w in _PROSE_WORD.findall(s) if w.lower() not in _MATH_WORDS]


def _first_sentence(line: str) -> str:
    """``line`` up to the end of its first sentence ('17. This follows ...' -> '17.'), never
    cutting inside a ``$...$`` span."""
    for m in _SENTENCE_END.finditer(line):
        if line.count("$", 0, m.start()) % 2 == 0:
            return line[: m.start() + 1]
    return line


_NUMBER_TOKEN = re.compile(
    r"-?\\[dt]?frac\{\d+\}\{\d+\}|-?\d+/\d+(?![\d.])|-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|-?\d*\.\d+|-?\d+"
)


def _last_number(s: str) -> str | None:
    last = None
    for last in _NUMBER_TOKEN.finditer(s):
        pass
    return last.group(0) if last else None


def _numeric_candidate(ans: str) -> str:
    """For numeric answers, reduce prose like 'The area is 25 square units' to '25'."""
    if re.search(r"[\\^{}]", ans) or not _prose_words(ans):
        return ans
    clean, _, value, _ = _normalize_math(ans, "numeric")
    if value is not None:  # '25 square units' -> '25', '12.5 percent' -> '12.5\\%'
        return clean
    m = _NUMBER_TOKEN.search(ans)
    return m.group(0) if m else ans


_WRAPPERS = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")


def _choice_from_snippet(s: str, loose: bool = False) -> str | None:
    """Option letter at the start of ``s``: 'B', '(B)', 'B)', 'B.', '**B**', '\\text{(B)}',
    'option B'. Lowercase only inside parentheses, or when ``loose`` and ``s`` is the letter alone.
    'I' followed by a lowercase word ('I think ...') is a pronoun, not an option."""
    s = _WRAPPERS.sub(r"\1", s[:200]).replace("$", "").replace("*", "")
    s = re.sub(
        r"^\s*(?:\\boxed\s*\{)?\s*(?:I\s+(?:think|believe|guess)\s+(?:it\s+is\s+|it's\s+)?)?"
        r"(?:the\s+)?(?:option|choice)?\s*[:\-]?\s*",
        "",
        s,
        flags=re.I,
    )
    m = re.match(r"\(\s*([A-Ja-j])\s*\)", s)
    if m:
        return m.group(1).upper()
    m = re.match(r"([A-J])(?![A-Za-z0-9])", s)
    if m:
        if m.group(1) == "I" and re.match(r"I\s+[a-z]", s):
            return None
        return m.group(1)
    if loose:
        m = re.fullmatch(r"\s*([A-Ja-j])\s*[.)]?\s*", s)
        if m:
            return m.group(1).upper()
    return None


_CHOICE_MARK = re.compile(
    r"\b(?:answer|option|choice)\b(?:\s*\*\*)?\s*(?::|=|\bis\b)(?:\s*\*\*)?(?:\s*:)?\s*"
    r"|\b(?:choose|select|pick)\s+",
    re.IGNORECASE,
)


def _extract_choice(final: str, boxed: str | None) -> str | None:
    if boxed is not None:
        letter = _choice_from_snippet(boxed, loose=True)
        if letter:
            return letter
    marks = list(_CHOICE_MARK.finditer(final))
    for m in reversed(marks[-50:]):
        letter = _choice_from_snippet(final[m.end() : m.end() + 200])
        if letter:
            return letter
    head = final.strip().replace("*", "").replace("$", "").strip()
    letter = _choice_from_snippet(head[:200], loose=len(head) <= 3)
    if letter and (len(head) <= 3 or re.match(r"\(?[A-J][).:]", head)):
        return letter
    paren = set(re.findall(r"\(([A-J])\)", final))
    if len(paren) == 1:
        return paren.pop()
    return None


def _extract_from_final(final: str, answer_type: str) -> str | None:
    final = final[-MAX_EXTRACT_CHARS:]
    if not final.strip():
        return None
    boxed, at = _last_boxed_at(final)
    if boxed is None:
        boxed = _unclosed_box(final)
        at = -1 if boxed is None else final.rfind("{")
    if answer_type == "choice":
        return _extract_choice(final, boxed)
    # the last stated answer wins: an 'Answer:' line after the last box overrides the box
    ans = _answer_phrase(final, after=at if boxed is not None and boxed.strip() else -1)
    if not ans and boxed is not None and boxed.strip():
        ans = boxed.strip()
    if ans:
        return _numeric_candidate(ans) if answer_type == "numeric" else ans
    stripped = final.strip()
    if answer_type == "numeric":
        return _last_number(final)
    if answer_type == "expression":
        spans = [m for m in _MATH_SPAN.finditer(final)][-1:]
        if spans:
            g = next(x for x in spans[0].groups() if x is not None).strip()
            if g:
                return g
        short = len(stripped) <= 100 and "\n" not in stripped
        prose = len(_PROSE_WORD.findall(stripped)) >= 2
        return stripped if short and not prose else None
    # text
    if len(stripped) <= 200 and "\n" not in stripped:
        return re.sub(r"[.]+$", "", stripped).strip() or None
    lines = [ln.strip() for ln in stripped.splitlines() if ln.strip()]
    return lines[-1] if lines and len(lines[-1]) <= 100 else None


def extract_answer(text: str, answer_type: str = "expression") -> str | None:
    """Final answer of a response as a string, or None.

    Only the final part (see :func:`split_reasoning`) is searched, and only its last
    :data:`MAX_EXTRACT_CHARS` characters; an unfinished thinking section gives None.
    The last stated answer wins: the text after the last 'Answer:' / 'answer is' / 'final answer
    is' marker (its first ``$...$`` span if any; trailing period and 'I hope it is correct.'
    dropped) when that marker comes after the last well-formed ``\\boxed{...}``/``\\fbox{...}``
    (nested braces fine) and is not prose; otherwise that box; with neither, a per-type fallback:

    * ``numeric``: the last number in the final part (``1,000``, ``-2.5``, ``3/4``, ``\\frac{3}{4}``);
      prose after a marker is reduced to its first number ('The area is 25 units' -> '25');
    * ``expression``: the last math span, else the whole final part if it is one short line
      that is not prose (fewer than two plain words of 3+ letters);
    * ``text``: the whole final part if it is one short line, else its last short line;
    * ``choice``: a letter A-J from the boxed content, after an 'answer is' / 'option' / 'choose'
      marker ('(B)', 'B)', 'B', '\\text{(B)}'), a final part that is just a letter, or the only
      parenthesised capital letter in the final part. Returns the upper-case letter.
    """
    _check_type(answer_type)
    if not text:
        return None
    _, final, finished = split_reasoning(text)
    if not finished:
        return None
    return _extract_from_final(final, answer_type)


# --------------------------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------------------------

_UNIT_WORDS = (
    r"(?:square\s+|sq\.?\s+|cubic\s+)?(?:units?|cm|mm|km|m|kg|mg|g|s|sec|seconds?|minutes?|min|hours?|hrs?|"
    r"days?|weeks?|years?|degrees?|deg|dollars?|cents?|inches|inch|in|feet|foot|ft|yards?|meters?|metres?|"
    r"miles?|mph|km/h|liters?|litres?|ml|l|pounds?|lbs?|ounces?|oz|grams?|people|students|ways|points|"
    r"times|percent)(?:\^?\{?[23]\}?)?"
)
# numeric answers: '5cm' and '5 cm' lose the unit; expressions need a space ('2m' may be 2*m)
_TRAILING_UNIT_ANY = re.compile(r"(?<=[\d}.])\s*" + _UNIT_WORDS + r"\s*$", re.IGNORECASE)
_TRAILING_UNIT_SPACED = re.compile(r"(?<=[\d}.])\s+" + _UNIT_WORDS + r"\s*$", re.IGNORECASE)
_TRAILING_WORDS = re.compile(r"^(-?[\d.,/]+)\s+[A-Za-z][A-Za-z\s]{0,40}$")
_THOUSANDS = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_ASSIGN = re.compile(r"^[A-Za-z](?:_\{?\w+\}?)?\s*=\s*(?=[^=]+$)")
_SIMPLE_NUM = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_SIMPLE_FRAC = re.compile(r"(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}|(-?)\\frac(\d)(\d)|(-?\d+)/(-?\d+)")


def _unwrap_outer(s: str) -> str:
    s = s.strip()
    for _ in range(4):
        before = s
        if s.startswith("$$") and s.endswith("$$") and len(s) > 4:
            s = s[2:-2].strip()
        elif s.startswith("$") and s.endswith("$") and len(s) > 2:
            s = s[1:-1].strip()
        elif (s.startswith("\\(") and s.endswith("\\)")) or (s.startswith("\\[") and s.endswith("\\]")):
            s = s[2:-2].strip()
        for cmd in _BOX_CMDS:
            if s.startswith(cmd):
                k = len(cmd)
                while k < len(s) and s[k] == " ":
                    k += 1
                if k < len(s) and s[k] == "{" and _balanced(s, k) == s[k + 1 : -1]:
                    s = s[k + 1 : -1].strip()
        if s == before:
            break
    return s


def _to_fraction(key: str) -> Fraction | None:
    """Exact value of a plain number / integer fraction written in ``key``; None otherwise.
    Length-capped, never evaluates exponents, so it cannot blow up."""
    if len(key) > 40:
        return None
    if _SIMPLE_NUM.fullmatch(key):
        return Fraction(key)
    m = _SIMPLE_FRAC.fullmatch(key)
    if not m:
        return None
    g = m.groups()
    if g[1] is not None:
        sign, a, b = g[0], g[1], g[2]
    elif g[4] is not None:
        sign, a, b = g[3], g[4], g[5]
    else:
        sign, a, b = "", g[6], g[7]
    if int(b) == 0:
        return None
    v = Fraction(int(a), int(b))
    return -v if sign == "-" else v


_PCT_TAIL = re.compile(
    r"(?<=[\d}.])\s*(?:\\%|%|percent(?:age)?(?:\s+points?)?|per\s*cent|pct\.?)$", re.IGNORECASE
)
_MIXED = re.compile(
    r"([+-]?)\s*(\d{1,3}(?:[ ,]\d{3})+|\d+)\s*(?:\s(\d+)\s*/\s*(\d+)|\\frac\s*\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\}"
    r"|\\frac(\d)(\d))"
)
_SPACED_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?: \d{3})+(?:\.\d+)?")
_REV_ASSIGN = re.compile(r"^([^=<>]+?)\s*=\s*([A-Za-z](?:_\{?\w+\}?)?)$")
_MATRIX = re.compile(
    r"^[(\[]?\s*\\begin\{([pbB]?matrix|array)\}(?:\{[^{}]*\})?(.*?)\\end\{\1\}\s*[)\]]?$", re.DOTALL
)
_INVALID = "\x00invalid"


def _plain_to_latex(s: str) -> str:
    r"""Plain-text / Python-style math to LaTeX for the parser (never evaluated): ``**`` -> ``^``,
    ``^(a)`` -> ``^{a}``, ``sqrt(a)`` -> ``\sqrt{a}``, ``cbrt(a)`` -> ``\sqrt[3]{a}``, ``pi`` -> ``\pi``."""
    if "**" not in s and "sqrt(" not in s and "cbrt(" not in s and "^(" not in s and not re.search(r"(?<![\\a-zA-Z])pi(?![a-zA-Z])", s):
        return s
    s = s.replace("**", "^")
    s = re.sub(r"(?<![\\a-zA-Z])pi(?![a-zA-Z])", r"\\pi ", s)
    out, i, n = [], 0, len(s)
    while i < n:
        m = re.compile(r"(?<![\\a-zA-Z])(sqrt|cbrt)\s*\(|\^\s*\(").match(s, i) if s[i] in "sc^" else None
        if m:
            depth, j = 1, m.end()
            while j < n and depth:
                depth += {"(": 1, ")": -1}.get(s[j], 0)
                j += 1
            if depth == 0:
                inner = _plain_to_latex(s[m.end() : j - 1])
                head = m.group(1)
                out.append("\\sqrt{%s}" % inner if head == "sqrt" else "\\sqrt[3]{%s}" % inner if head == "cbrt"
                           else "^{%s}" % inner)
                i = j
                continue
        out.append(s[i])
        i += 1
    return "".join(out)


def _split_list(s: str) -> list[str] | None:
    """Top-level items of a bare list ('2, 4', 'x = 5 \\text{ or } x = -3', '-3 and 5'), each with a
    leading 'x =' dropped; None when ``s`` is not a list of two or more items."""
    if len(s) > MAX_ANSWER_CHARS:
        return None
    t = re.sub(r"\\text\{\s*(or|and)\s*\}|\s(?:or|and)\s", ",", s)
    if "," not in t:
        return None
    parts, depth, cur = [], 0, []
    i = 0
    while i < len(t):
        c = t[i]
        if c == "\\" and i + 1 < len(t):
            cur.append(t[i : i + 2])
            i += 2
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
        i += 1
    parts.append("".join(cur))
    parts = [re.sub(r"^[A-Za-z](?:_\{?\w+\}?)?\s*=\s*", "", x.strip()) for x in parts]
    parts = [x for x in parts if x]
    return parts if len(parts) >= 2 else None


def _canonical_number(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    return ("-" if v < 0 else "") + "\\frac{%d}{%d}" % (abs(v.numerator), v.denominator)


def _normalize_math(s: str, answer_type: str) -> tuple[str, str, Fraction | None, bool]:
    """-> (clean LaTeX for math_verify, comparison key, exact value or None, had_percent).

    The key has no whitespace, delimiters, units, ``\\left``/``\\right``, ``%``; two answers
    with equal keys are equal. A key of ``_INVALID`` (a mixed number over zero) equals nothing."""
    s = _unwrap_outer(unicodedata.normalize("NFKC", s))
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("{,}", ",")
    s = re.sub(r"(?<=\d),\\!\s*(?=\d{3})", ",", s)  # LaTeX thousands: 12,\! 345
    s = re.sub(r"(?<=\d)\\[,;:]\s*(?=\d{3}(?!\d))", " ", s)  # 12\,345
    s = re.sub(r"\\left(?![a-zA-Z])|\\right(?![a-zA-Z])", "", s)
    s = re.sub(r"\\\\|\\[!,;: ]|~", lambda m: m.group(0) if m.group(0) == "\\\\" else " ", s)
    s = re.sub(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree", "", s)
    s = s.replace("\\$", "").replace("$", "")
    # \text{ cm} and friends: drop unit words, unwrap the rest
    s = _WRAPPERS.sub(lambda m: " " + m.group(1), s)
    s = re.sub(r"\s+", " ", s).strip()
    s = re.sub(r"[.\s]+$", "", s)
    s = _plain_to_latex(s)
    pct = False
    m = _PCT_TAIL.search(s)
    if m:
        pct = True
        s = s[: m.start()].rstrip()
    unit_re = _TRAILING_UNIT_ANY if answer_type == "numeric" else _TRAILING_UNIT_SPACED
    for _ in range(2):
        s = unit_re.sub("", s).rstrip()
    if not pct:
        m = _PCT_TAIL.search(s)  # '12.5 percent' after a unit word went
        if m:
            pct = True
            s = s[: m.start()].rstrip()
    if answer_type == "numeric":
        m = _TRAILING_WORDS.match(s)
        if m:
            s = m.group(1)
    m = _REV_ASSIGN.match(s)
    if m and not _ASSIGN.match(s):  # '3 = y' -> 'y = 3'
        s = f"{m.group(2)}={m.group(1)}"
    if _ASSIGN.match(s):
        rhs = _ASSIGN.sub("", s)
        if _to_fraction(re.sub(r"\s+", "", rhs).replace(",", "")) is not None or answer_type == "numeric" \
                or _MIXED.fullmatch(rhs):
            s = rhs
    s = re.sub(r"^\+\s*(?=[\d.\\])", "", s)
    if _THOUSANDS.fullmatch(s):
        s = s.replace(",", "")
    elif _SPACED_THOUSANDS.fullmatch(s):
        s = s.replace(" ", "")
    m = _MIXED.fullmatch(s)
    if m:
        sign, whole = m.group(1), int(re.sub(r"[ ,]", "", m.group(2)))
        num, den = next((int(m.group(k)), int(m.group(k + 1))) for k in (3, 5, 7) if m.group(k) is not None)
        if den == 0:
            return _INVALID, _INVALID, None, pct
        if num < den:
            v = whole + Fraction(num, den)
            s = _canonical_number(-v if sign == "-" else v)
    mat = _MATRIX.match(s)
    if mat:
        rows = [[_canonical_entry(e, answer_type) for e in row.split("&")] for row in mat.group(2).split("\\\\")
                if row.strip()]
        s = "\\begin{pmatrix}" + "\\\\".join("&".join(r) for r in rows) + "\\end{pmatrix}"
    else:
        items = _split_list(s)
        if items is not None:
            s = ", ".join(_canonical_entry(x, answer_type) for x in items)
    key = re.sub(r"\s+", "", s)
    value = _to_fraction(key)
    clean = s + ("\\%" if pct else "")
    return clean, key, value, pct


def _canonical_entry(e: str, answer_type: str) -> str:
    """One matrix entry / list item, normalised; exact numbers written as ``\\frac{a}{b}``."""
    _, key, value, pct = _normalize_math(e, answer_type)
    if key == _INVALID:
        return e.strip()
    if value is not None:
        return _canonical_number(value) + ("\\%" if pct else "")
    return _normalize_math(e, answer_type)[0]


def _normalize_text(s: str) -> str:
    s = _unwrap_outer(unicodedata.normalize("NFKC", s))
    for _ in range(3):
        s = _WRAPPERS.sub(r"\1", s)
    s = s.replace("$", " ")
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    s = re.sub(r"[\W_]+", " ", s.casefold())
    return " ".join(s.split())


def _choice_letter(s: str) -> str | None:
    letter = _choice_from_snippet(_unwrap_outer(s), loose=True)
    if letter:
        return letter
    return _extract_from_final(s, "choice") if len(s) <= MAX_EXTRACT_CHARS else None


# --------------------------------------------------------------------------------------------
# Comparison
# --------------------------------------------------------------------------------------------


def _number_verdict(a: Fraction, a_pct: bool, b: Fraction, b_pct: bool) -> bool | None:
    """True/False when two exact numbers decide it, None when only math_verify's rounding
    (values within 1e-4 relative) could still call them equal."""
    xs = [a, a / 100] if a_pct else [a]
    ys = [b, b / 100] if b_pct else [b]
    if any(x == y for x in xs for y in ys):
        return True
    if all(abs(x - y) > Fraction(1, 10_000) * max(1, abs(x), abs(y)) for x in xs for y in ys):
        return False
    return None


_COLLECTION = re.compile(r"(\\\{|\(|\[)((?:\\frac\{-?\d+\}\{-?\d+\}|[^(){}\[\]])*)(\\\}|\)|\])")


def _number_collection(key: str) -> tuple[str, list[Fraction]] | None:
    """``(brackets, values)`` for a set / tuple / interval of plain numbers written in ``key``
    (no whitespace): ``\\{1,2\\}`` -> ('set', [1, 2]), ``[2,5)`` -> ('[)', [2, 5]); else None."""
    if len(key) > MAX_ANSWER_CHARS:
        return None
    m = _COLLECTION.fullmatch(key)
    if m:
        opening, body, closing = m.groups()
    elif "," in key and _COLLECTION.fullmatch("\\{" + key + "\\}"):  # a bare list: a set
        opening, body, closing = "\\{", key, "\\}"
    else:
        return None
    if (opening == "\\{") != (closing == "\\}"):
        return None
    values = [_to_fraction(x) for x in body.split(",")]
    if not values or any(v is None for v in values):
        return None
    return ("set" if opening == "\\{" else opening + closing), values


def _collection_verdict(a: tuple[str, list[Fraction]], b: tuple[str, list[Fraction]]) -> bool | None:
    """True/False for two collections of exact numbers when that is certain; None (ask
    math_verify) for mixed kinds (math_verify equates sets with tuples), different bracket types
    of equal length, or elements close enough for its float rounding."""
    (ka, va), (kb, vb) = a, b
    if ka == "set" and kb == "set":
        sa, sb = set(va), set(vb)
        if sa == sb:
            return True
        left = [(x, y) for x in sa ^ sb for y in (sb if x in sa else sa)]
        return None if any(_number_verdict(x, False, y, False) is None for x, y in left) else False
    if ka != kb or "set" in (ka, kb):
        return None
    if len(va) != len(vb):
        return False
    verdicts = [_number_verdict(x, False, y, False) for x, y in zip(va, vb)]
    if all(v is True for v in verdicts):
        return True
    return False if any(v is False for v in verdicts) else None


def _compare(pred: str | None, gold: str, answer_type: str, timeout: float) -> tuple[bool, str]:
    """-> (equivalent, how): how is 'fast', 'math_verify', 'timeout' or 'error'."""
    _check_type(answer_type)
    timeout = DEFAULT_TIMEOUT if timeout is None else max(0.05, float(timeout))
    if pred is None or not str(pred).strip() or gold is None or not str(gold).strip():
        return False, "fast"
    pred, gold = str(pred), str(gold)
    if answer_type == "choice":
        p, g = _choice_letter(pred[-MAX_EXTRACT_CHARS:]), _choice_letter(gold)
        return (p is not None and p == g), "fast"
    if answer_type == "text":
        p, g = _normalize_text(pred[:MAX_EXTRACT_CHARS]), _normalize_text(gold[:MAX_EXTRACT_CHARS])
        return (bool(p) and (p == g or p.replace(" ", "") == g.replace(" ", ""))), "fast"
    if len(pred) > MAX_EXTRACT_CHARS or len(gold) > MAX_EXTRACT_CHARS:
        return pred.strip() == gold.strip(), "fast"
    p_clean, p_key, p_val, p_pct = _normalize_math(pred, answer_type)
    g_clean, g_key, g_val, g_pct = _normalize_math(gold, answer_type)
    if _INVALID in (p_key, g_key):
        return False, "fast"
    if p_key and p_key == g_key:
        return True, "fast"
    if p_val is not None and g_val is not None:
        verdict = _number_verdict(p_val, p_pct, g_val, g_pct)
        if verdict is not None:
            return verdict, "fast"
    p_coll, g_coll = _number_collection(p_key), _number_collection(g_key)
    if p_coll is not None and g_coll is not None:
        verdict = _collection_verdict(p_coll, g_coll)
        if verdict is not None:
            return verdict, "fast"
    if not p_key or len(p_clean) > MAX_ANSWER_CHARS or len(g_clean) > MAX_ANSWER_CHARS:
        return False, "fast"
    return _math_verify_equal(g_clean, p_clean, timeout)


def is_equivalent(
    pred: str | None, gold: str, answer_type: str, timeout: float = DEFAULT_TIMEOUT
) -> bool:
    """Whether the extracted answer ``pred`` equals ``gold`` under ``answer_type``'s rules
    (see the module docstring). ``None``/empty never matches. Returns within about
    ``timeout`` seconds (plus a one-off worker start-up); a timeout counts as not equivalent.
    Safe to call from any thread. Blocking: from async code use ``asyncio.to_thread`` /
    ``anyio.to_thread.run_sync``."""
    return _compare(pred, gold, answer_type, timeout)[0]


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
    _check_type(answer_type)
    if response is None or not str(response).strip():
        return {"correct": False, "extracted": None, "finished": True, "reason": "empty"}
    _, final, finished = split_reasoning(str(response))
    if not finished:
        return {"correct": False, "extracted": None, "finished": False, "reason": "unfinished_thinking"}
    extracted = _extract_from_final(final, answer_type)
    if extracted is None:
        return {"correct": False, "extracted": None, "finished": True, "reason": "no_answer"}
    ok, how = _compare(extracted, gold, answer_type, timeout)
    reason = "correct" if ok else (how if how in ("timeout", "error") else "wrong")
    return {"correct": ok, "extracted": extracted, "finished": True, "reason": reason}


# --------------------------------------------------------------------------------------------
# math_verify in worker processes (hard time bound, thread-safe, no signals in the caller)
# --------------------------------------------------------------------------------------------


class _WorkerDied(Exception):
    pass


class _Worker:
    """One worker child process: JSON lines in, JSON lines out.
    A daemon reader thread moves reply lines into a queue so waits can time out portably."""

    def __init__(self) -> None:
        pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        boot = (
            "import sys; sys.path.append(%r); "
            "from r1k_plugins.scoring import _worker_main; _worker_main()" % pkg_parent
        )
        env = dict(os.environ)
        env["R1K_NO_LMEVAL_HOOK"] = "1"
        # -I: no cwd / script dir / PYTHONPATH on sys.path, so nothing can shadow stdlib modules
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-c", boot],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,  # a Ctrl-C in the terminal does not hit workers
            close_fds=True,
        )
        self.replies: queue.Queue = queue.Queue()
        self.seq = 0
        threading.Thread(target=self._read, name="r1k-scoring-reader", daemon=True).start()
        reply = self._get(time.monotonic() + WORKER_STARTUP_TIMEOUT)
        if reply is None or not reply.get("ready"):
            self.kill()
            raise RuntimeError(f"r1k scoring worker failed to start: {reply!r}")
        STATS["worker_starts"] += 1

    def _read(self) -> None:
        out = self.proc.stdout
        try:
            for line in out:
                try:
                    self.replies.put(json.loads(line))
                except ValueError:
                    continue
        except (OSError, ValueError):
            pass
        self.replies.put(None)  # EOF: the worker is gone

    def _get(self, deadline: float) -> dict | None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        try:
            reply = self.replies.get(timeout=remaining)
        except queue.Empty:
            raise TimeoutError from None
        if reply is None:
            raise _WorkerDied(f"exit code {self.proc.poll()}")
        return reply

    def request(self, gold: str, pred: str, timeout: float, debug: str | None = None) -> dict:
        """Raises TimeoutError (worker must be killed) or _WorkerDied."""
        deadline = time.monotonic() + timeout
        self.seq += 1
        msg = {"id": self.seq, "gold": gold, "pred": pred, "soft": max(0.05, 0.85 * timeout - 0.02),
               "cpu": timeout}
        if debug:
            msg["debug"] = debug
        try:
            self.proc.stdin.write((json.dumps(msg) + "\n").encode())
            self.proc.stdin.flush()
        except (OSError, ValueError) as e:
            raise _WorkerDied(str(e)) from e
        while True:
            reply = self._get(deadline)
            if reply.get("id") == self.seq:
                return reply

    def kill(self) -> None:
        STATS["worker_kills"] += 1
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except Exception:  # noqa: BLE001
                pass


class _Pool:
    def __init__(self, size: int) -> None:
        self.size = size
        self.pid = os.getpid()
        self.cond = threading.Condition()
        self.idle: list[_Worker] = []
        self.count = 0  # live + starting workers
        self.closed = False

    def acquire(self) -> _Worker:
        deadline = time.monotonic() + 10 * WORKER_STARTUP_TIMEOUT
        with self.cond:
            while True:
                if self.closed:
                    raise RuntimeError("r1k scoring pool is shut down")
                if self.idle:
                    return self.idle.pop()
                if self.count < self.size:
                    self.count += 1
                    break
                if not self.cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise RuntimeError("no r1k scoring worker became free")
        try:
            return _Worker()
        except BaseException:
            with self.cond:
                self.count -= 1
                self.cond.notify()
            raise

    def release(self, w: _Worker, healthy: bool) -> None:
        if healthy:
            with self.cond:
                if not self.closed:
                    self.idle.append(w)
                    self.cond.notify()
                    return
        w.kill()
        with self.cond:
            self.count -= 1
            self.cond.notify()
            refill = not self.closed
        if refill:  # keep the pool warm: start the replacement now, off the caller's clock
            threading.Thread(target=self._refill, name="r1k-scoring-refill", daemon=True).start()

    def _spawn_one(self) -> None:
        """Start one more worker if the pool is below size (used to refill and to warm up)."""
        with self.cond:
            if self.closed or self.count >= self.size:
                return
            self.count += 1
        try:
            w = _Worker()
        except Exception:  # noqa: BLE001
            with self.cond:
                self.count -= 1
                self.cond.notify()
            logger.exception("r1k scoring worker failed to start")
            return
        self.release(w, True)

    def _refill(self) -> None:
        self._spawn_one()

    def warm(self) -> None:
        with self.cond:
            missing = self.size - self.count
        threads = [threading.Thread(target=self._spawn_one, daemon=True) for _ in range(max(0, missing))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            idle, self.idle = self.idle, []
        for w in idle:
            w.kill()


_POOL: _Pool | None = None
STATS = {"worker_starts": 0, "worker_kills": 0, "soft_timeouts": 0, "hard_timeouts": 0, "cache_hits": 0}
"""Process-wide counters (diagnostics only; not thread-exact)."""
_POOL_LOCK = threading.Lock()
_CACHE: OrderedDict = OrderedDict()
_CACHE_MAX = 20_000
_CACHE_LOCK = threading.Lock()


def _pool_size() -> int:
    try:
        n = int(os.environ.get("R1K_SCORING_WORKERS", "0"))
    except ValueError:
        n = 0
    return n if n > 0 else max(1, min(4, os.cpu_count() or 1))


def _get_pool() -> _Pool:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.pid != os.getpid() or _POOL.closed:
            # after fork() the parent's workers belong to the parent: never touch them
            _POOL = _Pool(_pool_size())
        return _POOL


def warm_up() -> None:
    """Start all worker processes now (otherwise the first sympy comparison starts one)."""
    _get_pool().warm()


def shutdown() -> None:
    """Kill the worker processes (registered with atexit; a later comparison restarts them)."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is not None and pool.pid == os.getpid():
        pool.close()


atexit.register(shutdown)


def _math_verify_equal(
    gold: str, pred: str, timeout: float, _debug: str | None = None
) -> tuple[bool, str]:
    key = (gold, pred)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            STATS["cache_hits"] += 1
            _CACHE.move_to_end(key)
            return hit, "math_verify"
    pool = _get_pool()
    for attempt in range(2):
        w = pool.acquire()
        try:
            reply = w.request(gold, pred, timeout, _debug)
        except TimeoutError:
            STATS["hard_timeouts"] += 1
            pool.release(w, healthy=False)
            return False, "timeout"
        except _WorkerDied as e:
            pool.release(w, healthy=False)
            if attempt == 0:
                continue  # a worker that died before our request (e.g. killed from outside)
            logger.error("r1k scoring worker died comparing %.80r with %.80r: %s", pred, gold, e)
            return False, "error"
        except BaseException:
            pool.release(w, healthy=False)
            raise
        pool.release(w, healthy=True)
        if reply.get("timeout"):
            STATS["soft_timeouts"] += 1
            return False, "timeout"
        if "error" in reply:
            logger.debug("math_verify error comparing %.80r with %.80r: %s", pred, gold, reply["error"])
        verdict = bool(reply.get("equal"))
        with _CACHE_LOCK:
            _CACHE[key] = verdict
            if len(_CACHE) > _CACHE_MAX:
                _CACHE.popitem(last=False)
        return verdict, "math_verify"
    return False, "error"


# --------------------------------------------------------------------------------------------
# Worker process side
# --------------------------------------------------------------------------------------------


class _SoftTimeout(BaseException):
    """Raised by the worker's interval timer; BaseException so math_verify's handlers
    (which catch Exception and its own TimeoutException) do not swallow it."""


_IN_JOB = False


def _worker_main() -> None:  # pragma: no cover - runs in the child process
    """Worker loop: one JSON request per stdin line -> one JSON reply per line on the
    original stdout (fd 1 is re-pointed at stderr so library prints cannot corrupt it)."""
    global _IN_JOB
    import signal

    proto = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # stray prints from libraries must not corrupt the protocol
    try:
        import resource
    except ImportError:
        resource = None

    def on_alarm(signum, frame):
        if _IN_JOB:
            raise _SoftTimeout

    has_timer = hasattr(signal, "setitimer")  # not on Windows: the caller's hard kill still applies
    if has_timer:
        signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    from functools import lru_cache

    from math_verify import LatexExtractionConfig, parse, verify

    # LaTeX only: math_verify's ExprExtractionConfig reads plain expressions with sympy's
    # parse_expr, which eval()s; plain-text math is turned into LaTeX by _plain_to_latex instead
    configs = [LatexExtractionConfig()]

    @lru_cache(maxsize=4096)
    def parse_answer(s: str):
        got = parse("\\boxed{" + s + "}", extraction_config=configs, parsing_timeout=None)
        if not got:
            got = parse(s, extraction_config=configs, parsing_timeout=None)
        return got

    proto.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        try:
            req = json.loads(line)
        except ValueError:
            continue
        out: dict = {"id": req.get("id")}
        if resource is not None:
            try:  # an orphaned, stuck worker is killed by the kernel (SIGXCPU)
                used = resource.getrusage(resource.RUSAGE_SELF)
                spent = used.ru_utime + used.ru_stime
                hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
                soft = int(spent + math.ceil(float(req.get("cpu", DEFAULT_TIMEOUT)))) + 5
                if hard == resource.RLIM_INFINITY or soft <= hard:
                    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
            except (ValueError, OSError):
                pass
        try:
            _IN_JOB = True
            if has_timer:
                signal.setitimer(signal.ITIMER_REAL, float(req["soft"]), 0.05)
            try:
                if req.get("debug") == "block":  # tests: a worker stuck where signals cannot reach
                    if has_timer:
                        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
                    time.sleep(3600)
                g = parse_answer(req["gold"])
                p = parse_answer(req["pred"])
                out["equal"] = bool(g) and bool(p) and bool(verify(g, p, timeout_seconds=None))
            finally:
                _IN_JOB = False
                if has_timer:
                    signal.setitimer(signal.ITIMER_REAL, 0)
        except _SoftTimeout:
            out["timeout"] = True
        except Exception as e:  # noqa: BLE001
            out["equal"] = False
            out["error"] = repr(e)[:300]
        proto.write(json.dumps(out) + "\n")


if __name__ == "__main__" and "--worker" in sys.argv[1:]:  # manual debugging only
    _worker_main()
