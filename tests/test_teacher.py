"""The LLM teacher (r1k data invert --strategy teacher) and verify-by-solving, against a loopback
OpenAI-compatible stand-in server (tests/openai_stub.py, 127.0.0.1 only) and the tiny local model."""

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from conftest import BIN, assert_one_line_error, run
from openai_stub import Stub

from r1k_plugins.core.record import Record, read_records
from r1k_plugins.data.invert import parse_teacher_reply
from r1k_plugins.data.teacher.backends import parse_spec, retry_after_seconds
from r1k_plugins.data.teacher.engine import BadReply


@pytest.fixture()
def stub():
    with Stub() as s:
        yield s


def _write(path, questions, cot_type=None):
    recs = [
        Record(
            id=f"q{i}-f",
            pair_id=f"q{i}",
            direction="forward",
            question=q,
            answer=str(2 * (i + 3)),
            answer_type="numeric",
            source="t",
            meta={"cot_type": cot_type} if cot_type else {},
        )
        for i, q in enumerate(questions)
    ]
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in recs))
    return recs


def _invert(src, out, url, *extra, env=None, check=True):
    return run(
        "r1k",
        "data",
        "invert",
        src,
        "--teacher",
        f"openai:stand-in@{url}",
        "--out",
        out,
        "--no-progress",
        *extra,
        env=env,
        check=check,
    )


def _manifest(out):
    return json.loads(out.with_suffix(".manifest.json").read_text())


@pytest.mark.e2e
def test_teacher_inverts_caches_and_keeps_the_key_secret(tmp_path, stub):
    src, out, cache = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "cache"
    _write(src, ["What is 3 doubled?", "UNPARSEABLE item", "What is 5 doubled?"], cot_type="math")
    p = _invert(
        src, out, stub.url, "--cache-dir", cache, "--max-retries", "1", env={"OPENAI_API_KEY": "sk-test-secret"}
    )
    assert (
        "3 forward, 2 inverted (2 new, 0 from cache, 0 resumed), 0 skipped, 1 failed (teacher reply is not JSON: 1)"
    ) in p.stdout
    rev = [r for r in read_records(out) if r.direction == "reverse"]
    assert [(r.pair_id, r.answer, r.answer_type) for r in rev] == [("q0", "3", "numeric"), ("q2", "5", "numeric")]
    assert rev[0].question == "Which number doubled gives 6?"
    assert rev[0].reasoning == "Let x be the number.\nDoubling it gives 2x = 6.\nSo x = 6/2 = \\boxed{3}."
    assert rev[0].response == "Answer: \\boxed{3}"
    assert rev[0].meta == {
        "cot_type": "math",
        "inversion": {
            "strategy": "teacher",
            "teacher": f"openai:stand-in@{stub.url}",
            "model": "stand-in",
            "prompt_version": "invert-v1",
            "from_id": "q0-f",
            "given_answer": "6",
        },
    }
    # the request: system rules, three few-shot exemplars, then the item
    assert len(stub.calls) == 4 and all(c["n_messages"] == 8 for c in stub.calls)
    assert "HIDES exactly one premise" in stub.calls[0]["system"]
    assert stub.calls[0]["body"]["temperature"] == 0.0 and stub.calls[0]["body"]["model"] == "stand-in"
    assert {c["auth"] for c in stub.calls} == {"Bearer sk-test-secret"}
    m = _manifest(out)
    assert m["status"] == "done" and m["counts"]["forward"] == 3
    assert m["counts"]["inverted"] + m["counts"]["skipped"] + m["counts"]["failed"] == 3
    assert m["failed_items"] == [{"id": "q1-f", "pair_id": "q1", "reason": "teacher reply is not JSON"}]
    assert m["stats"]["requests"] == 4 and m["stats"]["retries_by_reason"] == {"teacher reply is not JSON": 1}
    assert m["stats"]["prompt_tokens"] == 400 and m["stats"]["completion_tokens"] == 80
    for f in list(tmp_path.iterdir()) + list(cache.iterdir()):
        if f.is_file():
            assert "sk-test-secret" not in f.read_text()
    assert "sk-test-secret" not in p.stdout + p.stderr
    assert not (tmp_path / "out.jsonl.partial").exists()
    # rerun: the two good answers come from the cache, only the failed item is asked again
    first = out.read_bytes()
    p = _invert(src, out, stub.url, "--cache-dir", cache, "--max-retries", "0")
    assert "2 inverted (0 new, 2 from cache, 0 resumed), 0 skipped, 1 failed" in p.stdout
    assert len(stub.calls) == 5 and "UNPARSEABLE" in stub.calls[-1]["item"]
    assert out.read_bytes() == first


