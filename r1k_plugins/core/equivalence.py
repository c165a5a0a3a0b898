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
    _BOX_CMDS,
    _WRAPPERS,
    MAX_EXTRACT_CHARS,
    _balanced,
    _check_type,
    _choice_from_snippet,
    _extract_from_final,
)
from r1k_plugins.core.pool import DEFAULT_TIMEOUT, _math_verify_equal

__all__ = ["MAX_ANSWER_CHARS", "is_equivalent"]

MAX_ANSWER_CHARS = 1_000
"""Longer answers are compared as normalised strings only; they never reach sympy."""


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
