"""The transformers side of budget forcing: a ``generate`` callback and a token counter over a
loaded Hugging Face model, shared by lm-eval's ``r1k-hf`` model and Inspect's budget solver (both
drive :func:`r1k_plugins.core.budget.budget_forcing` with them, so the two harnesses produce the
same text for the same greedy model).

Texts are decoded with special tokens kept: the s1 markers (``<|im_start|>think`` /
``<|im_start|>answer``) and think tags must reach the scorer.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

_LOCKS: dict[int, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def model_lock(model) -> threading.Lock:
    """One lock per loaded model: Inspect runs samples concurrently, generation runs one at a time."""
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(id(model), threading.Lock())


def token_counter(tokenizer):
    """``count(text) -> int``: tokens of ``text`` alone (no special tokens added)."""

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"]) if text else 0

    return count


def cut_at_stops(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the first of the stop strings, and whether one was found."""
    hits = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    return (text[: min(hits)], True) if hits else (text, False)


def hf_generate(
    model,
    tokenizer,
    *,
    do_sample: bool = False,
    temperature: float | None = None,
    top_p: float | None = None,
    top_k: int | None = None,
):
    """A one-prompt ``generate(prompt, max_new_tokens, stop) -> (text, n_tokens, "stop" | "length")``
    over ``model.generate`` (prompt tokenized as is: no special tokens added)."""
    import torch

    eos = model.generation_config.eos_token_id if model.generation_config is not None else None
    eos_ids = set(eos if isinstance(eos, (list, tuple)) else ([eos] if eos is not None else []))
    if tokenizer.eos_token_id is not None:
        eos_ids.add(tokenizer.eos_token_id)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (min(eos_ids) if eos_ids else 0)
    lock = model_lock(model)

    def generate(prompt: str, max_new_tokens: int, stop: Sequence[str]) -> tuple[str, int, str]:
        enc = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        ids = enc["input_ids"].to(model.device)
        kw = dict(
            max_new_tokens=int(max_new_tokens),
            do_sample=bool(do_sample),
            pad_token_id=pad,
            attention_mask=torch.ones_like(ids),
        )
        if do_sample:
            kw.update(
                {k: v for k, v in (("temperature", temperature), ("top_p", top_p), ("top_k", top_k)) if v is not None}
            )
        else:
            kw.update(temperature=None, top_p=None, top_k=None)
        if stop:
            kw.update(stop_strings=list(stop), tokenizer=tokenizer)
        with lock, torch.no_grad():
            out = model.generate(ids, **kw)
        new = out[0, ids.shape[1] :].tolist()
        text, hit = cut_at_stops(tokenizer.decode(new, skip_special_tokens=False), stop)
        if hit:
            return text, len(new), "stop"
        if new and new[-1] in eos_ids:
            return tokenizer.decode(new[:-1], skip_special_tokens=False), len(new), "stop"
        return text, len(new), "length" if len(new) >= max_new_tokens else "stop"

    return generate
