"""Budget forcing (s1, Muennighoff et al. 2025): control how long a model thinks, one algorithm for
every harness.

The model is made to open its thinking section; thinking is generated with at most
``max_thinking_tokens`` tokens (counted on the thinking text with the model's tokenizer, the
appended "Wait"s included). When the model tries to end its thinking early, the end is suppressed
``num_ignore`` times: the end marker is dropped and ``ignore_str`` ("Wait") is appended, and
thinking goes on. When the budget runs out, the end-of-thinking marker is appended with s1's answer
prompt (``Final Answer:``); the answer is then generated with at most ``max_answer_tokens``.

The harness adapters (``r1k_plugins.eval.budget_lm`` for lm-eval's ``hf`` / ``vllm`` backends,
``r1k_plugins.eval.inspect_tasks`` for Inspect) only supply a ``generate`` callback and a token
counter; everything else is decided here, so both harnesses produce the same text.

``generate(prompts, max_new_tokens, stop)`` takes a batch: prompt texts, a budget per prompt and
the stop strings, and returns per prompt ``(text, n_tokens, stopped)`` with ``text`` cut before the
first stop string (or the model's end-of-sequence token) and ``stopped`` one of ``"stop"`` (a stop
string or end-of-sequence ended it) or ``"length"`` (the budget did).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.vocab import END_TOKENS, S1_ANSWER, S1_THINK, THINK_CLOSE, THINK_OPEN, TRACE_FORMATS

__all__ = [
    "BudgetSpec",
    "BudgetResult",
    "budget_spec",
    "budget_forcing",
    "budget_forcing_one",
    "thinking_stops",
    "ANSWER_PROMPT",
    "BUDGET_OPTIONS",
]

ANSWER_PROMPT = "Final Answer:"
"""What s1 appends after the end-of-thinking marker when the thinking budget ran out."""

BUDGET_OPTIONS = ("max_thinking_tokens", "num_ignore", "ignore_str", "max_answer_tokens", "trace_format")
"""The option names, the same in lm-eval's ``--model_args`` and Inspect's ``-T``."""

Generate = Callable[[Sequence[str], Sequence[int], Sequence[str]], list[tuple[str, int, str]]]


@dataclass(frozen=True)
class BudgetSpec:
    """Budget forcing settings (validated: :func:`budget_spec` builds one from option strings)."""

    max_thinking_tokens: int
    num_ignore: int = 0
    ignore_str: str = "Wait"
    max_answer_tokens: int | None = None  # None: the harness's generation budget
    trace_format: str = "s1"


@dataclass
class BudgetResult:
    """One item's outcome. ``text`` is the completion after the prompt (thinking opening included
    unless the prompt already ended with it), what the scorer reads."""

    text: str
    thinking: str
    thinking_tokens: int
    forced_continuations: int  # how many times ignore_str replaced an end of thinking
    answer_forced: bool  # the thinking budget ran out and the end of thinking was appended
    answer_tokens: int = 0
    answer_stopped: str = ""
    rounds: list[int] = field(default_factory=list)  # tokens generated per thinking round

    def log(self) -> dict:
        """What each harness logs per item."""
        d = asdict(self)
        for k in ("text", "thinking"):
            d.pop(k)
        return d


def _int_option(name: str, value, minimum: int) -> int:
    if isinstance(value, bool):
        raise R1KError(f"{name}={value!r}: expected a whole number >= {minimum}")
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        raise R1KError(f"{name}={value!r}: expected a whole number >= {minimum}") from None
    if n < minimum:
        raise R1KError(f"{name}={value!r}: expected a whole number >= {minimum}")
    return n


def budget_spec(
    max_thinking_tokens, num_ignore=0, ignore_str="Wait", max_answer_tokens=None, trace_format=None
) -> BudgetSpec:
    """Validate budget forcing options (strings or numbers) -> :class:`BudgetSpec`.

    Raises :class:`R1KError` with a one-line message naming the option and the fix."""
    if max_thinking_tokens in (None, ""):
        raise R1KError("max_thinking_tokens is required for budget forcing: give a whole number >= 1")
    think = _int_option("max_thinking_tokens", max_thinking_tokens, 1)
    ignore = _int_option("num_ignore", 0 if num_ignore in (None, "") else num_ignore, 0)
    answer = None if max_answer_tokens in (None, "") else _int_option("max_answer_tokens", max_answer_tokens, 1)
    fmt = trace_format or "s1"
    if fmt not in TRACE_FORMATS:
        raise R1KError(f"trace_format={fmt!r}: unknown trace format; use one of {', '.join(TRACE_FORMATS)}")
    ignore_str = "Wait" if ignore_str is None else str(ignore_str)
    if ignore and not ignore_str.strip():
        raise R1KError("ignore_str is empty: give the text appended when an end of thinking is ignored (e.g. Wait)")
    return BudgetSpec(think, ignore, ignore_str, answer, fmt)


def _markers(trace_format: str) -> tuple[str, str]:
    """(opening written before the thinking, closing marker that ends it)."""
    if trace_format == "s1":
        return f"{S1_THINK}\n", S1_ANSWER
    return f"{THINK_OPEN}\n", THINK_CLOSE


def thinking_stops(trace_format: str, stop: Sequence[str] = ()) -> list[str]:
    """Where a thinking round stops: the format's end of thinking (any ChatML marker for s1, whose
    end is ``<|im_start|>answer``; ``</think>``), the end-of-turn tokens and the harness's stops."""
    own = ["<|im_start|>"] if trace_format == "s1" else [THINK_CLOSE]
    return list(dict.fromkeys([*own, *END_TOKENS, *stop]))


