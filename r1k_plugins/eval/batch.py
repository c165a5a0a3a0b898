"""Several models through one harness in ONE process, through the harness's own Python API.

Start-up (importing torch, transformers, datasets and the harness, indexing tasks) costs a harness
run on a small model more than the evaluation itself; ``r1k demo`` pays it once per batch instead
of once per model:

    python -m r1k_plugins.eval.batch lm-eval --model base=models/base --model sft=models/sft \\
        --data test.jsonl --limit 8 --max-new-tokens 48 --out results/lm_eval --done .done
    python -m r1k_plugins.eval.batch inspect --model base=models/base ... --out results/inspect

``lm-eval``: ``lm_eval.simple_evaluate`` per model (one task manager for all) and lm-eval's
``EvaluationTracker`` writing results_*.json and samples_*.jsonl exactly as ``lm_eval run
--output_path --log_samples`` does (tasks r1k_forward, r1k_reverse, r1k_direction, chat template).
``inspect``: one ``inspect_ai.eval`` call over every model and the tasks r1k_forward and
r1k_reverse (Inspect runs them concurrently), writing the same .eval logs as ``inspect eval``.
With ``--done DIR`` each model's success is marked by ``DIR/<harness>-<name>`` (the file ``r1k
demo`` checks) and a model already marked is skipped. Exit 0 when every run succeeded, 1 otherwise.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

LMEVAL_TASKS = ("r1k_forward", "r1k_reverse", "r1k_direction")
INSPECT_TASKS = ("r1k_plugins/r1k_forward", "r1k_plugins/r1k_reverse")
MARKER_PREFIX = {"lm-eval": "lm_eval", "inspect": "inspect"}


def _models(pairs: tuple[str, ...]) -> list[tuple[str, Path]]:
    out = []
    for p in pairs:
        name, sep, path = p.partition("=")
        if not sep or not name or not path:
            raise click.BadParameter(f"{p!r}: expected NAME=PATH", param_hint="--model")
        out.append((name, Path(path).resolve()))
    return out


def run_lm_eval(
    models: list[tuple[str, Path]],
    data: Path,
    limit: int,
    max_new_tokens: int,
    out: Path,
    done: Path | None,
    batch_size: int = 8,
    direction_tags: bool = False,
) -> list[str]:
    """lm-eval on every model in this process; returns the names that failed."""
    import torch
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    device = "cuda:0" if torch.cuda.is_available() else "cpu"
    metadata: dict = {"r1k_data": str(data.resolve())}
    if direction_tags:  # models trained with data.direction_tags are asked with the tags
        metadata["r1k_direction_tags"] = True
    task_manager = TaskManager(metadata=metadata)
    failed = []
    for name, path in models:
        t0 = time.time()
        try:
            tracker = EvaluationTracker(output_path=str(out))
            results = simple_evaluate(
                model="hf",
                model_args={"pretrained": str(path), "dtype": "float32"},
                tasks=list(LMEVAL_TASKS),
                limit=limit,
                batch_size=batch_size,
                device=device,
                apply_chat_template=True,
                gen_kwargs={"max_gen_toks": max_new_tokens},
                log_samples=True,
                evaluation_tracker=tracker,
                task_manager=task_manager,
                metadata=metadata,
            )
            samples = results.pop("samples")
            tracker.save_results_aggregated(results=results, samples=samples)
            for task_name in results["configs"]:
                tracker.save_results_samples(task_name=task_name, samples=samples[task_name])
        except Exception as e:  # one model's failure does not lose the others' results
            failed.append(name)
            print(f"lm-eval on {name} failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            continue
        if done is not None:
            (done / f"{MARKER_PREFIX['lm-eval']}-{name}").touch()
        print(f"lm-eval on {name}: done ({time.time() - t0:.0f}s)", flush=True)
    return failed


def run_inspect(
    models: list[tuple[str, Path]],
    data: Path,
    limit: int,
    max_new_tokens: int,
    out: Path,
    done: Path | None,
    direction_tags: bool = False,
) -> list[str]:
    """Inspect on every model in one ``inspect_ai.eval`` call; returns the names that failed."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    handles = {name: get_model("hf/local", model_path=str(path), do_sample=False) for name, path in models}
    by_model = {id(m): name for name, m in handles.items()}
    t0 = time.time()
    logs = inspect_eval(
        list(INSPECT_TASKS),
        model=list(handles.values()),
        task_args={
            "data": str(data.resolve()),
            "limit": limit,
            "max_tokens": max_new_tokens,
            **({"direction_tags": True} if direction_tags else {}),
        },
        log_dir=str(out),
        display="none",
        max_tasks=len(INSPECT_TASKS) * len(handles),
    )
    status: dict[str, list[str]] = {name: [] for name, _ in models}
    paths = {str(path): name for name, path in models}
    for log in logs:
        name = paths.get(str((log.eval.model_args or {}).get("model_path")))
        if name is None:  # fall back on the model object's identity
            name = by_model.get(id(getattr(log, "model", None)), "?")
        status.setdefault(name, []).append(log.status)
    failed = []
    for name, _ in models:
        ok = len(status.get(name, [])) == len(INSPECT_TASKS) and all(s == "success" for s in status[name])
        if not ok:
            failed.append(name)
            print(f"Inspect on {name} failed: {status.get(name)}", file=sys.stderr, flush=True)
        elif done is not None:
            (done / f"{MARKER_PREFIX['inspect']}-{name}").touch()
    print(f"Inspect on {', '.join(n for n, _ in models)}: {len(logs)} logs ({time.time() - t0:.0f}s)", flush=True)
    return failed


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("harness", type=click.Choice(sorted(MARKER_PREFIX)))
@click.option(
    "--model",
    "model_pairs",
    multiple=True,
    required=True,
    help="NAME=PATH of a local model folder; repeat for several models.",
)
@click.option("--data", type=click.Path(exists=True, dir_okay=False), required=True, help="r1k JSONL test file.")
@click.option("--limit", type=click.IntRange(min=1), required=True, help="Items per task.")
@click.option("--max-new-tokens", type=click.IntRange(min=1), required=True, help="Generation budget per answer.")
@click.option(
    "--out", type=click.Path(file_okay=False), required=True, help="lm-eval's --output_path / Inspect's --log-dir."
)
@click.option(
    "--done",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder of success markers (<harness>-<NAME>); marked models are skipped.",
)
@click.option(
    "--direction-tags",
    is_flag=True,
    help="Ask with direction tags ([forward] / [reverse]): for models trained with data.direction_tags.",
)
def main(harness, model_pairs, data, limit, max_new_tokens, out, done, direction_tags):
    """Evaluate several models with one harness in one process (see the module docstring)."""
    models = _models(model_pairs)
    done_dir = Path(done) if done else None
    if done_dir is not None:
        done_dir.mkdir(parents=True, exist_ok=True)
        models = [(n, p) for n, p in models if not (done_dir / f"{MARKER_PREFIX[harness]}-{n}").exists()]
    if not models:
        return
    Path(out).mkdir(parents=True, exist_ok=True)
    runner = run_lm_eval if harness == "lm-eval" else run_inspect
    failed = runner(models, Path(data), limit, max_new_tokens, Path(out), done_dir, direction_tags=direction_tags)
    if failed:
        print(json.dumps({"failed": failed}), file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
