"""Tests for r1k_plugins.core.scoring (and its parts), the single scoring module used by the lm-eval and
Inspect tasks."""

from __future__ import annotations

import threading
import time

import pytest

from r1k_plugins.core import equivalence, latex, pool, scoring
from r1k_plugins.core.scoring import (
    DEFAULT_TIMEOUT,
    extract_answer,
    is_equivalent,
    score_response,
    split_reasoning,
)

S1 = "<|im_start|>think\n{r}\n<|im_start|>answer\n{a}<|im_end|>"
TAGS = "<think>\n{r}\n</think>\n{a}"


@pytest.fixture(scope="module", autouse=True)
def _pool():
    scoring.warm_up()
    yield


# ------------------------------------------------------------------------------ split_reasoning


def test_split_s1():
    r, f, done = split_reasoning(S1.format(r="2+2 is 4", a="Answer: \\boxed{4}"))
    assert (r, f, done) == ("2+2 is 4", "Answer: \\boxed{4}", True)


def test_split_think_tags_and_bare_close():
    assert split_reasoning(TAGS.format(r="hmm", a="So \\boxed{4}.")) == ("hmm", "So \\boxed{4}.", True)
    # the chat template put <think> in the prompt: only </think> appears in the completion
    assert split_reasoning("hmm\n</think>\n42") == ("hmm", "42", True)


def test_split_plain():
    assert split_reasoning("The answer is 4.") == (None, "The answer is 4.", True)
    assert split_reasoning("") == (None, "", True)


@pytest.mark.parametrize(
    "text",
    [
        "<|im_start|>think\nlet me see... \\boxed{4}",
        "<think>\nlet me see \\boxed{4}",
        # re-opened thinking after an answer marker, never closed again
        "<|im_start|>think\na\n<|im_start|>answer\n3\n<|im_start|>think\nwait",
        "<think>a</think> 3 <think> wait",
    ],
)
def test_split_unfinished(text):
    reasoning, final, finished = split_reasoning(text)
    assert finished is False and final == ""
    assert reasoning


# ------------------------------------------------------------------------------ extract_answer


@pytest.mark.parametrize(
    "text,answer_type,expected",
    [
        ("so \\boxed{\\frac{1}{2}}.", "expression", "\\frac{1}{2}"),
        ("\\boxed{\\frac{\\sqrt{3}}{2}}", "expression", "\\frac{\\sqrt{3}}{2}"),
        ("first \\boxed{3}, then corrected: \\boxed{5}", "numeric", "5"),
        ("\\fbox{7}", "numeric", "7"),
        ("\\boxed 9$", "numeric", "9"),
        ("unbalanced at the end \\boxed{4} and \\boxed{", "numeric", "4"),
        ("\\boxed{\\{1, 2\\}}", "expression", "\\{1, 2\\}"),
        ("Final Answer: The final answer is $24$. I hope it is correct.", "numeric", "24"),
        ("**Final Answer:** 17", "numeric", "17"),
        ("The answer is: $x^2+1$.", "expression", "x^2+1"),
        ("Answer:\n\n42", "numeric", "42"),
        ("The area is 25 square units.", "numeric", "25"),
        ("Answer: The area is 25 square units.", "numeric", "25"),
        ("We get 12 apples and then 1,000 more", "numeric", "1,000"),
        ("so the result is -3.5", "numeric", "-3.5"),
        ("Answer: LEMON", "text", "LEMON"),
        # the last stated answer wins over an earlier (abandoned) box ...
        ("Maybe \\boxed{64}? No, let me re-check.\n\nAnswer: $9 \\sqrt 2$", "expression", "9 \\sqrt 2"),
        ("\\boxed{24}$.\nFinal Answer: The final answer is $24$. I hope it is correct.", "numeric", "24"),
        # ... but not prose that merely mentions 'the answer is'
        ("So \\boxed{5}. The answer is correct because we checked it twice.", "numeric", "5"),
        ("Answer: the value is \\boxed{7}", "numeric", "7"),
        ("**Answer:** $\\$91259$", "numeric", "\\$91259"),
        ("paris", "text", "paris"),
        ("$\\frac{3}{4}$", "expression", "\\frac{3}{4}"),
        ("x^2 + \\sqrt{2}", "expression", "x^2 + \\sqrt{2}"),
        ("no answer here at all, just some words\nand more words", "expression", None),
        ("", "numeric", None),
    ],
)
def test_extract(text, answer_type, expected):
    assert extract_answer(text, answer_type) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("I think the answer is (C) because A is wrong", "C"),
        ("The answer is B.", "B"),
        ("Answer: D", "D"),
        ("\\boxed{B}", "B"),
        ("\\boxed{\\text{(B)}}", "B"),
        ("so \\boxed{(A) 42}", "A"),
        ("(B)", "B"),
        ("B) because it is bigger", "B"),
        ("**C**", "C"),
        ("The correct option is (d).", "D"),
        ("Options (A) and (C) fail, so the answer is I think (B)", "B"),
        ("the answer is a prime number", None),
        ("nothing to see", None),
    ],
)
def test_extract_choice(text, expected):
    assert extract_answer(text, "choice") == expected


