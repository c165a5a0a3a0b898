import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import assert_one_line_error, run

from r1k_plugins.core.record import Record, read_records
from r1k_plugins.data.invert import MaskStrategy, Skip
from r1k_plugins.data.mix import build_dpo_rows, build_sft_rows


# ---------------------------------------------------------------- synth
@pytest.mark.e2e
def test_synth_is_deterministic_and_split_by_pair(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    run("r1k", "data", "synth", "--n", "300", "--seed", "7", "--out", a, check=True)
    run("r1k", "data", "synth", "--n", "300", "--seed", "7", "--out", b, check=True)
    for split in ("train.jsonl", "test.jsonl"):
        assert (a / split).read_bytes() == (b / split).read_bytes()
    train, test = read_records(a / "train.jsonl"), read_records(a / "test.jsonl")
    assert len(train) + len(test) == 600 and len(test) == 60
    assert not {r.pair_id for r in train} & {r.pair_id for r in test}
    assert not {r.question for r in train} & {r.question for r in test}
    other = tmp_path / "c"
    run("r1k", "data", "synth", "--n", "300", "--seed", "8", "--out", other, check=True)
    assert (other / "train.jsonl").read_bytes() != (a / "train.jsonl").read_bytes()


def test_synth_reverse_items_are_consistent():
    from r1k_plugins.data.synth import generate

    train, _ = generate(200, 3)
    by_pair = {}
    for r in train:
        by_pair.setdefault(r.pair_id, {})[r.direction] = r
    for d in by_pair.values():
        f, r = d["forward"], d["reverse"]
        inv = r.meta["inversion"]
        assert r.answer == str(inv["hidden_value"]) == str(f.meta["values"][inv["hidden"]])
        assert f.answer in r.question  # the forward result is given
        assert str(inv["hidden_value"]) in f.question
        assert r.reasoning.endswith(f"So the answer is {r.answer}.")
        assert f.reasoning.endswith(f"So the answer is {f.answer}.")


# ---------------------------------------------------------------- import
@pytest.mark.e2e
def test_import_r1k_published_sample(tmp_path, r1k_sample):
    r1k_sample, n = r1k_sample
    out = tmp_path / "r1k.jsonl"
    p = run("r1k", "data", "import", r1k_sample, "--preset", "r1k-published", "--out", out, check=True)
    assert f"{n} forward, {n} reverse" in p.stdout
    recs = read_records(out)
    fwd = {r.pair_id: r for r in recs if r.direction == "forward"}
    rev = {r.pair_id: r for r in recs if r.direction == "reverse"}
    assert len(fwd) == n and len(rev) == n and set(fwd) == set(rev)
    for pid in fwd:
        assert fwd[pid].question != rev[pid].question
        assert fwd[pid].reasoning and rev[pid].reasoning
        assert "<|im_start|>" not in fwd[pid].reasoning and "<|im_end|>" not in (rev[pid].response or "")
    # the crossword item: forward gold from "### Answer:", reverse gold from the reverse trace's box
    cross = [pid for pid, r in fwd.items() if r.answer == "GOATHERDS"]
    assert cross and rev[cross[0]].answer == "GREAT DOSH"
    types = {r.answer_type for r in recs}
    assert "numeric" in types and "text" in types
    # r1k data verify passes, and pairs build 100 DPO rows
    run("r1k", "data", "verify", out, check=True)
    pairs = tmp_path / "pairs.jsonl"
    run("r1k", "data", "pairs", out, "--out", pairs, check=True)
    assert sum(1 for _ in open(pairs)) == 2 * n


@pytest.mark.e2e
def test_import_s1k_preset_from_s1k11_columns(tmp_path, r1k_sample):
    r1k_sample, n = r1k_sample
    out = tmp_path / "s1k.jsonl"
    p = run("r1k", "data", "import", r1k_sample, "--preset", "s1k", "--out", out, check=True)
    recs = read_records(out)
    assert len(recs) == n and all(r.direction == "forward" for r in recs)  # duplicates dropped
    assert "answer types:" in p.stdout
    assert all(r.meta["trace"] == "deepseek" for r in recs)
    out2 = tmp_path / "s1k-gemini.jsonl"
    run("r1k", "data", "import", r1k_sample, "--preset", "s1k", "--trace", "gemini", "--out", out2, check=True)
    g = read_records(out2)
    assert g[0].reasoning != recs[0].reasoning
    # pair ids agree with the r1k-published import (same forward question -> same pair id)
    out3 = tmp_path / "r1k.jsonl"
    run("r1k", "data", "import", r1k_sample, "--preset", "r1k-published", "--out", out3, check=True)
    assert {r.pair_id for r in recs} == {r.pair_id for r in read_records(out3)}


@pytest.mark.e2e
def test_import_s1k_v1_layout_and_gold_extraction(tmp_path):
    rows = [
        {
            "question": "Compute 2+3.",
            "solution": "5",
            "cot_type": "math",
            "source_type": "x",
            "thinking_trajectories": ["2 plus 3 is 5."],
            "attempt": "\\boxed{5}",
        },
        {
            "question": "Find x if x/2 = 3/4.",
            "solution": "We have $x = \\frac{3}{2}$, so the answer is $\\boxed{\\frac{3}{2}}$. " + "More words. " * 10,
            "cot_type": "math",
            "source_type": "x",
            "thinking_trajectories": ["..."],
            "attempt": "3/2",
        },
        {
            "question": "Explain why the sky is blue.",
            "solution": "Because of Rayleigh scattering " * 10,
            "cot_type": "science",
            "source_type": "y",
            "thinking_trajectories": ["..."],
            "attempt": "...",
        },
    ]
    src = tmp_path / "s1k.parquet"
    pq.write_table(pa.Table.from_pylist(rows), src)
    out = tmp_path / "out.jsonl"
    p = run("r1k", "data", "import", src, "--preset", "s1k", "--out", out, check=True)
    recs = read_records(out)
    assert [r.answer_type for r in recs] == ["numeric", "expression", "text"]
    assert recs[0].answer == "5" and recs[1].answer == "\\frac{3}{2}"
    assert recs[0].reasoning == "2 plus 3 is 5." and recs[0].meta["trace"] == "gemini"
    assert "numeric 1, expression 1, text 1" in p.stdout


@pytest.mark.e2e
def test_benchmark_presets(tmp_path):
    m = tmp_path / "math500.jsonl"
    m.write_text(
        json.dumps(
            {
                "problem": "What is $1+1$?",
                "solution": "It is $\\boxed{2}$.",
                "answer": "2",
                "subject": "Algebra",
                "level": 1,
                "unique_id": "test/algebra/1.json",
            }
        )
        + "\n"
    )
    a = tmp_path / "aime.jsonl"
    a.write_text(
        json.dumps({"id": 60, "problem": "Find N.", "solution": "...", "answer": "204", "url": "u", "year": "2024"})
        + "\n"
    )
    g = tmp_path / "gpqa.jsonl"
    g.write_text(
        "".join(
            json.dumps(
                {
                    "Question": f"Q{i}?",
                    "Correct Answer": "right",
                    "Incorrect Answer 1": "w1",
                    "Incorrect Answer 2": "w2",
                    "Incorrect Answer 3": "w3",
                    "Record ID": f"rec{i}",
                }
            )
            + "\n"
            for i in range(8)
        )
    )
    for src, preset in ((m, "math500"), (a, "aime"), (g, "gpqa")):
        out = tmp_path / f"{preset}.out.jsonl"
        run("r1k", "data", "import", src, "--preset", preset, "--out", out, check=True)
        recs = read_records(out)
        if preset == "math500":
            assert recs[0].answer == "2" and recs[0].answer_type == "numeric"
        if preset == "aime":
            assert recs[0].answer == "204" and recs[0].id == "aime-60"
        if preset == "gpqa":
            letters = {r.answer for r in recs}
            assert len(letters) > 1  # shuffled, not always A
            for r in recs:
                assert r.answer_type == "choice"
                assert re.search(rf"^{r.answer}\) right$", r.question, re.M)
            again = tmp_path / "gpqa2.jsonl"
            run("r1k", "data", "import", src, "--preset", "gpqa", "--out", again, check=True)
            assert again.read_bytes() == out.read_bytes()


# ---------------------------------------------------------------- invert
UNSEEN = [
    ("A bakery sells 48 muffins in the morning and 27 in the afternoon. How many muffins does it sell?", "75"),
    ("Let $f(x) = 3x + 7$. What is $f(5)$?", "22"),
    ("A train travels 240 miles in 4 hours. What is its average speed in miles per hour?", "60"),
    ("Find the remainder when $2^{10}$ is divided by 7.", "2"),
    ("The sum of two numbers is 31 and their difference is 5. What is the larger number?", "18"),
    ("How many positive divisors does 360 have?", "24"),
]


def _fwd(i, q, a):
    return Record(
        id=f"p{i}-f", pair_id=f"p{i}", direction="forward", question=q, answer=a, answer_type="numeric", source="t"
    )


def test_mask_inversion_hides_a_stated_number():
    strat = MaskStrategy(seed=0)
    for i, (q, a) in enumerate(UNSEEN):
        f = _fwd(i, q, a)
        r = strat.invert(f)
        inv = r.meta["inversion"]
        s, e = inv["span"]
        assert r.answer == inv["hidden_value"] == q[s:e]
        assert r.answer in re.findall(r"\d+", q)
        var = inv["variable"]
        assert f"is {a}, what is the value of the unknown variable {var}?" in r.question
        masked = r.question.split("\n\nIf we know")[0]
        assert masked.replace(var, r.answer, 1) == q or masked[:s] + r.answer + masked[s + len(var) :] == q
        assert r.pair_id == f.pair_id and r.direction == "reverse" and r.answer_type == "numeric"
        assert strat.invert(f).to_dict() == r.to_dict()  # deterministic
    # exponents are not premises to hide: only 7 can be chosen in the remainder question
    r = MaskStrategy(seed=5).invert(_fwd(9, UNSEEN[3][0], "2"))
    assert r.answer == "7"


@pytest.mark.e2e
def test_mask_inversion_skips_and_counts(tmp_path):
    recs = [
        _fwd(0, UNSEEN[0][0], "75"),
        Record(
            id="t-f",
            pair_id="t",
            direction="forward",
            question="Name the capital of France.",
            answer="Paris",
            answer_type="text",
            source="t",
        ),
        Record(
            id="n-f",
            pair_id="n",
            direction="forward",
            question="What is the largest prime below ten?",
            answer="7",
            answer_type="numeric",
            source="t",
        ),
    ]
    with pytest.raises(Skip):
        MaskStrategy().invert(recs[1])
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in recs))
    out = tmp_path / "inv.jsonl"
    p = run("r1k", "data", "invert", src, "--strategy", "mask", "--out", out, "--no-progress", check=True)
    assert "3 forward, 1 inverted, 2 skipped" in p.stdout
    got = read_records(out)
    assert [r.direction for r in got].count("reverse") == 1 and len(got) == 4
    run("r1k", "data", "verify", out, check=True)


