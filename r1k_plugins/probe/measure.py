"""The paper's measurement: the per-token *directional distinction* of a model.

For every record of a complete forward/reverse pair, under that record's own prompt:

- the prompt is the model tokenizer's chat template applied to the same user turn the tasks and
  SFT use (``r1k_plugins.core.render.prompt_messages``), with the generation prompt added;
- y+ is the record's own completion text (the exact string SFT trains on,
  ``completion_text(record)``), y- the other direction's completion text;
- each continuation is tokenized on its own, without special tokens, and appended to the
  tokenized prompt; its score is the mean log-prob of its first N tokens (N = ``max_tokens``,
  1000 as in the paper);
- the directional distinction is Δ = mean(y+) - mean(y-), reported per prompt direction
  (forward, reverse) and over all items, with 95% confidence intervals (Student t over items;
  Δ's interval is the paired one, over per-item differences).

The scorer runs padded batches through the model's decoder and turns only the scored positions'
hidden states into log-probs, in chunks of rows, so memory stays bounded at large vocabularies
(no float32 [batch, tokens, vocab] tensor is ever built). ``reference_logprobs`` is the plain
one-sequence-at-a-time, full-softmax computation it is tested against.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.io import note
from r1k_plugins.core.vocab import PROBE_FAMILIES

PROMPT_DIRECTIONS = ("forward", "reverse")
# Rows of logits materialised at once: at most this many bytes of float32 logits per chunk.
LOGITS_CHUNK_BYTES = 128 << 20
# A model whose decoder + output head does not reproduce its own logits (extra scaling, exotic
# heads) is scored through its full forward pass instead, one sequence at a time.
SELF_CHECK_TOL = {"float32": 1e-4, "float64": 1e-6}


# ---- items ---------------------------------------------------------------------------------------
@dataclass
class ProbeItem:
    id: str
    pair_id: str
    prompt_direction: str
    messages: list[dict]
    y_plus_text: str
    y_minus_text: str


def build_items(
    records: Iterable, *, trace_format: str = "s1", direction_tags: bool = False, limit: int | None = None
) -> tuple[list[ProbeItem], dict]:
    """One item per record of a complete pair with reasoning in both directions.

    ``limit`` keeps the first ``limit`` complete pairs (both of their records), in file order.
    Returns the items and counts of what was used and what was left out, and why.
    """
    from r1k_plugins.core.record import pair_index
    from r1k_plugins.core.render import completion_text, prompt_messages

    records = list(records)
    pairs = pair_index(records)
    counts = {
        "records": len(records),
        "pairs": len(pairs),
        "pairs_used": 0,
        "pairs_incomplete": 0,
        "pairs_without_reasoning": 0,
    }
    usable: list[str] = []
    for pid, d in pairs.items():
        if len(d) != 2:
            counts["pairs_incomplete"] += 1
        elif not all(r.reasoning for r in d.values()):
            counts["pairs_without_reasoning"] += 1
        else:
            usable.append(pid)
    if limit is not None:
        usable = usable[:limit]
    keep = set(usable)
    counts["pairs_used"] = len(usable)
    items = []
    for r in records:
        if r.pair_id not in keep:
            continue
        other = pairs[r.pair_id]["reverse" if r.direction == "forward" else "forward"]
        items.append(
            ProbeItem(
                r.id,
                r.pair_id,
                r.direction,
                prompt_messages(r, direction_tags),
                completion_text(r, trace_format),
                completion_text(other, trace_format),
            )
        )
    counts["items"] = len(items)
    return items, counts


# ---- tokenization --------------------------------------------------------------------------------
@dataclass
class Encoded:
    prompt: str  # the exact string scored as context
    prompt_ids: list[int]
    plus_ids: list[int]  # the first N tokens of y+
    minus_ids: list[int]


def render_prompt(tokenizer, messages: list[dict]) -> str:
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    # no chat template: the plain prompt the lm-eval tasks use without --apply_chat_template
    # (prompts.plain_prompt around the same user turn)
    return f"Question: {messages[-1]['content']}\nAssistant: "


def _ids(tokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def encode_items(tokenizer, items: Sequence[ProbeItem], max_tokens: int) -> list[Encoded]:
    if max_tokens <= 0:
        raise R1KError(f"--max-tokens {max_tokens}: give a positive number of continuation tokens to score")
    out = []
    for it in items:
        prompt = render_prompt(tokenizer, it.messages)
        p = _ids(tokenizer, prompt)
        if not p:
            raise R1KError(f"item {it.id}: the prompt tokenizes to nothing; the probe needs a context")
        plus, minus = _ids(tokenizer, it.y_plus_text)[:max_tokens], _ids(tokenizer, it.y_minus_text)[:max_tokens]
        if not plus or not minus:
            raise R1KError(f"item {it.id}: a trace tokenizes to no tokens; check the record's reasoning")
        out.append(Encoded(prompt, p, plus, minus))
    return out


# ---- scoring -------------------------------------------------------------------------------------
def _head_scale(config) -> tuple[float | None, float, float]:
    """(softcap, multiply, divide) the model applies to its head's output, if any."""
    softcap = getattr(config, "final_logit_softcapping", None)
    mul = getattr(config, "logit_scale", None)
    div = getattr(config, "logits_scaling", None)
    return (
        softcap,
        float(mul) if isinstance(mul, (int, float)) else 1.0,
        float(div) if isinstance(div, (int, float)) and div else 1.0,
    )


