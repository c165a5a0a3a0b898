"""Training data for r1k-train: r1k record files (rows built on the fly) or prebuilt TRL JSONL.

Detected by the keys of the first row:

* r1k records (``id, pair_id, direction, question, answer, ...``): SFT rows via ``build_sft_rows``
  (mode / ratio / trace_format / direction_tags), DPO rows via ``build_dpo_rows``.
* prebuilt SFT rows: ``prompt`` + ``completion`` (TRL prompt-completion) or ``messages``
  (conversational language modeling) or ``text``.
* prebuilt DPO rows: ``prompt`` + ``chosen`` + ``rejected``.

Prebuilt rows that carry a ``direction`` field (as ``r1k data mix`` / ``pairs`` write them) are
filtered by ``--mode forward|reverse``; ``mixed`` keeps every row.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.io import iter_jsonl, sha256_file
from r1k_plugins.core.record import looks_like_record
from r1k_plugins.core.schemas import check_row


@dataclass
class TrainData:
    rows: list[dict]
    kind: str  # records | sft-prompt-completion | sft-messages | sft-text | dpo
    path: str
    sha256: str
    data_mode: str | None
    counts: dict = field(default_factory=dict)

    @property
    def conversational(self) -> bool:
        row = self.rows[0]
        for key in ("prompt", "messages", "chosen", "completion"):
            v = row.get(key)
            if isinstance(v, list):
                return bool(v) and isinstance(v[0], dict) and "role" in v[0]
        return False


def detect_kind(keys: set[str]) -> str | None:
    if looks_like_record(keys):
        return "records"
    if {"chosen", "rejected"} <= keys:
        return "dpo"
    if {"prompt", "completion"} <= keys:
        return "sft-prompt-completion"
    if "messages" in keys:
        return "sft-messages"
    if "text" in keys:
        return "sft-text"
    return None


def _first_row(p: Path) -> tuple[int, dict]:
    for lineno, obj in iter_jsonl(p):
        return lineno, obj
    raise R1KError(f"{p}: no rows in file (expected r1k records or SFT/DPO JSONL, one JSON object per line)")


def _mode_from_directions(dirs: Counter) -> str | None:
    have = {d for d in ("forward", "reverse") if dirs.get(d)}
    if have == {"forward", "reverse"}:
        return "mixed"
    return next(iter(have)) if have else None


def load_data(path: str, stage: str, opts: dict) -> TrainData:
    """Rows for ``stage`` from ``path``; ``opts`` holds mode, ratio, trace_format, direction_tags, seed."""
    p = Path(path).expanduser()
    if not p.exists():
        raise R1KError(f"--data {path}: file not found (check the path)")
    if p.is_dir():
        raise R1KError(f"--data {path}: is a folder, expected a .jsonl file")
    for key in ("mode", "trace_format"):
        if opts.get(key) is not None and not isinstance(opts[key], str):
            raise R1KError(f"data.{key} {opts[key]!r}: expected a string")
    lineno, first = _first_row(p)
    kind = detect_kind(set(first))
    if kind is None:
        raise R1KError(
            f"{p}:{lineno}: unrecognized row (keys: {', '.join(sorted(first)) or 'none'}); expected r1k records "
            "(id, pair_id, direction, question, answer, ...), SFT rows (prompt+completion, or messages) "
            "or DPO rows (prompt+chosen+rejected)"
        )
    mode = opts.get("mode") or "mixed"
    if mode not in ("forward", "reverse", "mixed"):
        raise R1KError(f"mode {mode!r} is not one of forward, reverse, mixed")
    if stage == "sft" and kind == "dpo":
        raise R1KError(
            f"{p}: is a DPO preference file (prompt/chosen/rejected); train on it with `r1k-train dpo`, "
            "or give r1k records / SFT rows to sft"
        )
    if stage == "dpo" and kind.startswith("sft"):
        raise R1KError(
            f"{p}: is an SFT file ({kind[4:]} rows); DPO needs r1k records (pairs are built on the fly) "
            "or prompt/chosen/rejected rows"
        )
    digest = sha256_file(p)
    if kind == "records":
        return _from_records(p, stage, opts, mode, digest)
    return _from_prebuilt(p, stage, kind, mode, digest)


def _from_records(p: Path, stage: str, opts: dict, mode: str, digest: str) -> TrainData:
    from r1k_plugins.core.record import read_records
    from r1k_plugins.data.mix import build_dpo_rows, build_sft_rows

    records = read_records(p)
    in_file = Counter(r.direction for r in records)
    file_counts = {"forward": in_file.get("forward", 0), "reverse": in_file.get("reverse", 0)}
    trace_format = opts.get("trace_format") or "s1"
    tags = bool(opts.get("direction_tags"))
    stats: dict = {}
    if stage == "sft":
        rows = build_sft_rows(
            records,
            mode=mode,
            ratio=opts.get("ratio"),
            direction_tags=tags,
            trace_format=trace_format,
            seed=int(opts.get("seed") or 0),
            stats=stats,
        )
        if not rows:
            why = (
                f"{stats.get('selected', 0)} {mode} record(s), none with a reasoning trace"
                if stats.get("selected")
                else f"the file has {file_counts['forward']} forward and {file_counts['reverse']} reverse records"
            )
            raise R1KError(f"{p}: no records for --mode {mode} ({why}); pick another --mode or another file")
    else:
        if opts.get("ratio") is not None:
            raise R1KError("data.ratio applies to SFT mixes only; DPO uses every complete pair")
        rows = build_dpo_rows(records, trace_format=trace_format, direction_tags=tags, stats=stats)
        if mode != "mixed":
            rows = [r for r in rows if r["direction"] == mode]
        if not rows:
            raise R1KError(
                f"{p}: no DPO pairs for mode {mode} ({stats.get('pairs', 0)} complete pair(s) among "
                f"{file_counts['forward']} forward / {file_counts['reverse']} reverse records); DPO needs both "
                "directions of a pair, each with a reasoning trace"
            )
    by_dir = Counter(r["direction"] for r in rows)
    counts = {
        "rows": len(rows),
        "forward": by_dir.get("forward", 0),
        "reverse": by_dir.get("reverse", 0),
        "file_records": file_counts,
        **{k: v for k, v in stats.items() if k != "written"},
    }
    return TrainData(rows=rows, kind="records", path=str(p.resolve()), sha256=digest, data_mode=mode, counts=counts)


def _from_prebuilt(p: Path, stage: str, kind: str, mode: str, digest: str) -> TrainData:
    need = {
        "dpo": ("chosen", "rejected"),
        "sft-prompt-completion": ("prompt", "completion"),
        "sft-messages": ("messages",),
        "sft-text": ("text",),
    }[kind]
    rows = []
    for lineno, obj in iter_jsonl(p):
        missing = [k for k in need if k not in obj]
        if missing:
            raise R1KError(f"{p}:{lineno}: row is missing {', '.join(missing)} (the file's first row is a {kind} row)")
        check_row(kind, obj, f"{p}:{lineno}")  # the declared schema of a prebuilt row
        rows.append(obj)
    dirs = Counter(r.get("direction") for r in rows)
    has_dir = all(r.get("direction") in ("forward", "reverse") for r in rows)
    if mode != "mixed":
        if not has_dir:
            raise R1KError(
                f"{p}: rows carry no 'direction' field, so --mode {mode} cannot select them; "
                "use --mode mixed (every row) or build the file with r1k data mix"
            )
        rows = [r for r in rows if r["direction"] == mode]
        if not rows:
            raise R1KError(
                f"{p}: no records for --mode {mode} (the file has {dirs.get('forward', 0)} forward "
                f"and {dirs.get('reverse', 0)} reverse rows); pick another --mode or another file"
            )
    by_dir = Counter(r.get("direction") for r in rows)
    if stage == "dpo":
        data_mode = None
    else:
        data_mode = _mode_from_directions(by_dir) if has_dir else None
    counts = {"rows": len(rows), "forward": by_dir.get("forward", 0), "reverse": by_dir.get("reverse", 0)}
    if not has_dir:
        counts["no_direction"] = len(rows) - counts["forward"] - counts["reverse"]
    # Columns must be uniform for datasets; keep the training columns and the r1k bookkeeping ones
    keep = set(need) | {"prompt", "id", "pair_id", "direction"}
    cols = [c for c in rows[0] if c in keep] + [c for c in ("prompt",) if c not in rows[0] and kind == "dpo"]
    rows = [{c: r.get(c) for c in dict.fromkeys(cols) if c in r or c in need} for r in rows]
    return TrainData(rows=rows, kind=kind, path=str(p.resolve()), sha256=digest, data_mode=data_mode, counts=counts)


def prompt_token_ids(tokenizer, prompt) -> list[int]:
    """The prompt's tokens as the trainers see them (chat template + generation prompt for messages)."""
    if isinstance(prompt, str):
        return tokenizer(prompt, add_special_tokens=False)["input_ids"]
    out = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, tokenize=True, return_dict=True)
    return list(out["input_ids"])