def test_extract_only_from_final_part():
    s1 = S1.format(r="maybe \\boxed{3}", a="Answer: \\boxed{5}")
    assert extract_answer(s1, "numeric") == "5"
    assert extract_answer(TAGS.format(r="\\boxed{3}", a="final: \\boxed{8}"), "numeric") == "8"
    assert extract_answer("<think>\\boxed{3} and still thinking", "numeric") is None


def test_extract_rejects_unknown_type():
    with pytest.raises(ValueError):
        extract_answer("\\boxed{1}", "integer")


# ------------------------------------------------------------------------------ is_equivalent

EQUIV = [
    # fractions / decimals / dfrac / negatives
    ("\\frac{1}{2}", "0.5", "numeric", True),
    ("0.5", "\\frac12", "expression", True),
    ("\\dfrac{3}{4}", "\\frac{3}{4}", "expression", True),
    ("3/4", "0.75", "numeric", True),
    ("-\\frac{2}{3}", "\\frac{-2}{3}", "expression", True),
    ("-3", "-3.0", "numeric", True),
    ("-3", "3", "numeric", False),
    ("0.333333", "\\frac{1}{3}", "numeric", True),  # math_verify rounds to 6 places
    ("0.3333", "\\frac{1}{3}", "numeric", False),
    # thousands separators
    ("1,000", "1000", "numeric", True),
    ("1{,}000", "1000", "numeric", True),
    ("1\\,000", "1000", "numeric", True),
    ("1,001", "1000", "numeric", False),
    # units, degrees, dollars, assignments
    ("5 \\text{ cm}", "5", "numeric", True),
    ("5 cm", "5", "numeric", True),
    ("5 cm", "5", "expression", True),
    ("5cm", "5", "numeric", True),
    ("5 \\text{ cm}^2", "5", "expression", True),
    ("6 cm", "5", "numeric", False),
    ("10^\\circ", "10", "numeric", True),
    ("\\$12.50", "12.5", "numeric", True),
    ("x = -7", "-7", "numeric", True),
    # percents: '%' on either side accepts x and x/100; no '%' -> no scaling
    ("50\\%", "50", "numeric", True),
    ("50\\%", "0.5", "numeric", True),
    ("0.5", "50\\%", "numeric", True),
    ("0.5", "50", "numeric", False),
    ("50 percent", "50", "numeric", True),
    # \left( ... \right), sets, tuples, intervals
    ("\\left(1, 2\\right)", "(1,2)", "expression", True),
    ("\\left( -1, \\frac{1}{2} \\right)", "(-1, 0.5)", "expression", True),
    ("\\{1,2\\}", "\\{2,1\\}", "expression", True),
    ("(3,2,1)", "(1,2,3)", "expression", False),
    ("(3,2,1)", "\\{1,2,3\\}", "expression", True),  # math_verify: a set equals a same-element tuple
    ("\\{1,2\\}", "\\{1,3\\}", "expression", False),
    ("[2,5)", "[2, 5)", "expression", True),
    ("[2,5]", "[2, 5)", "expression", False),
    # symbolic (math_verify path)
    ("x^2+2x+1", "(x+1)^2", "expression", True),
    ("x^2+1", "x^2-1", "expression", False),
    ("2\\sqrt{3}", "\\sqrt{12}", "expression", True),
    ("\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}", "expression", True),
    ("\\boxed{\\pi}", "\\pi", "expression", True),
    # text: case, whitespace, punctuation, \text{}
    ("lemon", "LEMON", "text", True),
    ("Ice-Cream", "ice cream", "text", True),
    ("\\text{Paris}.", "paris", "text", True),
    ("  new   york ", "New York", "text", True),
    ("Pariss", "paris", "text", False),
    # choice
    ("B", "(B)", "choice", True),
    ("\\text{(B)}", "B", "choice", True),
    ("b", "B", "choice", True),
    ("C", "B", "choice", False),
    ("I think the answer is (C) because A is wrong", "C", "choice", True),
    # nothing to compare
    (None, "1", "numeric", False),
    ("", "1", "numeric", False),
    ("   ", "x", "text", False),
]


