"""Answer equivalence: whether an extracted answer equals the gold one (:func:`is_equivalent`).

A cheap normalised-string check, then exact rational checks for plain numbers, sets / tuples /
intervals / bare lists of them, mixed numbers and matrices entry by entry; what that cannot decide
goes to math_verify in the worker pool (:mod:`.pool`) under a hard time bound. The rules are
listed in :mod:`r1k_plugins.core.scoring`.
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

from r1k_plugins.core.extraction import (
    MAX_EXTRACT_CHARS,
    check_answer_type,
    choice_letters,
    extract_from_final,
)
from r1k_plugins.core.latex import (
    INVALID,
    MAX_ANSWER_CHARS,
    WRAPPERS,
    normalize_math,
    to_fraction,
    unwrap_outer,
)
from r1k_plugins.core.pool import DEFAULT_TIMEOUT, math_verify_equal

__all__ = ["MAX_ANSWER_CHARS", "compare", "is_equivalent", "same_text"]


def _normalize_text(s: str) -> str:
    s = unwrap_outer(unicodedata.normalize("NFKC", s))
    for _ in range(3):
        s = WRAPPERS.sub(r"\1", s)
    s = s.replace("$", " ")
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    s = re.sub(r"[\W_]+", " ", s.casefold())
    words = s.split()
    content = [w for w in words if w not in _ARTICLES]  # 'The elephant' == 'elephant'
    return " ".join(content or words)


_ARTICLES = frozenset(["a", "an", "the"])


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
    if all(abs(x - y) > Fraction(1, 10_000) * max(Fraction(1), abs(x), abs(y)) for x in xs for y in ys):
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
    values = [to_fraction(x) for x in body.split(",")]
    exact = [v for v in values if v is not None]
    if not values or len(exact) != len(values):
        return None
    return ("set" if opening == "\\{" else opening + closing), exact


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


_DECIMAL_COMMA = re.compile(r"-?\d+,\d{1,2}")
_OPTION_WITH_TEXT = re.compile(r"\(?([A-J])(?:\)|[.:)]\s+\S.*)", re.DOTALL)


def _decimal_comma(raw: str, key: str, other: Fraction | None) -> Fraction | None:
    """The value of ``key`` read with a decimal comma ('1000,99', '2,5': no space after the
    comma) when the other side is a number with a fractional part; None otherwise (a comma
    separates list items: '3, 5')."""
    if other is None or other.denominator == 1 or not _DECIMAL_COMMA.fullmatch(key) or re.search(r",\s", raw):
        return None
    return Fraction(key.replace(",", "."))


def _option_letter(s: str) -> tuple[str, bool] | None:
    """``(letter, with_text)`` for an option letter alone ('C', '\\text{C}') or followed by its
    option text ('C. x = 42', '(C) 12'); None otherwise."""
    t = WRAPPERS.sub(r"\1", unwrap_outer(s[:200])).strip()
    if re.fullmatch(r"\(?[A-J]\)?", t):
        return t.strip("()"), False
    m = _OPTION_WITH_TEXT.fullmatch(t)
    return (m.group(1), True) if m else None


def compare(pred: str | None, gold: str, answer_type: str, timeout: float = DEFAULT_TIMEOUT) -> tuple[bool, str]:
    """:func:`is_equivalent` with the way it was decided: ``(equivalent, how)``, how being
    ``'fast'`` (decided without sympy), ``'math_verify'``, ``'timeout'`` or ``'error'``."""
    check_answer_type(answer_type)
    timeout = DEFAULT_TIMEOUT if timeout is None else max(0.05, float(timeout))
    if pred is None or not str(pred).strip() or gold is None or not str(gold).strip():
        return False, "fast"
    pred, gold = str(pred), str(gold)
    if answer_type != "choice" and ("boxed" in gold or "\\fbox" in gold) and len(gold) <= MAX_EXTRACT_CHARS:
        gold = extract_from_final(gold, answer_type) or gold  # a whole solution as gold: its boxed answer
    if answer_type == "choice":
        p, g = choice_letters(pred), choice_letters(gold)
        return (p is not None and p == g), "fast"  # every letter named, no letter extra
    if answer_type == "text":
        pt, gt = _normalize_text(pred[:MAX_EXTRACT_CHARS]), _normalize_text(gold[:MAX_EXTRACT_CHARS])
        if bool(pt) and bool(gt) and any(pt.endswith(f" {v} {gt}") for v in ("is", "are", "was", "were")):
            return True, "fast"  # 'The capital is Paris' for 'Paris'
        return (bool(pt) and (pt == gt or pt.replace(" ", "") == gt.replace(" ", ""))), "fast"
    if len(pred) > MAX_EXTRACT_CHARS or len(gold) > MAX_EXTRACT_CHARS:
        return pred.strip() == gold.strip(), "fast"
    lp, lg = _option_letter(pred), _option_letter(gold)
    if lp is not None and lg is not None and (lp[1] or lg[1]):  # 'C. x = 42' names option C
        return lp[0] == lg[0], "fast"
    p_clean, p_key, p_val, p_pct = normalize_math(pred, answer_type)
    g_clean, g_key, g_val, g_pct = normalize_math(gold, answer_type)
    if INVALID in (p_key, g_key):
        return False, "fast"
    p_dots, g_dots = "\\ldots" in p_key, "\\ldots" in g_key
    if p_dots != g_dots and "," in (p_key if p_dots else g_key):  # '1,2,3,...' is no finite list
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
    if p_val is None or g_val is None:  # '1000,99' for 1000.99: a decimal comma
        dp, dg = _decimal_comma(pred, p_key, g_val), _decimal_comma(gold, g_key, p_val)
        if (dp is not None and dp == g_val) or (dg is not None and dg == p_val):
            return True, "fast"
    if not p_key or len(p_clean) > MAX_ANSWER_CHARS or len(g_clean) > MAX_ANSWER_CHARS:
        return False, "fast"
    return math_verify_equal(g_clean, p_clean, timeout)


def is_equivalent(pred: str | None, gold: str, answer_type: str, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Whether the extracted answer ``pred`` equals ``gold`` under ``answer_type``'s rules
    (see the module docstring). ``None``/empty never matches. Returns within about
    ``timeout`` seconds (plus a one-off worker start-up); a timeout counts as not equivalent.
    Safe to call from any thread. Blocking: from async code use ``asyncio.to_thread`` /
    ``anyio.to_thread.run_sync``."""
    return compare(pred, gold, answer_type, timeout)[0]


def same_text(response: str, gold: str, answer_type: str) -> bool:
    """Whether ``response`` is, as a whole, the gold answer written out ('odd $n$' for 'odd $n$'):
    equal normalised keys (math types) or equal normalised text; never asks sympy."""
    if not response or not gold or len(response) > MAX_ANSWER_CHARS or len(gold) > MAX_ANSWER_CHARS:
        return False
    if len(response) > 2 * len(gold) + 16:  # cheap: a response much longer than the gold is no copy of it
        return False
    if answer_type in ("text", "choice"):
        a = _normalize_text(response)
        return bool(a) and a == _normalize_text(gold)
    a, b = normalize_math(response, answer_type)[1], normalize_math(gold, answer_type)[1]
    return bool(a) and a != INVALID and a == b