def truncate_prompts(rows: list[dict], tokenizer, max_prompt_length: int) -> int:
    """Cut every prompt longer than ``max_prompt_length`` tokens, in place; returns how many were cut.

    The r1k data step of the paper's ``max_prompt_length`` (TRL 1.x has no such option): the text of
    the prompt's last message (the question) keeps its start and loses its end, as the paper's DPO
    code cut its prompts (``str[:600]``, there in characters). Completions are never touched here:
    ``max_length`` truncation (TRL's ``keep_start``) keeps the prompt whole and cuts the completion.
    """
    cut = 0
    for row in rows:
        prompt = row.get("prompt")
        if prompt is None:
            continue
        over = len(prompt_token_ids(tokenizer, prompt)) - max_prompt_length
        if over <= 0:
            continue
        text = prompt if isinstance(prompt, str) else prompt[-1]["content"]
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        keep = max(0, len(ids) - over)
        while True:
            new_text = tokenizer.decode(ids[:keep])
            new_prompt = new_text if isinstance(prompt, str) else [*prompt[:-1], {**prompt[-1], "content": new_text}]
            if keep == 0 or len(prompt_token_ids(tokenizer, new_prompt)) <= max_prompt_length:
                break
            keep -= 1
        row["prompt"] = new_prompt
        cut += 1
    return cut