def _token_logprobs(head, hidden, targets, config, chunk_rows: int):
    """(log p(target), whether target is the top token) for each row of ``hidden`` [M, H], chunk by
    chunk, in float32. The top token is the first maximum, as ``torch.argmax`` picks it."""
    import torch

    softcap, mul, div = _head_scale(config)
    out = torch.empty(hidden.shape[0], dtype=torch.float32, device=hidden.device)
    hit = torch.empty(hidden.shape[0], dtype=torch.bool, device=hidden.device)
    w = head.weight if isinstance(head, torch.nn.Linear) else None
    if w is not None and w.dtype == torch.float32 and hidden.dtype == torch.float32:
        # float32 head: one reused logits buffer, everything in place (no per-chunk allocations)
        buf = torch.empty((min(chunk_rows, hidden.shape[0]), w.shape[0]), dtype=torch.float32, device=hidden.device)
        for s in range(0, hidden.shape[0], chunk_rows):
            h = hidden[s : s + chunk_rows]
            lg = buf[: h.shape[0]]
            torch.matmul(h, w.t(), out=lg)
            if head.bias is not None:
                lg.add_(head.bias)
            if mul != 1.0:
                lg.mul_(mul)
            if div != 1.0:
                lg.div_(div)
            if softcap:
                lg.div_(softcap).tanh_().mul_(softcap)
            t = targets[s : s + chunk_rows]
            tgt = lg.gather(1, t[:, None])[:, 0]
            m, top = lg.max(dim=1)
            hit[s : s + chunk_rows] = top == t
            lg.sub_(m[:, None]).exp_()
            out[s : s + chunk_rows] = tgt - m - lg.sum(dim=1).log()
        return out, hit
    for s in range(0, hidden.shape[0], chunk_rows):
        logits = head(hidden[s : s + chunk_rows]).float()
        if mul != 1.0:
            logits = logits * mul
        if div != 1.0:
            logits = logits / div
        if softcap:
            logits = torch.tanh(logits / softcap) * softcap
        tgt = targets[s : s + chunk_rows]
        out[s : s + chunk_rows] = logits.gather(1, tgt[:, None])[:, 0] - torch.logsumexp(logits, dim=-1)
        hit[s : s + chunk_rows] = logits.argmax(dim=-1) == tgt
        del logits
    return out, hit


def _decoder(model):
    base = getattr(model, "base_model", None)
    return base if base is not None and base is not model else None