def _answer_stops(stop: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*END_TOKENS, *stop]))


def _trim(text: str, budget: int, count: Callable[[str], int]) -> str:
    """The longest prefix of ``text`` that counts at most ``budget`` tokens."""
    if count(text) <= budget:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # largest length whose prefix fits
        mid = (lo + hi + 1) // 2
        if count(text[:mid]) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


def budget_forcing(
    prompts: Sequence[str],
    generate: Generate,
    count_tokens: Callable[[str], int],
    spec: BudgetSpec,
    stop: Sequence[str] = (),
    max_answer_tokens: int = 256,
) -> list[BudgetResult]:
    """Run budget forcing on a batch of prompts (rendered, e.g. by a chat template, up to where the
    assistant's text begins). ``stop``: the harness's stop strings; ``max_answer_tokens``: the answer
    budget when ``spec`` has none."""
    opening, closing = _markers(spec.trace_format)
    n = len(prompts)
    # a prompt that already opens the thinking (R1-style chat templates put "<think>\n" there)
    heads = ["" if p.rstrip().endswith(opening.strip()) else opening for p in prompts]
    thinking = [""] * n
    forced = [0] * n
    cut = [False] * n
    rounds: list[list[int]] = [[] for _ in range(n)]
    t_stops = thinking_stops(spec.trace_format, stop)
    active = list(range(n))
    while active:
        todo, budgets = [], []
        for i in active:
            left = spec.max_thinking_tokens - count_tokens(thinking[i])
            if left <= 0:
                cut[i] = True
            else:
                todo.append(i)
                budgets.append(left)
        if not todo:
            break
        outs = generate([prompts[i] + heads[i] + thinking[i] for i in todo], budgets, t_stops)
        active = []
        for i, (text, n_tok, stopped) in zip(todo, outs):
            rounds[i].append(int(n_tok))
            thinking[i] += text
            if stopped == "length" or count_tokens(thinking[i]) > spec.max_thinking_tokens:
                cut[i] = True  # the budget ended this round: force the answer
                continue
            # the model ended its thinking: suppress the end while ignores are left and the
            # appended string leaves room for at least one more token
            if forced[i] < spec.num_ignore:
                longer = thinking[i] + spec.ignore_str
                if count_tokens(longer) < spec.max_thinking_tokens:
                    thinking[i] = longer
                    forced[i] += 1
                    active.append(i)
    tails = []
    for i in range(n):
        thinking[i] = _trim(thinking[i], spec.max_thinking_tokens, count_tokens)
        sep = "" if thinking[i].endswith("\n") or not thinking[i] else "\n"
        tails.append(f"{sep}{closing}\n{ANSWER_PROMPT}" if cut[i] else f"{sep}{closing}\n")
    budget = spec.max_answer_tokens or max_answer_tokens
    outs = generate(
        [prompts[i] + heads[i] + thinking[i] + tails[i] for i in range(n)], [budget] * n, _answer_stops(stop)
    )
    return [
        BudgetResult(
            text=heads[i] + thinking[i] + tails[i] + text,
            thinking=thinking[i],
            thinking_tokens=count_tokens(thinking[i]),
            forced_continuations=forced[i],
            answer_forced=cut[i],
            answer_tokens=int(n_tok),
            answer_stopped=stopped,
            rounds=rounds[i],
        )
        for i, (text, n_tok, stopped) in enumerate(outs)
    ]


def budget_forcing_one(
    prompt: str,
    generate_one: Callable[[str, int, Sequence[str]], tuple[str, int, str]],
    count_tokens: Callable[[str], int],
    spec: BudgetSpec,
    stop: Sequence[str] = (),
    max_answer_tokens: int = 256,
) -> BudgetResult:
    """:func:`budget_forcing` for one prompt with a one-prompt ``generate(prompt, max_new_tokens, stop)``."""

    def batch(prompts, budgets, stops):
        return [generate_one(p, b, stops) for p, b in zip(prompts, budgets)]

    return budget_forcing([prompt], batch, count_tokens, spec, stop, max_answer_tokens)[0]
