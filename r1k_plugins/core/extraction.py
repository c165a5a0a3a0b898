"""Answer extraction: the final answer string of a response (see :func:`extract_answer`)."""

from __future__ import annotations

import re
import unicodedata

from r1k_plugins.core.latex import (
    BOX_CMDS,
    CJK_NUMBER,
    WRAPPERS,
    balanced,
    normalize_math,
    unicode_math,
    unwrap_outer,
)
from r1k_plugins.core.traces import split_reasoning
from r1k_plugins.core.vocab import ANSWER_TYPES

__all__ = [
    "MAX_EXTRACT_CHARS",
    "check_answer_type",
    "choice_from_snippet",
    "choice_letters",
    "extract_answer",
    "extract_from_final",
]

MAX_EXTRACT_CHARS = 20_000
"""Only this many trailing characters of the final part are searched for an answer."""


def check_answer_type(answer_type: str) -> None:
    """Raise ``ValueError`` unless ``answer_type`` is one of :data:`~r1k_plugins.core.vocab.ANSWER_TYPES`."""
    if answer_type not in ANSWER_TYPES:
        raise ValueError(f"answer_type must be one of {ANSWER_TYPES}, got {answer_type!r}")


_MAX_BOX_TRIES = 16
_BEGIN_BOXED = re.compile(r"\\begin\{boxed\}\s*(.*?)\s*\\end\{boxed\}", re.DOTALL)