@pytest.mark.e2e
def test_teacher_survives_a_misbehaving_server(tmp_path, stub):
    transient = [
        "RATE429",
        "FAIL500",
        "HTML200",
        "TRUNCBODY",
        "BADJSON",
        "EMPTYCHOICES",
        "NULLCONTENT",
        "NUMCONTENT",
        "THINKDRAFT",
        "ERROR200",
        "HANG",
        "RESET",
        "LISTCONTENT",
        "CHUNKED",
    ]
    permanent = {
        "UNPARSEABLE": "teacher reply is not JSON",
        "LENGTH": "truncated (finish_reason=length)",
        "REFUSE": "refused",
        "MISSINGFIELD": "teacher reply lacks reasoning",
        "BADREQUEST": "HTTP 400",
    }
    items = [f"Item {m}: what is this doubled?" for m in transient + list(permanent)]
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    recs = _write(src, items + ["skip me"])
    lines = src.read_text().splitlines()
    last = json.loads(lines[-1])
    last["answer"] = " "
    src.write_text("\n".join(lines[:-1] + [json.dumps(last)]) + "\n")
    p = _invert(src, out, stub.url, "--no-cache", "--max-retries", "2", "--max-connections", "4", "--timeout", "1")
    got = {r.pair_id: r for r in read_records(out) if r.direction == "reverse"}
    assert sorted(got) == sorted(f"q{i}" for i in range(len(transient)))
    assert got["q8"].answer == str(recs[8].answer and int(recs[8].answer) // 2)  # THINKDRAFT: not the 999 draft
    m = _manifest(out)
    assert m["counts"] == {
        "forward": 20,
        "inverted": 14,
        "new": 14,
        "from_cache": 0,
        "resumed": 0,
        "skipped": 1,
        "failed": 5,
        "reverse_in_input": 0,
    }
    for marker in ("LISTCONTENT", "CHUNKED"):  # well-formed, only unusual: answered at the first attempt
        assert len(stub.requests_for(marker)) == 1, marker
    assert got[f"q{transient.index('LISTCONTENT')}"].question.startswith("Which number doubled gives")
    assert m["skip_reasons"] == {"no forward answer": 1}
    assert {f["id"]: f["reason"] for f in m["failed_items"]} == {
        f"q{len(transient) + i}-f": r for i, r in enumerate(permanent.values())
    }
    # Retry-After: 1 was honoured (the default first backoff is at most 0.5 s)
    t = [c["time"] for c in stub.requests_for("RATE429")]
    assert len(t) == 2 and t[1] - t[0] >= 0.95
    assert len(stub.requests_for("FAIL500")) == 3 and len(stub.requests_for("BADREQUEST")) == 1
    assert len(stub.requests_for("UNPARSEABLE")) == 3
    assert m["stats"]["retries_by_reason"]["HTTP 429"] == 1 and m["stats"]["retries_by_reason"]["HTTP 500"] == 2
    for reason in (
        "malformed body (not JSON)",
        "dropped connection",
        "empty choices",
        "null content",
        "content is not a string",
        "error object in the body",
        "timeout",
    ):
        assert m["stats"]["retries_by_reason"][reason] >= 1, reason
    assert m["stats"]["retries_by_reason"]["dropped connection"] >= 2  # TRUNCBODY and RESET
    # what the server said comes with the reason: in the manifest, and on screen for failures
    assert m["stats"]["server_said"]["HTTP 400"] == "context too long"
    assert m["stats"]["server_said"]["error object in the body"] == "upstream overloaded"
    assert m["stats"]["server_said"]["HTTP 500"] == "Internal Server Error"
    assert "14 inverted" in p.stdout and "5 failed" in p.stdout
    assert "HTTP 400: the server said: context too long" in p.stdout


@pytest.mark.e2e
def test_teacher_killed_mid_run_resumes_without_loss_or_duplicates(tmp_path):
    n = 60
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(src, [f"What is {i + 3} doubled?" for i in range(n)])
    partial = tmp_path / "out.jsonl.partial"
    with Stub(delay=0.05) as stub:
        args = [
            str(BIN / "r1k"),
            "data",
            "invert",
            str(src),
            "--teacher",
            f"openai:m@{stub.url}",
            "--out",
            str(out),
            "--no-progress",
            "--no-cache",
            "--max-connections",
            "4",
        ]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if partial.exists() and partial.read_text().count("\n") >= 15:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert not out.exists()
        kept = {json.loads(l)["pair_id"] for l in partial.read_text().splitlines() if l.endswith("}")}
        assert 15 <= len(kept) < n
        first_calls = len(stub.calls)
        p = run("r1k", *args[1:], check=True)
        assert f"{n} inverted ({n - len(kept)} new, 0 from cache, {len(kept)} resumed)" in p.stdout
        second = [c["item"] for c in stub.calls[first_calls:]]
        assert len(second) == n - len(kept)  # nothing finished is asked again
        assert not any(f"What is {int(pid[1:]) + 3} doubled?" in it for it in second for pid in kept)
    recs = read_records(out)
    rev = [r.pair_id for r in recs if r.direction == "reverse"]
    assert sorted(rev) == sorted(f"q{i}" for i in range(n)) and len(set(rev)) == n
    assert [r.id for r in recs[:4]] == ["q0-f", "q0-r", "q1-f", "q1-r"]
    assert not partial.exists()


@pytest.mark.e2e
def test_teacher_bad_input_is_one_line(tmp_path):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(src, ["What is 3 doubled?", "What is 4 doubled?"])
    p = run(
        "r1k",
        "data",
        "invert",
        src,
        "--strategy",
        "teacher",
        "--teacher-model",
        "m",
        "--teacher-url",
        "http://127.0.0.1:9/v1",
        "--out",
        out,
        "--no-progress",
        "--no-cache",
    )
    assert_one_line_error(p, "unreachable", "--teacher-url")
    assert p.returncode == 2 and not out.exists()
    # a host that takes no connection (a full accept queue drops the SYN, as a firewall does): unreachable
    # after the connect timeout (at most half of --timeout), not a retry of every item for minutes
    with socket.socket() as blackhole:
        blackhole.bind(("127.0.0.1", 0))
        blackhole.listen(0)
        port = blackhole.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        for f in fillers:
            f.setblocking(False)
            f.connect_ex(("127.0.0.1", port))
        time.sleep(0.1)
        t = time.monotonic()
        p = _invert(src, out, f"http://127.0.0.1:{port}/v1", "--no-cache", "--timeout", "1", check=False)
        assert_one_line_error(p, "unreachable (no connection within 0.5 s)", "--teacher-url")
        assert time.monotonic() - t < 30 and p.returncode == 2 and not out.exists()
        for f in fillers:
            f.close()
    assert_one_line_error(run("r1k", "data", "invert", src, "--strategy", "teacher", "--out", out), "--teacher-model")
    assert_one_line_error(
        run("r1k", "data", "invert", src, "--teacher", "bogus:x", "--out", out),
        "unknown backend spec",
        "openai:MODEL@BASE_URL",
    )
    assert_one_line_error(
        run("r1k", "data", "invert", src, "--teacher", "vllm:some/model", "--out", out),
        "pip install 'r1k-plugins[vllm]'",
    )
    assert_one_line_error(
        run("r1k", "data", "invert", src, "--teacher", f"hf:{tmp_path}/nope", "--out", out), "not a local model folder"
    )
    # a refused key stops the run; what was finished stays in OUT.partial for the resume
    done = Record(
        id="q0-r",
        pair_id="q0",
        direction="reverse",
        question="earlier run",
        answer="3",
        answer_type="numeric",
        source="t",
        meta={"inversion": {"strategy": "teacher"}},
    )
    partial = tmp_path / "out.jsonl.partial"
    partial.write_text(json.dumps(done.to_dict()) + "\n" + '{"id": "q1-r", "pair_id": "q1", "dire')  # cut by a kill
    with Stub(status=401) as stub:
        line = assert_one_line_error(
            _invert(src, out, stub.url, "--no-cache", check=False),
            "refused the key (HTTP 401)",
            "OPENAI_API_KEY",
            "1 finished items kept",
        )
        assert str(partial) in line
    assert not out.exists() and read_records(partial)[0].question == "earlier run"
    assert _manifest(out)["status"] == "aborted"
    with Stub() as stub:
        p = _invert(src, out, stub.url, "--no-cache")
        assert "2 inverted (1 new, 0 from cache, 1 resumed)" in p.stdout and len(stub.calls) == 1


def test_parse_teacher_reply_reads_the_final_answer_only():
    good = {"reverse_question": "Q?", "reverse_answer": 12, "reasoning": ["step 1", "step 2"]}
    draft = dict(good, reverse_answer="999")
    assert parse_teacher_reply(f"<think>{json.dumps(draft)}</think>\n{json.dumps(good)}") == {
        "reverse_question": "Q?",
        "reverse_answer": "12",
        "reasoning": "step 1\nstep 2",
    }
    assert (
        parse_teacher_reply(f"<|im_start|>think\n{json.dumps(draft)}\n<|im_start|>answer\nHere: {json.dumps(good)}")[
            "reverse_answer"
        ]
        == "12"
    )
    for bad, why in [
        (f"<think>{json.dumps(good)}", "unfinished thinking"),
        (f"<think>{json.dumps(good)}</think>\nno json here", "not JSON"),
        ('{"reverse_question": "Q", "reverse_answer": "1", "reasoning": null}', "lacks reasoning"),
        ('{"reverse_question": ["Q"], "reverse_answer": "1", "reasoning": "r"}', "lacks reverse_question"),
        ("__import__('os').system('echo pwned')", "not JSON"),
    ]:
        with pytest.raises(BadReply, match=why):
            parse_teacher_reply(bad)


def test_specs_and_retry_after():
    assert parse_spec("openai:Qwen/Qwen2.5-72B-Instruct@http://h:8000/v1/").base_url == "http://h:8000/v1"
    assert parse_spec("openai:a@b@https://x/v1").model == "a@b"
    assert parse_spec("hf:/models/SmolLM2").model == "/models/SmolLM2"
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert (
        5
        <= retry_after_seconds(
            {"retry-after": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 8))}
        )
        <= 8
    )
    assert retry_after_seconds({}) is None and retry_after_seconds({"retry-after": "soon"}) is None


