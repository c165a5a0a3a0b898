"""Checks on an r1k file beyond the schema: pairs, inversions, answers (``verify_records``), and
the quality of reverse items (``verify_quality``): text flags, and solving by a model.

Flags (always): a reverse question that states its own answer, one that does not give the forward
answer, a trace whose final answer is not the gold. With a solver (a backend SPEC, see
``r1k_plugins.data.teacher.backends``), each reverse question is asked as the harness tasks ask it
and the reply is scored against its gold with the shared scorer (``r1k_plugins.core.scoring``).
"""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction

from r1k_plugins.core.record import Record, pair_index


def verify_records(records: list[Record]) -> tuple[list[str], list[str]]:
    """Return (problems, facts). Problems are real inconsistencies; facts are counts worth seeing."""
    problems: list[str] = []
    pairs = pair_index(records)
    dup_dir = Counter((r.pair_id, r.direction) for r in records)
    for (pid, d), n in sorted(dup_dir.items()):
        if n > 1:
            problems.append(f"pair {pid} has {n} {d} records")
    complete = sum(1 for d in pairs.values() if len(d) == 2)
    facts = [
        f"{len(pairs)} pairs, {complete} with both directions",
        f"{sum(1 for r in records if r.reasoning)} records with a reasoning trace",
    ]
    for r in records:
        if not r.answer.strip():
            problems.append(f"{r.id}: empty answer")
        inv = r.meta.get("inversion") if isinstance(r.meta, dict) else None
        if r.direction == "reverse" and isinstance(inv, dict):
            if inv.get("strategy") == "mask":
                fwd = pairs.get(r.pair_id, {}).get("forward")
                if str(inv.get("hidden_value")) != r.answer:
                    problems.append(f"{r.id}: answer {r.answer!r} != hidden value {inv.get('hidden_value')!r}")
                if fwd is not None:
                    s, e = inv.get("span") or (0, 0)
                    if fwd.question[s:e] != r.answer:
                        problems.append(f"{r.id}: the masked span of {fwd.id} is not the hidden value")
                    if str(inv.get("given_answer")) != fwd.answer.strip().strip("$").strip():
                        problems.append(f"{r.id}: given answer differs from {fwd.id}'s answer")
            if inv.get("strategy") == "synth" and str(inv.get("hidden_value")) != r.answer:
                problems.append(f"{r.id}: answer {r.answer!r} != hidden value {inv.get('hidden_value')!r}")
    return problems, facts