@pytest.mark.parametrize("pred,gold,answer_type,expected", EQUIV)
def test_is_equivalent(pred, gold, answer_type, expected):
    assert is_equivalent(pred, gold, answer_type) is expected


def test_fast_path_does_not_touch_workers():
    before = dict(pool.STATS)
    assert equivalence.compare("1,000", "1000", "numeric", 1.0) == (True, "fast")
    assert equivalence.compare("\\frac{1}{2}", "0.5", "numeric", 1.0) == (True, "fast")
    assert equivalence.compare("7", "8", "numeric", 1.0) == (False, "fast")
    assert equivalence.compare("\\{3, 1, 2\\}", "\\{1,2,3\\}", "expression", 1.0) == (True, "fast")
    assert equivalence.compare("\\left(-6, \\frac{1}{2}\\right)", "(-6, 0.5)", "expression", 1.0) == (True, "fast")
    assert equivalence.compare("(-6, 4)", "(4, -6)", "expression", 1.0) == (False, "fast")
    assert pool.STATS == before


# ------------------------------------------------------------------------------ score_response


@pytest.mark.parametrize(
    "response,gold,answer_type,correct,reason,extracted",
    [
        (S1.format(r="2*21", a="Answer: \\boxed{42}"), "42", "numeric", True, "correct", "42"),
        (TAGS.format(r="half", a="It is \\boxed{\\dfrac{1}{2}}."), "0.5", "numeric", True, "correct", "\\dfrac{1}{2}"),
        (TAGS.format(r="hmm", a="\\boxed{43}"), "42", "numeric", False, "wrong", "43"),
        ("The answer is (C) because A is wrong.", "C", "choice", True, "correct", "C"),
        (S1.format(r="it is a fruit", a="Answer: Lemon"), "LEMON", "text", True, "correct", "Lemon"),
        (
            "<|im_start|>think\nI believe \\boxed{42} but let me check",
            "42",
            "numeric",
            False,
            "unfinished_thinking",
            None,
        ),
        ("<think>\n\\boxed{42}", "42", "numeric", False, "unfinished_thinking", None),
        ("", "42", "numeric", False, "empty", None),
        ("  \n ", "42", "numeric", False, "empty", None),
        (TAGS.format(r="\\boxed{42}", a=""), "42", "numeric", False, "no_answer", None),
        ("I cannot solve this.", "x^2", "expression", False, "no_answer", None),
    ],
)
def test_score_response(response, gold, answer_type, correct, reason, extracted):
    out = score_response(response, gold, answer_type)
    assert out == {
        "correct": correct,
        "extracted": extracted,
        "finished": reason != "unfinished_thinking",
        "reason": reason,
    }


def test_one_megabyte_response_is_fast():
    filler = "Let me think about this step by step, 3 + 4 = 7 and \\frac{1}{2} {x} \\boxed{ \n" * 13_000
    assert len(filler) > 1_000_000
    t0 = time.monotonic()
    assert score_response(TAGS.format(r=filler, a="\\boxed{42}"), "42", "numeric")["correct"]
    assert score_response(filler + "\nFinal answer: \\boxed{42}", "42", "numeric")["correct"]
    out = score_response(filler, "42", "expression")  # only broken boxes in 1 MB
    assert out["correct"] is False
    assert score_response("<think>" + filler, "42", "numeric")["reason"] == "unfinished_thinking"
    assert extract_answer("{" * 1_000_000, "choice") is None
    assert time.monotonic() - t0 < 2.0


# ------------------------------------------------------------------------------ time bound

PATHOLOGICAL = "9^{9^{9^9}}"
BOUND = 1.0
SLACK = 1.5  # scheduling noise on a loaded 2-core box


def _timed(fn):
    t0 = time.monotonic()
    out = fn()
    return out, time.monotonic() - t0


def test_pathological_main_thread():
    (ok, how), dt = _timed(lambda: equivalence.compare(PATHOLOGICAL, "5", "expression", BOUND))
    assert (ok, how) == (False, "timeout")
    assert dt < BOUND + SLACK
    out, dt = _timed(lambda: score_response(f"\\boxed{{{PATHOLOGICAL}}}", "5", "expression", timeout=BOUND))
    assert out["reason"] == "timeout" and out["correct"] is False
    assert dt < BOUND + SLACK