def _pair_file(path):
    def rec(pid, d, q, a, src="t", cot="math", reasoning=None):
        return Record(
            id=f"{pid}-{d[0]}",
            pair_id=pid,
            direction=d,
            question=q,
            answer=a,
            answer_type="numeric",
            source=src,
            reasoning=reasoning,
            meta={"cot_type": cot} if d == "forward" else {},
        )

    recs = [
        rec("a", "forward", "What is 3 doubled?", "6"),
        rec("a", "reverse", "Which number doubled gives 6?", "3", reasoning="2x = 6, so x = \\boxed{3}."),
        rec("b", "forward", "What is 4 doubled?", "8"),
        rec("b", "reverse", "Which number doubled gives 8? (It is 4.)", "4", reasoning="x = 4"),
        rec("c", "forward", "What is 5 doubled?", "10", cot="science"),
        rec("c", "reverse", "Which number doubled gives a known result?", "5", reasoning="so x = 5"),
        rec("d", "forward", "What is 6 doubled?", "12", src="u"),
        rec("d", "reverse", "Which number doubled gives 12?", "6", src="u", reasoning="so x = \\boxed{7}"),
        rec("e", "forward", "What is 7 doubled?", "14", src="u"),
        rec("e", "reverse", "WRONGSOLVE: which number doubled gives 14?", "7", src="u", reasoning="2x = 14 so x = 7"),
    ]
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in recs))


