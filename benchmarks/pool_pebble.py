"""The scorer's worker pool (r1k_plugins.core.pool) against the same job on pebble's ProcessPool.

Issue 17 item 7: a library replaces hand-written code unless a benchmark shows it slower or less safe.
The candidate keeps r1k's design where pebble allows it (soft SIGALRM timer inside the worker, so a
slow sympy call does not cost a worker; hard per-task timeout that kills the worker; the same
verdict cache; spawn workers, since forking a threaded lm-eval/torch process is unsafe) and lets
pebble own the processes, the queue and the kill.

``install()`` puts the candidate in place of ``pool._math_verify_equal`` (``python benchmarks/scoring.py
--pool pebble`` runs the whole scorer benchmark on it). Run directly, this script measures both pools on:

- latency: N distinct sequential comparisons (no verdict cache), median and p99 per comparison;
- a hang: a worker stuck where its own timer cannot reach it (SIGALRM blocked, sleeping): how long
  the call takes to return at timeout 1 s, whether the stuck process is gone, and the next call's latency;
- Ctrl-C: whether a SIGINT to the process group (a terminal's Ctrl-C) reaches the workers.

    python benchmarks/pool_pebble.py [--n 300]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import signal
import statistics
import sys
import time
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from r1k_plugins.core import pool  # noqa: E402

_PP = None


class _Soft(BaseException):
    pass


def _init() -> None:  # runs in each pebble worker
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def on_alarm(signum, frame):
        raise _Soft

    signal.signal(signal.SIGALRM, on_alarm)
    import logging

    logging.getLogger("math_verify").setLevel(logging.ERROR)
    import math_verify  # noqa: F401 - the import is the worker's start-up cost


_PARSE_CACHE: dict = {}


def _compare(gold: str, pred: str, soft: float, debug: str | None) -> dict:  # runs in a pebble worker
    from math_verify import LatexExtractionConfig, parse, verify

    configs = [LatexExtractionConfig()]

    def parse_answer(s):
        if s not in _PARSE_CACHE:
            got = parse("\\boxed{" + s + "}", extraction_config=configs, parsing_timeout=None)
            _PARSE_CACHE[s] = got or parse(s, extraction_config=configs, parsing_timeout=None)
        return _PARSE_CACHE[s]

    signal.setitimer(signal.ITIMER_REAL, soft, 0.05)
    try:
        if debug == "block":
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(3600)
        g, p = parse_answer(gold), parse_answer(pred)
        return {"equal": bool(g) and bool(p) and bool(verify(g, p, timeout_seconds=None))}
    except _Soft:
        return {"timeout": True}
    except Exception as e:  # noqa: BLE001
        return {"equal": False, "error": repr(e)[:300]}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def get_pool():
    global _PP
    if _PP is None:
        from pebble import ProcessPool

        _PP = ProcessPool(max_workers=pool._pool_size(), initializer=_init, context=mp.get_context("spawn"))
    return _PP


def pebble_equal(gold: str, pred: str, timeout: float, _debug: str | None = None) -> tuple[bool, str]:
    """Drop-in for pool._math_verify_equal on pebble."""
    from pebble import ProcessExpired

    key = (gold, pred)
    with pool._CACHE_LOCK:
        hit = pool._CACHE.get(key)
        if hit is not None:
            return hit, "math_verify"
    fut = get_pool().schedule(_compare, args=(gold, pred, max(0.05, 0.85 * timeout - 0.02), _debug), timeout=timeout)
    try:
        reply = fut.result()
    except FutureTimeout:
        return False, "timeout"
    except ProcessExpired:
        return False, "error"
    if reply.get("timeout"):
        return False, "timeout"
    verdict = bool(reply.get("equal"))
    with pool._CACHE_LOCK:
        pool._CACHE[key] = verdict
    return verdict, "math_verify"


def warm_up() -> None:
    futs = [get_pool().schedule(_compare, args=("1", "1", 5.0, None)) for _ in range(2 * pool._pool_size())]
    for f in futs:
        f.result()


def install() -> None:
    """Replace pool._math_verify_equal wherever r1k_plugins.core imported it."""
    original = pool._math_verify_equal
    for name, mod in list(sys.modules.items()):
        if name.startswith("r1k_plugins.") and getattr(mod, "_math_verify_equal", None) is original:
            mod._math_verify_equal = pebble_equal
    pool._math_verify_equal = pebble_equal


def _children() -> set[int]:
    me, out = str(os.getpid()), set()
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[1] == me:
                        out.add(int(d))
            except (OSError, IndexError):
                pass
    return out


def measure(name: str, equal, warm, n: int) -> None:
    warm()
    pool._CACHE.clear()
    lat = []
    for i in range(n):
        t = time.perf_counter()
        equal(f"\\frac{{{i + 1}}}{{{i + 3}}}", f"{(i + 1) / (i + 3):.6f}", 5.0)
        lat.append(time.perf_counter() - t)
    lat.sort()
    print(
        f"{name:<10} latency over {n} distinct comparisons: median {1000 * statistics.median(lat):.2f} ms, "
        f"p99 {1000 * lat[int(0.99 * (n - 1))]:.2f} ms, {n / sum(lat):.0f} comparisons/s",
        flush=True,
    )
    before = _children()
    t = time.perf_counter()
    verdict = equal("1", "1", 1.0, "block")
    dt = time.perf_counter() - t
    time.sleep(0.5)
    after = _children()
    gone = before - after
    t = time.perf_counter()
    equal("2", "2", 5.0)
    nxt = time.perf_counter() - t
    print(
        f"{name:<10} stuck worker (SIGALRM blocked, sleeping), timeout 1 s: returned {verdict} after {dt:.2f} s; "
        f"worker processes killed {len(gone)}, replaced {len(after - before)}; next comparison {nxt:.2f} s",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=300)
    a = ap.parse_args()
    print(f"workers: {pool._pool_size()} each; python {sys.version.split()[0]}", flush=True)
    measure("r1k pool", pool._math_verify_equal, pool.warm_up, a.n)
    pool.shutdown()
    measure("pebble", pebble_equal, warm_up, a.n)
    get_pool().close()
    get_pool().join(timeout=10)


if __name__ == "__main__":
    main()
