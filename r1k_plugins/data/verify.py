"""Checks on an r1k file beyond the schema: pairs, inversions, answers."""

from __future__ import annotations

from collections import Counter

from .schema import Record, pair_index


def verify_records(records: list[Record]) -> tuple[list[str], list[str]]:
    """Return (problems, facts). Problems are real inconsistencies; facts are counts worth seeing."""
    problems: list[str] = []
    pairs = pair_index(records)
    dup_dir = Counter((r.pair_id, r.direction) for r in records)
    for (pid, d), n in sorted(dup_dir.items()):
        if n > 1:
            problems.append(f"pair {pid} has {n} {d} records")
    complete = sum(1 for d in pairs.values() if len(d) == 2)
    facts = [f"{len(pairs)} pairs, {complete} with both directions",
             f"{sum(1 for r in records if r.reasoning)} records with a reasoning trace"]
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