# ---------------------------------------------------------------- mix / pairs
def test_mix_modes_and_formats():
    from r1k_plugins.data.synth import generate

    train, _ = generate(40, 1)
    f = build_sft_rows(train, "forward")
    r = build_sft_rows(train, "reverse")
    m = build_sft_rows(train, "mixed")
    n = len(train) // 2  # pairs in the train split
    assert n == 36 and len(f) == len(r) == n and len(m) == 2 * n
    assert {x["direction"] for x in f} == {"forward"} and {x["direction"] for x in r} == {"reverse"}
    half = build_sft_rows(train, "mixed", ratio=0.25, seed=3)
    assert len(half) == n and sum(x["direction"] == "reverse" for x in half) == 9
    assert len({x["pair_id"] for x in half}) == n
    row = f[0]
    assert row["prompt"][0]["role"] == "user" and row["completion"][0]["role"] == "assistant"
    c = row["completion"][0]["content"]
    assert c.startswith("<|im_start|>think\n") and "\n<|im_start|>answer\nAnswer: \\boxed{" in c
    t = build_sft_rows(train, "forward", trace_format="think-tags")[0]["completion"][0]["content"]
    assert t.startswith("<think>\n") and "\n</think>\n" in t
    tagged = build_sft_rows(train, "mixed", direction_tags=True)
    assert all(x["prompt"][0]["content"].startswith(f"[{x['direction']}] ") for x in tagged)


