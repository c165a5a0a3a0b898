"""The r1k tasks for Inspect: ``inspect eval r1k_plugins/r1k_reverse --model ...``.

Registered through the ``inspect_ai`` entry point (``r1k_plugins.eval.registry``). Data, prompts and
scoring are the ones the lm-eval tasks use (``r1k_plugins.eval.evaldata``, ``r1k_plugins.core.render``,
``r1k_plugins.core.scoring``).

Task parameters (``-T key=value``):
  data         r1k JSONL file, or a local benchmark copy in its own layout (default: the embedded
               default test split; benchmarks: their pinned hub dataset)
  limit        keep the first N samples
  trace_format s1 | think-tags: add a hint naming the reasoning markup to the prompt (default none)
  max_tokens   generation budget (default 16384; with budget forcing: the answer's budget)
  k            answer every item k times by sampling (sets the epochs, with the reducers avg_at_k,
               pass_at_k and maj_at_k of r1k_plugins.core.sampling_metrics); default: one greedy answer
  pass_k       the k of pass@k (default k)
  temperature  sampling temperature (default 0.6 with k, else 0 = greedy)
  top_p        nucleus sampling (default 0.95 with k)
  direction_tags  true: prompts start with [forward] / [reverse] (for models trained with
               data.direction_tags; r1k_forward / r1k_reverse)
  max_thinking_tokens, num_ignore, ignore_str, max_answer_tokens
               s1's budget forcing (docs/tasks.md "Budget forcing"; Inspect's hf provider only):
               cap the thinking at N tokens, replace the first num_ignore ends of thinking with
               ignore_str (default Wait); the trace format is trace_format's (default s1)

`--epochs k` also samples k times (with Inspect's default mean reducer = avg@k; the leaderboard
computes pass@k and maj@k from the per-sample log either way).

The tasks ask for temperature 0 unless sampling. Inspect's local ``hf`` provider samples anyway unless it is given
``-M do_sample=false``: pass it for greedy decoding (every documented ``hf`` command does).
"""

from __future__ import annotations

from inspect_ai import Epochs, Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer import CORRECT, INCORRECT, Score, Target, accuracy, score_reducer, scorer, stderr
from inspect_ai.solver import TaskState, generate

from r1k_plugins.eval.evaldata import generation_doc, load_task_records

DEFAULT_MAX_TOKENS = 16384


