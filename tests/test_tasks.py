"""End-to-end: the real `lm_eval` and `inspect eval` commands run every r1k task on a tiny local model."""

import glob
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, chain_model, run

GEN = ["--gen_kwargs", "max_gen_toks=12", "--apply_chat_template", "--batch_size", "4"]


def _results(out_dir: Path) -> dict:
    files = sorted(glob.glob(str(out_dir / "**" / "results_*.json"), recursive=True))
    assert files, f"no results file under {out_dir}"
    return json.loads(Path(files[-1]).read_text())


def _samples(out_dir: Path, task: str) -> list[dict]:
    files = sorted(glob.glob(str(out_dir / "**" / f"samples_{task}_*.jsonl"), recursive=True))
    assert files, f"no samples for {task}"
    return [json.loads(l) for l in open(files[-1])]


@pytest.fixture(scope="module")
def bench_files(tmp_path_factory):
    """Local copies of the benchmarks in their own hub layouts (no network in tests)."""
    d = tmp_path_factory.mktemp("bench")
    (d / "aime.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "id": i,
                    "problem": f"Find the sum of {i} and {i + 1}.",
                    "solution": "",
                    "answer": str(2 * i + 1),
                    "url": "",
                    "year": "2024",
                }
            )
            + "\n"
            for i in range(3)
        )
    )
    (d / "math500.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "problem": f"What is ${i} \\cdot 2$?",
                    "solution": f"$\\boxed{{{2 * i}}}$",
                    "answer": str(2 * i),
                    "subject": "Prealgebra",
                    "level": 1,
                    "unique_id": f"test/prealgebra/{i}.json",
                }
            )
            + "\n"
            for i in range(3)
        )
    )
    (d / "gpqa.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "Question": f"Which is item {i}?",
                    "Correct Answer": f"item {i}",
                    "Incorrect Answer 1": "x",
                    "Incorrect Answer 2": "y",
                    "Incorrect Answer 3": "z",
                    "Record ID": f"r{i}",
                }
            )
            + "\n"
            for i in range(3)
        )
    )
    return d


@pytest.fixture(scope="module")
def lmeval_run(tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("lmeval")
    p = run(
        "lm_eval",
        "run",
        "--model",
        "hf",
        "--model_args",
        f"pretrained={tiny_model},dtype=float32",
        "--tasks",
        "r1k,r1k_direction",
        "--limit",
        "3",
        *GEN,
        "--output_path",
        out,
        "--log_samples",
        cwd=out,
        check=True,
    )
    return out, p


@pytest.mark.e2e
def test_lm_eval_sees_the_tasks_without_include_path(tmp_path):
    p = run("lm_eval", "ls", "tasks", cwd=tmp_path, check=True)
    for t in (
        "r1k",
        "r1k_forward",
        "r1k_reverse",
        "r1k_direction",
        "r1k_bench",
        "r1k_aime24",
        "r1k_math500",
        "r1k_gpqa_diamond",
    ):
        assert re.search(rf"\|{t}\s*\|", p.stdout), t
    v = run("lm_eval", "validate", "--tasks", "r1k,r1k_direction,r1k_bench", cwd=tmp_path)
    assert v.returncode == 0, v.stdout + v.stderr
    off = run("lm_eval", "ls", "tasks", cwd=tmp_path, env={"R1K_NO_LMEVAL_HOOK": "1"}, check=True)
    assert "r1k_reverse" not in off.stdout  # the opt-out works


@pytest.mark.e2e
def test_users_include_path_is_still_honoured(tmp_path):
    mine = tmp_path / "mytasks"
    mine.mkdir()
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"q": "2+2?", "a": "4"}) + "\n")
    (mine / "my_task.yaml").write_text(
        "task: my_private_task\ndataset_path: json\ndataset_kwargs:\n  data_files:\n"
        f"    test: {data}\noutput_type: generate_until\ntest_split: test\ndoc_to_text: '{{{{q}}}}'\n"
        "doc_to_target: '{{a}}'\nmetric_list:\n  - metric: exact_match\n"
    )
    p = run("lm_eval", "ls", "tasks", "--include_path", mine, cwd=tmp_path, check=True)
    assert "my_private_task" in p.stdout and "r1k_reverse" in p.stdout


