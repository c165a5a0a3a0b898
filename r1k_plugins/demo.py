"""``r1k demo``: the paper's whole loop on the embedded default, offline, on a laptop CPU.

synth data -> tiny base model -> SFT arms (forward / reverse / mixed) -> DPO on top of mixed SFT
-> lm-eval and Inspect on every model -> one leaderboard. Every step drives the real command
(``r1k-train``, ``lm_eval``, ``inspect eval``, ``r1k leaderboard export``) and is skipped when its
output is already there, so an interrupted demo resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import click

from .errors import R1KError

ARMS = ("forward", "reverse", "mixed")


def _exe(name: str) -> str:
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise R1KError(f"command {name!r} not found; install r1k-plugins in this environment (pip install -e .)")
    return found


def _step(title: str, cmd: list[str], log: Path, env: dict) -> None:
    click.echo(f"==> {title}\n    $ {' '.join(cmd)}")
    t0 = time.time()
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"\n$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
        raise R1KError(f"step '{title}' failed (exit {proc.returncode}); see {log}. Last lines: "
                       + " | ".join(l.strip() for l in tail if l.strip())[-600:])
    click.echo(f"    done in {time.time() - t0:.0f}s")


@click.command("demo", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--out", "out", type=click.Path(file_okay=False), default="r1k-demo", show_default=True,
              help="Working folder: data/, models/, results/, leaderboard/ and demo.log go here.")
@click.option("--n", "n", type=click.IntRange(min=20, max=100_000), default=1000, show_default=True,
              help="Synthetic forward/reverse pairs to generate (10% become the test split; at most 100,000).")
@click.option("--arms", default="forward,reverse,mixed", show_default=True,
              help="SFT arms to train, comma-separated (subset of forward,reverse,mixed).")
@click.option("--dpo/--no-dpo", default=True, show_default=True,
              help="Run DPO on top of the mixed-SFT model (needs the mixed arm).")
@click.option("--limit", type=click.IntRange(min=1), default=40, show_default=True,
              help="Test items per task and harness.")
@click.option("--max-new-tokens", type=click.IntRange(min=8), default=128, show_default=True,
              help="Generation budget per answer.")
@click.option("--sft-steps", type=click.IntRange(min=1), default=None,
              help="Override max_steps of the tiny SFT recipe (default: the recipe's).")
@click.option("--inspect/--no-inspect", "use_inspect", default=True, show_default=True,
              help="Also evaluate with Inspect (the leaderboard then compares both harnesses).")
def demo(out, n, arms, dpo, limit, max_new_tokens, sft_steps, use_inspect):
    """Run the whole r1k pipeline on the embedded default (CPU, offline, resumable)."""
    root = Path(out)
    arm_list = [a.strip() for a in arms.split(",") if a.strip()]
    bad = [a for a in arm_list if a not in ARMS]
    if bad or not arm_list:
        raise R1KError(f"--arms {arms!r}: use a comma-separated subset of {','.join(ARMS)}")
    if dpo and "mixed" not in arm_list:
        raise R1KError("--dpo runs on the mixed-SFT model: add mixed to --arms or pass --no-dpo")
    for sub in ("data", "models", "results/lm_eval", "results/inspect"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    log = root / "demo.log"
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.setdefault("INSPECT_DISPLAY", "none")
    t_start = time.time()

    # 1. data
    train, test = root / "data" / "train.jsonl", root / "data" / "test.jsonl"
    if not (train.exists() and test.exists()):
        from .data.schema import write_records
        from .data.synth import generate

        tr, te = generate(n)
        write_records(train, tr)
        write_records(test, te)
        click.echo(f"==> data: {len(tr)} train / {len(te)} test records in {root / 'data'}")

    # 2. base model
    models: dict[str, Path] = {}
    base = root / "models" / "base"
    if not (base / "config.json").exists():
        _step("tiny base model", [_exe("r1k-train"), "tiny-model", "--out", str(base), "--data", str(train),
                                  "--overwrite"], log, env)
    models["base"] = base

    # 3. SFT arms, 4. DPO
    extra = ["--set", f"max_steps={sft_steps}"] if sft_steps else []
    for arm in arm_list:
        d = root / "models" / f"{arm}-sft"
        if not (d / "r1k_run.json").exists():
            _step(f"SFT on {arm} data", [_exe("r1k-train"), "sft", "--config", "tiny-sft", "--model", str(base),
                                         "--data", str(train), "--mode", arm, "--output-dir", str(d),
                                         "--overwrite", *extra], log, env)
        models[f"{arm}-sft"] = d
    if dpo:
        d = root / "models" / "mixed-sft-dpo"
        if not (d / "r1k_run.json").exists():
            _step("DPO on mixed-SFT", [_exe("r1k-train"), "dpo", "--config", "tiny-dpo",
                                       "--model", str(models["mixed-sft"]), "--data", str(train),
                                       "--output-dir", str(d), "--overwrite"], log, env)
        models["mixed-sft-dpo"] = d

    # 5. evaluations
    done_dir = root / ".done"
    done_dir.mkdir(exist_ok=True)
    meta = json.dumps({"r1k_data": str(test.resolve())})
    for name, path in models.items():
        marker = done_dir / f"lm_eval-{name}"
        if not marker.exists():
            _step(f"lm-eval on {name}", [
                _exe("lm_eval"), "run", "--model", "hf",
                "--model_args", f"pretrained={path.resolve()},dtype=float32",
                "--tasks", "r1k_forward,r1k_reverse,r1k_direction", "--metadata", meta,
                "--limit", str(limit), "--apply_chat_template", "--batch_size", "8",
                "--gen_kwargs", f"max_gen_toks={max_new_tokens}",
                "--output_path", str((root / "results" / "lm_eval").resolve()), "--log_samples",
            ], log, env)
            marker.touch()
        if use_inspect:
            marker = done_dir / f"inspect-{name}"
            if not marker.exists():
                _step(f"Inspect on {name}", [
                    _exe("inspect"), "eval", "r1k_plugins/r1k_forward", "r1k_plugins/r1k_reverse",
                    "--model", "hf/local", "-M", f"model_path={path.resolve()}", "-M", "do_sample=false",
                    "-T", f"data={test.resolve()}", "-T", f"limit={limit}", "-T", f"max_tokens={max_new_tokens}",
                    "--log-dir", str((root / "results" / "inspect").resolve()), "--display", "none",
                ], log, env)
                marker.touch()

    # 6. leaderboard
    inputs = [str(root / "results" / "lm_eval")] + ([str(root / "results" / "inspect")] if use_inspect else [])
    _step("leaderboard", [_exe("r1k"), "leaderboard", "export", *inputs, "--out", str(root / "leaderboard"),
                          "--baseline", "base"], log, env)
    md = root / "leaderboard" / "leaderboard.md"
    if md.exists():
        click.echo("\n" + md.read_text(encoding="utf-8"))
    click.echo(f"demo finished in {time.time() - t_start:.0f}s; open {root / 'leaderboard' / 'leaderboard.html'}")