def _in_thread(fn):
    box = {}
    th = threading.Thread(target=lambda: box.update(out=_timed(fn)), daemon=True)
    th.start()
    th.join(BOUND + SLACK + 30)
    assert not th.is_alive(), "scoring hung in a worker thread"
    return box["out"]


def test_pathological_worker_thread():
    (ok, how), dt = _in_thread(lambda: equivalence.compare("8^{8^{8^8}}", "5", "expression", BOUND))
    assert (ok, how) == (False, "timeout")
    assert dt < BOUND + SLACK


def test_stuck_worker_is_killed_and_replaced():
    """A worker stuck where its own timer cannot interrupt it (signals blocked) is killed by
    the caller at the deadline, from the main thread and from a worker thread alike."""
    scoring.warm_up()
    kills = pool.STATS["worker_kills"]
    (ok, how), dt = _timed(lambda: pool.math_verify_equal("1", "2", BOUND, _debug="block"))
    assert (ok, how) == (False, "timeout") and dt < BOUND + SLACK
    scoring.warm_up()  # the replacement is already starting; wait for it
    (ok, how), dt = _in_thread(lambda: pool.math_verify_equal("1", "3", BOUND, _debug="block"))
    assert (ok, how) == (False, "timeout") and dt < BOUND + SLACK
    assert pool.STATS["worker_kills"] >= kills + 2
    scoring.warm_up()
    # the pool recovered: a normal symbolic comparison works again
    assert is_equivalent("x^2+2x+1", "(1+x)^2", "expression")


def test_concurrent_threads_agree():
    cases = [c for c in EQUIV if c[0] is not None][:30]
    results = [None] * len(cases)

    def run(i):
        p, g, t, _ = cases[i]
        results[i] = is_equivalent(p, g, t)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(cases))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert results == [c[3] for c in cases]


def test_default_timeout_is_sane():
    assert 0 < DEFAULT_TIMEOUT <= 30


# ------------------------------------------------------------------------------ agreement set

import json  # noqa: E402
from pathlib import Path  # noqa: E402

_CASES_FILE = Path(__file__).with_name("scorer_cases.jsonl")
_CASES = [json.loads(line) for line in _CASES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_cases_file_matches_its_generator():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_scorer_cases", _CASES_FILE.with_name("make_scorer_cases.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.build() == _CASES
    cats = {c["category"] for c in _CASES}
    assert {
        "mixed_number",
        "latex_thousands",
        "multi_box",
        "text_final",
        "plain_text_math",
        "percent_words",
        "assignment",
        "malformed_box",
        "matrix",
        "factorial",
    } <= cats
    assert len(_CASES) >= 300


@pytest.mark.parametrize("case", _CASES, ids=[f"{c['id']}-{c['category']}" for c in _CASES])
def test_agreement_case(case):
    res = score_response(case["response"], case["gold"], case["answer_type"])
    assert res["correct"] is case["expected"], res


@pytest.mark.parametrize(
    "pred,gold,expected",
    [
        ("7 2/3", "23/3", True),
        ("7 2/3", "14/3", False),  # not 7*2/3
        ("7 2/0", "7", False),
        ("7 2/0", "7 2/0", False),  # over zero: no number, equals nothing
        ("5 0/3", "5", True),
        ("-1 1/2", "-1.5", True),
        ("+1 1/2", "1.5", True),
        ("12,\\! 345", "12345", True),
        ("12 345 1/2", "12345.5", True),
    ],
)
def test_mixed_numbers_fast_path(pred, gold, expected):
    assert equivalence.compare(pred, gold, "numeric", DEFAULT_TIMEOUT) == (expected, "fast")


def test_plain_math_becomes_latex_not_code():
    assert latex.plain_to_latex("(2*sqrt(7))/5") == "(2*\\sqrt{7})/5"
    assert latex.plain_to_latex("3**(1/3)") == "3^{1/3}"
    assert latex.plain_to_latex("cbrt(2)*pi") == "\\sqrt[3]{2}*\\pi "
    # a hostile answer is text for the LaTeX parser, never run: comparing it is just 'not equal'
    assert is_equivalent("__import__('os').system('touch /tmp/r1k-pwned')", "0", "expression") is False
    assert not Path("/tmp/r1k-pwned").exists()


@pytest.mark.parametrize(
    "text,expected",
    [
        ("The solutions are $\\boxed{2}$ and $\\boxed{4}$.", "2, 4"),
        ("first \\boxed{3}; after checking everything again we find \\boxed{5}", "5"),
        ("Final Answer: The smallest $k$ is 17.", "17"),
        ("The final answer is 17. This follows from parity.", "17"),
        ("Hence \x08oxed{17}.", "17"),
        ("\\begin{boxed}17\\end{boxed}", "17"),
        ("cut off: \\boxed{17", "17"),
        ("The answer is $-3$ and $5$.", "-3, 5"),
    ],
)
def test_extract_new_forms(text, expected):
    assert extract_answer(text, "expression") == expected


# ------------------------------------------------------------------------------ issue 20: more forms


@pytest.mark.parametrize(
    "text,expected",
    [
        ("\\boxed{9} " * 40 + "\\boxed{42}", "42"),  # a flood of repeated boxes: the last box
        ("\\boxed{3}, \\boxed{3}, \\boxed{5}", "5"),
        ("the roots are \\boxed{-1} and \\boxed{3}", "-1, 3"),  # distinct boxes: one list answer
        ("so the answer is boxed {42}", "42"),
        ("so \\beginboxed{42}", "42"),
        ("so \u25a1{42}", "42"),
        ("Final answer:\n\\begin{pmatrix}\n1 \\\\\n2\n\\end{pmatrix}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"),
        ("Thus the probability is 2/3. <|im_start|>user\nWhat is 5/7?", "2/3"),
    ],
)
def test_extract_issue20_forms(text, expected):
    assert extract_answer(text, "expression") == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("so I'd go with C", "C"),
        ("it can't be A or B, the answer is D", "D"),
        ("Option C is correct.", "C"),
        ("ANSWER: A, B", "A, B"),
        ("The answers are (A) and (C).", "A, C"),
        ("The answer is C and D is wrong.", "C"),
        ("ANSWERS: B", "B"),
    ],
)
def test_extract_choice_prose_and_sets(text, expected):
    assert extract_answer(text, "choice") == expected