# ------------------------------------------------------------------ quality flags and solving
_NUM = re.compile(r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
FLAG_HELP = {
    "states_own_answer": "the reverse question states its own gold answer",
    "forward_answer_missing": "the reverse question does not give the forward answer",
    "trace_answer_mismatch": "the reverse trace's final answer is not the gold answer",
    "solver_wrong": "the solver's answer is not the gold answer",
    "solver_failed": "the solver gave no usable reply (see meta.verify.solver.reason)",
}


def _as_number(s: str) -> Fraction | None:
    s = s.strip().strip("$").strip().replace(",", "")
    try:
        return Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None


def mentions(text: str, value: str) -> bool:
    """Whether ``text`` states ``value``: as a standalone number (numbers), else as a compact substring."""
    value = (value or "").strip().strip("$").strip()
    if not value:
        return False
    num = _as_number(value)
    if num is not None:
        return any(_as_number(m.group(0)) == num for m in _NUM.finditer(text))
    compact = re.sub(r"[\s$]", "", value).lower()
    if len(compact) < 2:
        return False
    return compact in re.sub(r"[\s$]", "", text).lower()


def quality_flags(rev: Record, fwd: Record | None) -> list[str]:
    """Text checks of one reverse record (no model needed)."""
    from r1k_plugins.core.scoring import extract_answer, is_equivalent

    flags = []
    if rev.answer_type != "choice" and mentions(rev.question, rev.answer):
        flags.append("states_own_answer")
    inv = rev.meta.get("inversion")
    if not isinstance(inv, dict):
        inv = {}
    given = fwd.answer if fwd is not None else inv.get("given_answer")
    if given is not None and str(given).strip() and not mentions(rev.question, str(given)):
        flags.append("forward_answer_missing")
    if rev.reasoning and rev.reasoning.strip():
        pred = extract_answer(rev.reasoning, rev.answer_type)
        if not is_equivalent(pred, rev.answer, rev.answer_type):
            flags.append("trace_answer_mismatch")
    return flags


def _rate(n: int, k: int) -> dict:
    return {"n": n, "passed": k, "pass_rate": round(k / n, 4) if n else 0.0}


def verify_quality(records: list[Record], solver=None, progress: bool = True) -> dict:
    """Flag every reverse record (``meta.verify``) and, with ``solver`` (a dict of backend settings),
    solve each reverse question and score it against its gold with the shared scorer.

    Returns the report: counts, flags, pass rates by source and ``cot_type``, solver statistics.
    A record passes when it has no flag (a wrong or missing solver answer is a flag).
    """
    pairs = pair_index(records)
    rev = [r for r in records if r.direction == "reverse"]
    flags = {r.id: quality_flags(r, pairs.get(r.pair_id, {}).get("forward")) for r in rev}
    solved: dict[str, dict] = {}
    solver_report = None
    if solver is not None:
        solver_report = _solve(rev, solver, solved, progress)
        for r in rev:
            s = solved[r.id]
            if not s["correct"]:
                flags[r.id].append("solver_failed" if s["reason"] == "request failed" else "solver_wrong")
    counts: Counter = Counter()
    by_source: dict[str, list[int]] = {}
    by_cot: dict[str, list[int]] = {}
    for r in rev:
        fl = flags[r.id]
        counts.update(fl)
        meta = {"flags": fl, "passed": not fl}
        if r.id in solved:
            meta["solver"] = solved[r.id]
        r.meta["verify"] = meta
        fwd = pairs.get(r.pair_id, {}).get("forward")
        cot = r.meta.get("cot_type") or (fwd.meta.get("cot_type") if fwd is not None else None) or "unknown"
        for table, key in ((by_source, r.source), (by_cot, str(cot))):
            table.setdefault(key, [0, 0])
            table[key][0] += 1
            table[key][1] += not fl
    passed = sum(1 for r in rev if not flags[r.id])
    return {
        "reverse": len(rev),
        "passed": passed,
        "pass_rate": round(passed / len(rev), 4) if rev else 0.0,
        "flags": dict(sorted(counts.items())),
        "flag_meanings": FLAG_HELP,
        "by_source": {k: _rate(*v) for k, v in sorted(by_source.items())},
        "by_cot_type": {k: _rate(*v) for k, v in sorted(by_cot.items())},
        "solver": solver_report,
    }


SOLVE_PROMPT_VERSION = "solve-v1 (r1k_plugins.core.render.user_prompt)"


def _solve(rev: list[Record], cfg: dict, solved: dict, progress: bool) -> dict:
    from r1k_plugins.core.render import chat_messages
    from r1k_plugins.core.scoring import score_response
    from r1k_plugins.data.teacher.backends import GenParams, make_backend, parse_spec
    from r1k_plugins.data.teacher.engine import Job, ResponseCache, RunStats, cache_key, run_jobs

    spec = parse_spec(cfg["spec"], "--solver")
    gen = GenParams(temperature=cfg.get("temperature", 0.0), max_tokens=cfg.get("max_tokens", 8192))
    backend = make_backend(
        spec,
        gen,
        api_key_env=cfg.get("api_key_env", "OPENAI_API_KEY"),
        timeout=cfg.get("timeout", 600.0),
        max_connections=cfg.get("max_connections", 32),
        option="--solver",
    )
    jobs = []
    for r in rev:
        msgs = chat_messages(r.question, answer_type=r.answer_type)
        jobs.append(
            Job(
                r.id,
                msgs,
                cache_key(prompt_version=SOLVE_PROMPT_VERSION, teacher=spec.label, params=gen.to_dict(), messages=msgs),
                r,
            )
        )
    texts: dict[str, str] = {}
    reasons: dict[str, str] = {}
    stats = RunStats()
    cache = ResponseCache(cfg.get("cache_dir"), spec.label)
    try:
        run_jobs(
            backend,
            jobs,
            lambda job, comp: comp.text,
            on_success=lambda job, text, cached: texts.__setitem__(job.id, str(text)),  # comp.text: a str
            on_failure=lambda job, reason: reasons.__setitem__(job.id, reason),
            cache=cache,
            stats=stats,
            max_connections=cfg.get("max_connections", 32),
            max_retries=cfg.get("max_retries", 5),
            progress=progress,
            desc=f"solve ({spec.kind}:{spec.model})",
        )
    finally:
        cache.close()
    for r in rev:
        if r.id in texts:
            s = score_response(texts[r.id], r.answer, r.answer_type)
            solved[r.id] = {"correct": s["correct"], "extracted": s["extracted"], "reason": s["reason"]}
        else:
            solved[r.id] = {
                "correct": False,
                "extracted": None,
                "reason": "request failed",
                "error": reasons.get(r.id, "unknown"),
            }
    return {
        "spec": spec.label,
        "answered": len(texts),
        "failed": len(reasons),
        "correct": sum(1 for s in solved.values() if s["correct"]),
        "stats": stats.to_dict(),
    }
