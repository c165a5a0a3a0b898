"""Metrics of k sampled responses per item: avg@k, pass@k, maj@k, their standard errors, and a
paired test of two runs on per-item success proportions. Pure functions; the one definition used
by the lm-eval task (tasks/utils.py), the Inspect reducers (eval/inspect_tasks.py) and the
leaderboard (leaderboard/sampling.py).

Per item i with n_i samples of which c_i are correct:

* avg@k  = c_i / n_i (the pass@1 estimate), averaged over items;
* pass@k = 1 - C(n_i - c_i, k) / C(n_i, k) (Chen et al. 2021, unbiased for n_i >= k), averaged;
* maj@k  = 1 if the most frequent extracted answer (answers grouped by the shared equivalence,
  ``r1k_plugins.core.equivalence``; ties go to the answer seen first; samples with no answer do
  not vote) is correct, else 0; averaged.

Standard error of each: the sample standard deviation of the per-item values over sqrt(items)
(items are the independent unit; samples within an item are not).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any

from r1k_plugins.core.errors import R1KError

__all__ = [
    "check_k",
    "pass_at_k",
    "avg_at_k",
    "majority_index",
    "maj_correct",
    "mean_stderr",
    "item_metrics",
    "summarize",
    "paired_proportion_test",
    "same_answer",
]


def check_k(k, n: int | None = None, what: str = "k") -> int:
    """``k`` as an int >= 1 (and <= ``n`` when given), else R1KError naming ``what``."""
    try:
        kk = int(k)
        if kk != float(k):
            raise ValueError
    except (TypeError, ValueError):
        raise R1KError(f"{what}={k!r}: expected a whole number >= 1") from None
    if kk < 1:
        raise R1KError(f"{what}={k!r}: expected a whole number >= 1")
    if n is not None and kk > n:
        raise R1KError(
            f"{what}={kk}: pass@{kk} needs at least {kk} samples per item, got {n}; "
            f"sample more (k >= {kk}) or lower {what}"
        )
    return kk


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples with ``c`` correct: 1 - C(n-c, k) / C(n, k)."""
    k = check_k(k, n)
    if not 0 <= c <= n:
        raise R1KError(f"correct={c}: must lie in 0..{n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def avg_at_k(verdicts: Sequence[bool | float]) -> float:
    """Mean correctness over one item's samples (the pass@1 estimate)."""
    if not verdicts:
        raise R1KError("avg@k of an item with no samples")
    return sum(float(v) for v in verdicts) / len(verdicts)


def majority_index(answers: Sequence[str | None], same: Callable[[str, str], bool]) -> int | None:
    """Index of the representative (first occurrence) of the largest group of equal answers.

    ``same(a, b)`` decides equality (the shared equivalence); empty / None answers do not vote.
    Ties: the group whose first member comes first. None when no sample has an answer.
    """
    groups: list[list[int]] = []  # indices; groups[g][0] is the representative
    for i, a in enumerate(answers):
        if a is None or not str(a).strip():
            continue
        for g in groups:
            rep = answers[g[0]]
            assert rep is not None  # groups start only at answers that are there
            if a == rep or same(a, rep):
                g.append(i)
                break
        else:
            groups.append([i])
    if not groups:
        return None
    best = max(groups, key=lambda g: (len(g), -g[0]))
    return best[0]


def maj_correct(
    answers: Sequence[str | None], verdicts: Sequence[bool | float], same: Callable[[str, str], bool]
) -> float:
    """1.0 when the majority answer's representative sample is correct, else 0.0."""
    i = majority_index(answers, same)
    return 0.0 if i is None else float(bool(verdicts[i]))


def mean_stderr(values: Sequence[float]) -> tuple[float, float | None]:
    """(mean, standard error of the mean); stderr None for fewer than two values."""
    if not values:
        raise R1KError("no items to average")
    m = len(values)
    mean = sum(values) / m
    if m < 2:
        return mean, None
    var = sum((v - mean) ** 2 for v in values) / (m - 1)
    return mean, math.sqrt(var / m)


def item_metrics(
    verdicts: Sequence[bool | float], answers: Sequence[str | None], k: int, same: Callable[[str, str], bool]
) -> tuple[float, float, float]:
    """(avg@k, pass@k, maj@k) of one item's samples."""
    if len(answers) != len(verdicts):
        raise R1KError("each sample needs a verdict and an extracted answer")
    c = sum(1 for v in verdicts if v)
    return avg_at_k(verdicts), pass_at_k(len(verdicts), c, k), maj_correct(answers, verdicts, same)


def summarize(
    items: Sequence[tuple[Sequence[bool | float], Sequence[str | None]]],
    k: int | None,
    same: Callable[[str, str], bool],
) -> dict:
    """avg@k / pass@k / maj@k over items, each ``{"value", "stderr"}``, plus ``n_items``, ``n`` (samples
    per item: the smallest) and ``k``. ``items``: per item (verdicts, extracted answers), one per sample.
    ``k`` None: k = n (every sample). maj@k votes over all n samples of an item."""
    if not items:
        raise R1KError("no items to score")
    n = min(len(v) for v, _ in items)
    if n < 1:
        raise R1KError("an item has no samples")
    k = n if k is None else check_k(k, n)
    avg, pk, maj = [], [], []
    for verdicts, answers in items:
        a, p, m = item_metrics(verdicts, answers, k, same)
        avg.append(a)
        pk.append(p)
        maj.append(m)
    out: dict[str, Any] = {"k": k, "n": n, "n_items": len(items)}
    for name, vals in (("avg@k", avg), ("pass@k", pk), ("maj@k", maj)):
        mean, se = mean_stderr(vals)
        out[name] = {"value": mean, "stderr": se}
    return out


def paired_proportion_test(
    a: Sequence[float], b: Sequence[float], exact_up_to: int = 16, draws: int = 20000, seed: int = 0
) -> dict:
    """Paired sign-flip (randomization) test of per-item success proportions ``a[i]`` vs ``b[i]``
    (e.g. c_i/n_i of two harnesses on the same items). Null: within each item the two labels are
    exchangeable. Statistic: |mean(a - b)|. Exact over all 2^m flips of the m non-zero differences
    when m <= ``exact_up_to``, else ``draws`` seeded random flips (p = (hits + 1) / (draws + 1)).
    Returns ``{"n_items", "mean_diff", "stderr", "p_value", "exact"}``."""
    if len(a) != len(b):
        raise R1KError(f"paired test needs the same items on both sides ({len(a)} vs {len(b)})")
    if not a:
        raise R1KError("paired test of no items")
    d = [float(x) - float(y) for x, y in zip(a, b)]
    mean, se = mean_stderr(d)
    nz = [x for x in d if abs(x) > 1e-12]
    m = len(nz)
    obs = abs(sum(nz))
    if m == 0:
        return {"n_items": len(d), "mean_diff": mean, "stderr": se, "p_value": 1.0, "exact": True}
    eps = 1e-9 * max(1.0, obs)
    if m <= exact_up_to:
        hits = 0
        for mask in range(1 << m):
            s = sum(-x if mask >> j & 1 else x for j, x in enumerate(nz))
            hits += abs(s) >= obs - eps
        return {"n_items": len(d), "mean_diff": mean, "stderr": se, "p_value": hits / (1 << m), "exact": True}
    rng = random.Random(seed)
    hits = 0
    for _ in range(draws):
        s = sum(x if rng.random() < 0.5 else -x for x in nz)
        hits += abs(s) >= obs - eps
    return {"n_items": len(d), "mean_diff": mean, "stderr": se, "p_value": (hits + 1) / (draws + 1), "exact": False}


def same_answer(answer_type: str) -> Callable[[str, str], bool]:
    """Equality of two extracted answers under ``answer_type`` (the shared scorer's equivalence),
    for :func:`majority_index` / :func:`summarize`."""
    from r1k_plugins.core.equivalence import is_equivalent

    return lambda a, b: is_equivalent(a, b, answer_type)
