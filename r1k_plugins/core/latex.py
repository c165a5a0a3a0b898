"""LaTeX normalisation shared by answer extraction and equivalence: box commands, brace groups,
text wrappers, and :func:`normalize_math`, which turns an answer string into a comparison key and
an exact value (units, percent, thousands separators, mixed numbers, unicode numerals, matrices,
bare lists). Pure string work; nothing here is ever evaluated.
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

__all__ = [
    "BOX_CMDS",
    "CJK_NUMBER",
    "INVALID",
    "MAX_ANSWER_CHARS",
    "WRAPPERS",
    "balanced",
    "canonical_number",
    "cjk_to_int",
    "normalize_math",
    "plain_to_latex",
    "to_fraction",
    "unicode_math",
    "unwrap_outer",
]

MAX_ANSWER_CHARS = 1_000
"""Longer answers are compared as normalised strings only; they never reach sympy (and are not
split into list items)."""

BOX_CMDS = ("\\boxed", "\\fbox", "\\framebox", "\x08oxed")
"""Box commands: ``\x08oxed`` is ``\boxed`` whose ``\b`` was read as a backspace by a JSON/str escape."""

WRAPPERS = re.compile(r"\\(?:text|textbf|textit|mathrm|mathbf|mbox|operatorname)\s*\{([^{}]*)\}")
"""Text-style wrappers ``\\text{...}``, ``\\mathrm{...}`` ... (no nested braces); group 1 is the content."""


def balanced(s: str, k: int) -> str | None:
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
_NUMBER_WITH_WORDS = re.compile(
    r"^\s*(-?(?:[\d.,/]+|\\frac\{\d+\}\{\d+\}))\s*\\(?:text|textbf|textit|mathrm|mbox)\s*\{(?!\s*(?:percent|percentage|pct)\b)"
    r"\s*[A-Za-z][A-Za-z ]*\}\s*$"
)
_SIMPLE_NUM = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_SIMPLE_FRAC = re.compile(r"(-?)\\frac\{(-?\d+)\}\{(-?\d+)\}|(-?)\\frac(\d)(\d)|(-?\d+)/(-?\d+)")


def unwrap_outer(s: str) -> str:
    """``s`` without outer ``$``/``$$``/``\\(\\)``/``\\[\\]`` delimiters and outer box commands."""
    s = s.strip()
    for _ in range(4):
        before = s
        if s.startswith("$$") and s.endswith("$$") and len(s) > 4:
            s = s[2:-2].strip()
        elif s.startswith("$") and s.endswith("$") and len(s) > 2:
            s = s[1:-1].strip()
        elif (s.startswith("\\(") and s.endswith("\\)")) or (s.startswith("\\[") and s.endswith("\\]")):
            s = s[2:-2].strip()
        for cmd in BOX_CMDS:
            if s.startswith(cmd):
                k = len(cmd)
                while k < len(s) and s[k] == " ":
                    k += 1
                if k < len(s) and s[k] == "{" and balanced(s, k) == s[k + 1 : -1]:
                    s = s[k + 1 : -1].strip()
        if s == before:
            break
    return s


def to_fraction(key: str) -> Fraction | None:
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


_VULGAR = {
    "½": "1/2",
    "⅓": "1/3",
    "⅔": "2/3",
    "¼": "1/4",
    "¾": "3/4",
    "⅕": "1/5",
    "⅖": "2/5",
    "⅗": "3/5",
    "⅘": "4/5",
    "⅙": "1/6",
    "⅚": "5/6",
    "⅐": "1/7",
    "⅛": "1/8",
    "⅜": "3/8",
    "⅝": "5/8",
    "⅞": "7/8",
    "⅑": "1/9",
    "⅒": "1/10",
}
_VULGAR_RE = re.compile(r"(?:(\d)\s*)?([" + "".join(_VULGAR) + "])")
_SUPERSCRIPTS = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+")
_SUPER_MAP = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_SYMBOLS = {
    "−": "-",
    "⁄": "/",
    "×": "\\times ",
    "÷": "\\div ",
    "·": "\\cdot ",
    "⋅": "\\cdot ",
    "π": "\\pi ",
    "∞": "\\infty ",
    "≤": "\\le ",
    "≥": "\\ge ",
    "≠": "\\ne ",
    "…": "\\ldots ",
    "∪": "\\cup ",
    "∩": "\\cap ",
    "±": "\\pm ",
}
_SYMBOLS_RE = re.compile("[" + "".join(_SYMBOLS) + "]")
_ROOT = re.compile(r"√\s*(\d+(?:\.\d+)?|[A-Za-z]|\{)")
_CJK_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CJK_UNITS = {"十": 10, "百": 100, "千": 1000}
_CJK_BIG = {"万": 10**4, "亿": 10**8}
CJK_NUMBER = re.compile("[负負-]?[" + "".join(_CJK_DIGITS) + "".join(_CJK_UNITS) + "".join(_CJK_BIG) + "]+")
"""A run of CJK numerals (``三``, ``十二``, ``二〇二四``, ``负五``), optionally negative."""


def cjk_to_int(s: str) -> int | None:
    """Value of a CJK numeral written by :data:`CJK_NUMBER` (``十二`` -> 12, ``二〇二四`` -> 2024);
    None when it is not a well-formed number."""
    sign = -1 if s[:1] in "负負-" else 1
    s = s.lstrip("负負-")
    if not s:
        return None
    if not any(c in _CJK_UNITS or c in _CJK_BIG for c in s):  # digit by digit: 二〇二四
        return sign * int("".join(str(_CJK_DIGITS[c]) for c in s))
    total = section = num = 0
    for c in s:
        if c in _CJK_DIGITS:
            num = _CJK_DIGITS[c]
        elif c in _CJK_UNITS:
            section += (num or 1) * _CJK_UNITS[c]
            num = 0
        else:
            total += (section + num) * _CJK_BIG[c]
            section = num = 0
    return sign * (total + section + num)


def unicode_math(s: str, superscripts: bool = True) -> str:
    """Unicode math written as ASCII/LaTeX, then NFKC (full-width digits -> ASCII): ``½`` -> ``1/2``,
    ``2¼`` -> ``2 1/4`` (a mixed number), ``−3`` -> ``-3``, ``x²`` -> ``x^{2}``, ``√2`` ->
    ``\\sqrt2``, ``π`` -> ``\\pi``, ``…`` -> ``\\ldots``; superscripts are dropped when ``superscripts``
    is false ('5 m²' -> '5 m'). ASCII text is returned as it is."""
    if s.isascii():
        return s
    s = _VULGAR_RE.sub(lambda m: (m.group(1) + " " if m.group(1) else "") + _VULGAR[m.group(2)], s)
    s = _SUPERSCRIPTS.sub(lambda m: "^{" + m.group(0).translate(_SUPER_MAP) + "}" if superscripts else "", s)
    s = _ROOT.sub(r"\\sqrt\1", s)
    s = _SYMBOLS_RE.sub(lambda m: _SYMBOLS[m.group(0)], s)
    return unicodedata.normalize("NFKC", s)


_ELLIPSIS = re.compile(r"\\(?:[lc]?dots[cbomi]?)(?![a-zA-Z])|(?<=,)\s*\.{3,}|\.{3,}(?=\s*,)|^\s*\.{3,}")
_PCT_TAIL = re.compile(r"(?<=[\d}.])\s*(?:\\%|%|percent(?:age)?(?:\s+points?)?|per\s*cent|pct\.?)$", re.IGNORECASE)
_MIXED = re.compile(
    r"([+-]?)\s*(\d{1,3}(?:[ ,]\d{3})+|\d+)\s*(?:\s(\d+)\s*/\s*(\d+)|\\frac\s*\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\}"
    r"|\\frac(\d)(\d))"
)
_SCIENTIFIC = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)[eE][-+]?\d{1,3}")
_SPACED_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?: \d{3})+(?:\.\d+)?")
_REV_ASSIGN = re.compile(r"^([^=<>]+?)\s*=\s*([A-Za-z](?:_\{?\w+\}?)?)$")
_MATRIX = re.compile(r"^[(\[]?\s*\\begin\{([pbB]?matrix|array)\}(?:\{[^{}]*\})?(.*?)\\end\{\1\}\s*[)\]]?$", re.DOTALL)
INVALID = "\x00invalid"
"""Key of an answer that is no number at all (a mixed number over zero): equals nothing."""


def plain_to_latex(s: str) -> str:
    r"""Plain-text / Python-style math to LaTeX for the parser (never evaluated): ``**`` -> ``^``,
    ``^(a)`` -> ``^{a}``, ``sqrt(a)`` -> ``\sqrt{a}``, ``cbrt(a)`` -> ``\sqrt[3]{a}``, ``pi`` -> ``\pi``."""
    if (
        "**" not in s
        and "sqrt(" not in s
        and "cbrt(" not in s
        and "^(" not in s
        and not re.search(r"(?<![\\a-zA-Z])pi(?![a-zA-Z])", s)
    ):
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
                inner = plain_to_latex(s[m.end() : j - 1])
                head = m.group(1)
                out.append(
                    f"\\sqrt{{{inner}}}"
                    if head == "sqrt"
                    else f"\\sqrt[3]{{{inner}}}"
                    if head == "cbrt"
                    else f"^{{{inner}}}"
                )
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


def canonical_number(v: Fraction) -> str:
    """An exact number as ``n`` or ``\\frac{a}{b}`` (sign in front)."""
    if v.denominator == 1:
        return str(v.numerator)
    return ("-" if v < 0 else "") + f"\\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"


def normalize_math(s: str, answer_type: str) -> tuple[str, str, Fraction | None, bool]:
    """-> (clean LaTeX for math_verify, comparison key, exact value or None, had_percent).

    The key has no whitespace, delimiters, units, ``\\left``/``\\right``, ``%``; two answers
    with equal keys are equal. A key of ``INVALID`` (a mixed number over zero) equals nothing."""
    s = unwrap_outer(unicode_math(s))
    if not s.isascii() and CJK_NUMBER.fullmatch(s):  # 三 -> 3
        v = cjk_to_int(s)
        s = s if v is None else str(v)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("{,}", ",")
    s = re.sub(r"(?<=\d),\\!\s*(?=\d{3})", ",", s)  # LaTeX thousands: 12,\! 345
    s = re.sub(r"(?<=\d)\\[,;:]\s*(?=\d{3}(?!\d))", " ", s)  # 12\,345
    s = re.sub(r"\\left(?![a-zA-Z])|\\right(?![a-zA-Z])", "", s)
    s = re.sub(r"\\\\|\\[!,;: ]|~", lambda m: m.group(0) if m.group(0) == "\\\\" else " ", s)
    s = re.sub(r"\^\s*\{?\s*\\circ\s*\}?|°|\\degree", "", s)
    s = s.replace("\\$", "").replace("$", "")
    s = re.sub(r"[\u20ac\u00a3\u00a5\u20b9]|\\euro\b", "", s)  # currency signs, like '$'
    s = re.sub(r"(?<!\\)\\\s*$", "", s)  # a stray backslash at the end: '185\\'
    # a number followed by words in \text{}: the words are its unit ('17\text{ apples}')
    s = _NUMBER_WITH_WORDS.sub(r"\1", s)
    # \text{ cm} and friends: drop unit words, unwrap the rest
    s = WRAPPERS.sub(lambda m: " " + m.group(1), s)
    s = re.sub(r"\s+", " ", s).strip()
    if "." in s or "dots" in s:  # '1, 2, 3, ...' keeps its ellipsis: it is no finite list
        s = _ELLIPSIS.sub(r"\\ldots ", s).strip()
    s = re.sub(r"[.,;:\s]+$", "", s)  # '$\\sqrt{3}.$', '$x = 5,$'
    s = plain_to_latex(s)
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
        if (
            to_fraction(re.sub(r"\s+", "", rhs).replace(",", "")) is not None
            or answer_type == "numeric"
            or _MIXED.fullmatch(rhs)
        ):
            s = rhs
    s = re.sub(r"^\+\s*(?=[\d.\\])", "", s)
    if answer_type == "numeric" and _SCIENTIFIC.fullmatch(s):  # a numeric '1e3' is 1000
        s = canonical_number(Fraction(s))
    if _THOUSANDS.fullmatch(s):
        s = s.replace(",", "")
    elif _SPACED_THOUSANDS.fullmatch(s):
        s = s.replace(" ", "")
    m = _MIXED.fullmatch(s)
    if m:
        sign, whole = m.group(1), int(re.sub(r"[ ,]", "", m.group(2)))
        num, den = next((int(m.group(k)), int(m.group(k + 1))) for k in (3, 5, 7) if m.group(k) is not None)
        if den == 0 or (num >= den > 0 and m.group(3) is not None):  # '7 2/0', '11 7/6': no number
            return INVALID, INVALID, None, pct
        if num < den:
            mixed = whole + Fraction(num, den)
            mixed = -mixed if sign == "-" else mixed
            if pct:  # '5 1/2%' is 0.055 and only that: the percent applies to the whole value
                mixed, pct = mixed / 100, False
            s = canonical_number(mixed)
    rep = _REPEATING.fullmatch(s)
    if rep:  # '0.\\overline{3}' is 1/3 exactly
        s = canonical_number(_repeating_value(*rep.groups()))
    mat = _MATRIX.match(s)
    if mat:
        rows = [
            [_canonical_entry(e, answer_type) for e in row.split("&")]
            for row in mat.group(2).split("\\\\")
            if row.strip()
        ]
        s = "\\begin{pmatrix}" + "\\\\".join("&".join(r) for r in rows) + "\\end{pmatrix}"
    else:
        items = _split_list(s)
        if items is not None:
            s = ", ".join(_canonical_entry(x, answer_type) for x in items)
    key = re.sub(r"\s+", "", s)
    value = to_fraction(key)
    clean = s + ("\\%" if pct else "")
    return clean, key, value, pct


_REPEATING = re.compile(r"(-?)(\d*)\.(\d*)\\(?:overline|bar)\s*\{\s*(\d{1,12})\s*\}")


def _repeating_value(sign: str, whole: str, fixed: str, period: str) -> Fraction:
    """Exact value of a repeating decimal: whole . fixed (period repeated)."""
    v = Fraction(int(whole or "0")) + (Fraction(int(fixed), 10 ** len(fixed)) if fixed else 0)
    v += Fraction(int(period), (10 ** len(period) - 1) * 10 ** len(fixed))
    return -v if sign else v


def _canonical_entry(e: str, answer_type: str) -> str:
    """One matrix entry / list item, normalised; exact numbers written as ``\\frac{a}{b}``."""
    _, key, value, pct = normalize_math(e, answer_type)
    if key == INVALID:
        return e.strip()
    if value is not None:
        return canonical_number(value) + ("\\%" if pct else "")
    return normalize_math(e, answer_type)[0]