def test_dpo_pairs_follow_the_paper():
    from r1k_plugins.data.synth import generate

    train, _ = generate(10, 2)
    rows = build_dpo_rows(train)
    assert len(rows) == len(train) == 18
    by = {(x["pair_id"], x["direction"]): x for x in rows}
    recs = {(x.pair_id, x.direction): x for x in train}
    for (pid, d), row in by.items():
        own, other = recs[(pid, d)], recs[(pid, "reverse" if d == "forward" else "forward")]
        assert own.question in row["prompt"][0]["content"]
        assert own.reasoning in row["chosen"][0]["content"]
        assert other.reasoning in row["rejected"][0]["content"]
    assert build_dpo_rows(train) == rows


@pytest.mark.e2e
def test_mix_and_pairs_cli(tmp_path):
    d = tmp_path / "d"
    run("r1k", "data", "synth", "--n", "20", "--out", d, check=True)
    out = tmp_path / "mix.jsonl"
    p = run(
        "r1k",
        "data",
        "mix",
        d / "train.jsonl",
        "--mode",
        "mixed",
        "--trace-format",
        "think-tags",
        "--direction-tags",
        "--out",
        out,
        check=True,
    )
    assert "36 SFT rows (18 forward, 18 reverse)" in p.stdout
    rows = [json.loads(l) for l in open(out)]
    assert rows[0]["completion"][0]["content"].startswith("<think>")


