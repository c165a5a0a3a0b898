"""The teacher's retry loop: the hand-written loop (r1k_plugins.data.teacher.engine._run_async) against the
same loop on tenacity (the candidate, below), in one process, interleaved, on an in-memory backend.

Issue 17 item 7: a library replaces hand-written code unless a benchmark shows it slower or less safe.
Two workloads, each run by both loops with the same seed:

- ``happy``: every request succeeds at once (the loop's overhead per item; benchmarks/invert.py is
  this path behind a 50 ms loopback server);
- ``flaky``: 30 % of the first attempts fail (429 with Retry-After 0, a 5xx, an unusable reply),
  some items fail every time (exhausting the retries) or hit a non-retryable failure, so every branch
  runs; backoff sleeps are 0 so the figure is the loop's own cost.

Both loops must give the same outcome per item and the same counters (requests, retries by reason,
failures by reason). Prints CPU seconds per 1,000 items (median of ``--repeat``) and their ratio.
``python benchmarks/invert.py --compare-retry-loop`` runs both behind the loopback server.
Result (docs/data.md, "Teacher retries"): tenacity costs more CPU per item, so the hand-written loop stays.

    python benchmarks/retry_loop.py [--n 5000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from collections import Counter

from r1k_plugins.data.teacher import engine
from r1k_plugins.data.teacher.backends import Completion, Failure, Retryable
from r1k_plugins.data.teacher.engine import BadReply, Job, RunStats, _accepted


async def tenacity_run_async(
    backend, jobs, accept, on_success, on_failure, cache, stats, max_connections, max_retries, bar
):
    """engine._run_async on tenacity (the candidate): same semaphore, same Retry-After / backoff waits,
    same counters; tenacity's AsyncRetrying runs the attempts."""
    from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt

    sem = asyncio.Semaphore(max_connections)

    def wait(state) -> float:  # the server's Retry-After when it sent one, else exponential backoff
        retry_after = getattr(state.outcome.exception(), "retry_after", None)
        return retry_after if retry_after is not None else engine.backoff(state.attempt_number - 1)

    def count_retry(state) -> None:
        stats.retries[state.outcome.exception().reason] += 1

    async def one(job):
        try:
            async with sem:
                async for attempt in AsyncRetrying(
                    stop=stop_after_attempt(max_retries + 1),
                    wait=wait,
                    before_sleep=count_retry,
                    retry=retry_if_exception_type((Retryable, BadReply)),
                    reraise=True,
                ):
                    with attempt:
                        stats.requests += 1
                        try:
                            comp = await backend.complete(job.messages)
                        except (Retryable, Failure) as e:
                            stats.note(e.reason, e.detail)
                            raise
                        value = _accepted(job, comp, accept, cache, stats)
        except (Retryable, BadReply, Failure) as e:
            stats.failures[e.reason] += 1
            on_failure(job, e.reason)
        else:
            on_success(job, value, False)
        bar.update(1)

    await backend.open()
    try:
        await asyncio.gather(*(one(j) for j in jobs))
    finally:
        await backend.close()


class Backend:
    """Answers at once; which attempts fail is fixed per (item, attempt) by the seed."""

    batched = False

    def __init__(self, flaky: bool, seed: int):
        self.flaky, self.seed, self.attempts = flaky, seed, Counter()

    async def open(self):
        pass

    async def close(self):
        pass

    async def complete(self, messages):
        item = messages[0]["content"]
        self.attempts[item] += 1
        if self.flaky:
            r = random.Random(f"{self.seed}/{item}/{self.attempts[item]}").random()
            kind = hash_kind(item, self.seed)
            if kind == "always-429":
                raise Retryable("http_429", retry_after=0.0)
            if kind == "refused":
                raise Failure("http_400", detail="bad request")
            if self.attempts[item] == 1 and r < 0.3:
                raise [Retryable("http_429", retry_after=0.0), Retryable("http_503", retry_after=0.0)][int(r * 10) % 2]
            if self.attempts[item] == 1 and r < 0.4:
                return Completion(text="", finish_reason="stop")  # BadReply: empty content
        return Completion(text=f"answer {item}", prompt_tokens=3, completion_tokens=2)


def hash_kind(item: str, seed: int) -> str:
    r = random.Random(f"kind/{seed}/{item}").random()
    return "always-429" if r < 0.02 else "refused" if r < 0.04 else "normal"


class NoCache:
    def get(self, key):
        return None

    def put(self, key, comp):
        pass


class NoBar:
    def update(self, n):
        pass


def one_run(loop_fn, n: int, flaky: bool, seed: int) -> tuple[float, dict]:
    jobs = [Job(id=str(i), messages=[{"role": "user", "content": str(i)}], cache_key=str(i)) for i in range(n)]
    stats = RunStats()
    outcome: dict[str, str] = {}
    backend = Backend(flaky, seed)
    t = time.process_time()
    asyncio.run(
        loop_fn(
            backend,
            jobs,
            lambda job, comp: comp.text,
            lambda job, value, cached: outcome.__setitem__(job.id, "ok"),
            lambda job, reason: outcome.__setitem__(job.id, reason),
            NoCache(),
            stats,
            64,
            5,
            NoBar(),
        )
    )
    cpu = time.process_time() - t
    return cpu, {
        "outcome": outcome,
        "requests": stats.requests,
        "retries": dict(stats.retries),
        "failures": dict(stats.failures),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    engine.INITIAL_DELAY = 0.0  # the loops' own cost, not the backoff waits (module global read by backoff())
    for workload in ("happy", "flaky"):
        cpu = {"hand-written": [], "tenacity": []}
        results = {}
        for _ in range(a.repeat):
            for name, fn in (("hand-written", engine._run_async), ("tenacity", tenacity_run_async)):
                c, res = one_run(fn, a.n, workload == "flaky", a.seed)
                cpu[name].append(c)
                results[name] = res
        same = results["hand-written"] == results["tenacity"]
        med = {k: statistics.median(v) for k, v in cpu.items()}
        r = results["tenacity"]
        ratio = med["tenacity"] / med["hand-written"]
        print(
            f"{workload:5s}  {a.n} items  hand-written {1000 * med['hand-written'] / a.n:.3f} CPU s/1k items  "
            f"tenacity {1000 * med['tenacity'] / a.n:.3f} CPU s/1k items  ratio {ratio:.2f}  "
            f"requests {r['requests']}  retries {sum(r['retries'].values())}  "
            f"failures {sum(r['failures'].values())}  same outcome and counters: {same}"
        )


if __name__ == "__main__":
    main()
