"""The board as data: a :class:`Board` of :class:`Section` s holding prose, :class:`Table` s of
:class:`Cell` s, :class:`Image` s and bullet notes. ``sections.board_model`` builds it once from the
leaderboard document; ``render`` writes it as Markdown, HTML and (under ``"board"``) JSON, so the
formats cannot drift apart.

To add content to the board, write a function in ``sections.py`` that returns a ``Section`` (or
None when it has nothing to show) and add it to the list in ``board_model``; every renderer then
shows it. Text is plain text; the few styles a renderer needs are :class:`Span` s (``code``,
``em``, ``strong``), made with :func:`prose` from trusted prose or :func:`code` / :func:`em` /
:func:`strong` around values. Renderers escape every span, so text from result files is safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

STYLES = ("", "code", "em", "strong")

CELL_FLAGS = {
    "missing": "no figure (shown as –)",
    "disagree": "lm-eval and Inspect disagree on this row and task",
    "agree": "lm-eval and Inspect agree",
    "significant": "|Δ| > 1.96·stderr",
    "better": "significant and above the baseline",
    "worse": "significant and below the baseline",
    "arm": "an arm name (HTML: a pill coloured by the arm's family, given as a family:NAME flag)",
    "mono": "a path or id (HTML: monospace)",
}
"""Cell flags the renderers know; ``family:forward`` etc. go with ``arm``. Others are kept in the
JSON and become CSS classes in the HTML."""

ROW_FLAGS = {"baseline": "the --baseline row", "history": "an older run kept by --all"}


@dataclass(frozen=True)
class Span:
    """A run of text in one style: "" (plain), "code", "em" or "strong"."""

    text: str
    style: str = ""


Text = tuple[Span, ...]


def text(*parts: str | Span) -> Text:
    """Plain strings and spans as one :data:`Text`."""
    return tuple(p if isinstance(p, Span) else Span(str(p)) for p in parts if p != "")


def code(s: object) -> Span:
    return Span(str(s), "code")


def em(s: object) -> Span:
    return Span(str(s), "em")


def strong(s: object) -> Span:
    return Span(str(s), "strong")


_MARKUP = re.compile(r"`([^`]+)`|\*\*([^*]+)\*\*|\*([^*\s][^*]*?)\*")


def prose(s: str) -> Text:
    """Trusted prose written with Markdown's `code`, **strong** and *em* -> :data:`Text`.
    Only for text this package writes: values from result files go in as plain spans."""
    out: list[Span] = []
    pos = 0
    for m in _MARKUP.finditer(s):
        if m.start() > pos:
            out.append(Span(s[pos : m.start()]))
        if m.group(1) is not None:
            out.append(code(m.group(1)))
        elif m.group(2) is not None:
            out.append(strong(m.group(2)))
        else:
            out.append(em(m.group(3)))
        pos = m.end()
    if pos < len(s):
        out.append(Span(s[pos:]))
    return tuple(out)


def spans(t: Text | str) -> Text:
    """A plain string as one plain span; a :data:`Text` as it is."""
    return text(t) if isinstance(t, str) else t


def plain(t: Text | str) -> str:
    """The text without styles (what a reader sees)."""
    return t if isinstance(t, str) else "".join(s.text for s in t)


@dataclass
class Cell:
    """One table cell. ``text`` is what every format shows ("\\n" breaks a line); ``value`` and
    ``ci`` are the number behind it (JSON), ``flags`` its meaning (see :data:`CELL_FLAGS`),
    ``title`` a longer note (HTML hover, JSON)."""

    text: Text | str  # a str is one plain span
    value: float | None = None
    ci: tuple[float | None, float | None] | None = None
    flags: frozenset[str] = frozenset()
    title: str | None = None

    def __post_init__(self) -> None:
        self.text = spans(self.text)
        self.flags = frozenset(self.flags)


@dataclass
class Column:
    text: str
    numeric: bool = False  # right-aligned


@dataclass
class Row:
    cells: list[Cell]
    flags: frozenset[str] = frozenset()  # see ROW_FLAGS


@dataclass
class Table:
    columns: list[Column]
    rows: list[Row]
    caption: Text = ()
    collapsed: str | None = None  # HTML: inside <details> with this summary


@dataclass
class Image:
    file: str  # a PNG written beside the board (embedded in the HTML)
    alt: str


@dataclass
class Section:
    """A heading with, in this order, intro paragraphs, tables, images and bullet notes."""

    id: str
    title: Text
    intro: list[Text] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    bullets: list[Text] = field(default_factory=list)
    level: int = 2  # 2: ##, 3: ### (a subsection of the one before)


@dataclass
class Board:
    title: str
    generator: str  # a comment line: what wrote the board
    intro: list[Text]
    sections: list[Section]


def to_dict(board: Board) -> dict:
    """The board as plain JSON data (texts without styles)."""

    def cell(c: Cell) -> dict:
        d: dict = {"text": plain(c.text)}
        if c.value is not None:
            d["value"] = c.value
        if c.ci is not None:
            d["ci"] = list(c.ci)
        if c.flags:
            d["flags"] = sorted(c.flags)
        if c.title:
            d["title"] = c.title
        return d

    def table(t: Table) -> dict:
        return {
            "caption": plain(t.caption) or None,
            "columns": [{"text": c.text, "numeric": c.numeric} for c in t.columns],
            "rows": [{"flags": sorted(r.flags), "cells": [cell(c) for c in r.cells]} for r in t.rows],
        }

    return {
        "title": board.title,
        "intro": [plain(p) for p in board.intro],
        "sections": [
            {
                "id": s.id,
                "level": s.level,
                "title": plain(s.title),
                "intro": [plain(p) for p in s.intro],
                "tables": [table(t) for t in s.tables],
                "images": [{"file": i.file, "alt": i.alt} for i in s.images],
                "bullets": [plain(b) for b in s.bullets],
            }
            for s in board.sections
        ],
    }
