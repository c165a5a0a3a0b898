"""Budget forcing (s1): the shared algorithm, lm-eval's r1k-hf model and Inspect's solver on the tiny
model (greedy): the thinking stays within its budget (counted here with the tokenizer), "Wait"
appears exactly k times when the model tries to stop early, and both harnesses produce the same
text and verdicts."""

import glob
import json
from pathlib import Path

import pytest
from conftest import next_token_model, run

from r1k_plugins.core.budget import budget_forcing, budget_forcing_one, budget_spec
from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.vocab import S1_ANSWER, S1_THINK, THINK_CLOSE, THINK_OPEN

OPENING = {"s1": f"{S1_THINK}\n", "think-tags": f"{THINK_OPEN}\n"}
CLOSING = {"s1": S1_ANSWER, "think-tags": THINK_CLOSE}


def _thinking(text: str, fmt: str) -> str:
    """The thinking part of a budget-forced completion, cut out by its markers (the separator
    newline before the closing marker dropped)."""
    assert text.startswith(OPENING[fmt]), text
    body = text[len(OPENING[fmt]) : text.index(CLOSING[fmt])]
    return body[:-1] if body.endswith("\n") else body


# --- the algorithm alone, on a scripted generator (words as tokens) ---------------------------


def _words(text: str) -> int:
    return len(text.split())


def _scripted(rounds_before_stop: int):
    """A generator that writes ' w' tokens and ends its thinking after ``rounds_before_stop``."""
    calls = []

    def gen(prompt, budget, stop):
        calls.append((prompt, budget, tuple(stop)))
        n = min(budget, rounds_before_stop)
        return " w" * n, n, "length" if n == budget else "stop"

    return gen, calls


def test_wait_replaces_each_early_end_k_times():
    gen, calls = _scripted(3)
    spec = budget_spec(100, num_ignore=2)
    res = budget_forcing_one("Q ", gen, _words, spec, stop=["<|im_end|>"], max_answer_tokens=5)
    think = _thinking(res.text, "s1")
    assert think.count("Wait") == 2 and res.forced_continuations == 2 and not res.answer_forced
    assert res.rounds == [3, 3, 3] and res.thinking_tokens == _words(think) == 9  # "wWait" is one word
    assert res.text.endswith(f"\n{S1_ANSWER}\n w w w")
    assert "<|im_start|>" in calls[0][2] and "<|im_end|>" in calls[0][2]


def test_budget_caps_the_thinking_and_forces_the_answer():
    gen, calls = _scripted(1000)
    res = budget_forcing_one("Q ", gen, _words, budget_spec(7, num_ignore=3), max_answer_tokens=2)
    assert res.answer_forced and res.forced_continuations == 0 and res.thinking_tokens == 7
    assert _words(_thinking(res.text, "s1")) == 7
    assert res.text.endswith(f"{S1_ANSWER}\nFinal Answer: w w") and calls[-1][1] == 2


def test_ignores_stop_when_the_budget_has_no_room_left():
    gen, _ = _scripted(3)
    res = budget_forcing_one("Q ", gen, _words, budget_spec(8, num_ignore=5, trace_format="think-tags"))
    think = _thinking(res.text, "think-tags")
    assert _words(think) <= 8 and think.count("Wait") == res.forced_continuations
    assert res.text.startswith(f"{THINK_OPEN}\n") and THINK_CLOSE in res.text


def test_a_prompt_that_opens_the_thinking_is_not_opened_twice():
    gen, calls = _scripted(2)
    [res] = budget_forcing(
        ["<|im_start|>assistant\n<think>\n"],
        lambda p, b, s: [gen(x, y, s) for x, y in zip(p, b)],
        _words,
        budget_spec(10, trace_format="think-tags"),
    )
    assert not res.text.startswith(THINK_OPEN) and calls[0][0].count(THINK_OPEN) == 1


@pytest.mark.parametrize(
    "kw, needle",
    [
        ({"max_thinking_tokens": 0}, "max_thinking_tokens=0"),
        ({"max_thinking_tokens": -3}, "max_thinking_tokens=-3"),
        ({"max_thinking_tokens": "lots"}, "max_thinking_tokens='lots'"),
        ({"max_thinking_tokens": None}, "max_thinking_tokens is required"),
        ({"max_thinking_tokens": 5, "num_ignore": -1}, "num_ignore=-1"),
        ({"max_thinking_tokens": 5, "max_answer_tokens": 0}, "max_answer_tokens=0"),
        ({"max_thinking_tokens": 5, "trace_format": "xml"}, "unknown trace format"),
        ({"max_thinking_tokens": 5, "num_ignore": 1, "ignore_str": " "}, "ignore_str is empty"),
    ],
)
def test_bad_budget_options(kw, needle):
    with pytest.raises(R1KError) as e:
        budget_spec(**kw)
    assert needle in str(e.value) and "\n" not in str(e.value)


