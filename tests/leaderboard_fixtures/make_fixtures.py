"""Make REAL lm-eval results and Inspect logs offline, for the leaderboard tests and benchmark.

Both harnesses are really run (lm-eval's ``simple_evaluate`` + ``EvaluationTracker`` exactly as
``lm_eval --output_path ... --log_samples`` does; Inspect's ``eval`` with ``mockllm/model``),
on a 20-item task. The "models" are deterministic stand-ins keyed by their model folder: an
item is answered correctly when md5(model path + question) falls below the model's skill, in
both harnesses alike, so the same model/skill gives the same per-item results in lm-eval and
Inspect. Model folders carry r1k_run.json manifests like the training CLI writes.

Usage: ``python tests/leaderboard_fixtures/make_fixtures.py OUT_DIR``
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

N_ITEMS = 20
LM_MODEL = "r1k_lbfix"  # registered lm-eval model name

# model folder -> (stage, data_mode, parent folder)
MODELS = {
    "base": None,
    "fwd-sft": ("sft", "forward", None),
    "rev-sft": ("sft", "reverse", None),
    "mixed-sft": ("sft", "mixed", None),
    "mixed-dpo": ("dpo", "mixed", "mixed-sft"),
}

_UTILS = """
def process_direction(doc, results):
    lls = [r[0] for r in results]
    margin = lls[0] - lls[1]
    return {"acc": float(margin > 0), "margin": margin}
"""


def hit(model_path: str, question: str, skill: float) -> bool:
    return int(hashlib.md5((str(model_path) + question).encode()).hexdigest(), 16) % 1000 / 1000 < skill


def _h(model_path: str, question: str) -> float:
    return int(hashlib.sha1((str(model_path) + question).encode()).hexdigest(), 16) % 1000 / 1000


def _manifest(root: Path, name: str) -> dict | None:
    spec = MODELS[name]
    if spec is None:
        return None
    stage, mode, parent = spec
    return {
        "schema": "r1k_run/1",
        "base_model": str(root / "models" / (parent or "base")),
        "stage": stage,
        "data_mode": mode,
        "parent": _manifest(root, parent) if parent else None,
        "output_dir": str(root / "models" / name),
    }


def write_models(root: Path) -> dict[str, Path]:
    out = {}
    for name in MODELS:
        d = root / "models" / name
        d.mkdir(parents=True, exist_ok=True)
        m = _manifest(root, name)
        if m is not None:
            (d / "r1k_run.json").write_text(json.dumps(m, indent=2), encoding="utf-8")
        out[name] = d
    return out


def write_lmeval_tasks(root: Path) -> Path:
    tdir = root / "lm_tasks"
    tdir.mkdir(parents=True, exist_ok=True)
    data = tdir / "items.jsonl"
    with open(data, "w", encoding="utf-8") as fh:
        for i in range(N_ITEMS):
            item = {"id": f"q{i}", "question": f"Question {i}?", "choices": [" yes", " no"], "label": 0}
            fh.write(json.dumps(item) + "\n")
    common = f"""dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: label
target_delimiter: ""
"""
    (tdir / "utils.py").write_text(_UTILS, encoding="utf-8")
    (tdir / "lbfix_direction.yaml").write_text(
        "task: r1k_direction\n"
        + common
        + """process_results: !function utils.process_direction
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: margin
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
""",
        encoding="utf-8",
    )
    (tdir / "lbfix_mc.yaml").write_text(
        "task: lbfix_mc\n"
        + common
        + """metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
