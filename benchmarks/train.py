"""Training throughput: ``r1k-train sft|dpo`` against plain TRL with the identical config and data.

Both sides run as fresh subprocesses on the same tiny model and synth data, alternating, and
report the train loop only (TRL's ``train_runtime``: model loading, tokenization and saving are
outside it). Tokens are counted from the dataset itself (chat template applied; DPO counts
prompt+chosen and prompt+rejected), times the epochs trained, so both sides divide the same
number. The ratio r1k / plain should be >= 0.95.

    python benchmarks/train.py                     # sft and dpo, 3 alternating repeats each
    python benchmarks/train.py --stage sft --repeats 5 --pairs 300 --keep /tmp/bench
    python benchmarks/train.py --processes         # 1 CPU process vs a 2-process accelerate launch

``--tiny-accuracy`` instead runs the documented tiny pipeline (tiny-model, then ``r1k-train sft
--config tiny-sft`` on the embedded synth train split) and scores greedy generations on the first
50 synth test items, prompted with the chat template, before and after SFT.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

IGNORE_IN_DIFF = {"output_dir", "logging_dir", "run_name", "hub_token"}
RECIPE = {"sft": "tiny-sft", "dpo": "tiny-dpo"}


def overrides(stage: str) -> list[str]:
    """--set overrides shared by both sides: exactly one epoch, nothing saved, one log at the end."""
    common = ["num_train_epochs=1", "max_steps=-1", "save_strategy=no", "logging_steps=1000"]
    return common + (["per_device_train_batch_size=16"] if stage == "sft" else ["per_device_train_batch_size=8"])


def trainer_kwargs(stage: str) -> dict:
    """The TRL config kwargs r1k-train resolves for the recipe + overrides (CPU policy included)."""
    from r1k_plugins.training.recipe import load_recipe, parse_set, resolve_keys
    from r1k_plugins.training.run import device_policy

    rec = resolve_keys(load_recipe(stage, RECIPE[stage], parse_set(overrides(stage))))
    device_policy(rec)
    kw = dict(rec.trainer_args)
    kw.setdefault("report_to", "none")
    return kw


def rows_for(stage: str, data_file: Path) -> list[dict]:
    from r1k_plugins.core.record import read_records
    from r1k_plugins.data.mix import build_dpo_rows, build_sft_rows

    recs = read_records(data_file)
    return build_sft_rows(recs, "mixed", seed=42) if stage == "sft" else build_dpo_rows(recs)


def dataset_tokens(stage: str, rows: list[dict], model_dir: Path) -> int:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)

    def n(msgs):
        return len(tok.apply_chat_template(msgs, tokenize=True, return_dict=True)["input_ids"])

    if stage == "sft":
        return sum(n(r["prompt"] + r["completion"]) for r in rows)
    return sum(n(r["prompt"] + r["chosen"]) + n(r["prompt"] + r["rejected"]) for r in rows)


# ---- plain TRL worker (runs in its own process) --------------------------------------------------
def plain_worker(spec: dict) -> None:
    from datasets import Dataset

    stage, model, out = spec["stage"], spec["model"], spec["out"]
    rows = rows_for(stage, Path(spec["data"]))
    ds = Dataset.from_list(rows)
    if stage == "sft":
        from trl import SFTConfig, SFTTrainer

        trainer = SFTTrainer(model=model, args=SFTConfig(output_dir=out, **spec["kwargs"]), train_dataset=ds)
    else:
        from trl import DPOConfig, DPOTrainer

        trainer = DPOTrainer(model=model, args=DPOConfig(output_dir=out, **spec["kwargs"]), train_dataset=ds)
    result = trainer.train()
    Path(out).mkdir(parents=True, exist_ok=True)
    (Path(out) / "plain_result.json").write_text(
        json.dumps(
            {
                "metrics": result.metrics,
                "global_step": trainer.state.global_step,
                "config": json.loads(json.dumps(trainer.args.to_dict(), default=str)),
            }
        )
    )


# ---- tiny SFT accuracy --------------------------------------------------------------------------
def score(model_dir: Path, items) -> dict:
    """Greedy generation with the chat template; exact boxed answer, format, arithmetic steps."""
    import re

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from r1k_plugins.core.render import prompt_messages

    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    prompts = [tok.apply_chat_template(prompt_messages(r), add_generation_prompt=True, tokenize=False) for r in items]
    enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=160, do_sample=False)
    exact = {"forward": 0, "reverse": 0}
    n = {"forward": 0, "reverse": 0}
    boxed = eq_ok = eq_n = 0
    for r, seq in zip(items, out):
        text = tok.decode(seq[enc["input_ids"].shape[1] :], skip_special_tokens=True)
        answers = re.findall(r"\\boxed\{([^}]*)\}", text)
        boxed += bool(answers)
        n[r.direction] += 1
        exact[r.direction] += bool(answers) and answers[-1].strip() == r.answer
        for a, op, b, c in re.findall(r"(\d+) ([-+*/]) (\d+) = (\d+)", text):
            a, b, c = int(a), int(b), int(c)
            eq_n += 1
            eq_ok += {"+": a + b, "-": a - b, "*": a * b, "/": a // b if b else None}[op] == c
    total = len(items)
    return {
        "exact": sum(exact.values()) / total,
        "exact_forward": exact["forward"] / max(n["forward"], 1),
        "exact_reverse": exact["reverse"] / max(n["reverse"], 1),
        "boxed": boxed / total,
        "arithmetic_steps_correct": eq_ok / eq_n if eq_n else None,
        "n": total,
    }


def tiny_accuracy(work: Path, n_items: int) -> None:
    from r1k_plugins.core.record import write_records
    from r1k_plugins.data.synth import generate
    from r1k_plugins.training.tiny import build_tiny_model

    train, test = generate()
    data = work / "synth-train.jsonl"
    write_records(data, train)
    tiny = work / "tiny"
    if not (tiny / "config.json").is_file():
        build_tiny_model(tiny)
    out = work / "tiny-sft"
    exe = Path(sys.executable).parent / "r1k-train"
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "r1k_plugins.training.cli"]
    t0 = time.time()
    proc = subprocess.run(
        cmd
        + [
            "sft",
            "--config",
            "tiny-sft",
            "--model",
            str(tiny),
            "--data",
            str(data),
            "--output-dir",
            str(out),
            "--overwrite",
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        sys.exit(f"r1k-train failed:\n{proc.stderr[-3000:]}")
    m = json.loads((out / "r1k_run.json").read_text())
    items = test[:n_items]
    before, after = score(tiny, items), score(out, items)
    print(
        f"tiny SFT: {m['final_metrics']['global_step']} steps, train_runtime "
        f"{m['final_metrics']['train_runtime']:.0f}s, command wall {time.time() - t0:.0f}s, "
        f"final train loss {m['final_metrics'].get('loss')}"
    )
    for name, r in (("before SFT", before), ("after SFT", after)):
        steps = r["arithmetic_steps_correct"]
        print(
            f"  {name:10s}: exact {r['exact']:.0%} (forward {r['exact_forward']:.0%}, reverse "
            f"{r['exact_reverse']:.0%}), boxed answer {r['boxed']:.0%}, arithmetic steps correct "
            f"{'n/a' if steps is None else f'{steps:.0%}'}  [{r['n']} synth test items, greedy]"
        )
    (work / "tiny_accuracy.json").write_text(
        json.dumps({"before": before, "after": after, "final_metrics": m["final_metrics"]}, indent=2)
    )


# ---- driver --------------------------------------------------------------------------------------
def run_r1k(stage: str, model: Path, data: Path, out: Path) -> dict:
    exe = Path(sys.executable).parent / "r1k-train"
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-m", "r1k_plugins.training.cli"]
    cmd += [stage, "--config", RECIPE[stage], "--model", str(model), "--data", str(data), "--output-dir", str(out)]
    for o in overrides(stage):
        cmd += ["--set", o]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"r1k-train failed:\n{proc.stderr[-3000:]}")
    m = json.loads((out / "r1k_run.json").read_text())
    return {
        "runtime": m["final_metrics"]["train_runtime"],
        "steps": m["final_metrics"]["global_step"],
        "config": m["config"],
    }


def run_plain(stage: str, model: Path, data: Path, out: Path, kwargs: dict) -> dict:
    spec = {"stage": stage, "model": str(model), "data": str(data), "out": str(out), "kwargs": kwargs}
    proc = subprocess.run(
        [sys.executable, __file__, "--plain-worker", json.dumps(spec)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        sys.exit(f"plain TRL failed:\n{proc.stderr[-3000:]}")
    r = json.loads((out / "plain_result.json").read_text())
    return {"runtime": r["metrics"]["train_runtime"], "steps": r["global_step"], "config": r["config"]}


def run_launch(stage: str, model: Path, data: Path, out: Path, nproc: int) -> float:
    """train_runtime of r1k-train on ``nproc`` CPU processes (one thread each) at the same global batch."""
    import socket

    per_device = (16 if stage == "sft" else 8) // nproc
    args = [stage, "--config", RECIPE[stage], "--model", str(model), "--data", str(data), "--output-dir", str(out)]
    for o in overrides(stage) + [f"per_device_train_batch_size={per_device}"]:
        args += ["--set", o]
    env = dict(os.environ, OMP_NUM_THREADS="1", ACCELERATE_DISABLE_RICH="1")
    if nproc == 1:
        cmd = [sys.executable, "-m", "r1k_plugins.training.cli", *args]
    else:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        cmd = [
            str(Path(sys.executable).parent / "accelerate"),
            "launch",
            "--multi_gpu",
            "--num_processes",
            str(nproc),
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "--main_process_port",
            str(port),
            "-m",
            "r1k_plugins.training.cli",
            *args,
        ]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"{nproc}-process r1k-train failed:\n{proc.stderr[-3000:]}")
    return json.loads((out / "r1k_run.json").read_text())["final_metrics"]["train_runtime"]


def bench_processes(stage: str, work: Path, model: Path, data: Path, repeats: int) -> dict:
    """One process (one thread) against `accelerate launch --num_processes 2` (one thread each), same batch."""
    tokens = dataset_tokens(stage, rows_for(stage, data), model)
    one, two = [], []
    for i in range(repeats):
        for n in (1, 2) if i % 2 == 0 else (2, 1):
            t = run_launch(stage, model, data, work / f"{stage}-{n}proc-{i}", n)
            (one if n == 1 else two).append(t)
    t1, t2 = statistics.median(one), statistics.median(two)
    return {
        "stage": stage,
        "tokens": tokens,
        "one_process_s": one,
        "two_process_s": two,
        "one_process_tokens_per_s": tokens / t1,
        "two_process_tokens_per_s": tokens / t2,
        "two_process_tokens_per_s_per_process": tokens / t2 / 2,
        "scaling": t1 / t2,
    }


def config_diff(a: dict, b: dict) -> list[str]:
    keys = (set(a) | set(b)) - IGNORE_IN_DIFF
    return sorted(
        k
        for k in keys
        if json.dumps(a.get(k), sort_keys=True, default=str) != json.dumps(b.get(k), sort_keys=True, default=str)
    )


def bench(stage: str, work: Path, model: Path, data: Path, repeats: int) -> dict:
    kwargs = trainer_kwargs(stage)
    rows = rows_for(stage, data)
    tokens = dataset_tokens(stage, rows, model)  # one epoch
    r1k_t, plain_t, diff, steps = [], [], None, None
    for i in range(repeats):
        order = ("r1k", "plain") if i % 2 == 0 else ("plain", "r1k")
        for side in order:
            out = work / f"{stage}-{side}-{i}"
            if side == "r1k":
                r = run_r1k(stage, model, data, out)
                r1k_t.append(r["runtime"])
                r1k_cfg, steps = r["config"], r["steps"]
            else:
                r = run_plain(stage, model, data, out, kwargs)
                plain_t.append(r["runtime"])
                plain_cfg, plain_steps = r["config"], r["steps"]
        diff = config_diff(r1k_cfg, plain_cfg)
        assert steps == plain_steps, (steps, plain_steps)
    r1k_med, plain_med = statistics.median(r1k_t), statistics.median(plain_t)
    return {
        "stage": stage,
        "rows": len(rows),
        "steps": steps,
        "tokens": tokens,
        "r1k_runtime_s": r1k_t,
        "plain_runtime_s": plain_t,
        "r1k_tokens_per_s": tokens / r1k_med,
        "plain_tokens_per_s": tokens / plain_med,
        "ratio": plain_med / r1k_med,
        "config_diff": diff,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=["sft", "dpo", "both"], default="both")
    ap.add_argument("--repeats", type=int, default=3, help="alternating runs per side (median reported)")
    ap.add_argument("--pairs", type=int, default=600, help="synth pairs (SFT trains on both items of each)")
    ap.add_argument("--dpo-pairs", type=int, default=240, help="synth pairs for DPO (2 preference rows each)")
    ap.add_argument("--keep", type=Path, default=None, help="work folder to keep (default: a temp folder)")
    ap.add_argument(
        "--tiny-accuracy",
        action="store_true",
        help="score the documented tiny SFT on synth test items instead of timing",
    )
    ap.add_argument("--items", type=int, default=50, help="--tiny-accuracy: synth test items to score")
    ap.add_argument(
        "--processes",
        action="store_true",
        help="instead: r1k-train on 1 CPU process vs accelerate launch --num_processes 2 (gloo), "
        "one thread each, same global batch; tokens/s total and per process",
    )
    ap.add_argument("--plain-worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.plain_worker:
        plain_worker(json.loads(args.plain_worker))
        return
    if args.tiny_accuracy:
        work = args.keep or Path(tempfile.mkdtemp(prefix="r1k-tiny-"))
        work.mkdir(parents=True, exist_ok=True)
        tiny_accuracy(work, args.items)
        return

    import torch

    from r1k_plugins.core.record import write_records
    from r1k_plugins.data.synth import generate
    from r1k_plugins.training.tiny import build_tiny_model

    work = args.keep or Path(tempfile.mkdtemp(prefix="r1k-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    model = work / "tiny"
    if not (model / "config.json").is_file():
        build_tiny_model(model)
    print(
        f"device: {'cuda' if torch.cuda.is_available() else 'cpu'}, torch threads {torch.get_num_threads()}, "
        f"work folder {work}"
    )
    results = []
    for stage in ["sft", "dpo"] if args.stage == "both" else [args.stage]:
        train, _ = generate(n=args.pairs if stage == "sft" else args.dpo_pairs, seed=11, test_frac=0.05)
        data = work / f"{stage}-train.jsonl"
        write_records(data, train)
        t0 = time.time()
        if args.processes:
            r = bench_processes(stage, work, model, data, args.repeats)
            results.append(r)
            print(f"\n[{stage}] {r['tokens']:,} tokens/epoch ({time.time() - t0:.0f}s wall)")
            print(f"  train_runtime 1 process  : {', '.join(f'{t:.2f}' for t in r['one_process_s'])} s")
            print(f"  train_runtime 2 processes: {', '.join(f'{t:.2f}' for t in r['two_process_s'])} s")
            print(
                f"  tokens/s (median)  1 process {r['one_process_tokens_per_s']:,.0f}   2 processes "
                f"{r['two_process_tokens_per_s']:,.0f} ({r['two_process_tokens_per_s_per_process']:,.0f} per process)"
                f"   scaling {r['scaling']:.2f}x"
            )
            continue
        r = bench(stage, work, model, data, args.repeats)
        results.append(r)
        print(
            f"\n[{stage}] {r['rows']} rows, {r['steps']} steps/epoch, {r['tokens']:,} tokens/epoch "
            f"({time.time() - t0:.0f}s wall)"
        )
        print(f"  train_runtime r1k-train : {', '.join(f'{t:.2f}' for t in r['r1k_runtime_s'])} s")
        print(f"  train_runtime plain TRL : {', '.join(f'{t:.2f}' for t in r['plain_runtime_s'])} s")
        print(
            f"  tokens/s (median)  r1k-train {r['r1k_tokens_per_s']:,.0f}   plain TRL {r['plain_tokens_per_s']:,.0f}"
            f"   ratio {r['ratio']:.3f} (target >= 0.95)"
        )
        print(f"  config keys differing: {', '.join(r['config_diff']) or 'none'}")
    (work / "bench_train.json").write_text(json.dumps(results, indent=2))
    print(f"\nresults: {work / 'bench_train.json'}")


if __name__ == "__main__":
    main()
