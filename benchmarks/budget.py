"""Budget forcing against plain generation: the same model, the same items, the same total budget.

Plain: one greedy ``generate`` of the thinking opening's continuation with max_new_tokens =
thinking budget + answer budget. Budget forcing (r1k_plugins.core.budget, the code both harnesses
run): thinking capped at the budget, ``--num-ignore`` ends of thinking replaced by "Wait", then the
answer. Prints seconds per item for both and the overhead per item.

    python benchmarks/budget.py                         # the tiny model, built here, on the CPU
    python benchmarks/budget.py --model DIR --device cuda --items 32 --think 512 --answer 64

On a shared CPU machine set OMP_NUM_THREADS=1 (torch's default thread count thrashes under load).
Measured on the project's 2-core machine, load average ~7, OMP_NUM_THREADS=1, tiny model, 6 items:
plain 501 ms/item, budget forcing 530 ms/item (+29 ms/item: one more prefill and the token counts).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", help="model folder (default: build the tiny model in a temp folder)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--items", type=int, default=8)
    ap.add_argument("--think", type=int, default=48, help="thinking budget (tokens)")
    ap.add_argument("--answer", type=int, default=16, help="answer budget (tokens)")
    ap.add_argument("--num-ignore", type=int, default=2)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from r1k_plugins.core.budget import budget_forcing_one, budget_spec
    from r1k_plugins.core.render import think_opening
    from r1k_plugins.core.vocab import END_TOKENS
    from r1k_plugins.eval.budget_hf import hf_generate, token_counter
    from r1k_plugins.eval.evaldata import generation_doc, load_task_records

    tmp = None
    model_dir = args.model
    if model_dir is None:
        tmp = tempfile.TemporaryDirectory()
        model_dir = str(Path(tmp.name) / "tiny")
        subprocess.run(
            [sys.executable, "-m", "r1k_plugins.training.cli", "tiny-model", "--out", model_dir],
            check=True,
            capture_output=True,
        )
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).to(args.device).eval()
    records = load_task_records("r1k_forward", None, args.items)
    prompts = [
        tok.apply_chat_template(
            [{"role": "user", "content": generation_doc(r)["prompt"]}], tokenize=False, add_generation_prompt=True
        )
        for r in records
    ]
    gen = hf_generate(model, tok)
    count = token_counter(tok)
    spec = budget_spec(args.think, num_ignore=args.num_ignore, max_answer_tokens=args.answer)
    gen(prompts[0], 4, list(END_TOKENS))  # warm-up

    plain, forced, rounds, think_toks = [], [], [], []
    for p in prompts:
        t = time.perf_counter()
        gen(p + think_opening("s1"), args.think + args.answer, list(END_TOKENS))
        plain.append(time.perf_counter() - t)
        t = time.perf_counter()
        res = budget_forcing_one(p, gen, count, spec)
        forced.append(time.perf_counter() - t)
        rounds.append(len(res.rounds) + 1)
        think_toks.append(res.thinking_tokens)
        assert res.thinking_tokens <= args.think
    figures = {
        "device": args.device,
        "items": len(prompts),
        "think_budget": args.think,
        "answer_budget": args.answer,
        "num_ignore": args.num_ignore,
        "plain_s_per_item": statistics.mean(plain),
        "forced_s_per_item": statistics.mean(forced),
        "overhead_s_per_item": statistics.mean(forced) - statistics.mean(plain),
        "generate_calls_per_item": statistics.mean(rounds),
        "thinking_tokens_mean": statistics.mean(think_toks),
    }
    print(
        f"{len(prompts)} items on {args.device}, thinking budget {args.think}, answer budget {args.answer}, "
        f"num_ignore {args.num_ignore}"
    )
    print(f"plain generation:  {figures['plain_s_per_item'] * 1000:8.1f} ms/item")
    print(
        f"budget forcing:    {figures['forced_s_per_item'] * 1000:8.1f} ms/item "
        f"({figures['generate_calls_per_item']:.1f} generate calls, {figures['thinking_tokens_mean']:.1f} "
        f"thinking tokens per item)"
    )
    print(f"overhead:          {figures['overhead_s_per_item'] * 1000:+8.1f} ms/item")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