@pytest.mark.parametrize(
    "pred,gold,expected",
    [
        ("A, B", "A", False),  # an extra letter
        ("A", "A, B", False),  # a missing letter
        ("B, A", "A,B", True),
        ("A, B", "AB", True),  # Inspect's Target(["A", "B"]).text
        ("(C)", "C", True),
    ],
)
def test_choice_letter_sets(pred, gold, expected):
    assert is_equivalent(pred, gold, "choice") is expected
    assert equivalence.compare(pred, gold, "choice")[1] == "fast"


def test_unicode_math_and_cjk():
    assert latex.unicode_math("2¼") == "2 1/4"
    assert latex.unicode_math("-½") == "-1/2"
    assert latex.unicode_math("−3") == "-3"
    assert latex.unicode_math("４２") == "42"
    assert latex.unicode_math("x²") == "x^{2}"
    assert latex.unicode_math("5 m²", superscripts=False) == "5 m"
    assert latex.unicode_math("plain ascii") == "plain ascii"
    assert [latex.cjk_to_int(s) for s in ("三", "十二", "二十", "一百零五", "二〇二四", "负五", "三万")] == [
        3,
        12,
        20,
        105,
        2024,
        -5,
        30000,
    ]


@pytest.mark.parametrize(
    "pred,gold,answer_type,expected",
    [
        ("5 1/2\\%", "0.055", "numeric", True),
        ("5 1/2\\%", "5.5", "numeric", False),  # the percent applies to the whole mixed number
        ("4 4/9%", "4 4/9\\%", "expression", True),
        ("11 7/6", "73/6", "expression", False),  # an improper mixed number is no number
        ("½", "0.5", "numeric", True),
        ("2¼", "9/4", "numeric", True),
        ("三", "3", "numeric", True),
        ("1, 2, 3, \\ldots", "1, 2, 3", "expression", False),
        ("1, 2, 3, ...", "1,2,3,\\dots", "expression", True),
        ("1e3", "1000", "numeric", True),
        ("The capital is Paris", "Paris", "text", True),
    ],
)
def test_equivalence_issue20(pred, gold, answer_type, expected):
    assert is_equivalent(pred, gold, answer_type) is expected


def test_whole_response_that_is_the_gold_answer():
    out = score_response("odd $n$", "odd $n$", "expression")
    assert out["correct"] and out["extracted"] == "odd $n$"
    assert not score_response("even $n$", "odd $n$", "expression")["correct"]
    # lm-eval's filter takes the same answer as the Inspect scorer
    assert scoring.extract_answer_for("odd $n$", "odd $n$", "expression") == "odd $n$"
    assert scoring.extract_answer_for("We get $x=5$", "5", "expression") == "x=5"
    assert scoring.extract_answer_for("<think>\\boxed{5}", "5", "numeric") is None
