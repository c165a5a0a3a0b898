"""Served reasoning models through both harnesses' API clients, against real servers on 127.0.0.1:

* ``transformers serve`` (transformers' own CLI, extra ``serve``) serving the tiny model: lm-eval's
  ``local-chat-completions`` and Inspect's ``openai-api`` run r1k_reverse against it, and the board
  shows the runs under the served model like local ones;
* ``tests/served_model.py`` serving the tiny model with transformers ``generate`` and returning the
  thinking the ways reasoning servers do (``reasoning_content``, inline think tags, s1 markers, cut
  off by the token limit): the final answer after the thinking is found, an unfinished trace counts
  as unfinished, an endpoint with no text and log-likelihood over chat are one line.
"""

import glob
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import BIN, ROOT, run

from r1k_plugins.eval.served import chat_choice_text, join_reasoning


# ----------------------------------------------------------------------------- unit: the joining
def test_join_reasoning_rules():
    assert join_reasoning(None, "Answer: 7", False) == "Answer: 7"
    assert join_reasoning("x = 7", "\\boxed{7}", False) == "<think>\nx = 7\n</think>\n\\boxed{7}"
    assert join_reasoning("x = ", "", True) == "<think>\nx = "  # cut inside the thinking: unclosed
    assert join_reasoning("x", "\\boxed{7}", True) == "<think>\nx\n</think>\n\\boxed{7}"
    ch = {"finish_reason": "length", "message": {"content": None, "reasoning_content": "so"}}
    assert chat_choice_text(ch) == "<think>\nso"
    from r1k_plugins.core.errors import R1KError

    with pytest.raises(R1KError, match="no text"):
        chat_choice_text({"finish_reason": "stop", "message": {"content": None}}, "http://x/v1")


# ----------------------------------------------------------------------------- servers
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, log: Path, limit: float):
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        if proc.poll() is not None:
            raise AssertionError(f"server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except OSError:
            time.sleep(1)
    proc.terminate()
    raise AssertionError(f"server not up after {limit}s:\n{log.read_text()[-3000:]}")


def _start(cmd, health, tmp):
    log = tmp / "server.log"
    fh = open(log, "w")
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.STDOUT, env=env)
    try:
        took = _wait(health, proc, log, 600)
    except BaseException:
        proc.kill()
        raise
    print(f"\nserver {Path(cmd[1]).name} up in {took:.1f}s")
    return proc, fh


def _stop(proc, fh):
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
    fh.close()


@pytest.fixture(scope="module")
def transformers_serve(tiny_model, tmp_path_factory):
    """`transformers serve TINY --host 127.0.0.1` (needs the extra `serve`: fastapi, uvicorn, openai)."""
    port = _free_port()
    tmp = tmp_path_factory.mktemp("tserve")
    proc, fh = _start(
        [
            str(BIN / "transformers"),
            "serve",
            str(tiny_model),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--device",
            "cpu",
            "--log-level",
            "warning",
        ],
        f"http://127.0.0.1:{port}/health",
        tmp,
    )
    yield f"http://127.0.0.1:{port}/v1"
    _stop(proc, fh)


@pytest.fixture(scope="module")
def reasoning_server(tiny_model, tmp_path_factory):
    port = _free_port()
    tmp = tmp_path_factory.mktemp("rserve")
    proc, fh = _start(
        [sys.executable, str(ROOT / "tests" / "served_model.py"), str(tiny_model), str(port)],
        f"http://127.0.0.1:{port}/v1/models",
        tmp,
    )
    yield f"http://127.0.0.1:{port}/v1"
    _stop(proc, fh)


@pytest.fixture(scope="module")
def seven(tmp_path_factory):
    """Two reverse items whose gold answer is 7 (what the test server's envelope answers)."""
    from r1k_plugins.data.synth import default_split

    p = tmp_path_factory.mktemp("seven") / "seven.jsonl"
    recs = [r for r in default_split("test") if r.direction == "reverse"][:2]
    p.write_text("".join(json.dumps(dict(r.to_dict(), answer="7")) + "\n" for r in recs))
    return p


def _lm_chat(
    url,
    model,
    tmp,
    *extra,
    tasks="r1k_reverse",
    data=None,
    endpoint="chat/completions",
    kind="local-chat-completions",
    model_args="",
):
    meta = ["--metadata", json.dumps({"r1k_data": str(data)})] if data else []
    return run(
        "lm_eval",
        "run",
        "--model",
        kind,
        "--model_args",
        f"model={model},base_url={url}/{endpoint},num_concurrent=1,max_retries=1,tokenized_requests=False" + model_args,
        *(["--apply_chat_template"] if kind == "local-chat-completions" else []),
        "--tasks",
        tasks,
        "--limit",
        "2",
        "--gen_kwargs",
        "max_gen_toks=8",
        *meta,
        "--output_path",
        tmp / "lm",
        "--log_samples",
        *extra,
        cwd=tmp,
    )


def _lm_samples(tmp, task="r1k_reverse"):
    (f,) = glob.glob(str(tmp / "lm" / "**" / f"samples_{task}_*.jsonl"), recursive=True)
    return [json.loads(l) for l in open(f)]


def _inspect(url, models, tmp, *extra):
    env = {"SERVED_BASE_URL": url, "SERVED_API_KEY": "none"}
    return run(
        "inspect",
        "eval",
        "r1k_plugins/r1k_reverse",
        "--model",
        ",".join(f"openai-api/served/{m}" for m in models),
        "-T",
        "max_tokens=8",
        "--limit",
        "2",
        "--log-dir",
        tmp / "insp",
        *extra,
        cwd=tmp,
        env=env,
    )