class Scorer:
    """Mean per-token log-prob of continuations after a context, batched and memory-bounded."""

    def __init__(self, model, batch_size: int = 8, chunk_bytes: int = LOGITS_CHUNK_BYTES):
        if batch_size <= 0:
            raise R1KError(f"--batch-size {batch_size}: give a positive number of sequences per batch")
        self.model = model
        self.batch_size = batch_size
        vocab = model.get_output_embeddings().weight.shape[0]
        self.chunk_rows = max(1, chunk_bytes // (4 * vocab))
        self.mode = "decoder" if _decoder(model) is not None else "full"
        self._checked = False

    @property
    def device(self):
        return next(self.model.parameters()).device

    def _self_check(self, prompt_ids: list[int], cont_ids: list[int]) -> None:
        """Compare the decoder+head path with the model's own logits on one short sequence."""
        self._checked = True
        if self.mode != "decoder":
            return
        p, c = prompt_ids[-64:], cont_ids[:64]
        fast = self._batch([(p, c)])[0][0]
        ref = reference_logprobs(self.model, [(p, c)])[0]
        dtype = str(next(self.model.parameters()).dtype).replace("torch.", "")
        tol = SELF_CHECK_TOL.get(dtype, 2e-2)
        if not math.isclose(fast, ref, abs_tol=tol):
            note(
                f"the model's decoder + output head do not reproduce its logits ({fast:.6f} vs {ref:.6f}); "
                "scoring through the full forward pass instead (slower)"
            )
            self.mode = "full"

    def _batch(self, seqs: list[tuple[list[int], list[int]]]) -> list[tuple[float, float]]:
        import torch

        dev = self.device
        lengths = [len(p) + len(c) for p, c in seqs]
        T = max(lengths)
        ids = torch.zeros((len(seqs), T), dtype=torch.long)
        mask = torch.zeros((len(seqs), T), dtype=torch.long)
        rows_b, rows_t, targets, owner = [], [], [], []
        for b, (p, c) in enumerate(seqs):
            full = p + c
            ids[b, : len(full)] = torch.tensor(full)
            mask[b, : len(full)] = 1
            # positions len(p)-1 .. len(full)-2 predict the continuation tokens
            rows_b += [b] * len(c)
            rows_t += list(range(len(p) - 1, len(full) - 1))
            targets += c
            owner += [b] * len(c)
        ids, mask = ids.to(dev), mask.to(dev)
        dec = _decoder(self.model)
        hidden = dec(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
        sel = hidden[torch.tensor(rows_b, device=dev), torch.tensor(rows_t, device=dev)]
        del hidden
        lp, hit = _token_logprobs(
            self.model.get_output_embeddings(),
            sel,
            torch.tensor(targets, device=dev),
            self.model.config,
            self.chunk_rows,
        )
        own = torch.tensor(owner, device=dev)
        sums = torch.zeros(len(seqs), dtype=torch.float64, device=dev)
        sums.index_add_(0, own, lp.double())
        tops = torch.zeros(len(seqs), dtype=torch.float64, device=dev)
        tops.index_add_(0, own, hit.double())
        return [(float(sums[b]) / len(c), float(tops[b]) / len(c)) for b, (_, c) in enumerate(seqs)]

    def score(self, seqs: list[tuple[list[int], list[int]]], progress=None) -> list[float]:
        """Mean log-prob of each (context ids, continuation ids); batches by length, right-padded."""
        return [m for m, _ in self.score_detail(seqs, progress)]

    def score_detail(self, seqs: list[tuple[list[int], list[int]]], progress=None) -> list[tuple[float, float]]:
        """(mean log-prob, argmax share) of each (context ids, continuation ids): the share is the
        fraction of continuation positions whose top token is the continuation's token."""
        import torch

        if not seqs:
            return []
        with torch.inference_mode():
            if not self._checked:
                self._self_check(*seqs[0])
            if self.mode == "full":
                res = []
                for seq in seqs:
                    res += reference_scores(self.model, [seq])
                    if progress is not None:
                        progress.update(1)
                return res
            order = sorted(range(len(seqs)), key=lambda i: -(len(seqs[i][0]) + len(seqs[i][1])))
            out: list[tuple[float, float]] = [(0.0, 0.0)] * len(seqs)
            for s in range(0, len(order), self.batch_size):
                idx = order[s : s + self.batch_size]
                for i, v in zip(idx, self._batch([seqs[i] for i in idx])):
                    out[i] = v
                if progress is not None:
                    progress.update(len(idx))
            return out


def reference_scores(model, seqs: list[tuple[list[int], list[int]]]) -> list[tuple[float, float]]:
    """The straightforward computation: one sequence at a time, the model's full logits, a full
    log-softmax over the vocabulary; (mean over the continuation's tokens, share of its positions
    whose argmax is its token)."""
    import torch

    dev = next(model.parameters()).device
    res = []
    with torch.inference_mode():
        for p, c in seqs:
            ids = torch.tensor([p + c], device=dev)
            logits = model(input_ids=ids, use_cache=False).logits[0].float()
            lps = torch.log_softmax(logits, dim=-1)
            rows = range(len(p) - 1, len(p) - 1 + len(c))
            tok = [lps[r, c[j]].item() for j, r in enumerate(rows)]
            top = [int(logits[r].argmax().item() == c[j]) for j, r in enumerate(rows)]
            res.append((sum(tok) / len(tok), sum(top) / len(top)))
    return res


def reference_logprobs(model, seqs: list[tuple[list[int], list[int]]]) -> list[float]:
    """Mean log-prob of each continuation by :func:`reference_scores` (the plain computation)."""
    return [m for m, _ in reference_scores(model, seqs)]


# ---- statistics ----------------------------------------------------------------------------------
def _t975(df: int) -> float:
    try:
        from scipy.stats import t

        return float(t.ppf(0.975, df))
    except ImportError:  # pragma: no cover - scipy comes with lm-eval
        return 1.959964


def mean_ci(values: Sequence[float]) -> dict[str, Any]:
    """Mean with a two-sided 95% Student-t interval (None where n < 2)."""
    n = len(values)
    if n == 0:
        return {"mean": None, "ci_low": None, "ci_high": None, "n": 0}
    m = sum(values) / n
    if n < 2:
        return {"mean": m, "ci_low": None, "ci_high": None, "n": n}
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1))
    h = _t975(n - 1) * sd / math.sqrt(n)
    return {"mean": m, "ci_low": m - h, "ci_high": m + h, "n": n}


