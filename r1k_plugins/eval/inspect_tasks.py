"""The r1k tasks for Inspect: ``inspect eval r1k_plugins/r1k_reverse --model ...``.

Registered through the ``inspect_ai`` entry point (``r1k_plugins.eval.registry``). Data, prompts and
scoring are the ones the lm-eval tasks use (``r1k_plugins.eval.evaldata``, ``.prompts``, ``.scoring``).

Task parameters (``-T key=value``):
  data         r1k JSONL file, or a local benchmark copy in its own layout (default: the embedded
               default test split; benchmarks: their pinned hub dataset)
  limit        keep the first N samples
  trace_format s1 | think-tags: add a hint naming the reasoning markup to the prompt (default none)
  max_tokens   generation budget (default 16384; with budget forcing: the answer's budget)
  max_thinking_tokens, num_ignore, ignore_str, max_answer_tokens
               s1's budget forcing (docs/tasks.md "Budget forcing"; Inspect's hf provider only):
               cap the thinking at N tokens, replace the first num_ignore ends of thinking with
               ignore_str (default Wait); the trace format is trace_format's (default s1)

The tasks ask for temperature 0. Inspect's local ``hf`` provider samples anyway unless it is given
``-M do_sample=false``: pass it for greedy decoding (every documented ``hf`` command does).
"""

from __future__ import annotations

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, scorer, stderr
from inspect_ai.solver import TaskState, generate

from r1k_plugins.eval.evaldata import generation_doc, load_task_records

DEFAULT_MAX_TOKENS = 16384


@scorer(metrics=[accuracy(), stderr()])
def r1k_scorer():
    """The shared r1k scorer (r1k_plugins.core.scoring.score_response); the extracted answer is logged."""
    import anyio

    from r1k_plugins.core.scoring import score_response

    async def score(state: TaskState, target: Target) -> Score:
        answer_type = state.metadata.get("answer_type", "expression")
        res = await anyio.to_thread.run_sync(score_response, state.output.completion, target.text, answer_type)
        return Score(
            value=CORRECT if res["correct"] else INCORRECT,
            answer=res["extracted"],
            explanation=res["reason"],
            metadata={"extracted": res["extracted"], "finished": res["finished"], "reason": res["reason"],
                      **({"budget": state.metadata["r1k_budget"]} if "r1k_budget" in state.metadata else {})},
        )

    return score


def _records_or_prerequisite_error(name: str, data, limit):
    """Bad -T values -> Inspect's PrerequisiteError, which it prints as one plain line (no trace)."""
    from inspect_ai._util.error import PrerequisiteError

    from r1k_plugins.core.errors import R1KError

    try:
        if data is not None and not isinstance(data, str):
            raise R1KError(f"-T data={data!r}: expected a file path")
        try:
            n = int(limit) if limit not in (None, "") else None
        except (TypeError, ValueError):
            raise R1KError(f"-T limit={limit!r}: expected a whole number") from None
        if n is not None and n < 1:
            raise R1KError(f"-T limit={limit!r}: expected a whole number >= 1")
        return load_task_records(name, data, n)
    except R1KError as e:
        raise PrerequisiteError(f"error: {' '.join(str(e).split())}") from None


def _budget_solver(budget: dict, trace_format: str | None, max_tokens: int):
    """The solver: plain generate(), or budget forcing when -T max_thinking_tokens is given."""
    if all(v is None for v in budget.values()):
        return generate()
    from inspect_ai._util.error import PrerequisiteError

    from r1k_plugins.core.budget import budget_spec
    from r1k_plugins.core.errors import R1KError
    from r1k_plugins.eval.budget_inspect import budget_forcing_generate

    try:
        spec = budget_spec(**{k: v for k, v in budget.items() if v is not None}, trace_format=trace_format)
    except R1KError as e:
        raise PrerequisiteError(f"error: -T {' '.join(str(e).split())}") from None
    return budget_forcing_generate(spec, int(max_tokens))