@pytest.mark.e2e
def test_verify_flags_and_solves(tmp_path, stub):
    src = tmp_path / "r.jsonl"
    _pair_file(src)
    out, rep = tmp_path / "kept.jsonl", tmp_path / "report.json"
    p = run(
        "r1k",
        "data",
        "verify",
        src,
        "--solver",
        f"openai:solver@{stub.url}",
        "--filter",
        "--out",
        out,
        "--report",
        rep,
        "--no-progress",
        "--no-cache",
        check=True,
    )
    report = json.loads(rep.read_text())
    assert report["reverse"] == 5 and report["passed"] == 1
    assert report["flags"] == {
        "forward_answer_missing": 1,
        "solver_wrong": 2,
        "states_own_answer": 1,
        "trace_answer_mismatch": 1,
    }
    assert report["by_source"] == {
        "t": {"n": 3, "passed": 1, "pass_rate": 0.3333},
        "u": {"n": 2, "passed": 0, "pass_rate": 0.0},
    }
    assert report["by_cot_type"]["science"] == {"n": 1, "passed": 0, "pass_rate": 0.0}
    assert report["solver"]["correct"] == 3 and report["solver"]["answered"] == 5
    kept = read_records(out)
    assert [r.id for r in kept] == ["a-f", "a-r", "b-f", "c-f", "d-f", "e-f"]
    assert kept[1].meta["verify"] == {
        "flags": [],
        "passed": True,
        "solver": {"correct": True, "extracted": "3", "reason": "correct"},
    }
    assert len(stub.calls) == 5 and all(c["system"] is None for c in stub.calls)
    assert "Think step by step" in stub.calls[0]["item"]
    assert "1/5 reverse items verified" in p.stdout
    # without a solver, the text checks alone; --out without --filter keeps everything, flagged
    out2 = tmp_path / "all.jsonl"
    run("r1k", "data", "verify", src, "--out", out2, check=True)
    flags = {r.id: r.meta["verify"]["flags"] for r in read_records(out2) if r.direction == "reverse"}
    assert flags == {
        "a-r": [],
        "b-r": ["states_own_answer"],
        "c-r": ["forward_answer_missing"],
        "d-r": ["trace_answer_mismatch"],
        "e-r": [],
    }


