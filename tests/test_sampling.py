"""k samples per item: the metric math (hand computations), both harnesses on the tiny model at
temperature 1.0, and the board's avg@k / pass@k / maj@k against a computation from the logs."""

import glob
import json
import math
from pathlib import Path

import pytest
from conftest import assert_one_line_error, run

from r1k_plugins.core.errors import R1KError
from r1k_plugins.core.sampling_metrics import (
    check_k,
    maj_correct,
    majority_index,
    mean_stderr,
    paired_proportion_test,
    pass_at_k,
    same_answer,
    summarize,
)


def _num_eq(a, b):
    return float(a) == float(b)


# ------------------------------------------------------------------------------- metric math
def test_pass_at_k_by_hand():
    assert pass_at_k(5, 2, 2) == pytest.approx(1 - 3 / 10)  # C(3,2)/C(5,2)
    assert pass_at_k(10, 3, 3) == pytest.approx(1 - 35 / 120)  # C(7,3)/C(10,3)
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)  # pass@1 = c/n
    assert pass_at_k(4, 0, 4) == 0.0
    assert pass_at_k(4, 1, 4) == 1.0  # every draw of 4 of 4 holds the correct one
    assert pass_at_k(6, 4, 3) == 1.0  # n - c = 2 < k


@pytest.mark.parametrize("k,n", [(0, 4), (-1, 4), (5, 4), ("x", 4), (1.5, 4)])
def test_bad_k_is_one_line(k, n):
    with pytest.raises(R1KError) as e:
        pass_at_k(n, 0, k)
    assert "\n" not in str(e.value) and "k=" in str(e.value)


def test_check_k_names_the_option():
    with pytest.raises(R1KError, match=r"--metadata r1k_k=0"):
        check_k(0, what="--metadata r1k_k")
    assert check_k("3") == 3


def test_majority_vote_groups_by_equivalence_and_breaks_ties_by_first():
    same = same_answer("numeric")
    # "4", "4.0" and "\frac{8}{2}" are one answer; "5" twice; None does not vote
    answers = ["5", "4", None, "4.0", "5", "\\frac{8}{2}"]
    assert majority_index(answers, same) == 1
    assert maj_correct(answers, [0, 1, 0, 1, 0, 1], same) == 1.0
    tie = ["5", "4", "4.0", "5"]
    assert majority_index(tie, same) == 0  # 2-2: the group seen first
    assert majority_index([None, "", None], same) is None
    assert maj_correct([None, None], [0, 0], same) == 0.0


def test_summarize_by_hand():
    same = same_answer("numeric")
    items = [
        ([1, 0, 1, 0], ["7", "3", "7.0", "3"]),  # c=2: avg .5, pass@2 = 1-C(2,2)/C(4,2) = 5/6, maj: 7 first -> 1
        ([0, 0, 0, 1], ["3", "3", None, "7"]),  # c=1: avg .25, pass@2 = 1-C(3,2)/C(4,2) = .5, maj 3 -> 0
        ([0, 0, 0, 0], [None] * 4),
    ]  # 0, 0, 0
    s = summarize(items, 2, same)
    assert (s["k"], s["n"], s["n_items"]) == (2, 4, 3)
    avg = [0.5, 0.25, 0.0]
    pk = [5 / 6, 0.5, 0.0]
    maj = [1.0, 0.0, 0.0]
    for name, vals in (("avg@k", avg), ("pass@k", pk), ("maj@k", maj)):
        m = sum(vals) / 3
        se = math.sqrt(sum((v - m) ** 2 for v in vals) / 2 / 3)
        assert s[name]["value"] == pytest.approx(m), name
        assert s[name]["stderr"] == pytest.approx(se), name
    with pytest.raises(R1KError, match="pass@5 needs at least 5"):
        summarize(items, 5, same)


