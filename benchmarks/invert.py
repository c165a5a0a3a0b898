"""Teacher inversion throughput against a loopback OpenAI-compatible server (127.0.0.1 only).

Target (issue 11): 1,000 items, a server with 50 ms latency per request, concurrency 64:
achieved / ideal throughput >= 0.8 (ideal = concurrency / latency = 1,280 items/s); a rerun with a
warm response cache <= 5 s. The server runs in its own process (a minimal asyncio HTTP/1.1 server); the client is the real
``invert_teacher`` (prompt building, requests, parsing, partial file, cache, accounting).
The client's CPU seconds are printed too: on a machine shared with other work (load above its
core count) the wall-clock ratio says more about the neighbours than about the client.

    python benchmarks/invert.py [--n 1000] [--latency 0.05] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import re
import socket
import tempfile
import time
from pathlib import Path


def serve(port_q, latency: float) -> None:
    """A minimal HTTP/1.1 keep-alive server on asyncio's protocol layer (cheap, so the client is measured)."""
    pat = re.compile(rb"Forward answer: (\d+)")

    def reply(fa: str) -> bytes:
        content = json.dumps({"reverse_question": f"Which number doubled gives {fa}?",
                              "reverse_answer": str(int(fa) // 2),
                              "reasoning": f"2x = {fa}, so x = \\boxed{{{int(fa) // 2}}}."})
        body = json.dumps({"choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": content}}],
                           "usage": {"prompt_tokens": 900, "completion_tokens": 40}}).encode()
        return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)

    class Proto(asyncio.Protocol):
        def connection_made(self, transport):
            self.t, self.buf = transport, b""
            transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def data_received(self, data):
            self.buf += data
            while True:
                i = self.buf.find(b"\r\n\r\n")
                if i < 0:
                    return
                head = self.buf[:i].lower()
                j = head.find(b"content-length:")
                n = int(head[j + 15:head.find(b"\r\n", j) if head.find(b"\r\n", j) > 0 else None]) if j >= 0 else 0
                if len(self.buf) < i + 4 + n:
                    return
                body, self.buf = self.buf[i + 4:i + 4 + n], self.buf[i + 4 + n:]
                fa = pat.findall(body)[-1].decode()  # the item's (the few-shot turns come first)
                asyncio.get_running_loop().call_later(latency, self._send, reply(fa))

        def _send(self, out):
            if not self.t.is_closing():
                self.t.write(out)

    async def main():
        srv = await asyncio.get_running_loop().create_server(Proto, "127.0.0.1", 0, backlog=1024)
        port_q.put(srv.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=64)
    a = ap.parse_args()

    from r1k_plugins.data.invert import TeacherStrategy, invert_teacher
    from r1k_plugins.data.schema import Record
    from r1k_plugins.data.teacher.engine import RunStats

    q = mp.get_context("spawn").Queue()
    proc = mp.get_context("spawn").Process(target=serve, args=(q, a.latency), daemon=True)
    proc.start()
    port = q.get(timeout=60)
    recs = [Record(id=f"b{i}-f", pair_id=f"b{i}", direction="forward", question=f"What is {i + 1} doubled? (item {i})",
                   answer=str(2 * (i + 1)), answer_type="numeric", source="bench") for i in range(a.n)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            strat = TeacherStrategy(spec=f"openai:bench@http://127.0.0.1:{port}/v1", max_connections=a.concurrency,
                                    max_retries=2, cache_dir=str(Path(tmp) / "cache"))
            partial = Path(tmp) / "out.jsonl.partial"
            ideal_s = a.n * a.latency / a.concurrency
            for label in ("cold (every item asked)", "rerun, warm cache"):
                partial.unlink(missing_ok=True)
                stats = RunStats()
                t, c = time.perf_counter(), time.process_time()
                out, s = invert_teacher(recs, strat, partial, progress=False, stats=stats)
                dt, cpu = time.perf_counter() - t, time.process_time() - c
                assert s["inverted"] == a.n and len(out) == 2 * a.n, s
                line = (f"{label:<26} {a.n} items {dt:7.3f} s {a.n / dt:8.0f} items/s  requests {stats.requests:5d}"
                        f"  cache hits {stats.cache_hits:5d}  client CPU {cpu:.2f} s")
                if stats.requests:
                    line += f"  achieved/ideal {ideal_s / dt:.2f} (ideal {ideal_s:.3f} s; target >= 0.8)"
                else:
                    line += "  (target <= 5 s)"
                print(line, flush=True)
    finally:
        proc.terminate()
        proc.join()


if __name__ == "__main__":
    main()