def summarize(rows: Sequence[dict]) -> dict[str, dict]:
    """Per prompt direction (forward, reverse, all): y+, y- and Δ, each with its 95% CI and n; and
    each response family the rows carry (``y_greedy``, ``y_irrelevant``, ``argmax_share``), over the
    items that have it."""
    fam_keys = [k for k in FAMILY_FIELDS.values() if any(r.get(k) is not None for r in rows)]
    out = {}
    for d in (*PROMPT_DIRECTIONS, "all"):
        sel = [r for r in rows if d == "all" or r["prompt_direction"] == d]
        plus = [r["y_plus"] for r in sel]
        minus = [r["y_minus"] for r in sel]
        out[d] = {
            "n": len(sel),
            "y_plus": mean_ci(plus),
            "y_minus": mean_ci(minus),
            "delta": mean_ci([a - b for a, b in zip(plus, minus)]),
        }
        for k in fam_keys:
            out[d][k] = mean_ci([r[k] for r in sel if r.get(k) is not None])
    return out


# ---- response families ---------------------------------------------------------------------------
FAMILIES = tuple(PROBE_FAMILIES)
FAMILY_FIELDS = PROBE_FAMILIES  # the summary / per-item field each family adds
DEFAULT_FAMILIES = ("irrelevant", "argmax")
IRRELEVANT_SEED = 0


def parse_families(spec: str | None) -> tuple[str, ...]:
    """``--families``: a comma-separated subset of FAMILIES, or ``none``; returned in FAMILIES order."""
    if spec is None:
        return DEFAULT_FAMILIES
    names = [x.strip() for x in spec.split(",") if x.strip()]
    if names == ["none"]:
        return ()
    bad = [x for x in names if x not in FAMILIES]
    if bad or not names:
        raise R1KError(
            f"--families {spec}: unknown family {bad[0] if bad else '(empty)'!r}; give a comma-separated "
            f"subset of {', '.join(FAMILIES)}, or none"
        )
    return tuple(f for f in FAMILIES if f in names)