def _generation_task(name: str, data: str | None, limit: int | None, trace_format: str | None,
                     max_tokens: int, **budget) -> Task:
    solver = _budget_solver(budget, trace_format, max_tokens)
    records = _records_or_prerequisite_error(name, data, limit)
    samples = []
    for r in records:
        doc = generation_doc(r, trace_format)
        samples.append(Sample(input=doc["prompt"], target=r.answer, id=r.id,
                              metadata={"answer_type": r.answer_type, "direction": r.direction,
                                        "pair_id": r.pair_id}))
    return Task(
        dataset=MemoryDataset(samples, name=name),
        solver=solver,
        scorer=r1k_scorer(),
        # greedy where the provider honours temperature; Inspect's local hf provider samples unless
        # it is given -M do_sample=false (a GenerateConfig cannot turn that off)
        config=GenerateConfig(max_tokens=int(max_tokens), temperature=0.0),
        name=name,
        version=1,
    )


@task
def r1k_forward(data: str | None = None, limit: int | None = None, trace_format: str | None = None,
                max_tokens: int = DEFAULT_MAX_TOKENS, max_thinking_tokens: int | None = None,
                num_ignore: int | None = None, ignore_str: str | None = None, max_answer_tokens: int | None = None) -> Task:
    """Forward r1k questions (question -> answer)."""
    return _generation_task("r1k_forward", data, limit, trace_format, max_tokens, max_thinking_tokens=max_thinking_tokens,
                            num_ignore=num_ignore, ignore_str=ignore_str, max_answer_tokens=max_answer_tokens)


@task
def r1k_reverse(data: str | None = None, limit: int | None = None, trace_format: str | None = None,
                max_tokens: int = DEFAULT_MAX_TOKENS, max_thinking_tokens: int | None = None,
                num_ignore: int | None = None, ignore_str: str | None = None, max_answer_tokens: int | None = None) -> Task:
    """Reverse r1k questions (given the answer, recover the hidden premise)."""
    return _generation_task("r1k_reverse", data, limit, trace_format, max_tokens, max_thinking_tokens=max_thinking_tokens,
                            num_ignore=num_ignore, ignore_str=ignore_str, max_answer_tokens=max_answer_tokens)


@task
def r1k_aime24(data: str | None = None, limit: int | None = None, trace_format: str | None = None,
               max_tokens: int = DEFAULT_MAX_TOKENS, max_thinking_tokens: int | None = None,
               num_ignore: int | None = None, ignore_str: str | None = None, max_answer_tokens: int | None = None) -> Task:
    """AIME 2024 (HuggingFaceH4/aime_2024) with the r1k prompt and scorer."""
    return _generation_task("r1k_aime24", data, limit, trace_format, max_tokens, max_thinking_tokens=max_thinking_tokens,
                            num_ignore=num_ignore, ignore_str=ignore_str, max_answer_tokens=max_answer_tokens)


@task
def r1k_math500(data: str | None = None, limit: int | None = None, trace_format: str | None = None,
                max_tokens: int = DEFAULT_MAX_TOKENS, max_thinking_tokens: int | None = None,
                num_ignore: int | None = None, ignore_str: str | None = None, max_answer_tokens: int | None = None) -> Task:
    """MATH-500 (HuggingFaceH4/MATH-500) with the r1k prompt and scorer."""
    return _generation_task("r1k_math500", data, limit, trace_format, max_tokens, max_thinking_tokens=max_thinking_tokens,
                            num_ignore=num_ignore, ignore_str=ignore_str, max_answer_tokens=max_answer_tokens)


@task
def r1k_gpqa_diamond(data: str | None = None, limit: int | None = None, trace_format: str | None = None,
                     max_tokens: int = DEFAULT_MAX_TOKENS, max_thinking_tokens: int | None = None,
                     num_ignore: int | None = None, ignore_str: str | None = None, max_answer_tokens: int | None = None) -> Task:
    """GPQA diamond (Idavidrein/gpqa, options shuffled with a fixed seed) with the r1k prompt and scorer."""
    return _generation_task("r1k_gpqa_diamond", data, limit, trace_format, max_tokens, max_thinking_tokens=max_thinking_tokens,
                            num_ignore=num_ignore, ignore_str=ignore_str, max_answer_tokens=max_answer_tokens)
