"""Agreement of the r1k scorer, and of plain math_verify, with hand-labelled verdicts.

Usage:  python benchmarks/scorer_agreement.py [--cases tests/scorer_cases.jsonl] [--show 20]

Each case is a whole model response, a gold answer, an answer type and the expected verdict
(cases written in the style of peer scorers' suites; ``tests/make_scorer_cases.py`` writes them).
Prints the agreement of ``score_response`` overall and per category, and the same for plain
math_verify as a user would call it (``verify(parse(gold), parse(response))``, default extraction
configs, math_verify's own timeouts), then lists the cases ours gets wrong. A script that prints
figures, not a test (tests/test_scoring.py asserts the floor).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import defaultdict
from pathlib import Path

from r1k_plugins.core.scoring import score_response, warm_up

ROOT = Path(__file__).resolve().parents[1]


def load_cases(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def math_verify_verdict(case: dict) -> bool:
    from math_verify import parse, verify

    try:
        gold = parse(case["gold"])
        if not gold:
            gold = parse(f"${case['gold']}$")
        pred = parse(case["response"])
        return bool(gold) and bool(pred) and bool(verify(gold, pred))
    except Exception:  # noqa: BLE001
        return False


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--cases",
        type=Path,
        default=ROOT / "tests" / "scorer_cases.jsonl",
        help="JSONL of cases (id, category, response, gold, answer_type, expected)",
    )
    ap.add_argument("--show", type=int, default=20, help="list up to this many cases ours gets wrong")
    ap.add_argument("--no-math-verify", action="store_true", help="skip the plain math_verify column")
    args = ap.parse_args()
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    cases = load_cases(args.cases)
    warm_up()
    per = defaultdict(lambda: [0, 0, 0])  # category -> [n, ours ok, math_verify ok]
    wrong = []
    t0 = time.perf_counter()
    for c in cases:
        res = score_response(c["response"], c["gold"], c["answer_type"])
        ok = res["correct"] == c["expected"]
        per[c["category"]][0] += 1
        per[c["category"]][1] += ok
        if not ok:
            wrong.append((c, res))
    t_ours = time.perf_counter() - t0
    if not args.no_math_verify:
        for c in cases:
            per[c["category"]][2] += math_verify_verdict(c) == c["expected"]
    n = len(cases)
    ours = sum(v[1] for v in per.values())
    mv = sum(v[2] for v in per.values())
    print(f"{n} cases from {args.cases}")
    print(f"{'category':<18}{'n':>5}{'ours':>9}{'math_verify':>13}")
    for cat, (k, a, b) in sorted(per.items()):
        print(f"{cat:<18}{k:>5}{a / k:>9.1%}{'' if args.no_math_verify else f'{b / k:.1%}':>13}")
    print(f"{'all':<18}{n:>5}{ours / n:>9.1%}{'' if args.no_math_verify else f'{mv / n:.1%}':>13}")
    print(f"ours: {t_ours:.2f} s for {n} responses")
    for c, res in wrong[: args.show]:
        print(
            f"  WRONG {c['id']} [{c['category']}] expected={c['expected']} gold={c['gold']!r} "
            f"extracted={res['extracted']!r} reason={res['reason']} response={c['response'][-90:]!r}"
        )


if __name__ == "__main__":
    main()
