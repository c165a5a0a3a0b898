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
    cfg = LlamaConfig(vocab_size=vocab, hidden_size=hidden, intermediate_size=hidden * 3, num_hidden_layers=layers,
                      num_attention_heads=max(1, hidden // 64), num_key_value_heads=max(1, hidden // 128),
                      max_position_embeddings=4096, tie_word_embeddings=True)
    return LlamaForCausalLM(cfg).to(device).eval()


def make_seqs(n: int, prompt: int, tokens: int, vocab: int, seed: int = 1):
    import random

    rng = random.Random(seed)
    seqs = []
    for i in range(n):
        p = prompt - (i % 5) * 7       # uneven lengths: padding is exercised
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
    cmd = [sys.executable, __file__, "--only-batched", "--items", str(args.batch), "--batch", str(args.batch),
           "--tokens", str(args.tokens), "--prompt", str(args.prompt), "--vocab", str(args.vocab),
           "--hidden", str(args.hidden), "--layers", str(args.layers), "--device", "cpu"]
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
    ap.add_argument("--only-batched", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

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
        "device": args.device, "vocab": args.vocab, "hidden": args.hidden, "layers": args.layers,
        "items": args.items, "batch": args.batch, "tokens": args.tokens, "prompt": args.prompt,
        "scorer_mode": scorer.mode, "max_abs_diff": diff, "batched_s": round(t_fast, 3), "reference_s": round(t_ref, 3),
        "speedup": round(t_ref / t_fast, 2), "batched_tokens_per_s": round(n_tok / t_fast, 1),
        "reference_tokens_per_s": round(n_tok / t_ref, 1),
        "gpu_peak_mb": None if gpu_peak is None else round(gpu_peak, 1),
    }
    if rss is not None:
        figures["peak_rss_mb_batched_8x1000"] = round(rss, 1)
    for k, v in figures.items():
        print(f"{k:>28}: {v}")
    ok = diff < 1e-4 and figures["speedup"] >= (5 if args.device.startswith("cuda") else 1)
    if "peak_rss_mb_batched_8x1000" in figures:
        ok = ok and figures["peak_rss_mb_batched_8x1000"] <= 1536
    print(f"{'targets met':>28}: {ok}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