# --- the real harnesses on the tiny model ------------------------------------------------------


@pytest.fixture(scope="module")
def early_stopper(tiny_model, tmp_path_factory):
    """The tiny model rewired so that greedy thinking is ' so ok.' and then an end of thinking
    (``<|im_start|>``), again after every appended 'Wait' and after every marker's newline."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    enc = lambda s: tok.encode(s, add_special_tokens=False)  # noqa: E731
    nl, body, wait, end = enc("\n"), enc(" so ok."), enc("Wait"), enc("<|im_start|>")
    assert len(nl) == 1 and len(end) == 1 and enc(" so ok.Wait") == body + wait, "tokenizer assumption"
    assert enc(f"{S1_THINK}\n")[-1] == nl[0] and enc(f"{THINK_OPEN}\n")[-1] == nl[0]
    chain = body + end
    pairs = [(nl[0], body[0]), (wait[-1], body[0]), *zip(chain, chain[1:])]
    assert len({a for a, _ in pairs}) == len(pairs), "a token with two successors"
    out = tmp_path_factory.mktemp("early") / "model"
    next_token_model(tiny_model, out, pairs)
    return out


def _lm_eval(model, out: Path, budget: str, limit=2, extra=()):
    run(
        "lm_eval",
        "run",
        "--model",
        "r1k-hf",
        "--model_args",
        f"pretrained={model},dtype=float32,{budget}",
        "--tasks",
        "r1k_forward",
        "--limit",
        limit,
        "--apply_chat_template",
        "--gen_kwargs",
        "max_gen_toks=12",
        "--output_path",
        out,
        "--log_samples",
        *extra,
        cwd=out.parent,
        check=True,
    )
    [f] = glob.glob(str(out / "**" / "samples_r1k_forward_*.jsonl"), recursive=True)
    return [json.loads(l) for l in open(f)]


def _inspect(model, out: Path, params: list[str], limit=2):
    args = [a for p in params for a in ("-T", p)]
    run(
        "inspect",
        "eval",
        "r1k_plugins/r1k_forward",
        "--model",
        "hf/local",
        "-M",
        f"model_path={model}",
        "-M",
        "do_sample=false",
        "-T",
        f"limit={limit}",
        "-T",
        "max_tokens=12",
        *args,
        "--log-dir",
        out,
        "--log-format",
        "json",
        "--display",
        "none",
        cwd=out.parent,
        check=True,
    )
    [f] = glob.glob(str(out / "*.json"))
    return json.loads(Path(f).read_text())["samples"]


def _pairs(lm_samples, in_samples):
    """(lm-eval sample, Inspect sample) per item, in doc order."""
    lm = sorted(lm_samples, key=lambda s: s["doc_id"])
    ins = {s["id"]: s for s in in_samples}
    return [(s, ins[s["doc"]["id"]]) for s in lm]


@pytest.mark.e2e
@pytest.mark.parametrize("fmt", ["s1", "think-tags"])
def test_both_harnesses_wait_exactly_k_times_and_agree(early_stopper, tmp_path, fmt):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(early_stopper)
    k, budget = 3, 40
    lm = _lm_eval(early_stopper, tmp_path / "lm", f"max_thinking_tokens={budget},num_ignore={k},trace_format={fmt}")
    ins = _inspect(
        early_stopper, tmp_path / "in", [f"max_thinking_tokens={budget}", f"num_ignore={k}", f"trace_format={fmt}"]
    )
    if fmt != "s1":  # the Inspect prompt carries the trace format hint: so must lm-eval's
        lm = _lm_eval(
            early_stopper,
            tmp_path / "lm2",
            f"max_thinking_tokens={budget},num_ignore={k},trace_format={fmt}",
            extra=["--metadata", json.dumps({"r1k_trace_format": fmt})],
        )
    for s_lm, s_in in _pairs(lm, ins):
        text = s_lm["resps"][0][0]
        think = _thinking(text, fmt)
        assert think == " so ok." + "Wait so ok." * k, think
        log = s_lm["arguments"]["gen_args_0"]["arg_1"]["r1k_budget"][0]
        assert log["forced_continuations"] == k and log["answer_forced"] is False
        assert log["thinking_tokens"] == len(tok.encode(think, add_special_tokens=False)) <= budget
        # Inspect: the same text, the same log, the same verdict
        assert s_in["output"]["choices"][0]["message"]["content"] == text
        assert s_in["metadata"]["r1k_budget"] == log
        verdict = s_in["scores"]["r1k_scorer"]
        assert (verdict["value"] == "C") == (s_lm["acc"] == 1.0)
        assert (verdict.get("answer") or "") == s_lm["filtered_resps"][0]


@pytest.mark.e2e
def test_thinking_never_exceeds_the_budget_and_harnesses_agree(tiny_model, tmp_path):
    """The random tiny model never ends its thinking: every item is cut at the budget, counted here
    with the tokenizer, and the answer is forced; lm-eval and Inspect write the same text."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    budget = 17
    lm = _lm_eval(tiny_model, tmp_path / "lm", f"max_thinking_tokens={budget},num_ignore=2", limit=3)
    ins = _inspect(tiny_model, tmp_path / "in", [f"max_thinking_tokens={budget}", "num_ignore=2"], limit=3)
    assert len(lm) == len(ins) == 3
    for s_lm, s_in in _pairs(lm, ins):
        text = s_lm["resps"][0][0]
        think = _thinking(text, "s1")
        n = len(tok.encode(think, add_special_tokens=False))
        log = s_lm["arguments"]["gen_args_0"]["arg_1"]["r1k_budget"][0]
        assert n <= budget and log["thinking_tokens"] <= budget
        if log["answer_forced"]:
            assert f"{S1_ANSWER}\nFinal Answer:" in text
        assert s_in["output"]["choices"][0]["message"]["content"] == text
        assert s_in["metadata"]["r1k_budget"] == log
        assert (s_in["scores"]["r1k_scorer"]["value"] == "C") == (s_lm["acc"] == 1.0)