def test_mean_stderr_and_paired_test_by_hand():
    assert mean_stderr([1.0]) == (1.0, None)
    assert mean_stderr([0.0, 1.0]) == (0.5, pytest.approx(0.5))
    # three items, all in favour of a: of the 2^3 sign flips only all-plus and all-minus reach |3|
    t = paired_proportion_test([1, 1, 1], [0, 0, 0])
    assert t["p_value"] == pytest.approx(2 / 8) and t["exact"] and t["mean_diff"] == 1.0
    # differences .5, -.5, .25: |sum| = .25; flips reaching >= .25: all but (+.5,+.5... ) -> count by hand
    d = [0.5, -0.5, 0.25]
    sums = [abs(sum(x if m >> j & 1 else -x for j, x in enumerate(d))) for m in range(8)]
    want = sum(1 for s_ in sums if s_ >= 0.25 - 1e-12) / 8
    assert paired_proportion_test([0.75, 0.25, 0.5], [0.25, 0.75, 0.25])["p_value"] == pytest.approx(want)
    assert paired_proportion_test([0.5, 0.5], [0.5, 0.5])["p_value"] == 1.0
    big = paired_proportion_test([1.0] * 30, [0.0] * 30)  # Monte Carlo branch: tiny p, seeded
    assert not big["exact"] and big["p_value"] < 0.001
    with pytest.raises(R1KError):
        paired_proportion_test([1.0], [1.0, 0.0])


# ------------------------------------------------------------------------------- harness runs
def _reverse_data_with_answer(path: Path, answer: str, n: int = 3) -> Path:
    """The default split's first reverse items with gold answer ``answer`` (the tiny random model
    often says "7", so its samples come out a mix of right and wrong)."""
    from r1k_plugins.data.synth import default_split

    recs = [r for r in default_split("test") if r.direction == "reverse"][:n]
    path.write_text("".join(json.dumps(dict(r.to_dict(), answer=answer)) + "\n" for r in recs))
    return path


@pytest.fixture(scope="module")
def short_model(tiny_model, tmp_path_factory):
    """The tiny model with a 12-token generation cap in its generation_config (lm-eval's max_gen_toks
    does not override the tiny model's own max_new_tokens=256, so every sample would run 256 tokens)."""
    import shutil

    d = tmp_path_factory.mktemp("short") / "tiny"
    shutil.copytree(tiny_model, d)
    gc = json.loads((d / "generation_config.json").read_text())
    (d / "generation_config.json").write_text(json.dumps(dict(gc, max_new_tokens=12)))
    return d


@pytest.fixture(scope="module")
def sampled_runs(short_model, tmp_path_factory):
    """One sampled run per harness: k=4 at temperature 1.0 on 3 items (lm-eval), k=3 (Inspect)."""
    import time

    d = tmp_path_factory.mktemp("sampled")
    data = _reverse_data_with_answer(d / "seven.jsonl", "7")
    tiny_model = short_model
    t0 = time.perf_counter()
    run(
        "lm_eval",
        "run",
        "--model",
        "hf",
        "--model_args",
        f"pretrained={tiny_model},dtype=float32",
        "--tasks",
        "r1k_reverse_k",
        "--metadata",
        json.dumps({"r1k_k": 4, "r1k_temperature": 1.0, "r1k_top_p": 0.95, "r1k_data": str(data)}),
        "--gen_kwargs",
        "max_gen_toks=12,max_new_tokens=12",
        "--apply_chat_template",
        "--batch_size",
        "4",
        "--output_path",
        d / "lm",
        "--log_samples",
        cwd=d,
        check=True,
    )
    t1 = time.perf_counter()
    run(
        "inspect",
        "eval",
        "r1k_plugins/r1k_reverse",
        "--model",
        "hf/local",
        "-M",
        f"model_path={tiny_model}",
        "-T",
        f"data={data}",
        "-T",
        "k=3",
        "-T",
        "temperature=1.0",
        "-T",
        "max_tokens=12",
        "--log-dir",
        d / "insp",
        cwd=d,
        check=True,
    )
    t2 = time.perf_counter()
    print(f"\nsampled e2e: lm-eval k=4 x 3 items {t1 - t0:.1f}s, Inspect k=3 x 3 items {t2 - t1:.1f}s")
    return d


