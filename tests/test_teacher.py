"""The LLM-teacher inversion strategy against a local OpenAI-compatible stand-in server (loopback only)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from r1k_plugins.data.schema import Record, read_records

from conftest import assert_one_line_error, run


class _Teacher(BaseHTTPRequestHandler):
    calls: list = []
    auth: list = []

    def log_message(self, *a):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        prompt = body["messages"][0]["content"]
        type(self).calls.append(prompt)
        type(self).auth.append(self.headers.get("Authorization"))
        if "UNPARSEABLE" in prompt:
            content = "Sorry, I cannot do that."
        else:
            n = prompt.split("Forward answer: ")[1].split("\n")[0]
            content = "```json\n" + json.dumps({"reverse_question": f"Which number doubled gives {n}?",
                                                 "reverse_answer": str(int(n) // 2),
                                                 "reasoning": f"Halve {n}."}) + "\n```"
        out = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


@pytest.fixture()
def teacher_url():
    _Teacher.calls, _Teacher.auth = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Teacher)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def _write(path, questions):
    recs = [Record(id=f"q{i}-f", pair_id=f"q{i}", direction="forward", question=q, answer=str(2 * (i + 3)),
                   answer_type="numeric", source="t") for i, q in enumerate(questions)]
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in recs))
    return recs


def test_teacher_inverts_skips_and_keeps_the_key_secret(tmp_path, teacher_url):
    src = tmp_path / "in.jsonl"
    _write(src, ["What is 3 doubled?", "UNPARSEABLE item", "What is 5 doubled?"])
    out = tmp_path / "out.jsonl"
    p = run("r1k", "data", "invert", src, "--strategy", "teacher", "--teacher-model", "stand-in",
            "--teacher-url", teacher_url, "--out", out, "--no-progress",
            env={"OPENAI_API_KEY": "sk-test-secret"}, check=True)
    assert "3 forward, 2 inverted, 1 skipped (teacher reply is not JSON: 1)" in p.stdout
    rev = [r for r in read_records(out) if r.direction == "reverse"]
    assert [(r.pair_id, r.answer, r.answer_type) for r in rev] == [("q0", "3", "numeric"), ("q2", "5", "numeric")]
    assert rev[0].question == "Which number doubled gives 6?" and rev[0].reasoning == "Halve 6."
    assert rev[0].meta["inversion"] == {"strategy": "teacher", "model": "stand-in", "from_id": "q0-f"}
    assert _Teacher.auth == ["Bearer sk-test-secret"] * 3
    for f in tmp_path.iterdir():
        assert "sk-test-secret" not in f.read_text()
    assert "sk-test-secret" not in p.stdout + p.stderr
    assert not (tmp_path / "out.jsonl.partial").exists()


def test_teacher_resumes_from_partial(tmp_path, teacher_url):
    src = tmp_path / "in.jsonl"
    _write(src, ["What is 3 doubled?", "What is 4 doubled?"])
    out = tmp_path / "out.jsonl"
    done = Record(id="q0-r", pair_id="q0", direction="reverse", question="earlier run", answer="3",
                  answer_type="numeric", source="t", meta={"inversion": {"strategy": "teacher"}})
    (tmp_path / "out.jsonl.partial").write_text(json.dumps(done.to_dict()) + "\n")
    p = run("r1k", "data", "invert", src, "--strategy", "teacher", "--teacher-model", "m",
            "--teacher-url", teacher_url, "--out", out, "--no-progress", check=True)
    assert "1 inverted, 1 resumed" in p.stdout
    assert len(_Teacher.calls) == 1 and "4 doubled" in _Teacher.calls[0]
    assert {r.question for r in read_records(out) if r.direction == "reverse"} == {
        "earlier run", "Which number doubled gives 8?"}


def test_teacher_unreachable_is_one_line(tmp_path):
    src = tmp_path / "in.jsonl"
    _write(src, ["What is 3 doubled?"])
    out = tmp_path / "out.jsonl"
    p = run("r1k", "data", "invert", src, "--strategy", "teacher", "--teacher-model", "m",
            "--teacher-url", "http://127.0.0.1:9/v1", "--out", out, "--no-progress")
    assert_one_line_error(p, "unreachable", "--teacher-url")
    assert not out.exists()
    assert_one_line_error(run("r1k", "data", "invert", src, "--strategy", "teacher", "--out", out),
                          "--teacher-model")
