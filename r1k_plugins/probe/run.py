"""A probe over many checkpoints: resumable, written atomically, one summary file + per-item rows.

While it runs, each finished checkpoint's per-item scores are appended (and fsync'd) to
``OUT.partial.jsonl``; a rerun with the same settings skips those checkpoints. The summary
(``OUT``, schema ``r1k_probe/1``) and the optional per-item JSONL are written only at the end,
each atomically; then the partial file is removed.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.io import check_out_path, dumps_line, read_whole_lines, write_jsonl
from r1k_plugins.core.probe_doc import PROBE_SCHEMA, ProbeDocument
from r1k_plugins.probe.checkpoints import ModelRef, adapter_base, load
from r1k_plugins.probe.measure import IRRELEVANT_SEED, build_items, irrelevant_partners, probe_model, summarize

DEFINITION = (
    "prompt = the model's chat template over the task/SFT user turn with the generation prompt; "
    "y+ = the record's own completion text, y- = the other direction's; each continuation "
    "tokenized on its own without special tokens and appended to the tokenized prompt; score = "
    "mean log-prob (nats/token) of its first max_tokens tokens; delta = y+ - y- (paired); "
    "95% Student-t intervals over items; families (settings.families): y_greedy = the same score of the "
    "model's own greedy continuation (at most greedy_tokens tokens, through the first EOS), y_irrelevant = "
    "of another item's y+ in the same prompt direction (fixed-seed derangement), argmax_share = share of "
    "y+'s scored positions where the model's top token is y+'s token"
)
_SCORE_KEYS = ("id", "pair_id", "prompt_direction", "prompt", "n_plus", "n_minus", "y_plus", "y_minus")
# per-family fields kept in the partial file (model-dependent ones; texts of y± come from the items)
_FAMILY_KEYS = (
    "greedy_text",
    "greedy_token_ids",
    "n_greedy",
    "y_greedy",
    "irrelevant_id",
    "n_irrelevant",
    "y_irrelevant",
    "argmax_share",
)


def _fingerprint(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def _read_partial(path: Path, fp: str) -> dict[str, list[dict]]:
    """model path -> its rows, from a previous interrupted run with the same settings (the reader cuts
    a line a kill left half-written off the file, so the next row starts on a line of its own: that
    checkpoint is redone)."""
    done: dict[str, list[dict]] = {}

    def take(row):
        if isinstance(row, dict) and row.get("fingerprint") == fp and isinstance(row.get("rows"), list):
            done[row["model"]] = row["rows"]

    if path.is_file():
        read_whole_lines(path, take)
    return done


def _append_partial(path: Path, fp: str, model: str, rows: list[dict]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(
            dumps_line(
                {
                    "fingerprint": fp,
                    "model": model,
                    "rows": [{k: r[k] for k in (*_SCORE_KEYS, *_FAMILY_KEYS) if k in r} for r in rows],
                }
            )
            + "\n"
        )
        fh.flush()
        os.fsync(fh.fileno())


def _family_fields(r: dict, texts: dict) -> dict:
    """The per-item family fields of a row, in a fixed order (absent families are left out)."""
    out: dict[str, Any] = {}
    if "y_greedy" in r:
        out.update(
            greedy_text=r["greedy_text"],
            greedy_token_ids=r["greedy_token_ids"],
            n_greedy=r["n_greedy"],
            y_greedy=r["y_greedy"],
        )
    if "y_irrelevant" in r:
        j = r["irrelevant_id"]
        out.update(
            irrelevant_id=j,
            irrelevant_text=None if j is None else texts[j][0],
            n_irrelevant=r["n_irrelevant"],
            y_irrelevant=r["y_irrelevant"],
        )
    if "argmax_share" in r:
        out["argmax_share"] = r["argmax_share"]
    return out


def run_probe(
    refs: Sequence[ModelRef],
    records,
    *,
    data_label: str,
    data_sha256: str | None,
    out: str,
    per_item: str | None = None,
    max_tokens: int = 1000,
    trace_format: str = "s1",
    direction_tags: bool = False,
    batch_size: int = 8,
    limit: int | None = None,
    dtype: str = "auto",
    device: str = "cpu",
    trust_remote_code: bool = False,
    progress: bool = True,
    families: Sequence[str] = (),
    greedy_tokens: int = 256,
) -> dict:
    if max_tokens <= 0:
        raise R1KError(f"--max-tokens {max_tokens}: give a positive number of continuation tokens to score")
    if batch_size <= 0:
        raise R1KError(f"--batch-size {batch_size}: give a positive number of sequences per batch")
    out_p = check_out_path(out)
    per_p = check_out_path(per_item) if per_item else None
    if per_p is not None and per_p.resolve() == out_p.resolve():
        raise R1KError(f"--per-item {per_item}: same file as --out; give two different files")
    items, counts = build_items(records, trace_format=trace_format, direction_tags=direction_tags, limit=limit)
    if not items:
        raise R1KError(
            f"{data_label}: no complete forward/reverse pair with reasoning in both directions "
            f"({counts['pairs']} pairs: {counts['pairs_incomplete']} incomplete, "
            f"{counts['pairs_without_reasoning']} without reasoning); the probe needs such pairs"
        )
    settings = {
        "data": data_label,
        "data_sha256": data_sha256,
        "max_tokens": max_tokens,
        "trace_format": trace_format,
        "direction_tags": direction_tags,
        "limit": limit,
        "dtype": dtype,
        "items": [it.id for it in items],
        "families": list(families),
    }
    if "greedy" in families:
        if greedy_tokens <= 0:
            raise R1KError(f"--greedy-tokens {greedy_tokens}: give a positive number of tokens to generate")
        settings["greedy_tokens"] = greedy_tokens
    if "irrelevant" in families:
        settings["irrelevant_seed"] = IRRELEVANT_SEED
    partners = irrelevant_partners(items) if "irrelevant" in families else None
    for ref in refs:  # every adapter's base is found before anything runs
        if ref.kind == "adapter":
            adapter_base(Path(ref.path))
    fp = _fingerprint(settings)
    partial = out_p.with_name(out_p.name + ".partial.jsonl")
    done = _read_partial(partial, fp)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        todo = len({r.path for r in refs} - set(done))
        per_model = (
            2 * len(items)
            + ("greedy" in families) * 2 * len(items)
            + (sum(p is not None for p in partners) if partners is not None else 0)
        )
        bar = tqdm(total=per_model * todo, unit="seq", desc="probe", dynamic_ncols=True)
    results: list[tuple[ModelRef, list[dict], float | None]] = []
    try:
        for ref in refs:
            if ref.path in done:  # finished by an interrupted run, or the same folder met twice here
                results.append((ref, done[ref.path], None))
                continue
            if bar is not None:
                bar.set_description(f"probe {Path(ref.run or ref.path).name}/{ref.label}")
            t0 = time.time()
            model, tok = load(ref, dtype=dtype, device=device, trust_remote_code=trust_remote_code)
            rows = probe_model(
                model,
                tok,
                items,
                max_tokens=max_tokens,
                batch_size=batch_size,
                progress=bar,
                families=families,
                greedy_tokens=greedy_tokens,
                partners=partners,
            )
            del model
            gc.collect()
            _append_partial(partial, fp, ref.path, rows)
            done[ref.path] = rows
            results.append((ref, rows, time.time() - t0))
    finally:
        if bar is not None:
            bar.close()

    texts = {it.id: (it.y_plus_text, it.y_minus_text) for it in items}
    checkpoints = []
    for ref, rows, secs in results:
        entry = ref.to_dict()
        entry.update(
            n_items=len(rows),
            tokens_scored=sum(r["n_plus"] + r["n_minus"] for r in rows),
            seconds=None if secs is None else round(secs, 3),
            summary=summarize(rows),
        )
        checkpoints.append(entry)
    doc = ProbeDocument.model_validate(
        {
            "schema": PROBE_SCHEMA,
            "definition": DEFINITION,
            "settings": {k: v for k, v in settings.items() if k != "items"}
            | {"batch_size": batch_size, "device": device},
            "counts": counts,
            "checkpoints": checkpoints,
            "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )
    if per_p is not None:

        def per_rows():
            for ref, rows, _ in results:
                for r in rows:
                    plus, minus = texts[r["id"]]
                    yield {
                        "id": r["id"],
                        "pair_id": r["pair_id"],
                        "prompt_direction": r["prompt_direction"],
                        "checkpoint": ref.label,
                        "model": ref.path,
                        "arm": ref.arm,
                        "step": ref.step,
                        "epoch": ref.epoch,
                        "prompt": r["prompt"],
                        "y_plus_text": plus,
                        "y_minus_text": minus,
                        "n_plus": r["n_plus"],
                        "n_minus": r["n_minus"],
                        "y_plus": r["y_plus"],
                        "y_minus": r["y_minus"],
                    } | _family_fields(r, texts)

        write_jsonl(per_p, per_rows())
    doc.write(out_p)
    partial.unlink(missing_ok=True)
    return doc.to_dict()