@pytest.mark.e2e
def test_hf_backend_with_the_tiny_model(tmp_path, tiny_model):
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(src, ["What is 3 doubled?", "What is 4 doubled?"])
    p = run(
        "r1k",
        "data",
        "invert",
        src,
        "--teacher",
        f"hf:{tiny_model}?device=cpu&dtype=float32",
        "--out",
        out,
        "--no-progress",
        "--max-tokens",
        "8",
        "--cache-dir",
        tmp_path / "cache",
        check=True,
    )
    m = _manifest(out)
    # a random-init model writes no JSON: both items end failed, with a reason, and are counted
    assert m["counts"]["forward"] == 2 and m["counts"]["failed"] + m["counts"]["inverted"] == 2
    assert m["stats"]["requests"] == 2 and m["stats"]["completion_tokens"] > 0
    assert set(m["fail_reasons"]) <= {"truncated (finish_reason=length)", "teacher reply is not JSON", "empty content"}
    assert "2 forward" in p.stdout
    assert_one_line_error(
        run(
            "r1k",
            "data",
            "invert",
            src,
            "--teacher",
            f"hf:{tiny_model}?dtype=fp8",
            "--out",
            tmp_path / "o.jsonl",
            "--no-cache",
        ),
        "dtype 'fp8' unknown",
    )
    assert_one_line_error(
        run(
            "r1k",
            "data",
            "invert",
            src,
            "--teacher",
            f"hf:{tiny_model}?devise=cpu",
            "--out",
            tmp_path / "o.jsonl",
            "--no-cache",
        ),
        "unknown hf option 'devise'",
    )
    rep = tmp_path / "rep.json"
    _pair_file(tmp_path / "r.jsonl")
    run(
        "r1k",
        "data",
        "verify",
        tmp_path / "r.jsonl",
        "--solver",
        f"hf:{tiny_model}",
        "--max-tokens",
        "8",
        "--report",
        rep,
        "--no-progress",
        "--no-cache",
        check=True,
    )
    assert json.loads(rep.read_text())["solver"]["answered"] + json.loads(rep.read_text())["solver"]["failed"] == 5