def _one_line_error(proc, *needles):
    """lm_eval logs INFO lines on stderr before the model is built: the error is its last line, the only
    one that starts with 'error:', exit 2, no traceback."""
    err = proc.stderr.strip()
    assert proc.returncode == 2 and "Traceback" not in err, err[-3000:]
    errors = [l for l in err.splitlines() if l.startswith("error:")]
    assert len(errors) == 1 and err.splitlines()[-1] == errors[0], err[-3000:]
    for n in needles:
        assert n in errors[0], (n, errors[0])


@pytest.mark.e2e
def test_bad_budget_input_is_one_line(tiny_model, tmp_path):
    p = run(
        "lm_eval",
        "run",
        "--model",
        "r1k-hf",
        "--model_args",
        f"pretrained={tiny_model},max_thinking_tokens=0",
        "--tasks",
        "r1k_forward",
        "--limit",
        1,
        cwd=tmp_path,
    )
    _one_line_error(p, "max_thinking_tokens=0", "r1k-hf")
    p = run(
        "lm_eval",
        "run",
        "--model",
        "r1k-hf",
        "--model_args",
        f"pretrained={tiny_model},max_thinking_tokens=8,trace_format=xml",
        "--tasks",
        "r1k_forward",
        "--limit",
        1,
        cwd=tmp_path,
    )
    _one_line_error(p, "unknown trace format")
    p = run(
        "lm_eval",
        "run",
        "--model",
        "r1k-vllm",
        "--model_args",
        f"pretrained={tiny_model},max_thinking_tokens=8",
        "--tasks",
        "r1k_forward",
        "--limit",
        1,
        cwd=tmp_path,
    )
    _one_line_error(p, "r1k-vllm needs vLLM")
    # Inspect prints the task's one-line error on stdout under --display plain, before any model runs
    p = run(
        "inspect",
        "eval",
        "r1k_plugins/r1k_forward",
        "--model",
        "mockllm/model",
        "-T",
        "max_thinking_tokens=0",
        "--log-dir",
        tmp_path / "logs",
        "--display",
        "plain",
        cwd=tmp_path,
    )
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    assert p.returncode == 1 and "Traceback" not in p.stdout + p.stderr, p.stdout[-3000:] + p.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("error: -T max_thinking_tokens=0"), p.stdout[-3000:]