def _lm_samples(d: Path) -> list[dict]:
    f = glob.glob(str(d / "lm" / "**" / "samples_r1k_reverse_k_*.jsonl"), recursive=True)
    assert len(f) == 1
    return [json.loads(l) for l in open(f[0])]


def _verdicts(sample: dict) -> list[dict]:
    """An lm-eval sample's per-sample verdicts (filtered_resps: one list of k JSON strings)."""
    fr = sample["filtered_resps"]
    if fr and isinstance(fr[0], list):
        fr = fr[0]
    return [json.loads(v) for v in fr]


def _ours(items, k):
    """avg@k / pass@k / maj@k computed here from (verdicts, answers) lists, independently of the board."""
    avg = [sum(v) / len(v) for v, _ in items]
    pk = [1 - math.comb(len(v) - sum(v), k) / math.comb(len(v), k) for v, _ in items]
    maj = []
    for v, a in items:
        # all answers here are plain integers or None: group by int value, ties to the first seen
        counts, first = {}, {}
        for i, x in enumerate(a):
            if x is None:
                continue
            key = float(x)
            counts[key] = counts.get(key, 0) + 1
            first.setdefault(key, i)
        if not counts:
            maj.append(0.0)
            continue
        best = max(counts, key=lambda key: (counts[key], -first[key]))
        maj.append(float(v[first[best]]))
    return {n: sum(x) / len(x) for n, x in (("avg@k", avg), ("pass@k", pk), ("maj@k", maj))}


@pytest.mark.e2e
def test_lm_eval_sampled_task_logs_k_verdicts_per_item(sampled_runs):
    res = json.loads(Path(glob.glob(str(sampled_runs / "lm" / "**" / "results_*.json"), recursive=True)[0]).read_text())
    cfg = res["configs"]["r1k_reverse_k"]
    assert cfg["repeats"] == 4
    assert cfg["generation_kwargs"]["do_sample"] is True and cfg["generation_kwargs"]["temperature"] == 1.0
    samples = _lm_samples(sampled_runs)
    assert len(samples) == 3
    items = []
    for s in samples:
        assert len(s["resps"][0]) == 4
        verdicts = _verdicts(s)
        assert len(verdicts) == 4 and all(set(v) >= {"correct", "extracted", "finished", "reason"} for v in verdicts)
        items.append(([int(v["correct"]) for v in verdicts], [v["extracted"] for v in verdicts]))
        assert s["avg@4"] == pytest.approx(sum(items[-1][0]) / 4)
    ours = _ours(items, 4)
    r = res["results"]["r1k_reverse_k"]
    assert r["avg@4,score"] == pytest.approx(ours["avg@k"])
    assert r["pass@4,score"] == pytest.approx(ours["pass@k"])
    assert r["maj@4,score"] == pytest.approx(ours["maj@k"])


@pytest.mark.e2e
def test_inspect_k_samples_with_reducers(sampled_runs):
    from inspect_ai.log import read_eval_log

    log = read_eval_log(glob.glob(str(sampled_runs / "insp" / "*.eval"))[0])
    assert log.status == "success" and log.eval.config.epochs == 3
    assert log.plan.config.temperature == 1.0 and log.plan.config.top_p == 0.95
    by = {}
    for s in log.samples:
        sc = s.scores["r1k_scorer"]
        v, a = by.setdefault(s.id, ([], []))
        v.append(int(sc.value == "C"))
        a.append(sc.answer)
    assert len(by) == 3 and all(len(v) == 3 for v, _ in by.values())
    ours = _ours(list(by.values()), 3)
    got = {sc.reducer: sc.metrics["accuracy"].value for sc in log.results.scores}
    assert got["avg_at_k"] == pytest.approx(ours["avg@k"])
    assert got["pass_at_k_3"] == pytest.approx(ours["pass@k"])
    assert got["maj_at_k"] == pytest.approx(ours["maj@k"])