@scorer(metrics=[accuracy(), stderr()])
def r1k_scorer():
    """The shared r1k scorer (r1k_plugins.core.scoring.score_response); the extracted answer is logged."""
    import anyio

    from r1k_plugins.core.scoring import score_response
    from r1k_plugins.eval.served import inspect_response_text

    async def score(state: TaskState, target: Target) -> Score:
        answer_type = state.metadata.get("answer_type", "expression")
        # a served model's reasoning parts (reasoning_content, closed think tags) folded back in
        text = inspect_response_text(state.output)
        res = await anyio.to_thread.run_sync(score_response, text, target.text, answer_type)
        return Score(
            value=CORRECT if res["correct"] else INCORRECT,
            answer=res["extracted"],
            explanation=res["reason"],
            metadata={
                "extracted": res["extracted"],
                "finished": res["finished"],
                "reason": res["reason"],
                "answer_type": answer_type,
                **({"budget": state.metadata["r1k_budget"]} if "r1k_budget" in state.metadata else {}),
            },
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


def _tags_flag(direction_tags) -> bool:
    """``-T direction_tags`` as a bool (Inspect passes task parameters as text or YAML values)."""
    from inspect_ai._util.error import PrerequisiteError

    if isinstance(direction_tags, str) and direction_tags.strip().lower() in ("true", "false"):
        return direction_tags.strip().lower() == "true"
    if not isinstance(direction_tags, bool):
        raise PrerequisiteError(f"error: -T direction_tags={direction_tags!r}: expected true or false")
    return direction_tags


def _correct(s: Score) -> bool:
    return s.value == CORRECT or s.value is True or s.value == 1 or s.value == 1.0


@score_reducer(name="avg_at_k")
def avg_at_k_reducer():
    """Mean correctness over an item's epochs (avg@k, the pass@1 estimate)."""
    from r1k_plugins.core.sampling_metrics import avg_at_k

    def reduce(scores: list[Score]) -> Score:
        return Score(value=avg_at_k([_correct(s) for s in scores]))

    return reduce


@score_reducer(name="pass_at_k")
def pass_at_k_reducer(k: int):
    """Unbiased pass@k of an item's epochs (r1k_plugins.core.sampling_metrics.pass_at_k)."""
    from r1k_plugins.core.sampling_metrics import pass_at_k

    def reduce(scores: list[Score]) -> Score:
        c = [_correct(s) for s in scores]
        if len(c) < k:  # a live display reduces before every epoch is in (as Inspect's pass_at does)
            return Score(value=float("nan"))
        return Score(value=pass_at_k(len(c), sum(c), k))

    return reduce


@score_reducer(name="maj_at_k")
def maj_at_k_reducer():
    """1 when the majority extracted answer of an item's epochs (grouped by the shared equivalence)
    is correct."""
    from r1k_plugins.core.sampling_metrics import maj_correct, same_answer

    def reduce(scores: list[Score]) -> Score:
        answer_type = next(
            ((s.metadata or {}).get("answer_type") for s in scores if (s.metadata or {}).get("answer_type")),
            "expression",
        )
        return Score(
            value=maj_correct([s.answer for s in scores], [_correct(s) for s in scores], same_answer(str(answer_type)))
        )

    return reduce


def sampling_plan(k, pass_k, temperature, top_p) -> tuple[Epochs | None, dict]:
    """Task parameters -> (epochs with the k-sample reducers or None, GenerateConfig settings)."""
    from inspect_ai._util.error import PrerequisiteError

    from r1k_plugins.core.errors import R1KError
    from r1k_plugins.core.sampling_metrics import check_k

    try:
        kk = check_k(k, what="-T k") if k not in (None, "") else None
        pk = check_k(pass_k, kk, what="-T pass_k") if pass_k not in (None, "") and kk else kk
        vals = {}
        for key, v, default, lo, hi in (
            ("temperature", temperature, 0.6, 0.0, 100.0),
            ("top_p", top_p, 0.95, 0.0, 1.0),
        ):
            if v in (None, ""):
                if kk is None:
                    continue
                v = default
            try:
                f = float(v)
            except (TypeError, ValueError):
                raise R1KError(f"-T {key}={v!r}: expected a number") from None
            if not (lo <= f <= hi):
                raise R1KError(f"-T {key}={v!r}: expected a number in [{lo:g}, {hi:g}]")
            vals[key] = f
        if kk is not None and vals.get("temperature") == 0:
            raise R1KError("-T k with -T temperature=0: k greedy answers are one answer; give temperature > 0")
    except R1KError as e:
        raise PrerequisiteError(f"error: {' '.join(str(e).split())}") from None
    if kk is None:
        return None, vals
    assert pk is not None  # pass_k defaults to k
    return Epochs(kk, [avg_at_k_reducer(), pass_at_k_reducer(pk), maj_at_k_reducer()]), vals


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


def _generation_task(
    name: str,
    data: str | None,
    limit: int | None,
    trace_format: str | None,
    max_tokens: int,
    k=None,
    pass_k=None,
    temperature=None,
    top_p=None,
    direction_tags=False,
    **budget,
) -> Task:
    epochs, sampling = sampling_plan(k, pass_k, temperature, top_p)
    tags = _tags_flag(direction_tags)
    solver = _budget_solver(budget, trace_format, max_tokens)
    records = _records_or_prerequisite_error(name, data, limit)
    samples = []
    for r in records:
        doc = generation_doc(r, trace_format, direction_tags=tags)
        samples.append(
            Sample(
                input=doc["prompt"],
                target=r.answer,
                id=r.id,
                metadata={"answer_type": r.answer_type, "direction": r.direction, "pair_id": r.pair_id},
            )
        )
    return Task(
        dataset=MemoryDataset(samples, name=name),
        solver=solver,
        scorer=r1k_scorer(),
        # greedy where the provider honours temperature; Inspect's local hf provider samples unless
        # it is given -M do_sample=false (a GenerateConfig cannot turn that off)
        config=GenerateConfig(max_tokens=int(max_tokens), **{"temperature": 0.0, **sampling}),
        epochs=epochs,
        name=name,
        version=1,
    )


@task
def r1k_forward(
    data: str | None = None,
    limit: int | None = None,
    trace_format: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    k: int | None = None,
    pass_k: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    direction_tags: bool = False,
    max_thinking_tokens: int | None = None,
    num_ignore: int | None = None,
    ignore_str: str | None = None,
    max_answer_tokens: int | None = None,
) -> Task:
    """Forward r1k questions (question -> answer). ``direction_tags``: prompts start with [forward] / [reverse]."""
    return _generation_task(
        "r1k_forward",
        data,
        limit,
        trace_format,
        max_tokens,
        k,
        pass_k,
        temperature,
        top_p,
        direction_tags,
        max_thinking_tokens=max_thinking_tokens,
        num_ignore=num_ignore,
        ignore_str=ignore_str,
        max_answer_tokens=max_answer_tokens,
    )


@task
def r1k_reverse(
    data: str | None = None,
    limit: int | None = None,
    trace_format: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    k: int | None = None,
    pass_k: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    direction_tags: bool = False,
    max_thinking_tokens: int | None = None,
    num_ignore: int | None = None,
    ignore_str: str | None = None,
    max_answer_tokens: int | None = None,
) -> Task:
    """Reverse r1k questions (given the answer, recover the hidden premise). ``direction_tags``: prompts
    start with [forward] / [reverse]."""
    return _generation_task(
        "r1k_reverse",
        data,
        limit,
        trace_format,
        max_tokens,
        k,
        pass_k,
        temperature,
        top_p,
        direction_tags,
        max_thinking_tokens=max_thinking_tokens,
        num_ignore=num_ignore,
        ignore_str=ignore_str,
        max_answer_tokens=max_answer_tokens,
    )


@task
def r1k_aime24(
    data: str | None = None,
    limit: int | None = None,
    trace_format: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    k: int | None = None,
    pass_k: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    max_thinking_tokens: int | None = None,
    num_ignore: int | None = None,
    ignore_str: str | None = None,
    max_answer_tokens: int | None = None,
) -> Task:
    """AIME 2024 (HuggingFaceH4/aime_2024) with the r1k prompt and scorer."""
    return _generation_task(
        "r1k_aime24",
        data,
        limit,
        trace_format,
        max_tokens,
        k,
        pass_k,
        temperature,
        top_p,
        False,
        max_thinking_tokens=max_thinking_tokens,
        num_ignore=num_ignore,
        ignore_str=ignore_str,
        max_answer_tokens=max_answer_tokens,
    )


@task
def r1k_math500(
    data: str | None = None,
    limit: int | None = None,
    trace_format: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    k: int | None = None,
    pass_k: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    max_thinking_tokens: int | None = None,
    num_ignore: int | None = None,
    ignore_str: str | None = None,
    max_answer_tokens: int | None = None,
) -> Task:
    """MATH-500 (HuggingFaceH4/MATH-500) with the r1k prompt and scorer."""
    return _generation_task(
        "r1k_math500",
        data,
        limit,
        trace_format,
        max_tokens,
        k,
        pass_k,
        temperature,
        top_p,
        False,
        max_thinking_tokens=max_thinking_tokens,
        num_ignore=num_ignore,
        ignore_str=ignore_str,
        max_answer_tokens=max_answer_tokens,
    )


@task
def r1k_gpqa_diamond(
    data: str | None = None,
    limit: int | None = None,
    trace_format: str | None = None,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    k: int | None = None,
    pass_k: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    max_thinking_tokens: int | None = None,
    num_ignore: int | None = None,
    ignore_str: str | None = None,
    max_answer_tokens: int | None = None,
) -> Task:
    """GPQA diamond (Idavidrein/gpqa, options shuffled with a fixed seed) with the r1k prompt and scorer."""
    return _generation_task(
        "r1k_gpqa_diamond",
        data,
        limit,
        trace_format,
        max_tokens,
        k,
        pass_k,
        temperature,
        top_p,
        False,
        max_thinking_tokens=max_thinking_tokens,
        num_ignore=num_ignore,
        ignore_str=ignore_str,
        max_answer_tokens=max_answer_tokens,
    )