# ---------------------------------------------------------------- bad input
@pytest.mark.e2e
def test_bad_input_errors(tmp_path):
    d = tmp_path / "d"
    run("r1k", "data", "synth", "--n", "10", "--out", d, check=True)
    good = (d / "train.jsonl").read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join(good[:3] + ['{"id": "x", oops'] + good[3:]) + "\n")
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")
    line = assert_one_line_error(run("r1k", "data", "mix", bad, "--mode", "forward", "--out", out), f"{bad}:4")
    assert "malformed JSON" in line
    assert out.read_text() == "precious\n"  # nothing already written is lost

    missing = tmp_path / "missing.jsonl"
    rec = json.loads(good[0])
    del rec["answer_type"]
    missing.write_text(json.dumps(rec) + "\n")
    assert_one_line_error(run("r1k", "data", "pairs", missing, "--out", out), f"{missing}:1", "answer_type")

    wrongdir = tmp_path / "wd.jsonl"
    rec = json.loads(good[0]) | {"direction": "sideways"}
    wrongdir.write_text(json.dumps(rec) + "\n")
    assert_one_line_error(run("r1k", "data", "verify", wrongdir), "direction", "forward, reverse")

    assert_one_line_error(
        run("r1k", "data", "import", d / "train.jsonl", "--preset", "nope", "--out", out),
        "unknown preset",
        "s1k",
        "r1k-published",
        "math500",
        "aime",
        "gpqa",
    )
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert_one_line_error(run("r1k", "data", "mix", empty, "--mode", "forward", "--out", out), "no records")
    assert_one_line_error(run("r1k", "data", "import", empty, "--preset", "aime", "--out", out), "no rows")

    pqf = tmp_path / "other.parquet"
    pq.write_table(pa.Table.from_pylist([{"foo": 1, "bar": "x"}]), pqf)
    assert_one_line_error(
        run("r1k", "data", "import", pqf, "--preset", "s1k", "--out", out), "needs column(s) question, solution"
    )
    notpq = tmp_path / "broken.parquet"
    notpq.write_bytes(b"not a parquet file")
    assert_one_line_error(run("r1k", "data", "import", notpq, "--preset", "s1k", "--out", out), "parquet")

    assert_one_line_error(
        run("r1k", "data", "mix", d / "train.jsonl", "--mode", "forward", "--out", tmp_path / "nope" / "x.jsonl"),
        "does not exist",
        "mkdir -p",
    )
    assert_one_line_error(run("r1k", "data", "invert", tmp_path / "absent.jsonl", "--out", out), "not found")
    assert_one_line_error(
        run("r1k", "data", "import", "simplescaling/s1K-1.1", "--preset", "s1k", "--out", out),
        "simplescaling/s1K-1.1",
        "local",
    )
    # records without the requested direction
    fwd_only = tmp_path / "fwd.jsonl"
    fwd_only.write_text("\n".join(l for l in good if '"direction":"forward"' in l) + "\n")
    assert_one_line_error(run("r1k", "data", "mix", fwd_only, "--mode", "reverse", "--out", out), "--mode reverse")
    assert out.read_text() == "precious\n"


def test_atomic_write_leaves_no_half_file(tmp_path):
    from r1k_plugins.core.io import atomic_open

    target = tmp_path / "x.jsonl"
    target.write_text("old\n")
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(target) as fh:
            fh.write("half")
            raise KeyboardInterrupt
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.jsonl"]


@pytest.mark.e2e
def test_cli_help_lists_every_command():
    p = run("r1k", "--help", check=True)
    for name in ("data", "train", "leaderboard", "demo"):
        assert name in p.stdout
    p = run("r1k", "data", "--help", check=True)
    for name in ("synth", "import", "invert", "mix", "pairs", "verify"):
        assert name in p.stdout