@pytest.mark.e2e
def test_board_shows_sampled_runs_apart_and_compares_harnesses(sampled_runs, tmp_path):
    from inspect_ai.log import read_eval_log

    out = tmp_path / "board"
    p = run(
        "r1k",
        "leaderboard",
        "export",
        sampled_runs / "lm",
        sampled_runs / "insp",
        "--out",
        out,
        "--no-plots",
        cwd=tmp_path,
        check=True,
    )
    doc = json.loads((out / "leaderboard.json").read_text())
    sec = doc["sampled"]
    rows = {r["harness"]: r for r in sec["rows"]}
    assert set(rows) == {"lm-eval", "inspect"} and not doc["rows"]  # not on the greedy table
    lm_items = [
        ([int(v["correct"]) for v in _verdicts(s)], [v["extracted"] for v in _verdicts(s)])
        for s in _lm_samples(sampled_runs)
    ]
    log = read_eval_log(glob.glob(str(sampled_runs / "insp" / "*.eval"))[0])
    by = {}
    for s in log.samples:
        v, a = by.setdefault(s.id, ([], []))
        v.append(int(s.scores["r1k_scorer"].value == "C"))
        a.append(s.scores["r1k_scorer"].answer)
    for h, items, k in (("lm-eval", lm_items, 4), ("inspect", list(by.values()), 3)):
        r = rows[h]
        assert (r["k"], r["temperature"], r["top_p"], r["n_items"], r["task"]) == (k, 1.0, 0.95, 3, "r1k_reverse")
        ours = _ours(items, k)
        for m in ("avg@k", "pass@k", "maj@k"):
            assert r[m]["value"] == pytest.approx(ours[m]), (h, m)
    (c,) = sec["cross_harness"]
    pa = {s["doc"]["id"]: sum(v) / len(v) for s, (v, _) in zip(_lm_samples(sampled_runs), lm_items)}
    pb = {i: sum(v) / len(v) for i, (v, _) in by.items()}
    assert c["n_common"] == 3
    assert c["mean_diff"] == pytest.approx(sum(pa[i] - pb[i] for i in pa) / 3)
    assert "k differs" in c["note"]  # 4 vs 3 samples: reported, not judged
    md = (out / "leaderboard.md").read_text()
    assert "## Sampled runs" in md and "| r1k_reverse | lm-eval | 4 | 1 | 0.95 | 3 |" in md
    assert "sampled" in p.stdout or p.returncode == 0