@pytest.mark.e2e
def test_vllm_backend_against_vllms_offline_api(tmp_path):
    """The vllm: backend end to end through the CLI, on a stand-in with vLLM's offline API
    (tests/fake_vllm: vLLM itself needs a GPU and cannot be installed here)."""
    src, out, log = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "vllm.jsonl"
    _write(src, [f"What is {i + 3} doubled?" for i in range(5)])
    env = {"PYTHONPATH": str(Path(__file__).parent / "fake_vllm"), "FAKE_VLLM_LOG": str(log)}
    spec = "vllm:org/teacher-32b?tensor_parallel_size=2&max_model_len=32768&gpu_memory_utilization=0.9"
    p = run(
        "r1k",
        "data",
        "invert",
        src,
        "--teacher",
        spec,
        "--out",
        out,
        "--no-progress",
        "--cache-dir",
        tmp_path / "cache",
        "--max-tokens",
        "4096",
        env=env,
        check=True,
    )
    assert "5 forward, 5 inverted (5 new" in p.stdout
    calls = [json.loads(l) for l in log.read_text().splitlines()]
    assert calls[0] == {
        "call": "LLM",
        "model": "org/teacher-32b",
        "engine_args": {"tensor_parallel_size": 2, "max_model_len": 32768, "gpu_memory_utilization": 0.9},
    }  # no trust_remote_code
    assert calls[1] == {"call": "chat", "n": 5, "temperature": 0.0, "max_tokens": 4096, "use_tqdm": False}
    assert len(calls) == 2  # one engine, one batch for all items
    rev = {r.pair_id: r for r in read_records(out) if r.direction == "reverse"}
    assert rev["q1"].answer == "4" and rev["q1"].meta["inversion"]["teacher"] == spec
    m = _manifest(out)
    assert m["stats"]["requests"] == 5 and m["stats"]["completion_tokens"] > 0
    # a rerun asks nothing: the cache key holds the spec with its engine options
    log.unlink()
    p = run(
        "r1k",
        "data",
        "invert",
        src,
        "--teacher",
        spec,
        "--out",
        out,
        "--no-progress",
        "--cache-dir",
        tmp_path / "cache",
        "--max-tokens",
        "4096",
        env=env,
        check=True,
    )
    assert "5 from cache" in p.stdout and not log.exists()
    # an engine that cannot start, or an option vLLM does not know: one line, exit != 0
    for bad, needle in [
        ("vllm:missing/model", "OSError: missing/model is not a local folder"),
        ("vllm:org/m?tensor_paralel_size=2", "unexpected keyword argument 'tensor_paralel_size'"),
    ]:
        proc = run(
            "r1k",
            "data",
            "invert",
            src,
            "--teacher",
            bad,
            "--out",
            tmp_path / "o.jsonl",
            "--no-progress",
            "--no-cache",
            env=env,
        )
        line = assert_one_line_error(proc, "vLLM could not start the engine", needle)
        assert "engine options after '?'" in line
    assert_one_line_error(
        run(
            "r1k",
            "data",
            "invert",
            src,
            "--teacher",
            "vllm:org/m?tensor_parallel_size",
            "--out",
            tmp_path / "o.jsonl",
            env=env,
        ),
        "not KEY=VALUE",
    )