def irrelevant_partners(items: Sequence[ProbeItem], seed: int = IRRELEVANT_SEED) -> list[int | None]:
    """For each item, the index of another item asked in the same prompt direction, whose own trace
    (same direction, another problem) is the item's irrelevant response; None where the direction
    has a single item. A random cyclic permutation (Sattolo's algorithm, ``random.Random(seed)``) of
    each direction's items, in item order: never the item itself, fixed by the seed and the items."""
    import random

    out: list[int | None] = [None] * len(items)
    for d in PROMPT_DIRECTIONS:
        idx = [i for i, it in enumerate(items) if it.prompt_direction == d]
        if len(idx) < 2:
            continue
        rng = random.Random(f"{seed}:{d}")
        perm = list(idx)
        for i in range(len(perm) - 1, 0, -1):  # Sattolo: one cycle through all, so no fixed point
            j = rng.randrange(i)
            perm[i], perm[j] = perm[j], perm[i]
        for a, b in zip(idx, perm):
            out[a] = b
    return out


def can_generate(model) -> bool:
    gen = getattr(model, "generate", None)
    if not callable(gen):
        return False
    check = getattr(model, "can_generate", None)
    try:
        return bool(check()) if callable(check) else True
    except Exception:  # noqa: BLE001 - a model that cannot say is taken at its word: no
        return False


def eos_ids(model, tokenizer) -> list[int]:
    """Token ids that end a greedy continuation: the generation config's and the tokenizer's EOS."""
    ids: list[int] = []
    for src in (
        getattr(getattr(model, "generation_config", None), "eos_token_id", None),
        getattr(tokenizer, "eos_token_id", None),
    ):
        for x in src if isinstance(src, (list, tuple)) else [src]:
            if isinstance(x, int) and x not in ids:
                ids.append(x)
    return ids


def greedy_continuations(
    model, tokenizer, prompts: Sequence[list[int]], max_new_tokens: int, batch_size: int, progress=None
) -> list[list[int]]:
    """The model's own greedy continuation of each prompt: the argmax token at every step (no
    sampling, no repetition penalty or other logits processors, whatever the model's
    generation_config says), up to ``max_new_tokens`` tokens, ending after the first EOS token (kept:
    it is what the model produced). Batches of similar prompt length, left-padded, with a KV cache;
    only the last position's logits are computed ([batch, vocab] per step)."""
    import inspect

    import torch

    if not can_generate(model):
        raise R1KError(
            f"{type(model).__name__} cannot generate, so it has no greedy continuation; drop greedy from --families"
        )
    eos = set(eos_ids(model, tokenizer))
    pad = getattr(tokenizer, "pad_token_id", None)
    pad = pad if isinstance(pad, int) else 0
    params: Mapping[str, inspect.Parameter]
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        params = {}
    extra = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
    cache_kw = "cache" if "cache" in params else "past_key_values"  # transformers renames it
    dev = next(model.parameters()).device
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    out: list[list[int]] = [[] for _ in prompts]
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            T = max(len(prompts[i]) for i in idx)
            ids = torch.full((len(idx), T), pad, dtype=torch.long)
            mask = torch.zeros((len(idx), T), dtype=torch.long)
            for b, i in enumerate(idx):
                p = prompts[i]
                ids[b, T - len(p) :] = torch.tensor(p)
                mask[b, T - len(p) :] = 1
            ids, mask = ids.to(dev), mask.to(dev)
            pos = (mask.cumsum(-1) - 1).clamp(min=0)
            res = model(input_ids=ids, attention_mask=mask, position_ids=pos, use_cache=True, **extra)
            done = [False] * len(idx)
            new: list[list[int]] = [[] for _ in idx]
            for step in range(max_new_tokens):
                nxt = res.logits[:, -1].argmax(dim=-1)
                for b, t in enumerate(nxt.tolist()):
                    if not done[b]:
                        new[b].append(t)
                        done[b] = t in eos
                if all(done) or step == max_new_tokens - 1:
                    break
                mask = torch.cat([mask, torch.ones((len(idx), 1), dtype=mask.dtype, device=dev)], dim=1)
                pos = pos[:, -1:] + 1
                past = getattr(res, "cache", None)
                past = res.past_key_values if past is None else past
                res = model(
                    input_ids=nxt[:, None],
                    attention_mask=mask,
                    position_ids=pos,
                    use_cache=True,
                    **{cache_kw: past},
                    **extra,
                )
            for b, i in enumerate(idx):
                out[i] = new[b]
            if progress is not None:
                progress.update(len(idx))
    return out


