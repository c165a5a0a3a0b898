"""Invert forward items into reverse items: ``r1k data invert FILE --strategy mask|teacher``.

A strategy turns one forward :class:`Record` into its reverse :class:`Record`, or raises
:class:`Skip` with a reason (counted in the summary). Register new ones in ``STRATEGIES``.

``mask`` (deterministic, FOBAR-style): pick one numeric quantity stated in the forward question,
replace it with an unknown (X, or a letter the question does not use), state the forward answer as
given, and ask for the unknown. The reverse gold answer is the hidden number (``meta.inversion``).

``teacher``: an LLM teacher behind an OpenAI-compatible chat endpoint (vLLM's server, OpenAI, ...)
writes the reverse question, its answer and a reverse reasoning trace, following the paper's recipe.
"""

from __future__ import annotations

import json
import os
import random
import re
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import R1KError
from .schema import Record


class Skip(Exception):
    """This item cannot be inverted by this strategy (the message is the reason)."""


class InversionStrategy(Protocol):
    name: str

    def invert(self, rec: Record) -> Record:  # pragma: no cover - protocol
        """Return the reverse record of a forward record, or raise Skip(reason)."""


# ------------------------------------------------------------------ mask
# A standalone number: not glued to letters/digits/decimal points, not an exponent or subscript.
_NUMBER = re.compile(r"(?<![\w.^_\\])(?<!\^\{)(?<!_\{)(\d+(?:\.\d+)?)(?![\w^]|\.\d)")
_UNKNOWNS = ("X", "Y", "Z", "N", "M", "K")


def _numeric_gold(rec: Record) -> str:
    ans = rec.answer.strip().strip("$").strip()
    if rec.answer_type not in ("numeric", "expression") or not ans:
        raise Skip(f"answer type {rec.answer_type} has no short numeric/expression answer")
    if len(ans) > 60:
        raise Skip("answer too long to state as given")
    return ans


def mask_candidates(question: str) -> list[re.Match]:
    """Numbers stated once in the question that could be hidden."""
    found = list(_NUMBER.finditer(question))
    counts: dict[str, int] = {}
    for m in found:
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    out = []
    for m in found:
        v = m.group(1)
        if counts[v] != 1:
            continue  # ambiguous: which occurrence is the premise?
        if v == "0":
            continue  # "0" is rarely a stated premise (and 0 = X reads oddly)
        out.append(m)
    return out


@dataclass
class MaskStrategy:
    """Deterministic masking inverter (FOBAR-style); choice is seeded per item id."""

    seed: int = 0
    name: str = "mask"

    def invert(self, rec: Record) -> Record:
        gold = _numeric_gold(rec)
        cands = mask_candidates(rec.question)
        if not cands:
            raise Skip("no standalone numeric quantity in the question")
        m = random.Random(f"{self.seed}-{rec.id}").choice(cands)
        hidden = m.group(1)
        used = set(re.findall(r"\b[A-Z]\b", rec.question))
        var = next((u for u in _UNKNOWNS if u not in used), None)
        if var is None:
            raise Skip("no free letter for the unknown")
        masked = rec.question[:m.start()] + var + rec.question[m.end():]
        q = (f"{masked.rstrip()}\n\nIf we know the answer to the above question is {gold}, "
             f"what is the value of the unknown variable {var}?")
        return Record(
            id=f"{rec.pair_id}-r", pair_id=rec.pair_id, direction="reverse", question=q, answer=hidden,
            answer_type="numeric", source=rec.source, reasoning=None, response=None,
            meta={"inversion": {"strategy": "mask", "hidden_value": hidden, "variable": var,
                                "span": [m.start(), m.end()], "given_answer": gold, "from_id": rec.id,
                                "seed": self.seed}},
        )


# ------------------------------------------------------------------ teacher
TEACHER_PROMPT = """You turn a forward reasoning problem into its reverse problem.
The reverse problem gives the forward problem's final answer and asks for one premise of the
forward problem (a given quantity or fact) that is hidden. It must have a single checkable answer.

Forward problem:
{question}

Forward answer: {answer}

Reply with a JSON object only, with keys:
"reverse_question": the reverse problem (self-contained, states the forward answer as given),
"reverse_answer": the hidden premise's value (short),
"reasoning": step-by-step reasoning that solves the reverse problem."""


