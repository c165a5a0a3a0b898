"""The GPU check's Python part (benchmarks/gpu_check.sh runs it): bf16 SFT and DPO steps of the paper
recipes on a random-init ~0.5 B model shaped like Qwen2.5-0.5B (vocabulary 152,064, built locally from
a config, nothing downloaded), with tokens/s, peak GPU memory and whether lr 5e-7 moved the weights.

    python benchmarks/gpu_check.py --out DIR              # on the GPU
    python benchmarks/gpu_check.py --out DIR --cpu-dry-run  # the same logic, toy sizes, on a CPU

Writes DIR/gpu_check.json (all figures) and prints one line per figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Qwen2.5-0.5B's shape (494 M parameters with tied embeddings)
QWEN05 = dict(
    vocab_size=152064,
    hidden_size=896,
    intermediate_size=4864,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    max_position_embeddings=32768,
    tie_word_embeddings=True,
    rope_theta=1000000.0,
    rms_norm_eps=1e-6,
)
TOY = dict(
    QWEN05, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2
)


def build_model(out: Path, tiny: Path, shape: dict) -> int:
    """Random-init Qwen2 of ``shape`` + the tiny model's tokenizer (its ids fit the 152k vocabulary)."""
    import torch
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(tiny)
    cfg = Qwen2Config(
        **shape, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id
    )
    model = Qwen2ForCausalLM(cfg).to(torch.float32)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return sum(p.numel() for p in model.parameters())


def train(stage: str, args: list[str]) -> tuple[dict, float, float]:
    """One in-process r1k-train run; returns (manifest, wall seconds, peak GPU memory GiB)."""
    import torch

    from r1k_plugins.training.cli import main

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    t0 = time.time()
    try:
        main([stage, *args])
    except SystemExit as e:
        if e.code not in (0, None):
            raise RuntimeError(f"r1k-train {stage} exited {e.code}") from None
    wall = time.time() - t0
    peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else 0.0
    out = Path(args[args.index("--output-dir") + 1])
    return json.loads((out / "r1k_run.json").read_text()), wall, peak


def dpo_tokens_per_pair(model_dir: Path, data: Path, max_length: int) -> float:
    from transformers import AutoTokenizer

    from r1k_plugins.training.data import load_data, prompt_token_ids

    tok = AutoTokenizer.from_pretrained(model_dir)
    rows = load_data(str(data), "dpo", {"mode": "mixed", "trace_format": "s1"}).rows
    n = 0
    for r in rows:
        p = len(prompt_token_ids(tok, r["prompt"]))
        for side in ("chosen", "rejected"):
            c = len(tok(r[side][0]["content"], add_special_tokens=False)["input_ids"]) + 2
            n += min(p + c, max_length)
    return n / len(rows)


def moved(a_dir: Path, b_dir: Path) -> float:
    from safetensors.torch import load_file

    a, b = load_file(str(a_dir / "model.safetensors")), load_file(str(b_dir / "model.safetensors"))
    changed = sum(int((a[k] != b[k].to(a[k].dtype)).sum()) for k in a)
    return changed / sum(v.numel() for v in a.values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="folder for gpu_check.json and the run folders")
    ap.add_argument("--tiny", required=True, help="the tiny model folder (r1k-train tiny-model): its tokenizer")
    ap.add_argument("--data", required=True, help="r1k records (r1k data synth) to train on")
    ap.add_argument("--cpu-dry-run", action="store_true", help="toy sizes on the CPU: checks the logic only")
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps per stage (default 8; dry run 1)")
    a = ap.parse_args()
    import torch

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    dry = a.cpu_dry_run
    steps = a.steps or (1 if dry else 8)
    shape = TOY if dry else QWEN05
    res: dict = {
        "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
        "torch": torch.__version__,
        "dry_run": dry,
        "steps": steps,
        "shape": shape,
    }
    from r1k_plugins.training.run import versions

    res["versions"] = versions()
    base = out / "qwen05-random"
    res["parameters"] = build_model(base, Path(a.tiny), shape)
    print(f"model: random-init Qwen2 shape, {res['parameters'] / 1e6:.1f} M parameters (vocab {shape['vocab_size']})")

    # batch 8 per step (per-device 2 x accumulation 4) keeps a step short; max_length 1024
    common = [
        "--data",
        str(a.data),
        "--overwrite",
        "--set",
        f"max_steps={steps}",
        "--set",
        "max_length=1024",
        "--set",
        "per_device_train_batch_size=2",
        "--set",
        "effective_batch_size=8",
        "--set",
        "save_strategy=no",
        "--set",
        "logging_steps=1",
    ]
    sft_dir, dpo_dir = out / "sft", out / "dpo"
    m, wall, peak = train(
        "sft", ["--config", "qwen2.5-7b-sft", "--model", str(base), "--output-dir", str(sft_dir), *common]
    )
    fm = m["final_metrics"]
    res["sft"] = {
        "bf16": m["config"]["bf16"],
        "dtype": m["model_config"].get("dtype"),
        "tokens": fm.get("num_tokens"),
        "train_runtime_s": fm["train_runtime"],
        "tokens_per_s": round(fm["num_tokens"] / fm["train_runtime"], 1) if fm.get("num_tokens") else None,
        "peak_gpu_mem_gib": round(peak, 2),
        "wall_s": round(wall, 1),
        "loss": fm.get("train_loss"),
        "weights_moved": round(moved(base, sft_dir), 4),
    }
    print("sft:", json.dumps(res["sft"]))

    m, wall, peak = train(
        "dpo",
        [
            "--config",
            "qwen2.5-7b-dpo",
            "--model",
            str(sft_dir),
            "--output-dir",
            str(dpo_dir),
            *common,
            "--set",
            "warmup_steps=0",
        ],
    )
    fm = m["final_metrics"]
    per_pair = dpo_tokens_per_pair(base, Path(a.data), 1024)
    pairs = steps * 8
    res["dpo"] = {
        "bf16": m["config"]["bf16"],
        "dtype": m["model_config"].get("dtype"),
        "learning_rate": m["config"]["learning_rate"],
        "train_runtime_s": fm["train_runtime"],
        "tokens_per_s": round(pairs * per_pair / fm["train_runtime"], 1),
        "peak_gpu_mem_gib": round(peak, 2),
        "wall_s": round(wall, 1),
        "loss": fm.get("train_loss"),
        "weights_moved_at_lr_5e-7": round(moved(sft_dir, dpo_dir), 4),
    }
    print("dpo:", json.dumps(res["dpo"]))
    (out / "gpu_check.json").write_text(json.dumps(res, indent=2) + "\n")
    print(f"wrote {out / 'gpu_check.json'}")


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    main()
