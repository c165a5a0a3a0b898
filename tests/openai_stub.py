"""A loopback stand-in for an OpenAI-compatible chat-completions server that misbehaves on cue.

Started by the tests on 127.0.0.1 (never anything else). Behaviour is chosen by markers in the
item's text (the last user message):

teacher prompts (they carry "Forward answer: N"): the reply inverts "what is N/2 doubled" items.
    RATE429      first attempt: 429 with Retry-After: 1
    FAIL500      first two attempts: 500 with an HTML body
    HTML200      first attempt: 200 with an HTML body (not JSON)
    TRUNCBODY    first attempt: Content-Length larger than the body, then the socket closes
    EMPTYCHOICES / NULLCONTENT / NUMCONTENT / BADJSON   first attempt: that defect, then a good reply
    ERROR200     first attempt: 200 with an {"error": ...} object instead of choices
    HANG         first attempt: no answer for 3 s (longer than the test's --timeout)
    RESET        first attempt: the connection is closed without an answer
    LISTCONTENT  content as a list of parts (a "thinking" part, then text parts holding the JSON)
    CHUNKED      the reply in chunked transfer encoding
    THINKDRAFT   a reasoning reply: a wrong JSON draft inside <think>, the right one after </think>
    UNPARSEABLE / LENGTH / REFUSE / MISSINGFIELD / BADREQUEST   always that defect
solver prompts (no system message): "\\boxed{N/2}" for "Which number doubled gives N?", wrong if WRONGSOLVE.
``delay`` (seconds) is added to every request; ``status`` (e.g. 401) answers every request with it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Stub:
    def __init__(self, delay: float = 0.0, status: int | None = None):
        self.delay, self.status = delay, status
        self.calls: list[dict] = []  # {"item", "time", "auth", "system", "n_messages"}
        self.attempts: Counter = Counter()
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.handle(self, body)

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                pass  # a client that gave up (HANG) leaves a broken pipe: expected, not news

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------ replies
    @staticmethod
    def _send(h, status: int, body: bytes, ctype="application/json", headers=None, length=None):
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)
        h.wfile.flush()
        if length is not None:
            h.close_connection = True

    @staticmethod
    def _send_chunked(h, body: bytes):
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()
        for i in range(0, len(body), 37):
            part = body[i : i + 37]
            h.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
        h.wfile.write(b"0\r\n\r\n")
        h.wfile.flush()

    @staticmethod
    def completion(content, finish="stop", message_extra=None, choices=None) -> bytes:
        msg = {"role": "assistant", "content": content, **(message_extra or {})}
        ch = [{"index": 0, "finish_reason": finish, "message": msg}] if choices is None else choices
        return json.dumps(
            {
                "id": "c",
                "object": "chat.completion",
                "model": "stub",
                "choices": ch,
                "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
            }
        ).encode()

    def handle(self, h, body):
        msgs = body["messages"]
        item = msgs[-1]["content"]
        with self.lock:
            self.attempts[item] += 1
            n = self.attempts[item]
            self.calls.append(
                {
                    "item": item,
                    "time": time.monotonic(),
                    "auth": h.headers.get("Authorization"),
                    "system": msgs[0]["content"] if msgs[0]["role"] == "system" else None,
                    "n_messages": len(msgs),
                    "body": body,
                }
            )
        if self.delay:
            time.sleep(self.delay)
        if self.status:
            return self._send(h, self.status, b'{"error": {"message": "nope"}}')
        if msgs[0]["role"] != "system":
            return self._solve(h, item)
        m = re.search(r"Forward answer: (\S+)", item)
        fa = m.group(1) if m else "0"
        half = str(int(fa) // 2) if fa.isdigit() else "1"
        good = {
            "reverse_question": f"Which number doubled gives {fa}?",
            "reverse_answer": half,
            "reasoning": f"Let x be the number.\nDoubling it gives 2x = {fa}.\nSo x = {fa}/2 = \\boxed{{{half}}}.",
        }
        ok = self.completion("```json\n" + json.dumps(good) + "\n```")
        if "RATE429" in item and n == 1:
            return self._send(h, 429, b'{"error": {"message": "slow down"}}', headers={"Retry-After": "1"})
        if "FAIL500" in item and n <= 2:
            return self._send(h, 500, b"<html><body>Internal Server Error</body></html>", "text/html")
        if "HTML200" in item and n == 1:
            return self._send(h, 200, b"<html><body>Gateway says hi</body></html>", "text/html")
        if "TRUNCBODY" in item and n == 1:
            return self._send(h, 200, ok[: len(ok) // 2], length=len(ok))
        if "BADJSON" in item and n == 1:
            return self._send(h, 200, ok[: len(ok) // 2])
        if "EMPTYCHOICES" in item and n == 1:
            return self._send(h, 200, self.completion("", choices=[]))
        if "NULLCONTENT" in item and n == 1:
            return self._send(h, 200, self.completion(None))
        if "NUMCONTENT" in item and n == 1:
            return self._send(h, 200, self.completion(42))
        if "ERROR200" in item and n == 1:
            return self._send(h, 200, b'{"error": {"message": "upstream overloaded", "code": 503}}')
        if "HANG" in item and n == 1:
            time.sleep(3)
            return self._send(h, 200, ok)
        if "RESET" in item and n == 1:
            h.close_connection = True
            return None
        if "LISTCONTENT" in item:
            text = "```json\n" + json.dumps(good) + "\n```"
            return self._send(
                h,
                200,
                self.completion(
                    [
                        {"type": "thinking", "thinking": "draft 999"},
                        {"type": "text", "text": text[:9]},
                        {"type": "text", "text": text[9:]},
                    ]
                ),
            )
        if "CHUNKED" in item:
            return self._send_chunked(h, ok)
        if "THINKDRAFT" in item:
            draft = dict(good, reverse_answer="999")
            return self._send(
                h, 200, self.completion(f"<think>Draft: {json.dumps(draft)}\nHmm, recheck.</think>\n{json.dumps(good)}")
            )
        if "UNPARSEABLE" in item:
            return self._send(h, 200, self.completion("Sorry, I cannot do that."))
        if "LENGTH" in item:
            return self._send(h, 200, self.completion('{"reverse_question": "Which', finish="length"))
        if "REFUSE" in item:
            return self._send(h, 200, self.completion(None, message_extra={"refusal": "I can't help with that."}))
        if "MISSINGFIELD" in item:
            return self._send(h, 200, self.completion(json.dumps({"reverse_question": "q?", "reverse_answer": "1"})))
        if "BADREQUEST" in item:
            return self._send(h, 400, b'{"error": {"message": "context too long"}}')
        return self._send(h, 200, ok)

    def _solve(self, h, item):
        m = re.search(r"doubled gives (\d+)", item)
        ans = int(m.group(1)) // 2 if m else 0
        if "WRONGSOLVE" in item:
            ans += 1
        return self._send(h, 200, self.completion(f"<think>\nHalve it.\n</think>\nAnswer: \\boxed{{{ans}}}"))

    def requests_for(self, needle: str) -> list[dict]:
        return [c for c in self.calls if needle in c["item"]]