@dataclass
class TeacherStrategy:
    """LLM teacher over an OpenAI-compatible ``/v1/chat/completions`` endpoint.

    The API key is read from the environment variable named by ``api_key_env`` (never written out).
    """

    model: str
    base_url: str = "http://localhost:8000/v1"
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.0
    timeout: float = 300.0
    max_tokens: int = 8192
    name: str = "teacher"
    _client: object = field(default=None, repr=False)

    def _post(self, payload: dict) -> dict:
        import httpx

        if self._client is None:
            headers = {}
            key = os.environ.get(self.api_key_env)
            if key:
                headers["Authorization"] = f"Bearer {key}"
            self._client = httpx.Client(base_url=self.base_url.rstrip("/"), headers=headers, timeout=self.timeout)
        try:
            r = self._client.post("/chat/completions", json=payload)
        except httpx.HTTPError as e:
            raise R1KError(f"teacher endpoint {self.base_url} unreachable ({type(e).__name__}); "
                           f"start the server or fix --teacher-url") from None
        if r.status_code in (401, 403):
            raise R1KError(f"teacher endpoint {self.base_url} refused the key (HTTP {r.status_code}); "
                           f"set {self.api_key_env} in the environment")
        if r.status_code >= 400:
            raise Skip(f"teacher HTTP {r.status_code}")
        return r.json()

    def invert(self, rec: Record) -> Record:
        if not rec.answer.strip():
            raise Skip("no forward answer")
        payload = {"model": self.model, "temperature": self.temperature, "max_tokens": self.max_tokens,
                   "messages": [{"role": "user",
                                 "content": TEACHER_PROMPT.format(question=rec.question, answer=rec.answer)}]}
        data = self._post(payload)
        try:
            text = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise Skip("teacher reply has no message content") from None
        obj = _first_json_object(text)
        if obj is None:
            raise Skip("teacher reply is not JSON")
        rq, ra = str(obj.get("reverse_question") or "").strip(), str(obj.get("reverse_answer") or "").strip()
        if not rq or not ra:
            raise Skip("teacher reply lacks reverse_question/reverse_answer")
        from .importers import classify_answer

        return Record(
            id=f"{rec.pair_id}-r", pair_id=rec.pair_id, direction="reverse", question=rq, answer=ra,
            answer_type=classify_answer(ra), source=rec.source, reasoning=(obj.get("reasoning") or None),
            response=f"Answer: \\boxed{{{ra}}}",
            meta={"inversion": {"strategy": "teacher", "model": self.model, "from_id": rec.id}},
        )


def _first_json_object(text: str) -> dict | None:
    """Parse the first JSON object in a reply (json.loads only; never eval)."""
    text = re.sub(r"^```(?:json)?|```$", "", text.strip(), flags=re.M).strip()
    start = text.find("{")
    while start >= 0:
        try:
            obj, _ = json.JSONDecoder().raw_decode(text[start:])
            if isinstance(obj, dict):
                return obj
        except json.JSONDecodeError:
            pass
        start = text.find("{", start + 1)
    return None


def _check_unique_pairs(forward: list[Record]) -> None:
    """Two forward items with one pair_id would give two reverse items with one id: refuse."""
    seen: dict[str, str] = {}
    for r in forward:
        if r.pair_id in seen:
            raise R1KError(f"forward records {seen[r.pair_id]!r} and {r.id!r} share pair_id {r.pair_id!r}; "
                           "each forward item needs its own pair_id (fix the input, then rerun)")
        seen[r.pair_id] = r.id


STRATEGIES = {"mask": MaskStrategy, "teacher": TeacherStrategy}


def invert_records(records: list[Record], strategy: InversionStrategy, done: dict[str, Record] | None = None,
                   progress: bool = False, on_result=None) -> tuple[list[Record], dict]:
    """Invert every forward record; returns (forward + reverse records, summary counts).

    ``done`` maps pair_id -> an already-made reverse record (resume); those are not asked again.
    Forward records whose pair already has a reverse record in the input are passed through.
    """
    from tqdm import tqdm

    have_reverse = {r.pair_id for r in records if r.direction == "reverse"}
    done = dict(done or {})
    out: list[Record] = []
    summary = {"forward": 0, "inverted": 0, "resumed": 0, "already_reverse": 0, "skipped": 0, "skip_reasons": {}}
    fwd = [r for r in records if r.direction == "forward"]
    _check_unique_pairs(fwd)
    ids = {r.id for r in records}
    for rec in tqdm(fwd, desc=f"invert ({strategy.name})", unit="item", disable=not progress):
        summary["forward"] += 1
        out.append(rec)
        if rec.pair_id in have_reverse:
            summary["already_reverse"] += 1
            continue
        if rec.pair_id in done:
            out.append(done[rec.pair_id])
            summary["resumed"] += 1
            continue
        try:
            rev = strategy.invert(rec)
        except Skip as e:
            summary["skipped"] += 1
            summary["skip_reasons"][str(e)] = summary["skip_reasons"].get(str(e), 0) + 1
            continue
        if rev.id in ids:
            raise R1KError(f"the reverse item of {rec.id} would get id {rev.id!r}, which the input already uses; "
                           f"rename that record (ids must be unique; reverse ids are <pair_id>-r)")
        ids.add(rev.id)
        out.append(rev)
        summary["inverted"] += 1
        if on_result is not None:
            on_result(rev)
    out.extend(r for r in records if r.direction == "reverse")
    return out, summary
