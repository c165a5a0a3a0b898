"""Teacher inversion throughput against a loopback OpenAI-compatible server (127.0.0.1 only).

Target (issue 11): 1,000 items, a server with 50 ms latency per request, concurrency 64:
achieved / ideal throughput >= 0.8 (ideal = concurrency / latency = 1,280 items/s, so 0.781 s for
1,000 items; 16 rounds of 64 make 0.800 s the floor, a ratio of 0.98 at best); a rerun with a warm
response cache <= 5 s. The server runs in its own process (a minimal asyncio HTTP/1.1 server); the
client is the real ``invert_teacher`` (prompt building, requests, parsing, partial file, cache,
accounting). Printed, one line each:

- the first run in a fresh process: it also pays the one-time import of the HTTP client (aiohttp,
  about 0.13 s here), a fixed cost per process, not per item;
- ``--repeat`` more cold-cache runs in the same process (each with a new cache) and their median:
  the throughput the target is about;
- a rerun with the warm cache;
- with ``--cli``: the whole ``r1k data invert`` command as a user runs it (a new process: Python
  start-up, imports, reading and writing the files), and the teacher run's own time from its manifest.

The client's CPU seconds are printed too: on a machine shared with other work (load above its
core count) the wall-clock ratio says more about the neighbours than about the client.

    python benchmarks/invert.py [--n 1000] [--latency 0.05] [--concurrency 64] [--repeat 3] [--cli]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def serve(port_q, latency: float) -> None:
    """A minimal HTTP/1.1 keep-alive server on asyncio's protocol layer (cheap, so the client is measured)."""
    pat = re.compile(rb"Forward answer: (\d+)")

    def reply(fa: str) -> bytes:
        content = json.dumps(
            {
                "reverse_question": f"Which number doubled gives {fa}?",
                "reverse_answer": str(int(fa) // 2),
                "reasoning": f"2x = {fa}, so x = \\boxed{{{int(fa) // 2}}}.",
            }
        )
        body = json.dumps(
            {
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}
                ],
                "usage": {"prompt_tokens": 900, "completion_tokens": 40},
            }
        ).encode()
        return (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )

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
                n = int(head[j + 15 : head.find(b"\r\n", j) if head.find(b"\r\n", j) > 0 else None]) if j >= 0 else 0
                if len(self.buf) < i + 4 + n:
                    return
                body, self.buf = self.buf[i + 4 : i + 4 + n], self.buf[i + 4 + n :]
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
    ap.add_argument("--repeat", type=int, default=3, help="cold-cache runs after the first (median printed)")
    ap.add_argument("--cli", action="store_true", help="also time the whole `r1k data invert` command")
    ap.add_argument(
        "--compare-retry-loop",
        action="store_true",
        help="alternate the cold-cache runs between the teacher's hand-written retry loop and the same "
        "loop on tenacity (benchmarks/retry_loop.py); print both medians",
    )
    a = ap.parse_args()

    from r1k_plugins.core.record import Record
    from r1k_plugins.data.invert import TeacherStrategy, invert_teacher
    from r1k_plugins.data.teacher.engine import RunStats

    q = mp.get_context("spawn").Queue()
    proc = mp.get_context("spawn").Process(target=serve, args=(q, a.latency), daemon=True)
    proc.start()
    port = q.get(timeout=60)
    url = f"http://127.0.0.1:{port}/v1"
    recs = [
        Record(
            id=f"b{i}-f",
            pair_id=f"b{i}",
            direction="forward",
            question=f"What is {i + 1} doubled? (item {i})",
            answer=str(2 * (i + 1)),
            answer_type="numeric",
            source="bench",
        )
        for i in range(a.n)
    ]
    ideal_s = a.n * a.latency / a.concurrency
    print(
        f"{a.n} items, latency {a.latency * 1000:.0f} ms, concurrency {a.concurrency}: ideal {ideal_s:.3f} s "
        f"({a.concurrency / a.latency:.0f} items/s); target achieved/ideal >= 0.8",
        flush=True,
    )

    cpus: list[float] = []

    def once(label: str, cache: Path, partial: Path) -> float:
        partial.unlink(missing_ok=True)
        strat = TeacherStrategy(
            spec=f"openai:bench@{url}", max_connections=a.concurrency, max_retries=2, cache_dir=str(cache)
        )
        stats = RunStats()
        t, c = time.perf_counter(), time.process_time()
        out, s = invert_teacher(recs, strat, partial, progress=False, stats=stats)
        dt, cpu = time.perf_counter() - t, time.process_time() - c
        cpus.append(cpu)
        assert s["inverted"] == a.n and len(out) == 2 * a.n, s
        line = (
            f"{label:<34} {dt:7.3f} s {a.n / dt:6.0f} items/s  requests {stats.requests:5d}"
            f"  cache hits {stats.cache_hits:5d}  client CPU {cpu:.2f} s"
        )
        line += f"  achieved/ideal {ideal_s / dt:.2f}" if stats.requests else "  (target <= 5 s)"
        print(line, flush=True)
        return dt

    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            partial = tmp / "lib.jsonl.partial"
            fresh = "aiohttp" not in sys.modules
            once("first run" + (" (+ aiohttp import)" if fresh else ""), tmp / "cache0", partial)
            if a.compare_retry_loop:
                sys.path.insert(0, str(Path(__file__).parent))
                from retry_loop import tenacity_run_async

                from r1k_plugins.data.teacher import engine

                loops = {"hand-written": engine._run_async, "tenacity": tenacity_run_async}
                wall: dict = {k: [] for k in loops}
                cpu: dict = {k: [] for k in loops}
                for k in range(a.repeat):
                    for name, fn in loops.items():
                        engine._run_async = fn
                        wall[name].append(once(f"cold cache, {name}, run {k + 1}", tmp / f"c-{name}{k}", partial))
                        cpu[name].append(cpus[-1])
                engine._run_async = loops["hand-written"]
                for name in loops:
                    med = statistics.median(wall[name])
                    print(
                        f"{'median, ' + name:<34} {med:7.3f} s {a.n / med:6.0f} items/s  client CPU "
                        f"{statistics.median(cpu[name]):.3f} s  achieved/ideal {ideal_s / med:.2f}",
                        flush=True,
                    )
                runs = []
                shutil.copytree(tmp / f"c-hand-written{a.repeat - 1}", tmp / f"cache{a.repeat}")  # the warm rerun's
            else:
                runs = [once(f"cold cache, run {k + 1}", tmp / f"cache{k + 1}", partial) for k in range(a.repeat)]
            if runs:
                med = statistics.median(runs)
                print(
                    f"{'median of the cold-cache runs':<34} {med:7.3f} s {a.n / med:6.0f} items/s"
                    f"  achieved/ideal {ideal_s / med:.2f} (target >= 0.8)",
                    flush=True,
                )
            once("rerun, warm cache", tmp / f"cache{a.repeat}", partial)
            if a.cli:
                src, out = tmp / "in.jsonl", tmp / "cli.jsonl"
                src.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in recs))
                cmd = [
                    str(Path(sys.executable).with_name("r1k")),
                    "data",
                    "invert",
                    str(src),
                    "--teacher",
                    f"openai:bench@{url}",
                    "--max-connections",
                    str(a.concurrency),
                    "--out",
                    str(out),
                    "--no-progress",
                    "--cache-dir",
                    str(tmp / "cache-cli"),
                ]
                t = time.perf_counter()
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                dt = time.perf_counter() - t
                run_s = json.loads(out.with_suffix(".manifest.json").read_text())["stats"]["elapsed_s"]
                print(
                    f"{'r1k data invert (whole command)':<34} {dt:7.3f} s  achieved/ideal {ideal_s / dt:.2f};"
                    f" its teacher run {run_s:.3f} s, achieved/ideal {ideal_s / run_s:.2f}",
                    flush=True,
                )
    finally:
        proc.terminate()
        proc.join()


if __name__ == "__main__":
    main()