@pytest.mark.e2e
def test_lm_eval_runs_r1k_and_direction(lmeval_run):
    out, _ = lmeval_run
    res = _results(out)
    for t in ("r1k_forward", "r1k_reverse"):
        r = res["results"][t]
        accs = [s["acc"] for s in _samples(out, t)]
        assert len(accs) == 3 and set(accs) <= {0.0, 1.0}
        assert r["acc,extract"] == pytest.approx(sum(accs) / 3) and "acc_stderr,extract" in r
        assert res["n-samples"][t]["effective"] == 3
    d = res["results"]["r1k_direction"]
    dir_samples = _samples(out, "r1k_direction")
    assert d["acc,none"] == pytest.approx(sum(s["acc"] for s in dir_samples) / len(dir_samples))
    assert d["margin,none"] == pytest.approx(sum(s["margin"] for s in dir_samples) / len(dir_samples))
    for k in ("acc_forward", "acc_reverse", "margin_forward", "margin_reverse"):
        assert isinstance(d[f"{k},none"], float), k
    assert "r1k" in res["groups"]
    # per-sample logs carry the extracted answer (filtered_resps) next to the raw response
    for s in _samples(out, "r1k_reverse"):
        assert isinstance(s["filtered_resps"][0], str) and s["resps"][0][0] is not None
        assert s["doc"]["direction"] == "reverse"
    direction = _samples(out, "r1k_direction")
    assert {s["doc"]["direction"] for s in direction} == {"forward", "reverse"}
    for s in direction:  # margin = per-byte log-prob of the matching trace minus the other's
        (ll_m, _), (ll_o, _) = s["resps"][0][0], s["resps"][1][0]
        ll_m, ll_o = float(ll_m), float(ll_o)
        want = ll_m / len(s["doc"]["matching"].encode()) - ll_o / len(s["doc"]["other"].encode())
        assert s["margin"] == pytest.approx(want) and s["acc"] == float(want > 0)
        assert s["margin_forward"][0] == s["doc"]["direction"]
    by_dir = {k: [s["margin"] for s in direction if s["doc"]["direction"] == k] for k in ("forward", "reverse")}
    assert d["margin_forward,none"] == pytest.approx(sum(by_dir["forward"]) / len(by_dir["forward"]))
    assert d["margin_reverse,none"] == pytest.approx(sum(by_dir["reverse"]) / len(by_dir["reverse"]))


@pytest.mark.e2e
def test_the_plain_lm_eval_command_from_the_docs(tiny_model, tmp_path):
    """`lm_eval --model hf --model_args pretrained=DIR --tasks r1k_reverse` as written (no run
    subcommand, default generation budget): the tiny model's own cap keeps it short."""
    p = run(
        "lm_eval",
        "--model",
        "hf",
        "--model_args",
        f"pretrained={tiny_model}",
        "--tasks",
        "r1k_reverse",
        "--limit",
        "2",
        "--output_path",
        tmp_path,
        cwd=tmp_path,
        check=True,
    )
    assert "r1k_reverse" in p.stdout
    assert _results(tmp_path)["n-samples"]["r1k_reverse"]["effective"] == 2


@pytest.mark.e2e
def test_lm_eval_bench_tasks_on_local_copies(tiny_model, bench_files, tmp_path):
    meta = json.dumps(
        {
            "aime24_data": str(bench_files / "aime.jsonl"),
            "math500_data": str(bench_files / "math500.jsonl"),
            "gpqa_data": str(bench_files / "gpqa.jsonl"),
        }
    )
    run(
        "lm_eval",
        "run",
        "--model",
        "hf",
        "--model_args",
        f"pretrained={tiny_model},dtype=float32",
        "--tasks",
        "r1k_bench",
        "--metadata",
        meta,
        *GEN,
        "--output_path",
        tmp_path,
        "--log_samples",
        cwd=tmp_path,
        check=True,
    )
    res = _results(tmp_path)
    for t in ("r1k_aime24", "r1k_math500", "r1k_gpqa_diamond"):
        assert res["n-samples"][t]["effective"] == 3, t
    gp = _samples(tmp_path, "r1k_gpqa_diamond")
    assert all(s["doc"]["answer_type"] == "choice" and s["doc"]["answer"] in "ABCD" for s in gp)


