"""CHES per DPO pair (Razin et al., ICLR 2025, *Unintentional Unalignment*): how close the rejected
response's hidden embeddings are to the chosen one's, the predictor of likelihood displacement.

With h_{x,y,<k} the last hidden layer's output (the input of the output head) at the position that
predicts token k of y after prompt x, and S(y) = sum_k h_{x,y,<k}:

    CHES(x, y+, y-)            = <S(y+), S(y-)> - ||S(y+)||^2
    CHES_normalized(x, y+, y-) = <S(y+), S(y-)> / (|y+| |y-|) - ||S(y+)||^2 / |y+|^2

(the paper's code: ``compute_ches_scores`` in princeton-nlp/unintentional-unalignment; the
normalized variant is the same with mean instead of summed embeddings). Only the decoder runs: no
logits, so no [tokens, vocabulary] tensor is built at any vocabulary size. Prompt and responses are
tokenized as the probe does (``measure.render_prompt``; each response on its own, no special tokens).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from r1k_plugins.core.errors import R1KError
from r1k_plugins.probe.measure import render_prompt

CHES_BY = ("normalized", "raw")


def _text(v: Any) -> str | None:
    """A TRL response: a string, or a list of messages whose contents are joined."""
    if isinstance(v, str):
        return v
    if isinstance(v, list) and v and all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in v):
        return "".join(m["content"] for m in v)
    return None


def read_pairs(path: str) -> list[dict]:
    """DPO rows (``r1k data pairs`` output, or any TRL prompt/chosen/rejected JSONL, conversational
    or standard); a row without them -> one-line error naming the file and line."""
    from r1k_plugins.core.readers import iter_jsonl

    rows = []
    for lineno, row in iter_jsonl(path, "DPO pairs file"):
        p = row.get("prompt")
        ok_p = isinstance(p, str) or (isinstance(p, list) and p and all(isinstance(m, dict) for m in p))
        if not ok_p or _text(row.get("chosen")) is None or _text(row.get("rejected")) is None:
            raise R1KError(
                f"{path}:{lineno}: not a DPO pair (needs prompt, chosen and rejected, as "
                "`r1k data pairs` writes them); build pairs with `r1k data pairs`"
            )
        if row.get("metadata") is not None and not isinstance(row["metadata"], dict):
            raise R1KError(
                f"{path}:{lineno}: metadata is a {type(row['metadata']).__name__}; it must be an object "
                "(CHES is written into it)"
            )
        rows.append(row)
    if not rows:
        raise R1KError(f"{path}: no DPO pairs in the file; build them with `r1k data pairs`")
    return rows


def hidden_model(model):
    """The module whose ``last_hidden_state`` is the output head's input (the decoder), or an error."""
    base = getattr(model, "base_model", None)
    if base is None or base is model:
        get = getattr(model, "get_decoder", None)
        base = get() if callable(get) else None
    if base is None or base is model:
        raise R1KError(
            f"{type(model).__name__} exposes no hidden states (no decoder before its output head); "
            "CHES needs a causal LM with one (e.g. Llama, Qwen2, SmolLM2)"
        )
    return base


def encode_pairs(tokenizer, rows: Sequence[dict], max_tokens: int | None = None):
    """(prompt ids, chosen ids, rejected ids) per row; responses cut to their first ``max_tokens``."""
    out = []
    for i, r in enumerate(rows):
        p = r["prompt"]
        prompt = p if isinstance(p, str) else render_prompt(tokenizer, p)
        pid = list(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        c = list(tokenizer(_text(r["chosen"]), add_special_tokens=False)["input_ids"])[:max_tokens]
        j = list(tokenizer(_text(r["rejected"]), add_special_tokens=False)["input_ids"])[:max_tokens]
        if not pid or not c or not j:
            raise R1KError(
                f"pair {r.get('id', i + 1)}: the prompt or a response tokenizes to nothing; CHES needs both responses"
            )
        out.append((pid, c, j))
    return out


def response_sums(model, seqs: Sequence[tuple[list[int], list[int]]], batch_size: int = 8, progress=None):
    """float64 sum of the last hidden layer's states at the positions predicting each continuation
    token, per (context, continuation): [len(seqs), hidden]. Right-padded batches sorted by length."""
    import torch

    dec = hidden_model(model)
    dev = next(model.parameters()).device
    order = sorted(range(len(seqs)), key=lambda i: -(len(seqs[i][0]) + len(seqs[i][1])))
    sums = None
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            T = max(len(seqs[i][0]) + len(seqs[i][1]) for i in idx)
            ids = torch.zeros((len(idx), T), dtype=torch.long)
            mask = torch.zeros((len(idx), T), dtype=torch.long)
            rb, rt, owner = [], [], []
            for b, i in enumerate(idx):
                p, c = seqs[i]
                ids[b, : len(p) + len(c)] = torch.tensor(p + c)
                mask[b, : len(p) + len(c)] = 1
                rb += [b] * len(c)
                rt += list(range(len(p) - 1, len(p) + len(c) - 1))
                owner += [i] * len(c)
            res = dec(input_ids=ids.to(dev), attention_mask=mask.to(dev), use_cache=False)
            hidden = getattr(res, "last_hidden_state", None)
            if hidden is None:
                raise R1KError(
                    f"{type(model).__name__}'s decoder returns no last_hidden_state; CHES needs the "
                    "hidden states before the output head"
                )
            sel = hidden[torch.tensor(rb, device=dev), torch.tensor(rt, device=dev)].double()
            if sums is None:
                sums = torch.zeros((len(seqs), sel.shape[1]), dtype=torch.float64, device=dev)
            sums.index_add_(0, torch.tensor(owner, device=dev), sel)
            del hidden, res
            if progress is not None:
                progress.update(len(idx))
    return sums


def ches_scores(
    model, tokenizer, rows: Sequence[dict], *, batch_size: int = 8, max_tokens: int | None = None, progress=None
) -> list[dict]:
    """Per row: ``ches``, ``ches_normalized``, ``ches_n_chosen``, ``ches_n_rejected`` (tokens used)."""
    enc = encode_pairs(tokenizer, rows, max_tokens)
    seqs = []
    for p, c, j in enc:
        seqs += [(p, c), (p, j)]
    sums = response_sums(model, seqs, batch_size, progress)
    out = []
    for k, (_, c, j) in enumerate(enc):
        sp, sm = sums[2 * k], sums[2 * k + 1]
        cross, own = float(sp @ sm), float(sp @ sp)
        out.append(
            {
                "ches": cross - own,
                "ches_normalized": cross / (len(c) * len(j)) - own / (len(c) ** 2),
                "ches_n_chosen": len(c),
                "ches_n_rejected": len(j),
            }
        )
    return out


def check_fraction(f: float | None) -> None:
    if f is not None and not (0.0 < f < 1.0 and math.isfinite(f)):
        raise R1KError(
            f"--ches-filter {f}: give the fraction of pairs to drop, strictly between 0 and 1 "
            "(e.g. 0.1 drops the 10% with the highest CHES)"
        )


def top_fraction(scores: Sequence[float], fraction: float) -> set[int]:
    """Indices of the floor(fraction * n) highest scores (ties: the earlier row is dropped first)."""
    check_fraction(fraction)
    k = math.floor(fraction * len(scores))
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    return set(order[:k])
