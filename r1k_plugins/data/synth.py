"""The embedded default: procedural multi-step arithmetic word problems, forward and reverse.

Each forward item states three quantities and asks for a result; its reverse item hides one of
the stated quantities, gives the forward result, and asks for the hidden quantity. Both carry a
step-by-step trace in their own direction (forward computes onward, reverse undoes the steps).
Numbers stay small (quantities 1-9, products of 2-5 by 2-5, every number in a trace below 35) so the
arithmetic fits a tiny transformer trained for a few minutes on a CPU: the embedded default's
accuracy moves with training, and arms differ by more than their standard errors. 24 names and
the item words give about 120,000 distinct forward questions (``--n`` up to 100,000).

Same ``(n, seed, test_frac)`` -> byte-identical files. Splits are by pair, so no ``pair_id`` is
in both splits, and no forward question text appears in both.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from r1k_plugins.core.record import Record

DEFAULT_N = 1000
DEFAULT_SEED = 1234
DEFAULT_TEST_FRAC = 0.1
SOURCE = "r1k-synth"

NAMES = [
    "Ana",
    "Ben",
    "Chen",
    "Dara",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivo",
    "Jon",
    "Kim",
    "Lea",
    "Mia",
    "Nico",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Uma",
    "Vic",
    "Wen",
    "Yara",
]


@dataclass(frozen=True)
class Template:
    name: str
    draw: Callable[[random.Random], dict]
    forward: Callable[[dict], tuple[str, list[str], int]]
    # hidden variable -> (question, steps, value)
    reverse: dict[str, Callable[[dict, int], tuple[str, list[str]]]]


# ---- template 1: start + gain - loss --------------------------------------------------------
def _draw_gain_loss(rng):
    a, b = rng.randint(2, 9), rng.randint(1, 9)
    c = rng.randint(1, a + b - 1)
    item = rng.choice(["apples", "marbles", "stickers", "coins", "books", "shells"])
    return {"n": rng.choice(NAMES), "a": a, "b": b, "c": c, "item": item}


def _fwd_gain_loss(v):
    n, a, b, c, it = v["n"], v["a"], v["b"], v["c"], v["item"]
    s, r = a + b, a + b - c
    q = f"{n} has {a} {it}. {n} gets {b} more and then gives away {c}. How many {it} does {n} have now?"
    steps = [
        f"{n} starts with {a} {it}.",
        f"After getting {b} more: {a} + {b} = {s}.",
        f"After giving away {c}: {s} - {c} = {r}.",
    ]
    return q, steps, r


def _rev_gain_loss_a(v, r):
    n, b, c, it = v["n"], v["b"], v["c"], v["item"]
    q = (
        f"{n} has some {it}. {n} gets {b} more and then gives away {c}, and now has {r} {it}. "
        f"How many {it} did {n} have at first?"
    )
    t = r + c
    return q, [
        f"{n} ends with {r} {it}.",
        f"Before giving away {c}: {r} + {c} = {t}.",
        f"Before getting {b}: {t} - {b} = {t - b}.",
    ]


def _rev_gain_loss_b(v, r):
    n, a, c, it = v["n"], v["a"], v["c"], v["item"]
    q = (
        f"{n} has {a} {it}. {n} gets some more and then gives away {c}, and now has {r} {it}. "
        f"How many {it} did {n} get?"
    )
    t = r + c
    return q, [
        f"{n} ends with {r} {it}.",
        f"Before giving away {c}: {r} + {c} = {t}.",
        f"{n} started with {a}, so {n} got {t} - {a} = {t - a}.",
    ]


def _rev_gain_loss_c(v, r):
    n, a, b, it = v["n"], v["a"], v["b"], v["item"]
    q = (
        f"{n} has {a} {it}. {n} gets {b} more and then gives some away, and now has {r} {it}. "
        f"How many {it} did {n} give away?"
    )
    s = a + b
    return q, [
        f"{n} starts with {a} {it}.",
        f"After getting {b} more: {a} + {b} = {s}.",
        f"{n} ends with {r}, so {n} gave away {s} - {r} = {s - r}.",
    ]


# ---- template 2: groups * size + extra ------------------------------------------------------
def _draw_groups(rng):
    item, box = rng.choice(
        [("pens", "box"), ("eggs", "carton"), ("cards", "pack"), ("cups", "stack"), ("seeds", "row"), ("chairs", "row")]
    )
    return {
        "n": rng.choice(NAMES),
        "a": rng.randint(2, 5),
        "b": rng.randint(2, 5),
        "c": rng.randint(1, 9),
        "item": item,
        "box": box,
    }


def _fwd_groups(v):
    n, a, b, c, it, bx = v["n"], v["a"], v["b"], v["c"], v["item"], v["box"]
    p, r = a * b, a * b + c
    q = f"Each {bx} holds {a} {it}. {n} fills {b} {bx}es and adds {c} loose {it}. How many {it} are there in all?"
    steps = [
        f"Each {bx} holds {a} {it} and there are {b} {bx}es: {a} * {b} = {p}.",
        f"Adding {c} loose {it}: {p} + {c} = {r}.",
    ]
    return q, steps, r


def _rev_groups_a(v, r):
    n, b, c, it, bx = v["n"], v["b"], v["c"], v["item"], v["box"]
    q = (
        f"Each {bx} holds the same number of {it}. {n} fills {b} {bx}es and adds {c} loose {it}, "
        f"making {r} {it} in all. How many {it} does each {bx} hold?"
    )
    t = r - c
    return q, [
        f"There are {r} {it} in all.",
        f"Without the {c} loose {it}: {r} - {c} = {t}.",
        f"Shared over {b} {bx}es: {t} / {b} = {t // b}.",
    ]


def _rev_groups_b(v, r):
    n, a, c, it, bx = v["n"], v["a"], v["c"], v["item"], v["box"]
    q = (
        f"Each {bx} holds {a} {it}. {n} fills some {bx}es and adds {c} loose {it}, "
        f"making {r} {it} in all. How many {bx}es did {n} fill?"
    )
    t = r - c
    return q, [
        f"There are {r} {it} in all.",
        f"Without the {c} loose {it}: {r} - {c} = {t}.",
        f"With {a} {it} per {bx}: {t} / {a} = {t // a}.",
    ]


def _rev_groups_c(v, r):
    n, a, b, it, bx = v["n"], v["a"], v["b"], v["item"], v["box"]
    q = (
        f"Each {bx} holds {a} {it}. {n} fills {b} {bx}es and adds some loose {it}, "
        f"making {r} {it} in all. How many loose {it} did {n} add?"
    )
    p = a * b
    return q, [
        f"The {bx}es hold {a} * {b} = {p} {it}.",
        f"There are {r} in all, so the loose {it} are {r} - {p} = {r - p}.",
    ]


# ---- template 3: start - rate * time --------------------------------------------------------
def _draw_drain(rng):
    b, c = rng.randint(2, 5), rng.randint(2, 5)
    a = b * c + rng.randint(1, 9)
    return {"a": a, "b": b, "c": c, "thing": rng.choice(["tank", "barrel", "pool", "jug"])}


def _fwd_drain(v):
    a, b, c, th = v["a"], v["b"], v["c"], v["thing"]
    lost, r = b * c, a - b * c
    q = f"A {th} holds {a} liters. It loses {b} liters each hour for {c} hours. How many liters are left?"
    steps = [f"It loses {b} liters per hour for {c} hours: {b} * {c} = {lost}.", f"Liters left: {a} - {lost} = {r}."]
    return q, steps, r


def _rev_drain_a(v, r):
    b, c, th = v["b"], v["c"], v["thing"]
    q = (
        f"A {th} loses {b} liters each hour for {c} hours and then holds {r} liters. "
        f"How many liters did it hold at the start?"
    )
    lost = b * c
    return q, [f"It lost {b} * {c} = {lost} liters.", f"At the start it held {r} + {lost} = {r + lost}."]


def _rev_drain_b(v, r):
    a, c, th = v["a"], v["c"], v["thing"]
    q = (
        f"A {th} holds {a} liters. It loses the same amount each hour for {c} hours and then holds {r} liters. "
        f"How many liters does it lose each hour?"
    )
    lost = a - r
    return q, [f"It lost {a} - {r} = {lost} liters in all.", f"Per hour: {lost} / {c} = {lost // c}."]


def _rev_drain_c(v, r):
    a, b, th = v["a"], v["b"], v["thing"]
    q = (
        f"A {th} holds {a} liters. It loses {b} liters each hour and then holds {r} liters. "
        f"For how many hours did it lose water?"
    )
    lost = a - r
    return q, [f"It lost {a} - {r} = {lost} liters in all.", f"At {b} liters per hour: {lost} / {b} = {lost // b}."]


TEMPLATES = [
    Template(
        "gain_loss",
        _draw_gain_loss,
        _fwd_gain_loss,
        {"a": _rev_gain_loss_a, "b": _rev_gain_loss_b, "c": _rev_gain_loss_c},
    ),
    Template("groups", _draw_groups, _fwd_groups, {"a": _rev_groups_a, "b": _rev_groups_b, "c": _rev_groups_c}),
    Template("drain", _draw_drain, _fwd_drain, {"a": _rev_drain_a, "b": _rev_drain_b, "c": _rev_drain_c}),
]


def _trace(steps: list[str], answer: int) -> str:
    return "\n".join(steps + [f"So the answer is {answer}."])


def make_pair(rng: random.Random, pair_id: str) -> tuple[Record, Record]:
    tpl = rng.choice(TEMPLATES)
    v = tpl.draw(rng)
    fq, fsteps, fans = tpl.forward(v)
    hidden = rng.choice(sorted(tpl.reverse))
    rq, rsteps = tpl.reverse[hidden](v, fans)
    hidden_value = v[hidden]
    meta_common = {"template": tpl.name, "values": {k: v[k] for k in ("a", "b", "c")}}
    fwd = Record(
        id=f"{pair_id}-f",
        pair_id=pair_id,
        direction="forward",
        question=fq,
        answer=str(fans),
        answer_type="numeric",
        source=SOURCE,
        reasoning=_trace(fsteps, fans),
        response=f"Answer: \\boxed{{{fans}}}",
        meta=dict(meta_common),
    )
    rev = Record(
        id=f"{pair_id}-r",
        pair_id=pair_id,
        direction="reverse",
        question=rq,
        answer=str(hidden_value),
        answer_type="numeric",
        source=SOURCE,
        reasoning=_trace(rsteps, hidden_value),
        response=f"Answer: \\boxed{{{hidden_value}}}",
        meta=dict(
            meta_common,
            inversion={
                "strategy": "synth",
                "hidden": hidden,
                "hidden_value": hidden_value,
                "given_result": fans,
                "from_id": fwd.id,
            },
        ),
    )
    return fwd, rev


def generate(
    n: int = DEFAULT_N, seed: int = DEFAULT_SEED, test_frac: float = DEFAULT_TEST_FRAC
) -> tuple[list[Record], list[Record]]:
    """Return (train, test) records: ``n`` forward/reverse pairs, split by pair."""
    if n < 2:
        raise ValueError("n must be >= 2 (one pair per split)")
    if not 0 < test_frac < 1:
        raise ValueError("test_frac must be between 0 and 1")
    rng = random.Random(seed)
    pairs: list[tuple[Record, Record]] = []
    seen = set()
    attempts = 0
    while len(pairs) < n:
        attempts += 1
        if attempts > n * 50:
            raise ValueError(f"cannot draw {n} distinct problems; use a smaller --n")
        f, r = make_pair(rng, f"synth-{seed}-{len(pairs):05d}")
        if f.question in seen:
            continue
        seen.add(f.question)
        pairs.append((f, r))
    n_test = max(1, round(n * test_frac))
    order = list(range(n))
    random.Random(seed + 1).shuffle(order)
    test_idx = set(order[:n_test])
    train = [rec for i, p in enumerate(pairs) if i not in test_idx for rec in p]
    test = [rec for i, p in enumerate(pairs) if i in test_idx for rec in p]
    return train, test


def default_split(split: str = "test") -> list[Record]:
    """The embedded default split, generated in memory (what tasks read when given no data)."""
    train, test = generate()
    return {"train": train, "test": test}[split]
