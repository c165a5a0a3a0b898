"""Benchmark r1k_plugins.core.scoring against lm-eval's minerva_math math_verify path.

Usage:  python benchmarks/scoring.py [--n 2400] [--seed 0] [--show-disagreements 10]

Generates N varied responses deterministically (s1 / think-tag / plain / unfinished traces;
numeric, expression, choice and text answers; about half correct), then, in the same run and on
the same responses:

* ours:   ``r1k_plugins.core.scoring.score_response(response, gold, answer_type)`` (all items);
* lm-eval: the math_verify block of ``lm_eval/tasks/minerva_math/utils.py::process_results``,
  i.e. ``verify(gold=parse(doc["solution"]), target=parse(candidates))`` with math_verify's
  defaults (signal-based 5 s timeouts, main thread only), on the numeric/expression items, with
  ``doc["solution"]`` a short solution ending in ``$\\boxed{gold}$`` as in MATH.

Prints throughput (responses/s), mean/p99/max per-response latency, how many exceeded the
timeout, accuracy against the generator's labels, and the same for a small pathological set
(huge exponents, 1 MB responses) where lm-eval's path runs in a child process capped at 60 s.
This is a script that prints figures, not a test.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from r1k_plugins.core import pool, scoring  # noqa: E402
from r1k_plugins.core.scoring import DEFAULT_TIMEOUT, score_response  # noqa: E402

# ------------------------------------------------------------------------------ generator

WORDS = [
    "lemon",
    "harbor",
    "quartz",
    "violin",
    "meadow",
    "saturn",
    "pepper",
    "glacier",
    "anchor",
    "falcon",
    "cinder",
    "marble",
    "oyster",
    "tundra",
    "walnut",
    "zephyr",
    "ice cream",
    "new york",
]
FILLER = [
    "Let me compute {a} + {b} = {c}.",
    "We know that $x^2 - {a}x + {b} = 0$ has roots summing to {a}.",
    "Hmm, wait, maybe I should double-check: {a} \\times {b} = {d}.",
    "By the triangle inequality, the sides {a}, {b}, {c} work.",
    "So $\\frac{{{a}}}{{{b}}}$ simplifies further if gcd({a},{b}) > 1.",
    "Alternatively, consider the case $n = {a}$.",
    "Therefore the intermediate value is {c}, but we are not done.",
    "Let's verify with a different approach: ${a}^2 = {e}$.",
]


def _filler(rng: random.Random, n_chars: int) -> str:
    out, size = [], 0
    while size < n_chars:
        a, b = rng.randint(2, 99), rng.randint(2, 99)
        s = rng.choice(FILLER).format(a=a, b=b, c=a + b, d=a * b, e=a * a)
        out.append(s)
        size += len(s) + 1
    return " ".join(out)


def _numeric_item(rng: random.Random, correct: bool):
    kind = rng.randrange(5)
    if kind == 0:  # integer, maybe with thousands separator / units / x =
        v = rng.randint(-500, 250_000)
        gold = str(v)
        variants = [str(v), f"{v:,}", f"{v}.0", f"x = {v}", f"{v} \\text{{ cm}}", f"{v} units", f"\\${v}"]
        wrong = [str(v + rng.choice([-2, -1, 1, 3, 10])), str(-v if v else 7)]
    elif kind == 1:  # fraction gold, decimal or dfrac answers
        b = rng.choice([2, 4, 5, 8, 16, 20, 25])
        a = rng.randint(1, 3 * b)
        while a % b == 0:
            a += 1
        gold = f"\\frac{{{a}}}{{{b}}}"
        dec = f"{a / b:.10g}"
        variants = [dec, f"\\dfrac{{{a}}}{{{b}}}", f"{a}/{b}", f"\\frac{{{2 * a}}}{{{2 * b}}}"]
        wrong = [f"\\frac{{{a + 1}}}{{{b}}}", f"{(a + 1) / b:.10g}"]
    elif kind == 2:  # decimal gold
        v = rng.randint(1, 9999) / 100
        gold = f"{v:g}"
        variants = [f"{v:g}", f"{v:.3f}", f"{v:g}\\,\\text{{m}}"]
        wrong = [f"{v + 0.5:g}", f"{v * 10:g}"]
    elif kind == 3:  # percent
        p = rng.randint(1, 99)
        gold = f"{p}\\%"
        variants = [f"{p}\\%", str(p), f"{p / 100:g}", f"{p} percent"]
        wrong = [f"{p + 1}\\%", str(p + 5)]
    else:  # irrational-looking numeric answers (math_verify path)
        k = rng.randint(2, 9)
        gold = f"{k}\\sqrt{{2}}"
        variants = [f"\\sqrt{{{2 * k * k}}}", f"{k} \\sqrt 2", f"{k * 2**0.5:.6f}"]
        wrong = [f"{k}\\sqrt{{3}}", f"\\sqrt{{{2 * k * k + 1}}}"]
    return gold, rng.choice(variants if correct else wrong)


def _expression_item(rng: random.Random, correct: bool):
    a, c = rng.randint(1, 9), rng.randint(2, 9)
    b = rng.choice([x for x in range(1, 10) if x != a])  # keeps every 'wrong' variant really wrong
    table = [
        (f"(x+{a})^2", [f"x^2+{2 * a}x+{a * a}", f"(x + {a})^{{2}}", f"({a}+x)^2"], [f"x^2+{a * a}", f"(x-{a})^2"]),
        (f"{a}x+{b}", [f"{b}+{a}x", f"{a} x + {b}"], [f"{a}x-{b}", f"{b}x+{a}"]),
        (
            f"{c}\\sqrt{{{b + 1}}}",
            [f"\\sqrt{{{c * c * (b + 1)}}}", f"{c} \\sqrt{{{b + 1}}}"],
            [f"{c + 1}\\sqrt{{{b + 1}}}"],
        ),
        (
            f"\\frac{{\\pi}}{{{c}}}",
            [f"\\dfrac{{\\pi}}{{{c}}}", f"\\frac{{1}}{{{c}}}\\pi"],
            [f"\\frac{{\\pi}}{{{c + 1}}}", f"{c}\\pi"],
        ),
        (f"[{a}, {a + c})", [f"[{a},{a + c})", f"\\left[{a}, {a + c}\\right)"], [f"({a}, {a + c})", f"[{a}, {a + c}]"]),
        (f"\\{{{a}, {a + b}, {a + b + c}\\}}", [f"\\{{{a + b + c}, {a}, {a + b}\\}}"], [f"\\{{{a}, {a + b}\\}}"]),
        (f"({a}, -{b})", [f"\\left({a}, -{b}\\right)", f"({a},-{b})"], [f"(-{b}, {a})", f"({a}, {b})"]),
        (f"e^{{{c}}}", [f"e^{c}", f"\\exp({c})"], [f"{c}e", f"e^{{{c + 1}}}"]),
        (f"\\frac{{\\sqrt{{{c}}}}}{{{c}}}", [f"\\frac{{1}}{{\\sqrt{{{c}}}}}"], [f"\\sqrt{{{c}}}"]),
        (f"{a}-{c}i", [f"-{c}i+{a}"], [f"{a}+{c}i"]),
        (
            f"\\frac{{{a}}}{{{a + c}}}",
            [f"\\frac{{{2 * a}}}{{{2 * (a + c)}}}", f"\\dfrac{{{a}}}{{{a + c}}}"],
            [f"\\frac{{{a + c}}}{{{a}}}"],
        ),
    ]
    gold, ok, bad = rng.choice(table)
    return gold, rng.choice(ok if correct else bad)


def _wrap_answer(rng: random.Random, ans: str, answer_type: str) -> str:
    if answer_type == "choice":
        forms = [
            f"Answer: {ans}",
            f"The answer is ({ans}).",
            f"\\boxed{{{ans}}}",
            f"I think the answer is ({ans}) because (A) is wrong.",
            f"**Answer:** {ans}",
            f"\\boxed{{\\text{{({ans})}}}}",
            f"({ans})",
        ]
    elif answer_type == "text":
        forms = [
            f"Answer: {ans}",
            f"The answer is {ans.upper()}.",
            f"\\boxed{{\\text{{{ans}}}}}",
            ans.title(),
            f"**Answer:** {ans}",
        ]
    else:
        forms = [
            f"Answer: $\\boxed{{{ans}}}$",
            f"The final answer is $\\boxed{{{ans}}}$.",
            f"Final Answer: The final answer is ${ans}$. I hope it is correct.",
            f"Answer: {ans}",
            f"Thus the answer is \\boxed{{{ans}}}.",
            f"**Answer:** ${ans}$",
        ]
    return rng.choice(forms)


def generate(n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    items = []
    for i in range(n):
        answer_type = rng.choices(["numeric", "expression", "choice", "text"], [40, 35, 15, 10])[0]
        correct = rng.random() < 0.5
        if answer_type == "numeric":
            gold, ans = _numeric_item(rng, correct)
        elif answer_type == "expression":
            gold, ans = _expression_item(rng, correct)
        elif answer_type == "choice":
            gold = rng.choice("ABCD")
            ans = gold if correct else rng.choice([x for x in "ABCD" if x != gold])
        else:
            gold = rng.choice(WORDS)
            ans = gold if correct else rng.choice([w for w in WORDS if w != gold])
        reasoning = _filler(rng, rng.choice([300, 1500, 4000, 12000]))
        if rng.random() < 0.3:  # a stale candidate inside the reasoning must be ignored by us
            reasoning += f" Maybe \\boxed{{{rng.randint(1, 99)}}}? No, let me re-check."
        final = _wrap_answer(rng, ans, answer_type)
        fmt = rng.choices(["s1", "think", "plain", "unfinished"], [35, 35, 25, 5])[0]
        if fmt == "s1":
            response = f"<|im_start|>think\n{reasoning}\n<|im_start|>answer\n{final}<|im_end|>"
        elif fmt == "think":
            response = f"<think>\n{reasoning}\n</think>\n\n{final}"
        elif fmt == "plain":
            response = f"{reasoning[:600]}\n\n{final}"
        else:
            response = f"<|im_start|>think\n{reasoning}"
            correct = False
        items.append(
            {"i": i, "response": response, "gold": gold, "answer_type": answer_type, "label": correct, "format": fmt}
        )
    return items


def pathological() -> list[dict]:
    mb = _filler(random.Random(1), 1_000_000)
    return [
        {"name": "tower 9^9^9^9", "response": "Answer: \\boxed{9^{9^{9^9}}}", "gold": "5", "answer_type": "expression"},
        {
            "name": "factorial (10^8)!",
            "response": "So the answer is $\\boxed{(10^{8})!}$.",
            "gold": "5",
            "answer_type": "expression",
        },
        {
            "name": "1 MB think + answer",
            "response": f"<think>{mb}</think> \\boxed{{42}}",
            "gold": "42",
            "answer_type": "numeric",
        },
        {
            "name": "1 MB plain + answer",
            "response": f"{mb}\nFinal answer: $\\boxed{{42}}$",
            "gold": "42",
            "answer_type": "numeric",
        },
        {"name": "1 MB of open braces", "response": "\\boxed{" * 150_000, "gold": "1", "answer_type": "expression"},
        {"name": "1 MB of $x$ spans", "response": "$x+1$ " * 170_000, "gold": "x+1", "answer_type": "expression"},
        # a short line of words and spaces around no number (the words-around-a-number rule)
        {
            "name": "spaced short line",
            "response": "result " + " " * 80 + "5 x",
            "gold": "5",
            "answer_type": "expression",
        },
    ]


# ------------------------------------------------------------------------------ the two scorers

MINERVA_BLOCK = 'verify(\n        gold=parse(doc["solution"]),\n        target=parse(candidates),\n    )'


def _check_minerva_source() -> str:
    spec = importlib.util.find_spec("lm_eval")
    path = Path(spec.origin).parent / "tasks" / "minerva_math" / "utils.py"
    src = path.read_text()
    if MINERVA_BLOCK not in src:
        raise SystemExit(f"{path} no longer contains the math_verify block this benchmark mirrors")
    return str(path)


def minerva_solution(gold: str) -> str:
    return f"Working through the problem carefully gives the result $\\boxed{{{gold}}}$."


def lmeval_math_verify(doc: dict, candidates: str) -> bool:
    """Exactly the math_verify block of minerva_math/utils.py::process_results."""
    from math_verify import parse, verify

    _mvres = verify(
        gold=parse(doc["solution"]),
        target=parse(candidates),
    )
    return bool(_mvres)


class _CountTimeouts(logging.Handler):
    def __init__(self):
        super().__init__()
        self.n = 0

    def emit(self, record):
        if "Timeout during" in record.getMessage():
            self.n += 1


def _summary(name: str, lat: list[float], total: float, timeouts: int, acc: float | None) -> str:
    lat_sorted = sorted(lat)
    p99 = lat_sorted[min(len(lat) - 1, int(0.99 * len(lat)))]
    over = sum(x > DEFAULT_TIMEOUT for x in lat)
    acc_s = f"  acc vs labels {acc:6.1%}" if acc is not None else ""
    return (
        f"  {name:<34} n={len(lat):5d}  {len(lat) / total:9.1f} resp/s  mean {statistics.mean(lat) * 1e3:7.2f} ms"
        f"  p99 {p99 * 1e3:8.2f} ms  max {max(lat) * 1e3:8.1f} ms  >timeout {over}  timeouts {timeouts}{acc_s}"
    )


def run_both(items: list[dict]) -> tuple[list[float], list[dict], list[float], list[bool], int]:
    """Score every item with ours and, right after, numeric/expression items with lm-eval's path:
    interleaving item by item keeps both exposed to the same machine load."""
    handler = _CountTimeouts()
    logging.getLogger("math_verify").addHandler(handler)
    lat_o, res_o, lat_l, res_l = [], [], [], []
    try:
        for it in items:
            t = time.perf_counter()
            res_o.append(score_response(it["response"], it["gold"], it["answer_type"]))
            lat_o.append(time.perf_counter() - t)
            if it["answer_type"] in ("numeric", "expression"):
                doc = {"solution": minerva_solution(it["gold"])}
                t = time.perf_counter()
                res_l.append(lmeval_math_verify(doc, it["response"]))
                lat_l.append(time.perf_counter() - t)
    finally:
        logging.getLogger("math_verify").removeHandler(handler)
    return lat_o, res_o, lat_l, res_l, handler.n


LMEVAL_CHILD = r"""
import json, sys, time, logging
logging.disable(logging.CRITICAL)
from math_verify import parse, verify
it = json.loads(sys.stdin.read())
doc = {"solution": "Working through the problem carefully gives the result $\\boxed{%s}$." % it["gold"]}
verify(gold=parse("$\\boxed{1}$"), target=parse("1"))  # warm imports
t = time.perf_counter()
_mvres = verify(gold=parse(doc["solution"]), target=parse(it["response"]))
print(json.dumps({"ok": bool(_mvres), "s": time.perf_counter() - t}))
"""


def lmeval_in_child(it: dict, cap: float = 60.0) -> tuple[float | None, bool | None]:
    env = dict(os.environ, R1K_NO_LMEVAL_HOOK="1")
    try:
        p = subprocess.run(
            [sys.executable, "-c", LMEVAL_CHILD],
            input=json.dumps(it),
            text=True,
            capture_output=True,
            timeout=cap,
            env=env,
        )
        out = json.loads(p.stdout.strip().splitlines()[-1])
        return out["s"], out["ok"]
    except subprocess.TimeoutExpired:
        return None, None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=4, help="threads for the off-main-thread run of ours")
    ap.add_argument("--show-disagreements", type=int, default=0)
    ap.add_argument("--skip-pathological", action="store_true")
    ap.add_argument(
        "--pool",
        choices=("r1k", "pebble"),
        default="r1k",
        help="worker pool behind ours: r1k's (r1k_plugins.core.pool) or the pebble candidate "
        "(benchmarks/pool_pebble.py; issue 17 item 7)",
    )
    args = ap.parse_args()
    warm_up = scoring.warm_up
    if args.pool == "pebble":
        sys.path.insert(0, str(Path(__file__).parent))
        import pool_pebble

        pool_pebble.install()
        warm_up = pool_pebble.warm_up

    minerva_path = _check_minerva_source()
    items = generate(args.n, args.seed)
    math_items = [it for it in items if it["answer_type"] in ("numeric", "expression")]
    by_type = {t: sum(it["answer_type"] == t for it in items) for t in scoring.ANSWER_TYPES}
    by_fmt = {f: sum(it["format"] == f for it in items) for f in ("s1", "think", "plain", "unfinished")}
    mean_len = statistics.mean(len(it["response"]) for it in items)
    print(
        f"responses: {len(items)} (seed {args.seed}), types {by_type}, formats {by_fmt}, "
        f"mean length {mean_len:.0f} chars, labelled correct {sum(it['label'] for it in items)}"
    )
    print(f"lm-eval path mirrored from {minerva_path} (verify(parse(solution), parse(response)))")
    print(f"timeout per comparison: {DEFAULT_TIMEOUT} s; workers: {pool._pool_size()} ({args.pool} pool)")

    # one-off start-up costs, outside the timed loops, for both
    t = time.perf_counter()
    warm_up()
    warm_ours = time.perf_counter() - t
    t = time.perf_counter()
    lmeval_math_verify({"solution": minerva_solution("1")}, "1")
    warm_lm = time.perf_counter() - t
    print(f"warm-up (untimed below): ours {warm_ours:.2f} s (worker start), lm-eval {warm_lm:.2f} s (imports)")

    lat_o, res_o, lat_l, res_l, to_l = run_both(items)
    tot_o, tot_l = sum(lat_o), sum(lat_l)

    idx_math = [k for k, it in enumerate(items) if it["answer_type"] in ("numeric", "expression")]
    lat_om = [lat_o[k] for k in idx_math]
    res_om = [res_o[k] for k in idx_math]
    tot_om = sum(lat_om)
    to_o = sum(r["reason"] == "timeout" for r in res_o)
    acc_o = statistics.mean(r["correct"] == it["label"] for r, it in zip(res_o, items))
    acc_om = statistics.mean(r["correct"] == it["label"] for r, it in zip(res_om, math_items))
    acc_l = statistics.mean(ok == it["label"] for ok, it in zip(res_l, math_items))

    print("\nmain set (sequential, main thread, the two scorers interleaved item by item):")
    print(_summary("ours, all types", lat_o, tot_o, to_o, acc_o))
    print(_summary("ours, numeric+expression", lat_om, tot_om, sum(r["reason"] == "timeout" for r in res_om), acc_om))
    print(_summary("lm-eval math_verify, numeric+expr", lat_l, tot_l, to_l, acc_l))
    print(f"  speed-up on the same numeric+expression responses: {tot_l / tot_om:.1f}x")
    print(f"  ours: {scoring.STATS}")
    reasons = {}
    for r in res_o:
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + 1
    print(f"  ours reasons: {reasons}")
    agree = sum(r["correct"] == ok for r, ok in zip(res_om, res_l))
    print(f"  verdict agreement ours vs lm-eval on numeric+expression: {agree}/{len(math_items)}")

    if args.show_disagreements:
        shown = 0
        for r, _ok, it in zip(res_om, res_l, math_items):
            if r["correct"] != it["label"] and shown < args.show_disagreements:
                shown += 1
                print("   ours != label:", it["format"], repr(it["gold"]), r, repr(it["response"][-120:]))

    # the same items, off the main thread (lm-eval's signal-based path cannot do this)
    pool._CACHE.clear()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as ex:
        res_t = list(ex.map(lambda it: score_response(it["response"], it["gold"], it["answer_type"]), items))
    tot_t = time.perf_counter() - t0
    same = sum(a["correct"] == b["correct"] for a, b in zip(res_t, res_o))
    print(
        f"\nours from a {args.threads}-thread pool (verdict cache cleared, worker parse caches warm): "
        f"{len(items) / tot_t:.1f} resp/s, "
        f"verdicts identical to the sequential run: {same}/{len(items)}"
    )

    if args.skip_pathological:
        return
    print("\npathological set (ours in-process; lm-eval path in a child process, main thread, capped at 60 s):")
    for it in pathological():
        t = time.perf_counter()
        r = score_response(it["response"], it["gold"], it["answer_type"])
        dt_o = time.perf_counter() - t
        if it["answer_type"] in ("numeric", "expression"):
            dt_l, ok_l = lmeval_in_child(it)
            lm = "killed at 60 s" if dt_l is None else f"{dt_l:7.2f} s -> {ok_l}"
        else:
            lm = "n/a"
        print(f"  {it['name']:<24} ours {dt_o:6.2f} s -> {r['reason']:<12} | lm-eval {lm}")


if __name__ == "__main__":
    main()