@pytest.mark.e2e
def test_lm_eval_task_reads_a_user_r1k_file(tiny_model, synth_data, tmp_path):
    meta = json.dumps({"r1k_data": str(synth_data / "test.jsonl")})
    run(
        "lm_eval",
        "run",
        "--model",
        "hf",
        "--model_args",
        f"pretrained={tiny_model},dtype=float32",
        "--tasks",
        "r1k_forward",
        "--metadata",
        meta,
        "--limit",
        "2",
        *GEN,
        "--output_path",
        tmp_path,
        "--log_samples",
        cwd=tmp_path,
        check=True,
    )
    test_ids = {json.loads(l)["id"] for l in open(synth_data / "test.jsonl")}
    assert {s["doc"]["id"] for s in _samples(tmp_path, "r1k_forward")} <= test_ids


def _inspect_logs(log_dir: Path):
    from inspect_ai.log import list_eval_logs, read_eval_log

    return [read_eval_log(i) for i in list_eval_logs(str(log_dir))]


def _inspect_common(model):
    return [
        "--model",
        "hf/local",
        "-M",
        f"model_path={model}",
        "-M",
        "do_sample=false",
        "-T",
        "max_tokens=12",
        "--display",
        "none",
    ]


@pytest.fixture(scope="module")
def inspect_run(tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("inspect")
    run(
        "inspect",
        "eval",
        "r1k_plugins/r1k_forward",
        "r1k_plugins/r1k_reverse",
        "-T",
        "limit=3",
        *_inspect_common(tiny_model),
        "--log-dir",
        out / "gen",
        cwd=out,
        check=True,
    )
    return out / "gen"


@pytest.mark.e2e
def test_inspect_runs_every_task(tiny_model, inspect_run, bench_files, tmp_path):
    common = _inspect_common(tiny_model)
    for task, f in (("r1k_aime24", "aime.jsonl"), ("r1k_math500", "math500.jsonl"), ("r1k_gpqa_diamond", "gpqa.jsonl")):
        run(
            "inspect",
            "eval",
            f"r1k_plugins/{task}",
            "-T",
            f"data={bench_files / f}",
            *common,
            "--log-dir",
            tmp_path / "bench",
            cwd=tmp_path,
            check=True,
        )
    logs = _inspect_logs(inspect_run) + _inspect_logs(tmp_path / "bench")
    assert sorted(l.eval.task.split("/")[-1] for l in logs) == sorted(
        ["r1k_forward", "r1k_reverse", "r1k_aime24", "r1k_math500", "r1k_gpqa_diamond"]
    )
    for log in logs:
        assert log.status == "success"
        verdicts = []
        for s in log.samples:
            sc = next(iter(s.scores.values()))
            assert "extracted" in sc.metadata and sc.value in ("C", "I")
            verdicts.append(1.0 if sc.value == "C" else 0.0)
        assert len(verdicts) == 3
        assert log.results.scores[0].metrics["accuracy"].value == pytest.approx(sum(verdicts) / 3)


@pytest.mark.e2e
def test_leaderboard_from_real_harness_runs(tiny_model, lmeval_run, inspect_run, tmp_path):
    """The board built from this module's real lm-eval results and Inspect logs on the tiny model."""
    out = tmp_path / "board"
    run("r1k", "leaderboard", "export", lmeval_run[0], inspect_run, "--out", out, check=True)
    doc = json.loads((out / "leaderboard.json").read_text())
    assert len(doc["rows"]) == 1
    row = doc["rows"][0]
    assert row["arm"] == "base" and Path(row["model"]).resolve() == Path(tiny_model).resolve()
    res = row["results"]
    lm = _results(lmeval_run[0])["results"]
    for task in ("r1k_forward", "r1k_reverse"):
        assert set(res[task]) == {"lm-eval", "inspect"}
        assert res[task]["lm-eval"]["score"] == lm[task]["acc,extract"] and res[task]["lm-eval"]["n"] == 3
        assert res[task]["inspect"]["n"] == 3
    assert res["r1k_direction"]["lm-eval"]["metrics"]["margin"]["value"] == lm["r1k_direction"]["margin,none"]
    assert (out / "direction.png").stat().st_size > 1000 and (out / "scores.png").stat().st_size > 1000
    cross = {c["task"] for c in doc["cross_harness"]}
    assert {"r1k_forward", "r1k_reverse"} <= cross
    md = (out / "leaderboard.md").read_text()
    assert "r1k_reverse" in md and "lm-eval" in md and "Inspect" in md


def _load_lmeval_utils():
    spec = importlib.util.spec_from_file_location("r1k_task_utils", ROOT / "tasks" / "utils.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


RESPONSES = [
    ("<|im_start|>think\n2+2\n<|im_start|>answer\nAnswer: \\boxed{4}", "4", "numeric"),
    ("<think>so</think>The answer is \\boxed{\\frac{1}{2}}", "0.5", "numeric"),
    ("<think>never closed \\boxed{4}", "4", "numeric"),
    ("", "4", "numeric"),
    ("I pick (C) since A is wrong.", "C", "choice"),
    ("<|im_start|>think\n..\n<|im_start|>answer\n\\boxed{GREAT DOSH}", "great dosh", "text"),
    ("<think>x</think>\\boxed{x^2+1}", "1+x^2", "expression"),
    ("<think>x</think>Answer: 12", "13", "numeric"),
]


@pytest.mark.e2e
def test_both_harnesses_score_the_same_responses_the_same():
    """The lm-eval path (filter + process_results) and the Inspect scorer agree response by response."""
    import asyncio

    from inspect_ai.model import ChatMessageUser, ModelOutput
    from inspect_ai.scorer import Target
    from inspect_ai.solver import TaskState

    from r1k_plugins.eval.inspect_tasks import r1k_scorer

    utils = _load_lmeval_utils()
    scorer = r1k_scorer()
    lm, insp = [], []
    for text, gold, atype in RESPONSES:
        doc = {"answer": gold, "answer_type": atype}
        [[extracted]] = utils.extract_answers([[text]], [doc])
        lm.append((utils.process_generation(doc, [extracted])["acc"], extracted or None))
        state = TaskState(
            model="m",
            sample_id=1,
            epoch=1,
            input="q",
            messages=[ChatMessageUser(content="q")],
            output=ModelOutput.from_content("m", text),
            metadata={"answer_type": atype},
        )
        score = asyncio.run(scorer(state, Target(gold)))
        insp.append((1.0 if score.value == "C" else 0.0, score.answer))
    assert lm == insp
    assert [x[0] for x in lm] == [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0]


@pytest.mark.e2e
def test_startup_cost_of_the_hook():
    """`python -c pass` imports nothing heavy: only the tiny hook module, never lm_eval."""
    code = "import sys; print(sorted(m for m in sys.modules if m.startswith(('r1k', 'lm_eval'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['r1k_plugins', 'r1k_plugins.eval', 'r1k_plugins.eval.lmeval_hook']"
    off = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, R1K_NO_LMEVAL_HOOK="1"),
    ).stdout
    assert off.strip() == "[]"


