"""Invert forward items into reverse items: ``r1k data invert FILE --strategy mask|teacher``.

A strategy turns one forward :class:`Record` into its reverse :class:`Record`, or raises
:class:`Skip` with a reason (counted in the summary). Register new ones in ``STRATEGIES``.

``mask`` (deterministic, FOBAR-style): pick one numeric quantity stated in the forward question,
replace it with an unknown (X, or a letter the question does not use), state the forward answer as
given, and ask for the unknown. The reverse gold answer is the hidden number (``meta.inversion``).

``teacher``: an LLM teacher (an OpenAI-compatible server, vLLM's offline engine or a local
transformers model; see ``r1k_plugins.data.teacher``) writes the reverse question, its short
answer and a step-by-step reverse trace, following the paper's recipe; :func:`invert_teacher` runs
it over a whole file with bounded concurrency, retries, a response cache and resume.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.io import dumps_line
from r1k_plugins.core.record import FIELDS, Record


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
        masked = rec.question[: m.start()] + var + rec.question[m.end() :]
        q = (
            f"{masked.rstrip()}\n\nIf we know the answer to the above question is {gold}, "
            f"what is the value of the unknown variable {var}?"
        )
        return Record(
            id=f"{rec.pair_id}-r",
            pair_id=rec.pair_id,
            direction="reverse",
            question=q,
            answer=hidden,
            answer_type="numeric",
            source=rec.source,
            reasoning=None,
            response=None,
            meta={
                "inversion": {
                    "strategy": "mask",
                    "hidden_value": hidden,
                    "variable": var,
                    "span": [m.start(), m.end()],
                    "given_answer": gold,
                    "from_id": rec.id,
                    "seed": self.seed,
                }
            },
        )


# ------------------------------------------------------------------ teacher
# The teacher is a batch job (concurrent requests, retries, cache, resume): see invert_teacher and
# r1k_plugins.data.teacher (backends, engine, versioned prompt templates).
TEACHER_KEYS = ("reverse_question", "reverse_answer", "reasoning")


def parse_teacher_reply(text: str) -> dict:
    """The teacher's JSON object, read from its final answer only (json.loads; never eval).

    With a reasoning teacher the text after ``</think>`` / ``<|im_start|>answer`` is the final
    answer; a JSON draft inside the thinking is never used, and an unclosed thinking section fails.
    Returns ``{"reverse_question", "reverse_answer", "reasoning"}`` (strings) or raises BadReply(reason).
    """
    from r1k_plugins.core.scoring import split_reasoning
    from r1k_plugins.data.teacher.engine import BadReply

    _, final, finished = split_reasoning(text or "")
    if not finished:
        raise BadReply("unfinished thinking (no final answer)")
    obj = _first_json_object(final, want="reverse_question")
    if obj is None:
        raise BadReply("teacher reply is not JSON")
    out = {}
    for k in TEACHER_KEYS:
        v = obj.get(k)
        if isinstance(v, list) and k == "reasoning" and all(isinstance(x, str) for x in v):
            v = "\n".join(v)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and k == "reverse_answer":
            v = str(v)
        if not isinstance(v, str) or not v.strip():
            raise BadReply(f"teacher reply lacks {k}")
        out[k] = v.strip()
    return out


def _first_json_object(text: str, want: str | None = None) -> dict | None:
    """The first JSON object in a reply (having key ``want`` if given); json.loads only, never eval."""
    text = re.sub(r"^```(?:json)?|```$", "", text.strip(), flags=re.M).strip()
    dec = json.JSONDecoder()
    start = text.find("{")
    while start >= 0:
        try:
            obj, _ = dec.raw_decode(text[start:])
            if isinstance(obj, dict) and (want is None or want in obj):
                return obj
        except json.JSONDecodeError:
            pass
        start = text.find("{", start + 1)
    return None


@dataclass
class TeacherStrategy:
    """How to run the teacher: backend spec, generation parameters, prompt version, limits."""

    spec: str
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.0
    max_tokens: int = 8192
    prompt_version: str = "invert-v1"
    max_connections: int = 32
    max_retries: int = 5
    timeout: float = 600.0
    cache_dir: str | None = None
    name: str = "teacher"

    def config(self) -> dict:
        return {
            "teacher": self.spec,
            "prompt_version": self.prompt_version,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "max_connections": self.max_connections,
            "max_retries": self.max_retries,
            "timeout": self.timeout,
            "api_key_env": self.api_key_env,
            "cache_dir": self.cache_dir,
        }


def load_partial(path: Path) -> dict[str, Record]:
    """pair_id -> reverse record from an append-only partial file; a line cut short by a kill is dropped."""
    from r1k_plugins.core.io import read_whole_lines

    done: dict[str, Record] = {}
    if not path.exists():
        return done

    def take(obj):
        rec = Record.from_dict(obj, str(path))
        if rec.direction == "reverse":
            done.setdefault(rec.pair_id, rec)

    read_whole_lines(path, take)  # also cuts a line a kill left half-written off the file
    return done


def invert_teacher(
    records: list[Record], strat: TeacherStrategy, partial: Path, progress: bool = True, stats=None
) -> tuple[list[Record], dict]:
    """Invert every forward record with the teacher; returns (forward + reverse records, summary).

    Every forward record ends as inverted (new, from the response cache, or resumed from
    ``partial``), skipped (why) or failed (why). Reverse records are appended to ``partial`` as
    they arrive (one line each, flushed), so a killed run resumes with nothing lost or repeated.
    """
    from r1k_plugins.data.importers import classify_answer
    from r1k_plugins.data.teacher.backends import GenParams, make_backend, parse_spec
    from r1k_plugins.data.teacher.engine import Job, ResponseCache, RunStats, head_digest, item_key, run_jobs
    from r1k_plugins.data.teacher.prompts import get_prompt

    spec = parse_spec(strat.spec)
    prompt = get_prompt(strat.prompt_version)
    gen = GenParams(temperature=strat.temperature, max_tokens=strat.max_tokens)
    stats = stats if stats is not None else RunStats()
    have_reverse = {r.pair_id for r in records if r.direction == "reverse"}
    fwd = [r for r in records if r.direction == "forward"]
    done = load_partial(partial)
    context = prompt.context()
    head = head_digest(prompt_version=prompt.version, teacher=spec.label, params=gen.to_dict(), context=context)
    outcome: dict[str, tuple[str, str]] = {}  # forward id -> (status, reason)
    made: dict[str, Record] = {}  # pair_id -> reverse record
    seen: set[str] = set()
    jobs = []
    for rec in fwd:
        if rec.pair_id in seen:
            outcome[rec.id] = ("skipped", "duplicate pair_id among forward items")
            continue
        seen.add(rec.pair_id)
        if rec.pair_id in have_reverse:
            outcome[rec.id] = ("skipped", "already has a reverse item in the input")
        elif not rec.answer.strip():
            outcome[rec.id] = ("skipped", "no forward answer")
        elif rec.pair_id in done:
            made[rec.pair_id] = done[rec.pair_id]
            outcome[rec.id] = ("resumed", "")
        else:
            own = prompt.item(rec.question, rec.answer)
            jobs.append(Job(rec.id, context + own, item_key(head, own), rec))  # = cache_key(...) of the messages

    def accept(job, comp):
        obj = parse_teacher_reply(comp.text)
        rec = job.payload
        ra = obj["reverse_answer"]
        meta = {
            "inversion": {
                "strategy": "teacher",
                "teacher": spec.label,
                "model": spec.model,
                "prompt_version": prompt.version,
                "from_id": rec.id,
                "given_answer": rec.answer,
            }
        }
        for k in ("cot_type", "source_type"):
            if k in rec.meta:
                meta[k] = rec.meta[k]
        return Record(
            id=f"{rec.pair_id}-r",
            pair_id=rec.pair_id,
            direction="reverse",
            question=obj["reverse_question"],
            answer=ra,
            answer_type=classify_answer(ra),
            source=rec.source,
            reasoning=obj["reasoning"],
            response=f"Answer: \\boxed{{{ra}}}",
            meta=meta,
        )

    cache = ResponseCache(strat.cache_dir, spec.label)
    partial.parent.mkdir(parents=True, exist_ok=True)
    sink = open(partial, "a", encoding="utf-8")

    def on_success(job, rev, cached):
        sink.write(dumps_line({f: getattr(rev, f) for f in FIELDS}) + "\n")
        sink.flush()
        made[rev.pair_id] = rev
        outcome[job.id] = ("from_cache" if cached else "new", "")

    def on_failure(job, reason):
        outcome[job.id] = ("failed", reason)

    try:
        if jobs:
            backend = make_backend(
                spec, gen, api_key_env=strat.api_key_env, timeout=strat.timeout, max_connections=strat.max_connections
            )
            run_jobs(
                backend,
                jobs,
                accept,
                on_success=on_success,
                on_failure=on_failure,
                cache=cache,
                stats=stats,
                max_connections=strat.max_connections,
                max_retries=strat.max_retries,
                progress=progress,
                desc=f"invert ({spec.kind}:{spec.model})",
            )
    finally:
        sink.close()
        cache.close()

    out: list[Record] = []
    summary: dict[str, Any] = {
        "forward": len(fwd),
        "inverted": 0,
        "new": 0,
        "from_cache": 0,
        "resumed": 0,
        "skipped": 0,
        "skip_reasons": {},
        "failed": 0,
        "fail_reasons": {},
        "skipped_items": [],
        "failed_items": [],
        "reverse_in_input": len(records) - len(fwd),
    }
    for rec in fwd:
        out.append(rec)
        status, reason = outcome[rec.id]
        if status in ("new", "from_cache", "resumed"):
            out.append(made.pop(rec.pair_id))
            summary["inverted"] += 1
            summary[status] += 1
        else:
            key = "skip" if status == "skipped" else "fail"
            summary[status] += 1
            summary[f"{key}_reasons"][reason] = summary[f"{key}_reasons"].get(reason, 0) + 1
            summary[f"{status}_items"].append({"id": rec.id, "pair_id": rec.pair_id, "reason": reason})
    out.extend(r for r in records if r.direction == "reverse")
    return out, summary


def _check_unique_pairs(forward: list[Record]) -> None:
    """Two forward items with one pair_id would give two reverse items with one id: refuse."""
    seen: dict[str, str] = {}
    for r in forward:
        if r.pair_id in seen:
            raise R1KError(
                f"forward records {seen[r.pair_id]!r} and {r.id!r} share pair_id {r.pair_id!r}; "
                "each forward item needs its own pair_id (fix the input, then rerun)"
            )
        seen[r.pair_id] = r.id


STRATEGIES = {"mask": MaskStrategy}


def invert_records(
    records: list[Record],
    strategy: InversionStrategy,
    done: dict[str, Record] | None = None,
    progress: bool = False,
    on_result=None,
) -> tuple[list[Record], dict]:
    """Invert every forward record; returns (forward + reverse records, summary counts).

    ``done`` maps pair_id -> an already-made reverse record (resume); those are not asked again.
    Forward records whose pair already has a reverse record in the input are passed through.
    """
    from tqdm import tqdm

    have_reverse = {r.pair_id for r in records if r.direction == "reverse"}
    done = dict(done or {})
    out: list[Record] = []
    summary: dict[str, Any] = {
        "forward": 0,
        "inverted": 0,
        "resumed": 0,
        "already_reverse": 0,
        "skipped": 0,
        "skip_reasons": {},
    }
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
            raise R1KError(
                f"the reverse item of {rec.id} would get id {rev.id!r}, which the input already uses; "
                f"rename that record (ids must be unique; reverse ids are <pair_id>-r)"
            )
        ids.add(rev.id)
        out.append(rev)
        summary["inverted"] += 1
        if on_result is not None:
            on_result(rev)
    out.extend(r for r in records if r.direction == "reverse")
    return out, summary