def _inspect_scores(tmp):
    from inspect_ai.log import read_eval_log

    out = {}
    for f in glob.glob(str(tmp / "insp" / "*.eval")):
        log = read_eval_log(f)
        assert log.status == "success", log.error
        out[log.eval.model.split("/")[-1]] = [s.scores["r1k_scorer"] for s in log.samples]
    return out


# ----------------------------------------------------------------------------- transformers serve
@pytest.mark.e2e
def test_transformers_serve_through_both_clients_and_the_board(transformers_serve, tiny_model, tmp_path):
    t0 = time.perf_counter()
    p = _lm_chat(transformers_serve, str(tiny_model), tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    t1 = time.perf_counter()
    env = {"TSERVE_BASE_URL": transformers_serve, "TSERVE_API_KEY": "none"}
    q = run(
        "inspect",
        "eval",
        "r1k_plugins/r1k_reverse",
        "--model",
        f"openai-api/tserve/{tiny_model}",
        "-T",
        "max_tokens=8",
        "--limit",
        "2",
        "--log-dir",
        tmp_path / "insp",
        cwd=tmp_path,
        env=env,
    )
    assert q.returncode == 0, q.stderr[-3000:]
    t2 = time.perf_counter()
    print(f"\ntransformers serve: lm-eval {t1 - t0:.1f}s, Inspect {t2 - t1:.1f}s (2 items each)")
    samples = _lm_samples(tmp_path)
    assert len(samples) == 2 and all(isinstance(s["resps"][0][0], str) for s in samples)
    scores = _inspect_scores(tmp_path)
    (sc,) = scores.values()
    assert len(sc) == 2 and all(
        s.explanation in ("wrong", "no_answer", "empty", "unfinished_thinking", "correct") for s in sc
    )
    # the board: one row for the served model, both harnesses in it, like a local model's run
    out = tmp_path / "board"
    run(
        "r1k",
        "leaderboard",
        "export",
        tmp_path / "lm",
        tmp_path / "insp",
        "--out",
        out,
        "--no-plots",
        cwd=tmp_path,
        check=True,
    )
    doc = json.loads((out / "leaderboard.json").read_text())
    assert len(doc["rows"]) == 1, [r["name"] for r in doc["rows"]]
    assert set(doc["rows"][0]["results"]["r1k_reverse"]) == {"lm-eval", "inspect"}


# ----------------------------------------------------------------------------- reasoning shapes
@pytest.mark.e2e
def test_lm_eval_chat_finds_the_answer_after_reasoning_content(reasoning_server, seven, tmp_path):
    p = _lm_chat(reasoning_server, "tiny-reasoning", tmp_path, data=seven)
    assert p.returncode == 0, p.stderr[-3000:]
    for s in _lm_samples(tmp_path):
        assert s["resps"][0][0].startswith("<think>\n") and "</think>" in s["resps"][0][0]
        assert s["filtered_resps"][0] == "7" and s["acc"] == 1.0


@pytest.mark.e2e
def test_lm_eval_chat_counts_a_cut_thinking_as_unfinished(reasoning_server, seven, tmp_path):
    p = _lm_chat(reasoning_server, "tiny-cut", tmp_path, data=seven)
    assert p.returncode == 0, p.stderr[-3000:]
    from r1k_plugins.core.scoring import score_response

    for s in _lm_samples(tmp_path):
        text = s["resps"][0][0]
        assert text.startswith("<think>\n") and "</think>" not in text
        assert score_response(text, "7", "numeric")["reason"] == "unfinished_thinking"
        assert s["filtered_resps"][0] == "" and s["acc"] == 0.0


@pytest.mark.e2e
def test_lm_eval_completions_with_inline_think_tags(reasoning_server, seven, tiny_model, tmp_path):
    p = _lm_chat(
        reasoning_server,
        "tiny-inline",
        tmp_path,
        data=seven,
        endpoint="completions",
        kind="local-completions",
        model_args=f",tokenizer={tiny_model}",
    )
    assert p.returncode == 0, p.stderr[-3000:]
    for s in _lm_samples(tmp_path):
        assert s["filtered_resps"][0] == "7" and s["acc"] == 1.0


@pytest.mark.e2e
def test_inspect_openai_api_reasoning_shapes(reasoning_server, seven, tmp_path):
    p = _inspect(
        reasoning_server,
        ["tiny-reasoning", "tiny-inline", "tiny-s1", "tiny-cut", "tiny-inline-cut"],
        tmp_path,
        "-T",
        f"data={seven}",
    )
    assert p.returncode == 0, p.stderr[-3000:]
    got = _inspect_scores(tmp_path)
    for m in ("tiny-reasoning", "tiny-inline", "tiny-s1"):
        assert [(s.value, s.answer) for s in got[m]] == [("C", "7")] * 2, m
    for m in ("tiny-cut", "tiny-inline-cut"):
        assert [s.explanation for s in got[m]] == ["unfinished_thinking"] * 2, m


@pytest.mark.e2e
def test_endpoint_with_no_text_is_one_line(reasoning_server, seven, tmp_path):
    p = _lm_chat(reasoning_server, "tiny-empty", tmp_path, data=seven)
    assert p.returncode == 2
    line = p.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ") and "returned no text" in line and reasoning_server in line


@pytest.mark.e2e
def test_loglikelihood_over_chat_is_one_line(reasoning_server, tmp_path):
    p = _lm_chat(reasoning_server, "tiny", tmp_path, tasks="r1k_direction")
    assert p.returncode == 2
    line = p.stderr.strip().splitlines()[-1]
    assert line.startswith("error: r1k_direction: log-likelihood tasks cannot run over a chat-completions endpoint")