def probe_model(
    model,
    tokenizer,
    items: Sequence[ProbeItem],
    *,
    max_tokens: int,
    batch_size: int,
    progress=None,
    families: Sequence[str] = (),
    greedy_tokens: int = 256,
    partners: Sequence[int | None] | None = None,
) -> list[dict]:
    """Per-item rows (without checkpoint fields) for one loaded model.

    Always y+ and y-; with ``families``: ``greedy`` (the model's greedy continuation, at most
    ``greedy_tokens`` tokens, scored like y+), ``irrelevant`` (another item's y+ under this item's
    prompt; ``partners`` from :func:`irrelevant_partners`), ``argmax`` (share of y+ positions whose
    top token is y+'s token)."""
    if "greedy" in families and not can_generate(model):
        raise R1KError(
            f"{type(model).__name__} cannot generate, so it has no greedy continuation; drop greedy from --families"
        )
    enc = encode_items(tokenizer, items, max_tokens)
    greedy = (
        greedy_continuations(model, tokenizer, [e.prompt_ids for e in enc], greedy_tokens, batch_size, progress)
        if "greedy" in families
        else None
    )
    if "irrelevant" in families and partners is None:
        partners = irrelevant_partners(items)
    partner_of: Sequence[int | None] = partners if partners is not None else []  # read with "irrelevant" only
    seqs: list[tuple[list[int], list[int]]] = []
    where: list[dict[str, int]] = []
    for k, e in enumerate(enc):
        slots = {"plus": len(seqs)}
        seqs.append((e.prompt_ids, e.plus_ids))
        slots["minus"] = len(seqs)
        seqs.append((e.prompt_ids, e.minus_ids))
        partner = partner_of[k] if "irrelevant" in families else None
        if partner is not None:
            slots["irrelevant"] = len(seqs)
            seqs.append((e.prompt_ids, enc[partner].plus_ids))
        if greedy is not None and greedy[k]:
            slots["greedy"] = len(seqs)
            seqs.append((e.prompt_ids, greedy[k]))
        where.append(slots)
    scores = Scorer(model, batch_size).score_detail(seqs, progress)
    rows = []
    for k, (it, e) in enumerate(zip(items, enc)):
        w = where[k]
        row = {
            "id": it.id,
            "pair_id": it.pair_id,
            "prompt_direction": it.prompt_direction,
            "prompt": e.prompt,
            "y_plus_text": it.y_plus_text,
            "y_minus_text": it.y_minus_text,
            "n_plus": len(e.plus_ids),
            "n_minus": len(e.minus_ids),
            "y_plus": scores[w["plus"]][0],
            "y_minus": scores[w["minus"]][0],
        }
        if "greedy" in families:
            assert greedy is not None  # made above whenever "greedy" is in families
            g = greedy[k]
            row.update(
                greedy_text=tokenizer.decode(g),
                greedy_token_ids=g,
                n_greedy=len(g),
                y_greedy=scores[w["greedy"]][0] if "greedy" in w else None,
            )
        if "irrelevant" in families:
            j = partner_of[k]
            row.update(
                irrelevant_id=None if j is None else items[j].id,
                n_irrelevant=None if j is None else len(enc[j].plus_ids),
                y_irrelevant=scores[w["irrelevant"]][0] if "irrelevant" in w else None,
            )
        if "argmax" in families:
            row["argmax_share"] = scores[w["plus"]][1]
        rows.append(row)
    return rows