def _boxes_before(s: str, pos: int):
    """Yield ``(content, start, end)`` of well-formed boxes ending before ``pos``, last first:
    ``\\boxed{...}`` (nested braces fine, a space before the brace allowed), ``\\fbox``,
    ``\\framebox``, a backspace-mangled ``\\boxed``, ``\\boxed 5`` / ``\\boxed5`` and
    ``\\begin{boxed}...\\end{boxed}``. Tries at most a few candidates, so a megabyte of unbalanced
    braces stays cheap."""
    for _ in range(_MAX_BOX_TRIES):
        i, cmd = max((s.rfind(c, 0, pos), c) for c in BOX_CMDS)
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
            content = balanced(s, k)
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
    i = max(s.rfind(c) for c in BOX_CMDS)
    if i < 0:
        return None
    m = re.match(r"(?:\\boxed|\\fbox|\\framebox|\x08oxed)\s*\{([^\n$]{1,100})$", s[i:].rstrip())
    if not m or balanced(s, s.index("{", i)) is not None:
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
    joined with ', ', unless the run repeats a box or is longer than :data:`_MAX_JOINED_BOXES`
    (a model looping on its answer): then the last box alone. ``(None, -1)`` if there is no box."""
    boxes = _boxes_before(s, len(s))
    last = next(boxes, None)
    if last is None:
        return None, -1
    content, start, _ = last
    parts, starts = [content], [start]
    for prev, p_start, p_end in boxes:
        if len(parts) > _MAX_JOINED_BOXES or not _BOX_SEP.fullmatch(s[p_end:start]) or not prev.strip():
            break
        parts.append(prev)
        starts.append(p_start)
        start = p_start
    keys = [re.sub(r"\s+", "", x) for x in parts]
    if len(parts) > _MAX_JOINED_BOXES or len(set(keys)) < len(keys):
        # a flood of repeated boxes (a model looping) is no list: the last box is the answer
        return content, starts[0]
    if len(parts) > 1:
        return ", ".join(x.strip() for x in reversed(parts)), start
    return content, start


def _last_boxed(s: str) -> str | None:
    return _last_boxed_at(s)[0]


# 'Answer: ...', 'The final answer is ...', and GSM8K's '#### 42' line (a number after it: a
# Markdown heading '#### Step 2' is no marker)
# 'Answer:' in other languages (the words simple-evals' multilingual MMLU accepts), colon required
_FOREIGN_ANSWER = (
    r"(?:(?:\b(?:r[ée]ponse|respuesta|risposta|resposta|antwort|jawaban|jibu)\b|答案|回答|解答|答え|答|답변|정답|"
    r"उत्तर|উত্তর|الإجابة|الجواب)\s*[:\uff1a]"
    r"|\b(?:r[ée]ponse\s+est|respuesta\s+es|antwort\s+ist|risposta\s+[èe]|resposta\s+[ée])\b|答案[是为])"
)
_ANSWER_MARK = re.compile(
    r"(?:\banswer\b(?:\s*\*\*)?\s*(?::|=|\bis\b)(?:\s*\*\*)?(?:\s*:)?|"
    + _FOREIGN_ANSWER
    + r"|(?m:^)[ \t]*####(?=[ \t]*[-+$\\\d.]))[ \t]*",
    re.IGNORECASE,
)
_MATH_SPAN = re.compile(r"\$\$(.+?)\$\$|(?<!\\)\$((?:\\.|[^$\\])+)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_PROSE_WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")
_HOPE = re.compile(r"\s*I hope it is correct\.?\s*$", re.IGNORECASE)


def _answer_phrase(final: str, after: int = -1, answer_type: str = "expression") -> str | None:
    """Text after the last 'answer:' / 'answer is' / 'final answer is' marker that starts after
    index ``after`` (rest of the line, or the next non-empty line when the marker ends its line);
    the first math span of it if it has one. With ``after >= 0`` (a box precedes the marker),
    prose without a math span is rejected so the box stands."""
    last = None
    for last in _ANSWER_MARK.finditer(final):  # noqa: B007  # the loop keeps the last match
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
    line = _whole_environment(rest, line)
    line = _first_sentence(_HOPE.sub("", line.strip()))
    m = _MATH_SPAN.search(line)
    if after >= 0 and not m and len(_prose_words(line)) >= 3:
        return None  # 'the answer is correct because ...' after a box: prose, keep the box
    if m:
        tail = _IS_VALUE.match(line, m.end())
        if tail and _prose_words(line[: m.start()]):  # 'The smallest $k$ is 17.': the value, not k
            line = tail.group(1)
            m = _MATH_SPAN.search(line)
    elif answer_type != "text" and len(_prose_words(line)) >= 2:  # 'The number of ways is 35.'
        tails = list(_IS_ANY.finditer(line))
        if tails:
            line = line[tails[-1].end() :]
    if m:
        spans = [m]
        while len(spans) < _MAX_JOINED_BOXES:  # '$-3$ and $5$': several spans, one answer
            sep = _SPAN_SEP.match(line, spans[-1].end())
            next_span = _MATH_SPAN.match(line, sep.end()) if sep else None
            if not next_span:
                break
            spans.append(next_span)
        line = ", ".join(next(g for g in x.groups() if g is not None).strip() for x in spans)
    line = line.strip().strip("*").strip()
    if re.search(r",\s*(?:\.{3,}|\u2026|\\[lc]?dots)\s*\.?$", line):  # '1, 2, 3, ...': keep the ellipsis
        return re.sub(r"(?:\.{3,}|\u2026|\\[lc]?dots)\s*\.?$", "\\\\ldots", line)
    line = re.sub(r"[.;,]+$" if m else r"[.;,:!?]+$", "", line).strip()  # 'The answer is 42!'
    if not m:  # 'The answer is (42).': a number in brackets, not a tuple
        line = re.sub(
            r"^[(\[](-?[\d.,/]{1,40})[)\]]$", lambda k: k.group(1) if "," not in k.group(1) else k.group(0), line
        )
    return line or None


_OPEN_ENV = re.compile(r"\\begin\{([a-zA-Z]+\*?)\}|\\\[|\$\$")


def _whole_environment(rest: str, line: str) -> str:
    """``line`` (a line of ``rest``), run on over the following lines when it opens a
    ``\\begin{env}`` / ``\\[`` / ``$$`` that closes only there (a matrix written over several
    lines), joined with spaces."""
    m = _OPEN_ENV.search(line)
    if not m:
        return line
    closer = f"\\end{{{m.group(1)}}}" if m.group(1) else ("\\]" if m.group(0) == "\\[" else "$$")
    if line.find(closer, m.end()) >= 0:
        return line
    off = rest.find(line)
    k = rest.find(closer, off + m.end(), off + 2000)
    return " ".join(rest[off : k + len(closer)].split()) if k >= 0 else line


_CONCLUSION = re.compile(
    r"\b(?:Therefore|Thus|Hence|So|In total|Altogether)\b[^.\n$\\]{0,200}?(?<![\w.])\d[\d,./]*[^.\n$\\]{0,200}"
)
_ENV_AT_END = re.compile(r"\\begin\{([pbBvV]?matrix|array)\}[^$]*?\\end\{\1\}(?=[\s.$\\\])]*$)")


def _spans_before(final: str, last: re.Match) -> str | None:
    """'a, b' when the math span ``last`` follows other spans separated only by ', ' / 'and' /
    'or' (no '=' in any of them); None when it stands alone."""
    starts = [m for m in _MATH_SPAN.finditer(final, max(0, last.start() - 600), last.start())]
    values = [next(x for x in last.groups() if x is not None).strip()]
    end = last.start()
    for m in reversed(starts):
        v = next(x for x in m.groups() if x is not None).strip()
        if len(values) >= _MAX_JOINED_BOXES or m.end() > end or not _SPAN_SEP.fullmatch(final, m.end(), end):
            break
        if not v or "=" in v:
            return None
        values.append(v)
        end = m.start()
    return ", ".join(reversed(values)) if len(values) > 1 else None


_IS_VALUE = re.compile(r"\s*(?:is|are|equals|=|must be|will be|should be)\s+(.+)$", re.IGNORECASE)
_IS_ANY = re.compile(r"(?:\b(?:is|are|equals|was|be)\b|=)\s*", re.IGNORECASE)
_SPAN_SEP = re.compile(r"\s*(?:,|,?\s*and|,?\s*or)\s*")
_SENTENCE_END = re.compile(r"[.!?]\s+(?=[A-Z])")
_MATH_WORDS = frozenset(
    [
        "sqrt",
        "cbrt",
        "sin",
        "cos",
        "tan",
        "cot",
        "sec",
        "csc",
        "log",
        "exp",
        "arcsin",
        "arccos",
        "arctan",
        "sinh",
        "cosh",
        "tanh",
        "frac",
        "dfrac",
        "tfrac",
        "binom",
        "infty",
        "inf",
        "pmatrix",
        "bmatrix",
        "matrix",
        "begin",
        "end",
        "text",
        "cdot",
        "times",
        "div",
    ]
)


# words in other scripts (CJK, Arabic, Cyrillic, accented Latin runs ...): two or more non-ASCII
# letters in a row, Greek excepted (theta, pi are math)
_FOREIGN_WORD = re.compile(r"(?:(?![\u0370-\u03ff])[^\W\d_\x00-\x7f]){2,}")


def _prose_words(s: str) -> list[str]:
    """Plain words of 3+ letters that are not math function names (``sqrt``, ``log`` ...), and
    words of two or more letters in a non-Latin script ('糖果', 'ناتج')."""
    words = [w for w in _PROSE_WORD.findall(s) if w.lower() not in _MATH_WORDS]
    return words + _FOREIGN_WORD.findall(s) if not s.isascii() else words


def _first_sentence(line: str) -> str:
    """``line`` up to the end of its first sentence ('17. This follows ...' -> '17.'), never
    cutting inside a ``$...$`` span."""
    for m in _SENTENCE_END.finditer(line):
        if line.count("$", 0, m.start()) % 2 == 0:
            return line[: m.start() + 1]
    return line


_UNIT_SUFFIX = (
    r"(?i:cm|mm|km|m|kg|mg|g|s|ms|sec|h|hr|hrs|min|mins|yr|yrs|ft|in|yd|mi|lb|lbs|oz|mph|kph|ml|l|gal|"
    r"am|pm|st|nd|rd|th|x|k|kb|mb|gb|hz|kw|w|v|j|n|pa)"
)
"""Unit words a number may have glued on ('5cm', '100mL', '3pm'); other letters make it no number."""
_NUMBER_TOKEN = re.compile(
    r"(?<![A-Za-z_])(?:-?\d+\s+\d+/\d+(?!\d|\.\d)|-?\\[dt]?frac\{\d+\}\{\d+\}|-?\d+/\d+(?!\d|\.\d)"
    r"|-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|-?\d*\.\d+|-?\d+)(?:\s*(?:\\?%|percent\b))?"
    r"(?![\d])(?!(?!" + _UNIT_SUFFIX + r"(?![A-Za-z]))[A-Za-z])"  # '42abc' is no number, '5cm' is
)


def _last_number(s: str) -> str | None:
    """The last number in ``s`` (unicode fractions and full-width digits read as numbers); with
    none, the last run of CJK numerals ('答案是三' -> '三')."""
    s = unicode_math(s, superscripts=False)  # '1,000.99m²': the number, not the exponent
    last = None
    for last in _NUMBER_TOKEN.finditer(s):  # noqa: B007  # the loop keeps the last match
        pass
    if last is None and not s.isascii():
        for last in CJK_NUMBER.finditer(s):  # noqa: B007  # the loop keeps the last match
            pass
    return last.group(0) if last else None


# punctuation and whole words of two or more letters (each run of letters taken whole, so the
# match is linear: no way to split a word differently)
_FILLER = re.compile(r"(?:[\s:;,.!?()\[\]'\"*~-]|(?<![^\W\d_])(?:(?![\u0370-\u03ff])[^\W\d_]){2,}(?![^\W\d_]))*")


def _lone_number(s: str) -> str | None:
    """The number of a short phrase that is words around one number ('result: -5.0', 'answer
    2½', 'pi is approximately 3.14', '-½ extra'); None when the rest holds any math (a single
    letter, an operator, another number) or there is no such number."""
    if len(s) > 200 or re.search(r"[\\^{}=$+*<>|]", s):
        return None
    t = unicode_math(s, superscripts=False)
    nums = list(_NUMBER_TOKEN.finditer(t))
    if len(nums) > 1:
        return None
    if nums:
        m = nums[0]
        rest = t[: m.start()] + " " + t[m.end() :]
        return m.group(0) if _FILLER.fullmatch(rest) else None
    cjk = list(CJK_NUMBER.finditer(t)) if not t.isascii() else []
    if len(cjk) == 1 and _FILLER.fullmatch(t[: cjk[0].start()] + " " + t[cjk[0].end() :]):
        return cjk[0].group(0)
    return None


def _numeric_candidate(ans: str) -> str:
    """For numeric answers, reduce prose like 'The area is 25 square units' to '25'."""
    if re.search(r"[\\^{}]", ans) or not _prose_words(ans):
        return ans
    clean, _, value, _ = normalize_math(ans, "numeric")
    if value is not None:  # '25 square units' -> '25', '12.5 percent' -> '12.5\\%'
        return clean
    m = _NUMBER_TOKEN.search(ans)
    return m.group(0) if m else ans


def choice_from_snippet(s: str, loose: bool = False) -> str | None:
    """Option letter at the start of ``s`` (None if there is none): 'B', '(B)', 'B)', 'B.', '**B**', '\\text{(B)}',
    'option B'. Lowercase only inside parentheses, or when ``loose`` and ``s`` is the letter alone.
    'I' followed by a lowercase word ('I think ...') is a pronoun, not an option."""
    s = WRAPPERS.sub(r"\1", s[:200]).replace("$", "").replace("*", "")
    s = re.sub(
        r"^\s*(?:\\boxed\s*\{)?\s*(?:I\s+(?:think|believe|guess)\s+(?:it\s+is\s+|it's\s+)?)?"
        r"(?:the\s+)?(?:option|choice)?\s*[:\-]?\s*",
        "",
        s,
        flags=re.IGNORECASE,
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
    _FOREIGN_ANSWER + r"\s*|"
    r"\b(?:answers?|option|choice)\b(?:\s*\*\*)?\s*(?::|=|\bis\b|\bare\b|\b(?:would|should|must|will)\s+be\b)"
    r"(?:\s*\*\*)?(?:\s*:)?\s*"
    r"(?:(?:for\s+sure|definitely|clearly|certainly|surely|probably|indeed)\s*,?\s+)?"
    r"|\b(?:choose|select|pick|opt\s+for|settle\s+on|go(?:ing)?\s+with|went\s+with|I(?:'d|\s+would)\s+say)\s+"
    r"|\b(?:think|believe|guess|say)\s+(?:it's|it\s+is|it\s+must\s+be)\s+"
    r"(?:(?:for\s+sure|definitely|clearly|certainly|surely|probably|indeed)\s*,?\s+)?",
    re.IGNORECASE,
)
# 'C is correct', '(B) is the right answer', 'option D is the best choice'
_LETTER_IS_RIGHT = re.compile(
    r"(?:\b(?:option|choice)\s+)?(?:\(([A-J])\)|\b([A-J])\b)(?:\s*\*\*)?\s+(?:is|would\s+be|seems)\s+(?:the\s+)?"
    r"(?:correct|right|best)\b"
)
_SEP = r"\s*(?:,\s*(?:and\s+|or\s+)?|;|&|/|\band\b|\bor\b)\s*"  # 'A or B' hedges: both letters
_ONE = r"(?:\(\s*[A-J]\s*\)|[A-J](?![A-Za-z0-9]))"
# 'A, B', '(A) and (C)', 'A; C; D' (two or more letters, ending the sentence)
_LETTER_LIST = re.compile(
    r"\s*(?:\\boxed\s*\{|\\text\s*\{|\*\*|\$)*\s*(" + _ONE + r"(?:" + _SEP + _ONE + r")+)\s*(?=[.}*$)\n]|$)"
)
_LETTERS_ONLY = re.compile(r"\s*\(?\s*[A-J]\s*\)?(?:" + _SEP + r"\(?\s*[A-J]\s*\)?)*\s*[.]?\s*")


# 'Both A and C are correct', '(A) and (D) are right'
_LETTERS_ARE_RIGHT = re.compile(
    r"(?<![A-Za-z])(" + _ONE + r"(?:" + _SEP + _ONE + r")+)\s+are\s+(?:both\s+|all\s+)?(?:correct|right|true)\b"
)


def _letter_list(s: str) -> str | None:
    """'A, B' for a list of two or more option letters opening ``s`` and ending its sentence."""
    m = _LETTER_LIST.match(s[:200])
    if not m:
        return None
    letters = re.findall(r"[A-J]", m.group(1))
    return ", ".join(dict.fromkeys(letters)) if len(set(letters)) > 1 else letters[0]


def _choice_at(s: str, loose: bool = False) -> str | None:
    return _letter_list(s) or choice_from_snippet(s, loose=loose)


def choice_letters(s: str) -> frozenset[str] | None:
    """The set of option letters an answer names: 'B', '(b)', '\\text{(B)}' -> {B}; 'A, C',
    'A and C', '(A), (C)' and 'AC' (distinct capitals) -> {A, C}; else the letter(s) that
    :func:`extract_from_final` finds in ``s`` as a choice answer; None when there is none."""
    t = WRAPPERS.sub(r"\1", unwrap_outer(s[:MAX_EXTRACT_CHARS])).replace("*", "").strip()
    if _LETTERS_ONLY.fullmatch(t):
        return frozenset(re.findall(r"[A-Ja-j]", t.upper()))
    if re.fullmatch(r"[A-J]{2,10}", t) and len(set(t)) == len(t):
        return frozenset(t)
    letter = choice_from_snippet(t, loose=True) if len(t) <= 3 else None
    if letter is None:
        letter = extract_from_final(s[-MAX_EXTRACT_CHARS:], "choice")
    return frozenset(re.findall(r"[A-J]", letter)) if letter else None


# text in a script written without spaces before it ('B。不是 A', 'B不是 A'): CJK, Hangul,
# Arabic, Indic scripts and CJK punctuation
_CJK_ETC = r"[\u0600-\u06ff\u0900-\u0dff\u2e80-\u9fff\uac00-\ud7af\u3000-\u303f]"


def _extract_choice(final: str, boxed: str | None) -> str | None:
    if boxed is not None:
        letter = _choice_at(boxed, loose=True)
        if letter:
            return letter
    marked, at = None, -1
    marks = list(_CHOICE_MARK.finditer(final))
    for m in reversed(marks[-50:]):
        letter = _choice_at(final[m.end() : m.end() + 200])
        if letter:
            marked, at = letter, m.start()
            break
    right = None
    for right in _LETTER_IS_RIGHT.finditer(final):  # noqa: B007  # the loop keeps the last match
        pass
    both = None
    for both in _LETTERS_ARE_RIGHT.finditer(final):  # noqa: B007  # the loop keeps the last match
        pass
    if both is not None and both.start() > at and (right is None or both.start() >= right.start()):
        return ", ".join(dict.fromkeys(re.findall(r"[A-J]", both.group(1))))
    if right is not None and right.start() > at:
        return right.group(1) or right.group(2)
    if marked:
        return marked
    head = final.strip().replace("*", "").replace("$", "").strip()
    listed = _letter_list(head) if len(head) <= 40 else None
    if listed and _LETTERS_ONLY.fullmatch(head):
        return listed
    letter = choice_from_snippet(head[:200], loose=len(head) <= 3)
    if letter and (len(head) <= 3 or re.match(r"\(?[A-J](?:[).:]|(?=" + _CJK_ETC + "))", head)):
        return letter
    paren = set(re.findall(r"\(([A-J])\)", final))
    if len(paren) == 1:
        return paren.pop()
    return None


# box spellings that are not LaTeX but mean \boxed: 'boxed {42}', '\beginboxed{42}', '□{42}', '\\boxed{42}'
_LOOSE_BOX = re.compile(r"\\beginboxed\s*\{|(?<![A-Za-z\\])boxed\s*\{|\u25a1\s*\{|\\\\boxed\s*\{")


_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)


def _fix_loose_boxes(s: str) -> str:
    if "boxed" not in s and "\u25a1" not in s:
        return s
    return _LOOSE_BOX.sub(lambda m: "\\boxed{", s)


def extract_from_final(final: str, answer_type: str) -> str | None:
    """The answer in ``final``, the final part of a response (see :func:`extract_answer`, which
    splits off the reasoning first); None when there is none."""
    final = _fix_loose_boxes(final[-MAX_EXTRACT_CHARS:])
    if "</answer>" in final:  # '<answer>42</answer>' (R1-style answer tags): the last tagged answer
        tags = list(_ANSWER_TAG.finditer(final))
        tagged = tags[-1] if tags else None
        if tagged is not None and tagged.group(1).strip():
            final = tagged.group(1)
    if not final.strip():
        return None
    boxed, at = _last_boxed_at(final)
    if boxed is None:
        boxed = _unclosed_box(final)
        at = -1 if boxed is None else final.rfind("{")
    if answer_type == "choice":
        if not final.isascii():  # full-width letters 'Ｂ', '（Ｃ）'
            final = unicodedata.normalize("NFKC", final)
            boxed = boxed if boxed is None else unicodedata.normalize("NFKC", boxed)
        return _extract_choice(final, boxed)
    # the last stated answer wins: an 'Answer:' line after the last box overrides the box
    ans = _answer_phrase(final, after=at if boxed is not None and boxed.strip() else -1, answer_type=answer_type)
    if not ans and boxed is not None and boxed.strip():
        ans = boxed.strip()
    if ans:
        if answer_type == "numeric":
            return _numeric_candidate(ans)
        if answer_type == "expression" and len(_prose_words(ans)) >= 3 and not re.search(r"[\\^{}=$]", ans):
            numbers = _NUMBER_TOKEN.findall(ans)  # 'Jane started growing Sphere 3 hours ago' -> '3'
            if len(numbers) == 1:
                return numbers[0]
        if answer_type == "expression" and _prose_words(ans):
            lone = _lone_number(ans)  # '-½ extra' -> '-½'
            if lone:
                return lone
        return ans
    stripped = final.strip()
    if answer_type == "numeric":
        return _last_number(final)
    if answer_type == "expression":
        spans = [m for m in _MATH_SPAN.finditer(final)][-1:]
        if spans:
            concluded = None  # 'Therefore, there are 12 ways.' after the last span: its number
            for concluded in _CONCLUSION.finditer(final, spans[0].end()):  # noqa: B007  # the loop keeps the last match
                pass
            if concluded is not None:
                return _last_number(concluded.group(0))
            g = next(x for x in spans[0].groups() if x is not None).strip()
            if len(_prose_words(g)) >= 2 and "\\" not in g:  # '$? just about 1$': prose between dollar signs
                g = _last_number(g) or g
            if g and "=" not in g:  # '$(1,2)$ and $(4,5)$': several values, one answer
                joined = _spans_before(final, spans[0])
                if joined:
                    return joined
            if g:
                return g
        tail = stripped[-2000:]
        env = _ENV_AT_END.match(tail, max(0, tail.rfind("\\begin{")))
        if env:  # a matrix / array without math delimiters
            return " ".join(env.group(0).split())
        short = len(stripped) <= 100 and "\n" not in stripped
        if short and _prose_words(stripped):
            lone = _lone_number(stripped)  # 'result: -5.0', 'pi is approximately 3.14'
            if lone:
                return lone
        foreign = not stripped.isascii() and _FOREIGN_WORD.search(stripped)
        if short and len(_PROSE_WORD.findall(stripped)) < 2 and not foreign:
            return stripped
        lines = stripped[-5000:].split("\n")
        last_line = lines[-1].strip()
        if not re.search(r"\d", last_line):  # '60\nThis solves the problem.': the last line with a number
            last_line = next((ln.strip() for ln in reversed(lines[-4:-1]) if re.search(r"\d", ln)), last_line)
        if len(last_line) <= 100 and not _prose_words(last_line) and re.search(r"[\d\\]", last_line):
            return last_line  # 'First compute the answer.\n1234'
        # 'Thus the probability is 2/3.': the value after the last 'is' / '=' of the last line
        tails = list(_IS_ANY.finditer(last_line[-300:]))
        if tails:
            tail = re.sub(r"[.;,!]+$", "", last_line[-300:][tails[-1].end() :]).strip()
            if tail.endswith(")") and tail.count(")") > tail.count("("):  # '(35 + 70 = 105).'
                tail = tail[:-1].rstrip()
            if tail and len(tail) <= 60 and not _prose_words(tail) and re.search(r"[\d\\]", tail):
                if not tail.isascii() and len(_NUMBER_TOKEN.findall(unicode_math(tail, superscripts=False))) == 1:
                    return _last_number(tail)  # '1,000.99€', '12 m²': the number, not its unit sign
                return tail
        # 'There are 4 objects and 4/9 remain.' -> '4/9' (a sentence, not a megabyte of one line)
        return _last_number(last_line) if len(last_line) <= 1000 else None
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

    Several distinct boxes separated only by a comma / 'and' / 'or' are one list answer ('-1, 3');
    a run of repeated boxes (a model looping) gives its last box. Loose spellings ('boxed {42}',
    '\\beginboxed{42}', '□{42}') count as boxes; a new chat turn ('<|im_start|>user') ends the
    final part. With R1-style ``<answer>...</answer>`` tags only the last tagged text is searched;
    GSM8K's '#### 42' line counts as an answer marker.

    * ``numeric``: the last number in the final part (``1,000``, ``-2.5``, ``3/4``, ``\\frac{3}{4}``,
      ``5 1/2%``, ``½``, ``三``; not a number glued to a word: 'AZYUK2A', '42abc');
      prose after a marker is reduced to its first number ('The area is 25 units' -> '25');
    * ``expression``: the last math span (or the number of a 'Therefore ...' sentence after it),
      else a matrix environment ending the text, else the number of a short phrase of words around
      one number ('result: -5.0'), else the whole final part if it is one short line
      that is not prose (fewer than two plain words of 3+ letters), else its last line when that is
      not prose, else the value after the last 'is' / '=' of the last line, else its last number
      (a last line without a digit defers to the nearest of the three lines above that has one;
      words in another script count as prose);
    * ``text``: the whole final part if it is one short line, else its last short line;
    * ``choice``: the letter(s) A-J from the boxed content, after an 'answer is' / 'option' /
      'choose' / 'go with' marker ('(B)', 'B)', 'B', '\\text{(B)}'; a list 'A, C' or a hedge
      'A or B' gives both), a statement 'C is correct' / 'A and C are correct' after the last
      marker, a final part that is just letters, or the only parenthesised capital letter in the
      final part. Returns upper-case letters, several joined by ', '.
    """
    check_answer_type(answer_type)
    if not text:
        return None
    _, final, finished = split_reasoning(text)
    if not finished:
        return None
    return extract_from_final(final, answer_type)