""",
        encoding="utf-8",
    )
    return tdir


_LM_STATE: dict = {}


def _lm_setup(task_dir: Path):
    key = str(task_dir)
    if key in _LM_STATE:
        return _LM_STATE[key]
    from lm_eval.api.model import LM
    from lm_eval.api.registry import register_model
    from lm_eval.tasks import TaskManager

    try:

        @register_model(LM_MODEL)
        class FixtureLM(LM):  # noqa: F841 - registered by the decorator
            """Deterministic stand-in: prefers ' yes' on an item with probability `skill`."""

            def __init__(self, pretrained: str = "", skill: float = 0.5, **kwargs):
                super().__init__()
                self.pretrained, self.skill = str(pretrained), float(skill)

            @classmethod
            def create_from_arg_string(cls, arg_string, additional_config=None):
                kv = dict(p.split("=", 1) for p in arg_string.split(",") if "=" in p)
                return cls(**kv)

            def loglikelihood(self, requests, disable_tqdm=False):
                out = []
                for req in requests:
                    ctx, cont = req.arguments
                    good = hit(self.pretrained, ctx, self.skill)
                    strong = -1.0 - 0.5 * _h(self.pretrained, ctx)
                    out.append((strong if (cont.strip() == "yes") == good else -2.0, False))
                return out

            def loglikelihood_rolling(self, requests, disable_tqdm=False):
                raise NotImplementedError

            def generate_until(self, requests, disable_tqdm=False):
                raise NotImplementedError
    except (AssertionError, ValueError, KeyError):
        pass  # already registered in this process
    tm = TaskManager(include_path=str(task_dir), include_defaults=False)
    _LM_STATE[key] = tm
    return tm


def run_lmeval(
    task_dir: Path,
    model_dir: Path,
    skill: float,
    output_path: Path,
    log_samples: bool = True,
    tasks: tuple[str, ...] = ("r1k_direction", "lbfix_mc"),
) -> Path:
    """One lm-eval run, saved like ``lm_eval --output_path OUT [--log_samples]``; returns the results file."""
    import lm_eval
    from lm_eval.loggers import EvaluationTracker

    tm = _lm_setup(task_dir)
    tracker = EvaluationTracker(output_path=str(output_path))
    res = lm_eval.simple_evaluate(
        model=LM_MODEL,
        model_args=f"pretrained={model_dir},skill={skill}",
        tasks=list(tasks),
        task_manager=tm,
        log_samples=log_samples,
        evaluation_tracker=tracker,
        verbosity="ERROR",
    )
    samples = res.pop("samples", None)
    tracker.save_results_aggregated(results=res, samples=samples if log_samples else None)
    if log_samples:
        for t in res["configs"]:
            tracker.save_results_samples(task_name=t, samples=samples[t])
    return Path(output_path) / tracker.general_config_tracker.model_name_sanitized / f"results_{tracker.date_id}.json"


def _inspect_tasks():
    from inspect_ai import Task, task
    from inspect_ai.dataset import Sample
    from inspect_ai.scorer import includes
    from inspect_ai.solver import generate, solver

    @task(name="r1k_direction")
    def direction_task():
        return Task(
            dataset=[Sample(id=f"q{i}", input=f"Question {i}?", target="yes") for i in range(N_ITEMS)],
            solver=generate(),
            scorer=includes(),
        )

    @solver
    def fail_on_q3():
        async def solve(state, generate):
            if state.sample_id == "q3":
                raise RuntimeError("simulated crash on q3")
            return await generate(state)

        return solve

    @task(name="lbfix_broken")
    def broken_task():
        return Task(
            dataset=[Sample(id=f"q{i}", input=f"Question {i}?", target="yes") for i in range(5)],
            solver=fail_on_q3(),
            scorer=includes(),
        )

    return direction_task, broken_task


def _mock_args(model_dir: Path | str, skill: float) -> dict:
    from inspect_ai.model import ModelOutput, ModelUsage

    def respond(input, tools, tool_choice, config):
        q = input[-1].text
        out = ModelOutput.from_content("mockllm/model", "yes" if hit(str(model_dir), q, skill) else "no")
        out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)  # no tiktoken download
        return out

    return {"model_path": str(model_dir), "custom_outputs": respond}


def run_inspect(
    model_dir: Path | str, skill: float, log_dir: Path, log_format: str = "eval", broken: bool = False
) -> Path:
    from inspect_ai import eval as inspect_eval

    direction_task, broken_task = _inspect_tasks()
    logs = inspect_eval(
        broken_task() if broken else direction_task(),
        model="mockllm/model",
        model_args=_mock_args(model_dir, skill),
        log_dir=str(log_dir),
        log_format=log_format,
        display="none",
        fail_on_error=True if broken else None,
    )
    return Path(logs[0].location)


def make_fixtures(root: Path) -> dict:
    """Run both harnesses into ``root``; return a dict describing what is where."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    models = write_models(root)
    tdir = write_lmeval_tasks(root)
    lm = root / "lm"
    insp = root / "inspect"
    info: dict = {"root": root, "models": models, "lm": lm, "inspect": insp, "lm_results": {}, "inspect_logs": {}}
    r = info["lm_results"]
    r["base"] = run_lmeval(tdir, models["base"], 0.5, lm)
    r["fwd-sft"] = run_lmeval(tdir, models["fwd-sft"], 0.9, lm)
    r["rev-sft-old"] = run_lmeval(tdir, models["rev-sft"], 0.3, lm)
    r["rev-sft"] = run_lmeval(tdir, models["rev-sft"], 0.7, lm)
    r["mixed-dpo"] = run_lmeval(tdir, models["mixed-dpo"], 0.8, lm, log_samples=False)
    g = info["inspect_logs"]
    g["base"] = run_inspect(models["base"], 0.5, insp)  # same skill as lm-eval: agree
    g["fwd-sft"] = run_inspect(models["fwd-sft"], 0.9, insp, log_format="json")  # agree
    g["rev-sft"] = run_inspect(models["rev-sft"], 0.05, insp)  # far from lm-eval's 0.7: disagree
    g["mixed-sft"] = run_inspect(models["mixed-sft"], 0.6, insp)  # Inspect only
    g["broken"] = run_inspect(models["base"], 0.5, insp, broken=True)  # status 'error': partial

    junk = root / "junk"
    junk.mkdir(exist_ok=True)
    (junk / "random.json").write_text(json.dumps({"hello": "world", "values": [1, 2, 3]}), encoding="utf-8")
    (junk / "corrupt.eval").write_bytes(b"PK\x03\x04 this is not really a zip archive")
    txt = r["base"].read_text(encoding="utf-8")
    (junk / "results_truncated.json").write_text(txt[: len(txt) // 2], encoding="utf-8")
    (junk / "notes.txt").write_text("not a result file\n", encoding="utf-8")
    shutil.copyfile(g["base"], junk / "copy-of-base.eval")  # same eval_id: duplicate
    shutil.copyfile(r["fwd-sft"], junk / "results_copy.json")  # identical content: duplicate
    info["junk"] = junk
    return info


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "lb_fixtures")
    info = make_fixtures(out)
    print(json.dumps({k: str(v) for k, v in info.items() if not isinstance(v, dict)}, indent=2))