@pytest.mark.e2e
def test_compare_rejects_sampled_against_greedy(sampled_runs, short_model, tmp_path):
    tiny_model = short_model
    g = tmp_path / "greedy"
    run(
        "lm_eval",
        "run",
        "--model",
        "hf",
        "--model_args",
        f"pretrained={tiny_model},dtype=float32",
        "--tasks",
        "r1k_reverse",
        "--limit",
        "3",
        "--gen_kwargs",
        "max_gen_toks=4,max_new_tokens=4",
        "--apply_chat_template",
        "--output_path",
        g,
        "--log_samples",
        cwd=tmp_path,
        check=True,
    )
    p = run("r1k", "leaderboard", "compare", sampled_runs / "lm", g, cwd=tmp_path)
    assert p.returncode == 2
    assert_one_line_error(p, "sampled run", "greedy")
    ok = run("r1k", "leaderboard", "compare", sampled_runs / "lm", sampled_runs / "insp", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "paired" in ok.stdout and "p=" in ok.stdout


@pytest.mark.e2e
@pytest.mark.parametrize(
    "meta,needle",
    [
        ({"r1k_k": 0}, "r1k_k=0"),
        ({"r1k_k": 2, "r1k_pass_k": 3}, "pass@3"),
        ({"r1k_temperature": 0}, "r1k_temperature=0"),
    ],
)
def test_lm_eval_bad_k_is_one_line(tmp_path, meta, needle):
    p = run(
        "lm_eval",
        "run",
        "--model",
        "dummy",
        "--tasks",
        "r1k_reverse_k",
        "--metadata",
        json.dumps(meta),
        "--limit",
        "1",
        cwd=tmp_path,
    )
    assert p.returncode == 2, p.stderr[-2000:]
    last = p.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --metadata ") and needle in last, last


@pytest.mark.e2e
@pytest.mark.parametrize("targ,needle", [("k=0", "-T k=0"), ("k=two", "-T k='two'")])
def test_inspect_bad_k_is_one_line(tmp_path, targ, needle):
    p = run(
        "inspect",
        "eval",
        "r1k_plugins/r1k_reverse",
        "--model",
        "mockllm/model",
        "-T",
        targ,
        "--display",
        "plain",
        "--log-dir",
        tmp_path,
        cwd=tmp_path,
    )
    assert p.returncode == 1 and "Traceback" not in p.stdout + p.stderr
    lines = [l for l in p.stdout.splitlines() if l.startswith("error: ")]
    assert len(lines) == 1 and needle in lines[0], p.stdout[-2000:]


def test_board_module_metrics_and_comparison_rules(tmp_path):
    """leaderboard/sampling.py on hand-made runs: the metrics are sampling_metrics' over items, a
    sampled run is never compared with a greedy one, and the paired test uses per-item proportions."""
    from r1k_plugins.leaderboard.sampling import SampledRun, board_section, compare

    a = SampledRun(
        "lm-eval",
        "m",
        "r1k_reverse",
        tmp_path / "a.json",
        "2026",
        4,
        2,
        1.0,
        0.95,
        {"x": ([True, False, True, False], ["7", "3", "7", "3"], "numeric"), "y": ([False] * 4, [None] * 4, "numeric")},
    )
    m = a.metrics()
    assert (m["k"], m["n"], m["n_items"]) == (2, 4, 2)
    assert m["avg@k"]["value"] == pytest.approx(0.25) and m["pass@k"]["value"] == pytest.approx(5 / 12)
    assert m["maj@k"]["value"] == pytest.approx(0.5) and m["maj@k"]["stderr"] == pytest.approx(0.5)
    b = SampledRun(
        "inspect",
        "m",
        "r1k_reverse",
        tmp_path / "b.eval",
        "2026",
        4,
        4,
        1.0,
        0.95,
        {"x": ([True] * 4, ["7"] * 4, "numeric"), "y": ([True, False, False, False], ["7"] + [None] * 3, "numeric")},
    )
    c = compare(a, b)
    assert c["n_common"] == 2 and c["mean_diff"] == pytest.approx(((0.5 - 1) + (0 - 0.25)) / 2)
    assert c["p_value"] == pytest.approx(2 / 4) and c["agree"] is True and c["note"] is None
    g = SampledRun(
        "inspect", "m", "r1k_reverse", tmp_path / "g.eval", "2026", 1, 1, 0.0, None, {"x": ([True], [None], "numeric")}
    )
    with pytest.raises(R1KError, match="sampled run .* greedy one"):
        compare(a, g)
    row = next(r for r in board_section([a, b])["rows"] if r["harness"] == "lm-eval")  # the board's section
    assert (row["model"], row["task"], row["harness"], row["k"], row["temperature"], row["top_p"]) == (
        "m",
        "r1k_reverse",
        "lm-eval",
        4,
        1.0,
        0.95,
    )
    assert row["n_items"] == 2 and row["avg@k"]["value"] == pytest.approx(0.25)
    assert row["pass_k"] == 2 and row["pass@k"]["value"] == pytest.approx(5 / 12)


@pytest.mark.e2e
def test_lm_eval_lists_and_validates_the_sampled_tasks(tmp_path):
    import re

    p = run("lm_eval", "ls", "tasks", cwd=tmp_path, check=True)
    for t in ("r1k_forward_k", "r1k_reverse_k", "r1k_aime24_k", "r1k_math500_k", "r1k_gpqa_diamond_k"):
        assert re.search(rf"\|{t}\s*\|", p.stdout), t
    v = run("lm_eval", "validate", "--tasks", "r1k_reverse_k,r1k_aime24_k", cwd=tmp_path)
    assert v.returncode == 0, v.stdout[-2000:] + v.stderr[-2000:]
