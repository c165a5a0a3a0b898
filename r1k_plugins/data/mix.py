"""SFT mixes (TRL conversational prompt/completion rows) and DPO pairs, built from r1k records."""

from __future__ import annotations

import random
from collections.abc import Iterable

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.record import Record, pair_index
from r1k_plugins.core.render import completion_text, prompt_messages
from r1k_plugins.core.vocab import MODES, TRACE_FORMATS


def _check_trace_format(trace_format: str) -> None:
    if trace_format not in TRACE_FORMATS:
        raise R1KError(f"unknown trace format {trace_format!r}; use one of {', '.join(TRACE_FORMATS)}")


def select_for_mode(records: Iterable[Record], mode: str, ratio: float | None = None, seed: int = 0) -> list[Record]:
    """Records for an SFT arm.

    forward / reverse: the records of that direction. mixed without ``ratio``: both directions.
    mixed with ``ratio`` R: one item per pair (same data budget as one direction); a share R of the
    pairs, chosen with ``seed``, give their reverse item, the others their forward item.
    """
    if mode not in MODES:
        raise R1KError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    records = list(records)
    if ratio is not None:
        if mode != "mixed":
            raise R1KError("--ratio only applies to --mode mixed")
        if not 0.0 <= ratio <= 1.0:
            raise R1KError(f"--ratio {ratio} is out of range; give the reverse share, between 0 and 1")
    if mode in ("forward", "reverse"):
        return [r for r in records if r.direction == mode]
    if ratio is None:
        return records
    pairs = pair_index(records)
    complete = sorted(pid for pid, d in pairs.items() if len(d) == 2)
    rng = random.Random(seed)
    rng.shuffle(complete)
    n_rev = round(ratio * len(complete))
    take = {pid: ("reverse" if i < n_rev else "forward") for i, pid in enumerate(complete)}
    return [r for r in records if take.get(r.pair_id) == r.direction]


def build_sft_rows(
    records: Iterable[Record],
    mode: str = "mixed",
    ratio: float | None = None,
    direction_tags: bool = False,
    trace_format: str = "s1",
    seed: int = 0,
    stats: dict | None = None,
) -> list[dict]:
    """SFT rows in TRL's conversational prompt/completion format (plus id/pair_id/direction).

    Records without a reasoning trace are skipped (counted in ``stats['skipped_no_reasoning']``).
    """
    _check_trace_format(trace_format)
    chosen = select_for_mode(records, mode, ratio, seed)
    rows, skipped = [], 0
    for r in chosen:
        if not r.reasoning:
            skipped += 1
            continue
        rows.append(
            {
                "id": r.id,
                "pair_id": r.pair_id,
                "direction": r.direction,
                "prompt": prompt_messages(r, direction_tags),
                "completion": [{"role": "assistant", "content": completion_text(r, trace_format)}],
            }
        )
    if stats is not None:
        stats.update(selected=len(chosen), written=len(rows), skipped_no_reasoning=skipped)
    return rows


def build_dpo_rows(
    records: Iterable[Record], trace_format: str = "s1", direction_tags: bool = False, stats: dict | None = None
) -> list[dict]:
    """DPO rows (prompt/chosen/rejected, conversational) built as the paper did.

    For every pair with both traces: under the forward question, chosen = forward trace and
    rejected = reverse trace; under the reverse question, chosen = reverse trace and rejected =
    forward trace. Row order follows the input's pair order (forward row first): deterministic.
    """
    _check_trace_format(trace_format)
    rows, incomplete = [], 0
    for pid, d in pair_index(records).items():
        f, r = d.get("forward"), d.get("reverse")
        if f is None or r is None or not f.reasoning or not r.reasoning:
            incomplete += 1
            continue
        ft, rt = completion_text(f, trace_format), completion_text(r, trace_format)
        for rec, chosen, rejected in ((f, ft, rt), (r, rt, ft)):
            rows.append(
                {
                    "id": rec.id,
                    "pair_id": pid,
                    "direction": rec.direction,
                    "prompt": prompt_messages(rec, direction_tags),
                    "chosen": [{"role": "assistant", "content": chosen}],
                    "rejected": [{"role": "assistant", "content": rejected}],
                }
            )
    if stats is not None:
        stats.update(pairs=len(rows) // 2, written=len(rows), skipped_incomplete_pairs=incomplete)
    return rows