@pytest.mark.e2e
def test_greedy_harnesses_give_identical_responses_and_verdicts(tiny_model, lmeval_run, tmp_path):
    """Greedy decoding in both harnesses (lm-eval's YAML do_sample false, Inspect's hf with
    -M do_sample=false): the same response and the same verdict for every item, paired by id.
    The same budget too: the tiny model's generation_config caps lm-eval at 256 new tokens."""
    out, _ = lmeval_run
    common = [x if x != "max_tokens=12" else "max_tokens=256" for x in _inspect_common(tiny_model)]
    run(
        "inspect",
        "eval",
        "r1k_plugins/r1k_forward",
        "-T",
        "limit=3",
        *common,
        "--log-dir",
        tmp_path / "logs",
        cwd=tmp_path,
        check=True,
    )
    logs = {log.eval.task.split("/")[-1]: log for log in _inspect_logs(tmp_path / "logs")}
    for task in ("r1k_forward",):
        lm = {s["doc"]["id"]: (s["resps"][0][0], s["acc"]) for s in _samples(out, task)}
        insp = {
            s.id: (s.output.completion, 1.0 if next(iter(s.scores.values())).value == "C" else 0.0)
            for s in logs[task].samples
        }
        assert len(lm) == 3 and sorted(lm) == sorted(insp)
        for rid in lm:
            assert lm[rid] == insp[rid], (task, rid)


