"""Probe speed and memory: the batched, chunked scorer against the per-item full-softmax reference.

A random-init Llama with Qwen2.5's 152,064-entry vocabulary (built locally; no download) scores
``--items`` sequences of ``--prompt`` context tokens + ``--tokens`` continuation tokens, batch
``--batch``: the same sequences through ``Scorer`` (r1k probe direction's path) and through
``reference_logprobs`` (one sequence at a time, the model's full logits, full log-softmax).

Prints: the largest |difference| (must be < 1e-4 in float32), seconds of each path, the speed ratio
(target >= 1x on the CPU, >= 5x on a GPU), scored tokens/s, and the peak RSS of a fresh process that
runs only the batched path at batch 8 x 1,000 tokens (target <= 1.5 GB on the CPU).

    python benchmarks/probe.py                     # CPU, the issue's sizes
    python benchmarks/probe.py --device cuda --items 64 --hidden 896 --layers 4
    python benchmarks/probe.py --json out.json     # figures also as JSON

``--sections families,ches`` (default: scorer only) adds:

- families: the cost of each response family per checkpoint, on the 152k-vocab model and on the
  embedded tiny model (``r1k-train tiny-model``): y+/y- scoring (the baseline, 2 sequences per
  item), irrelevant (1 more scored sequence per item), argmax (no extra pass: the top token comes
  from the logits chunk y+ is scored from; its cost is the timed difference of taking indices),
  greedy (a generation of ``--greedy-tokens`` per item, then 1 more scored sequence): tokens/s of
  generation, seconds per checkpoint, and the projection over 1, 5, 10, 20 checkpoints (every
  family's cost is per checkpoint, so it scales linearly with their number).
- ches: CHES per pair (``r1k probe ches``) at the 152k vocabulary and on the tiny model: pairs/s,
  the number of calls into the output head (0: no [tokens, vocabulary] tensor is built) and, on the
  CPU, the peak RSS of a fresh process that runs only CHES at batch 8 against one that only
  builds the model.

    python benchmarks/probe.py --sections families,ches --items 8 --tokens 200 --greedy-tokens 64
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build_model(vocab: int, hidden: int, layers: int, device: str, seed: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=hidden * 3,
        num_hidden_layers=layers,
        num_attention_heads=max(1, hidden // 64),
        num_key_value_heads=max(1, hidden // 128),
        max_position_embeddings=4096,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(cfg).to(device).eval()


def make_seqs(n: int, prompt: int, tokens: int, vocab: int, seed: int = 1):
    import random

    rng = random.Random(seed)
    seqs = []
    for i in range(n):
        p = prompt - (i % 5) * 7  # uneven lengths: padding is exercised
        c = tokens - (i % 3) * 11
        seqs.append(([rng.randrange(vocab) for _ in range(p)], [rng.randrange(vocab) for _ in range(c)]))
    return seqs


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def vm_hwm_mb() -> float:
    """This process's peak RSS. VmHWM belongs to the address space exec made; ru_maxrss on Linux
    would carry over the parent's peak across fork + exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_rss_child(args) -> float:
    """Peak RSS (MB) of a fresh process that builds the model and runs only the batched path."""
    cmd = [
        sys.executable,
        __file__,
        "--only-batched",
        "--items",
        str(args.batch),
        "--batch",
        str(args.batch),
        "--tokens",
        str(args.tokens),
        "--prompt",
        str(args.prompt),
        "--vocab",
        str(args.vocab),
        "--hidden",
        str(args.hidden),
        "--layers",
        str(args.layers),
        "--device",
        "cpu",
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return float(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--vocab", type=int, default=152064)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--items", type=int, default=16, help="sequences scored by both paths")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=1000, help="continuation tokens per sequence")
    ap.add_argument("--prompt", type=int, default=200, help="context tokens per sequence")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    ap.add_argument("--sections", default="scorer", help="comma-separated: scorer, families, ches (or all)")
    ap.add_argument("--greedy-tokens", type=int, default=128, help="families: tokens generated per item")
    ap.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch CPU threads (default: torch's); on a shared, loaded machine 1 avoids oversubscription",
    )
    ap.add_argument("--only-batched", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--only-ches", choices=["model", "ches"], default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    sections = {"scorer", "families", "ches"} if args.sections == "all" else set(args.sections.split(","))
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch threads: {torch.get_num_threads()}")
    if args.only_ches:
        print(ches_child(args))
        return
    figures: dict = {}
    if "scorer" in sections:
        figures["scorer"] = scorer_section(args)
    if "families" in sections:
        figures["families"] = families_section(args)
    if "ches" in sections:
        figures["ches"] = ches_section(args)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")


def _show(title: str, figures: dict) -> None:
    print(f"== {title}")
    for k, v in figures.items():
        print(f"{k:>34}: {v}")


def tiny_model():
    """The embedded default model (r1k-train tiny-model), built in a temporary folder."""
    import tempfile

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from r1k_plugins.training.tiny import build_tiny_model

    d = tempfile.mkdtemp(prefix="r1k-bench-tiny-")
    build_tiny_model(d)
    return AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval(), AutoTokenizer.from_pretrained(d)


def _timed(fn, device: str):
    _sync(device)
    t0 = time.perf_counter()
    out = fn()
    _sync(device)
    return out, time.perf_counter() - t0


def _family_costs(model, tok, args, device: str) -> dict:
    import torch

    from r1k_plugins.probe.measure import Scorer, greedy_continuations

    vocab = model.get_output_embeddings().weight.shape[0]
    n, T, G = args.items, args.tokens, args.greedy_tokens
    seqs = make_seqs(2 * n, args.prompt, T, vocab)  # y+ and y- of n items
    prompts = [p for p, _ in seqs[::2]]
    irr = [(p, c) for (p, _), (_, c) in zip(seqs[::2], seqs[2::2] + seqs[:1])]  # the next item's y+
    scorer = Scorer(model, args.batch)
    scorer.score_detail(seqs[:2])  # warm-up + self-check
    _, t_pm = _timed(lambda: scorer.score_detail(seqs), device)
    _, t_irr = _timed(lambda: scorer.score_detail(irr), device)
    # argmax: the same pass; its cost is taking the top index along with the max (measured on the
    # scored positions' logits of one chunk, the only extra work)
    h = torch.randn(min(scorer.chunk_rows, n * T), model.config.hidden_size, device=device)
    lg = model.get_output_embeddings()(h).float()

    def maxes(logits, with_index):
        return [logits.max(dim=1) if with_index else logits.max(dim=1).values for _ in range(5)]

    _, t_max = _timed(lambda: maxes(lg, False), device)
    _, t_arg = _timed(lambda: maxes(lg, True), device)
    argmax_s = max(0.0, (t_arg - t_max) / 5) * (2 * n * T / lg.shape[0])
    saved = model.generation_config.eos_token_id
    model.generation_config.eos_token_id = None  # a random-init model: generate the full budget
    try:
        gen, t_gen = _timed(lambda: greedy_continuations(model, tok, prompts, G, args.batch), device)
    finally:
        model.generation_config.eos_token_id = saved
    n_gen = sum(len(g) for g in gen)
    _, t_gsc = _timed(lambda: scorer.score_detail([(p, g) for p, g in zip(prompts, gen)]), device)
    per_ck = {
        "y_plus_minus_s": round(t_pm, 3),
        "irrelevant_s": round(t_irr, 3),
        "argmax_s": round(argmax_s, 4),
        "greedy_generate_s": round(t_gen, 3),
        "greedy_score_s": round(t_gsc, 3),
    }
    all_s = t_pm + t_irr + argmax_s + t_gen + t_gsc
    return {
        "vocab": vocab,
        "items": n,
        "prompt_tokens": args.prompt,
        "trace_tokens": T,
        "greedy_tokens": G,
        "batch": args.batch,
        **{f"per_checkpoint_{k}": v for k, v in per_ck.items()},
        "scored_tokens_per_s": round(2 * n * T / t_pm, 1),
        "greedy_generated_tokens": n_gen,
        "greedy_generate_tokens_per_s": round(n_gen / t_gen, 1),
        "greedy_vs_y_plus_minus_cost": round((t_gen + t_gsc) / t_pm, 2),
        "all_families_vs_y_plus_minus_cost": round(all_s / t_pm, 2),
        "seconds_for_checkpoints_1_5_10_20 (all families)": [round(k * all_s, 1) for k in (1, 5, 10, 20)],
        "seconds_for_checkpoints_1_5_10_20 (y+/y- only)": [round(k * t_pm, 1) for k in (1, 5, 10, 20)],
    }


class _NoEos:
    """A tokenizer stand-in for random ids: no EOS, so every continuation runs to the budget."""

    eos_token_id = None
    pad_token_id = 0


def families_section(args) -> dict:
    out = {}
    model = build_model(args.vocab, args.hidden, args.layers, args.device)
    out["vocab_152k"] = _family_costs(model, _NoEos(), args, args.device)
    _show(f"families, {args.vocab}-entry vocabulary (hidden {args.hidden}, {args.layers} layers)", out["vocab_152k"])
    del model
    tm, _ = tiny_model()
    tm.to(args.device)
    out["tiny"] = _family_costs(tm, _NoEos(), args, args.device)
    _show("families, the embedded tiny model", out["tiny"])
    return out


def _ches_seqs(n: int, args, vocab: int):
    seqs = make_seqs(2 * n, args.prompt, args.tokens, vocab, seed=3)
    return [(seqs[2 * i][0], seqs[2 * i][1]) for i in range(n)] + [
        (seqs[2 * i][0], seqs[2 * i + 1][1]) for i in range(n)
    ]


def _ches_cost(model, args, device: str) -> dict:
    from r1k_plugins.probe.ches import response_sums

    vocab = model.get_output_embeddings().weight.shape[0]
    calls = []
    hook = model.get_output_embeddings().register_forward_hook(lambda *a: calls.append(1))
    seqs = _ches_seqs(args.items, args, vocab)
    response_sums(model, seqs[:2], args.batch)  # warm-up
    _, t = _timed(lambda: response_sums(model, seqs, args.batch), device)
    hook.remove()
    return {
        "vocab": vocab,
        "pairs": args.items,
        "prompt_tokens": args.prompt,
        "response_tokens": args.tokens,
        "batch": args.batch,
        "seconds": round(t, 3),
        "pairs_per_s": round(args.items / t, 2),
        "ms_per_pair": round(1000 * t / args.items, 1),
        "output_head_calls": len(calls),
    }


def ches_child(args) -> float:
    """Peak RSS (MB) of a fresh process: build the 152k model, then (``ches``) run CHES at batch 8."""
    from r1k_plugins.probe.ches import response_sums

    model = build_model(args.vocab, args.hidden, args.layers, "cpu")
    if args.only_ches == "ches":
        response_sums(model, _ches_seqs(args.batch, args, args.vocab), args.batch)
    return vm_hwm_mb()


def ches_section(args) -> dict:
    out = {}
    model = build_model(args.vocab, args.hidden, args.layers, args.device)
    out["vocab_152k"] = _ches_cost(model, args, args.device)
    del model
    if not args.device.startswith("cuda"):

        def child(what):
            cmd = [
                sys.executable,
                __file__,
                "--only-ches",
                what,
                "--batch",
                str(args.batch),
                "--tokens",
                str(args.tokens),
                "--prompt",
                str(args.prompt),
                "--vocab",
                str(args.vocab),
                "--hidden",
                str(args.hidden),
                "--layers",
                str(args.layers),
            ]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            return float(out.strip().splitlines()[-1])

        base, run = child("model"), child("ches")
        full = args.batch * 2 * args.tokens * args.vocab * 4 / 2**20
        out["vocab_152k"].update(
            peak_rss_mb_model_only=round(base, 1),
            peak_rss_mb_ches_batch=round(run, 1),
            full_vocab_logits_would_be_mb=round(full, 1),
        )
    _show(f"CHES, {args.vocab}-entry vocabulary (hidden {args.hidden}, {args.layers} layers)", out["vocab_152k"])
    tm, _ = tiny_model()
    tm.to(args.device)
    out["tiny"] = _ches_cost(tm, args, args.device)
    _show("CHES, the embedded tiny model", out["tiny"])
    return out


def scorer_section(args) -> dict:
    import torch

    from r1k_plugins.probe.measure import Scorer, reference_logprobs

    rss = None if args.only_batched or args.device.startswith("cuda") else peak_rss_child(args)
    model = build_model(args.vocab, args.hidden, args.layers, args.device)
    seqs = make_seqs(args.items, args.prompt, args.tokens, args.vocab)
    scorer = Scorer(model, args.batch)
    if args.only_batched:
        scorer.score(seqs)
        print(vm_hwm_mb())
        return
    n_tok = sum(len(c) for _, c in seqs)
    scorer.score(seqs[:2])  # warm-up (and the self-check)
    _sync(args.device)
    if args.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    fast = scorer.score(seqs)
    _sync(args.device)
    t_fast = time.perf_counter() - t0
    gpu_peak = torch.cuda.max_memory_allocated() / 2**20 if args.device.startswith("cuda") else None
    t0 = time.perf_counter()
    ref = reference_logprobs(model, seqs)
    _sync(args.device)
    t_ref = time.perf_counter() - t0
    diff = max(abs(a - b) for a, b in zip(fast, ref))
    figures = {
        "device": args.device,
        "vocab": args.vocab,
        "hidden": args.hidden,
        "layers": args.layers,
        "items": args.items,
        "batch": args.batch,
        "tokens": args.tokens,
        "prompt": args.prompt,
        "scorer_mode": scorer.mode,
        "max_abs_diff": diff,
        "batched_s": round(t_fast, 3),
        "reference_s": round(t_ref, 3),
        "speedup": round(t_ref / t_fast, 2),
        "batched_tokens_per_s": round(n_tok / t_fast, 1),
        "reference_tokens_per_s": round(n_tok / t_ref, 1),
        "gpu_peak_mb": None if gpu_peak is None else round(gpu_peak, 1),
    }
    if rss is not None:
        figures["peak_rss_mb_batched_8x1000"] = round(rss, 1)
    ok = diff < 1e-4 and figures["speedup"] >= (5 if args.device.startswith("cuda") else 1)
    if "peak_rss_mb_batched_8x1000" in figures:
        ok = ok and figures["peak_rss_mb_batched_8x1000"] <= 1536
    figures["targets met"] = ok
    _show("scorer (y+/y-): batched vs the per-item reference", figures)
    return figures


if __name__ == "__main__":
    main()