def test_s1_markers_stripped_by_lm_evals_hf_decoding(tiny_model):
    """lm-eval's hf backend decodes with skip_special_tokens, so `<|im_start|>think` reaches the scorer
    as 'think'. Through lm-eval's own tok_encode/tok_decode on the tiny model's tokenizer: a trace cut
    mid-thought is unfinished (never scored from the box in its reasoning); a finished one scores."""
    from lm_eval.models.huggingface import HFLM

    from r1k_plugins.core.scoring import score_response

    utils = _load_lmeval_utils()
    lm = HFLM(pretrained=str(tiny_model), device="cpu", dtype="float32")
    doc = {"answer": "4", "answer_type": "numeric"}
    cut = "<|im_start|>think\nTwo and two: maybe \\boxed{4}, let me check"
    done = "<|im_start|>think\nmaybe \\boxed{3}\n<|im_start|>answer\nAnswer: \\boxed{4}<|im_end|>"
    seen_cut, seen_done = (lm.tok_decode(lm.tok_encode(t)) for t in (cut, done))
    assert "<|im_start|>" not in seen_cut and seen_cut.lstrip().startswith("think")
    assert score_response(seen_cut, "4", "numeric")["reason"] == "unfinished_thinking"
    assert utils.extract_answers([[seen_cut]], [doc]) == [[""]]
    assert score_response(seen_done, "4", "numeric") == score_response(done, "4", "numeric")
    assert utils.extract_answers([[seen_done]], [doc]) == [["4"]]
    assert utils.process_generation(doc, ["4"]) == {"acc": 1.0}


@pytest.mark.e2e
def test_lm_eval_hf_trace_cut_mid_thought_is_not_scored(tiny_model, tmp_path):
    """Real `lm_eval --model hf` output of an s1 trace cut off mid-thought: the hf backend drops the
    `<|im_start|>` special tokens, and the box inside the unfinished reasoning holds the gold answer;
    the trace must still count as unfinished (no extracted answer, acc 0)."""
    from transformers import AutoTokenizer

    from r1k_plugins.eval.evaldata import generation_doc, load_task_records

    tok = AutoTokenizer.from_pretrained(tiny_model)
    rec = load_task_records("r1k_forward", None, 1)[0]
    last = tok.encode(generation_doc(rec)["prompt"], add_special_tokens=False)[-1]
    for tail in (" so", " ok", " yes", ""):
        seq = tok.encode(f"<|im_start|>think\nmaybe \\boxed{{{rec.answer}}}{tail}", add_special_tokens=False)
        if len(set([last] + seq)) == len(seq) + 1:
            break
    else:
        pytest.fail("no trace text with distinct tokens")
    model = tmp_path / "chain"
    chain_model(tiny_model, model, [last] + seq)
    run(
        "lm_eval",
        "run",
        "--model",
        "hf",
        "--model_args",
        f"pretrained={model},dtype=float32",
        "--tasks",
        "r1k_forward",
        "--limit",
        "1",
        "--output_path",
        tmp_path / "out",
        "--log_samples",
        cwd=tmp_path,
        check=True,
    )
    [s] = _samples(tmp_path / "out", "r1k_forward")
    resp = s["resps"][0][0]
    assert resp.startswith(f"think\nmaybe \\boxed{{{rec.answer}}}") and "<|im_start|>" not in resp
    assert s["filtered_resps"][0] == "" and s["acc"] == 0.0
