"""The worker pool: every math_verify/sympy comparison runs in a child process with a hard
time bound (see :mod:`r1k_plugins.core.scoring`, 'Time bound'). Nothing here uses ``signal`` in the
calling process, so all functions are safe from any thread."""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import queue
import subprocess
import sys
import threading
import time
import types
from collections import OrderedDict

__all__ = ["DEFAULT_TIMEOUT", "STATS", "math_verify_equal", "warm_up", "shutdown"]

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT: float = 5.0
"""Seconds one math_verify comparison may take before it counts as not equivalent."""


WORKER_STARTUP_TIMEOUT = 120.0
"""Seconds a fresh worker may take to import sympy/math_verify before scoring gives up."""


# --------------------------------------------------------------------------------------------
# math_verify in worker processes (hard time bound, thread-safe, no signals in the caller)
# --------------------------------------------------------------------------------------------


class _WorkerDied(Exception):
    pass


class _Worker:
    """One worker child process: JSON lines in, JSON lines out.
    A daemon reader thread moves reply lines into a queue so waits can time out portably."""

    def __init__(self) -> None:
        pkg_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        boot = (
            "import sys; sys.path.insert(0, %r); "
            "from r1k_plugins.core.pool import _worker_main; _worker_main()" % pkg_parent
        )
        env = dict(os.environ)
        env["R1K_NO_LMEVAL_HOOK"] = "1"
        # -I: no cwd / script dir / PYTHONPATH on sys.path, so nothing can shadow stdlib modules
        self.proc: subprocess.Popen[bytes] = subprocess.Popen(
            [sys.executable, "-I", "-c", boot],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,  # a Ctrl-C in the terminal does not hit workers
            close_fds=True,
        )
        self.replies: queue.Queue = queue.Queue()
        self.seq = 0
        threading.Thread(target=self._read, name="r1k-scoring-reader", daemon=True).start()
        reply = self._get(time.monotonic() + WORKER_STARTUP_TIMEOUT)
        if reply is None or not reply.get("ready"):
            self.kill()
            raise RuntimeError(f"r1k scoring worker failed to start: {reply!r}")
        STATS["worker_starts"] += 1

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None  # Popen(stdout=PIPE)
        try:
            for line in out:
                try:
                    self.replies.put(json.loads(line))
                except ValueError:
                    continue
        except (OSError, ValueError):
            pass
        self.replies.put(None)  # EOF: the worker is gone

    def _get(self, deadline: float) -> dict:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        try:
            reply = self.replies.get(timeout=remaining)
        except queue.Empty:
            raise TimeoutError from None
        if reply is None:
            raise _WorkerDied(f"exit code {self.proc.poll()}")
        return reply

    def request(self, gold: str, pred: str, timeout: float, debug: str | None = None) -> dict:
        """Raises TimeoutError (worker must be killed) or _WorkerDied."""
        deadline = time.monotonic() + timeout
        self.seq += 1
        msg = {"id": self.seq, "gold": gold, "pred": pred, "soft": max(0.05, 0.85 * timeout - 0.02), "cpu": timeout}
        if debug:
            msg["debug"] = debug
        assert self.proc.stdin is not None  # Popen(stdin=PIPE)
        try:
            self.proc.stdin.write((json.dumps(msg) + "\n").encode())
            self.proc.stdin.flush()
        except (OSError, ValueError) as e:
            raise _WorkerDied(str(e)) from e
        while True:
            reply = self._get(deadline)
            if reply.get("id") == self.seq:
                return reply

    def kill(self) -> None:
        STATS["worker_kills"] += 1
        try:
            self.proc.kill()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            if f is None:
                continue
            try:
                f.close()
            except Exception:  # noqa: BLE001
                pass


class _Pool:
    def __init__(self, size: int) -> None:
        self.size = size
        self.pid = os.getpid()
        self.cond = threading.Condition()
        self.idle: list[_Worker] = []
        self.count = 0  # live + starting workers
        self.closed = False

    def acquire(self) -> _Worker:
        deadline = time.monotonic() + 10 * WORKER_STARTUP_TIMEOUT
        with self.cond:
            while True:
                if self.closed:
                    raise RuntimeError("r1k scoring pool is shut down")
                if self.idle:
                    return self.idle.pop()
                if self.count < self.size:
                    self.count += 1
                    break
                if not self.cond.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise RuntimeError("no r1k scoring worker became free")
        try:
            return _Worker()
        except BaseException:
            with self.cond:
                self.count -= 1
                self.cond.notify()
            raise

    def release(self, w: _Worker, healthy: bool) -> None:
        if healthy:
            with self.cond:
                if not self.closed:
                    self.idle.append(w)
                    self.cond.notify()
                    return
        w.kill()
        with self.cond:
            self.count -= 1
            self.cond.notify()
            refill = not self.closed
        if refill:  # keep the pool warm: start the replacement now, off the caller's clock
            threading.Thread(target=self._refill, name="r1k-scoring-refill", daemon=True).start()

    def _spawn_one(self) -> None:
        """Start one more worker if the pool is below size (used to refill and to warm up)."""
        with self.cond:
            if self.closed or self.count >= self.size:
                return
            self.count += 1
        try:
            w = _Worker()
        except Exception:  # noqa: BLE001
            with self.cond:
                self.count -= 1
                self.cond.notify()
            logger.exception("r1k scoring worker failed to start")
            return
        self.release(w, True)

    def _refill(self) -> None:
        self._spawn_one()

    def warm(self) -> None:
        with self.cond:
            missing = self.size - self.count
        threads = [threading.Thread(target=self._spawn_one, daemon=True) for _ in range(max(0, missing))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            idle, self.idle = self.idle, []
        for w in idle:
            w.kill()


_POOL: _Pool | None = None
STATS = {"worker_starts": 0, "worker_kills": 0, "soft_timeouts": 0, "hard_timeouts": 0, "cache_hits": 0}
"""Process-wide counters (diagnostics only; not thread-exact)."""
_POOL_LOCK = threading.Lock()
_CACHE: OrderedDict = OrderedDict()
_CACHE_MAX = 20_000
_CACHE_LOCK = threading.Lock()


def _pool_size() -> int:
    try:
        n = int(os.environ.get("R1K_SCORING_WORKERS", "0"))
    except ValueError:
        n = 0
    return n if n > 0 else max(1, min(4, os.cpu_count() or 1))


def _get_pool() -> _Pool:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.pid != os.getpid() or _POOL.closed:
            # after fork() the parent's workers belong to the parent: never touch them
            _POOL = _Pool(_pool_size())
        return _POOL


def warm_up() -> None:
    """Start all worker processes now (otherwise the first sympy comparison starts one)."""
    _get_pool().warm()


def shutdown() -> None:
    """Kill the worker processes (registered with atexit; a later comparison restarts them)."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is not None and pool.pid == os.getpid():
        pool.close()


atexit.register(shutdown)


def math_verify_equal(gold: str, pred: str, timeout: float, _debug: str | None = None) -> tuple[bool, str]:
    """math_verify's verdict on two LaTeX answers, from a pool worker under a hard time bound:
    ``(equal, how)`` with how ``'math_verify'``, ``'timeout'`` (not answered within ``timeout``
    seconds; the worker is replaced) or ``'error'`` (the worker died twice). Memoised; thread-safe."""
    key = (gold, pred)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            STATS["cache_hits"] += 1
            _CACHE.move_to_end(key)
            return hit, "math_verify"
    pool = _get_pool()
    for attempt in range(2):
        w = pool.acquire()
        try:
            reply = w.request(gold, pred, timeout, _debug)
        except TimeoutError:
            STATS["hard_timeouts"] += 1
            pool.release(w, healthy=False)
            return False, "timeout"
        except _WorkerDied as e:
            pool.release(w, healthy=False)
            if attempt == 0:
                continue  # a worker that died before our request (e.g. killed from outside)
            logger.error("r1k scoring worker died comparing %.80r with %.80r: %s", pred, gold, e)
            return False, "error"
        except BaseException:
            pool.release(w, healthy=False)
            raise
        pool.release(w, healthy=True)
        if reply.get("timeout"):
            STATS["soft_timeouts"] += 1
            return False, "timeout"
        if "error" in reply:
            logger.debug("math_verify error comparing %.80r with %.80r: %s", pred, gold, reply["error"])
        verdict = bool(reply.get("equal"))
        with _CACHE_LOCK:
            _CACHE[key] = verdict
            if len(_CACHE) > _CACHE_MAX:
                _CACHE.popitem(last=False)
        return verdict, "math_verify"
    return False, "error"


# --------------------------------------------------------------------------------------------
# Worker process side
# --------------------------------------------------------------------------------------------


class _SoftTimeout(BaseException):
    """Raised by the worker's interval timer; BaseException so math_verify's handlers
    (which catch Exception and its own TimeoutException) do not swallow it."""


_IN_JOB = False


def _worker_main() -> None:  # pragma: no cover - runs in the child process
    """Worker loop: one JSON request per stdin line -> one JSON reply per line on the
    original stdout (fd 1 is re-pointed at stderr so library prints cannot corrupt it)."""
    global _IN_JOB
    import signal

    proto = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # stray prints from libraries must not corrupt the protocol
    resource: types.ModuleType | None
    try:
        import resource
    except ImportError:  # not on Windows
        resource = None

    def on_alarm(signum, frame):
        if _IN_JOB:
            raise _SoftTimeout

    has_timer = hasattr(signal, "setitimer")  # not on Windows: the caller's hard kill still applies
    if has_timer:
        signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    from functools import lru_cache

    from math_verify import LatexExtractionConfig, parse, verify

    # LaTeX only: math_verify's ExprExtractionConfig reads plain expressions with sympy's
    # parse_expr, which eval()s; plain-text math is turned into LaTeX by latex.plain_to_latex instead
    configs = [LatexExtractionConfig()]

    @lru_cache(maxsize=4096)
    def parse_answer(s: str):
        got = parse("\\boxed{" + s + "}", extraction_config=configs, parsing_timeout=None)
        if not got:
            got = parse(s, extraction_config=configs, parsing_timeout=None)
        return got

    proto.write(json.dumps({"ready": True}) + "\n")
    for line in sys.stdin:
        try:
            req = json.loads(line)
        except ValueError:
            continue
        out: dict = {"id": req.get("id")}
        if resource is not None:
            try:  # an orphaned, stuck worker is killed by the kernel (SIGXCPU)
                used = resource.getrusage(resource.RUSAGE_SELF)
                spent = used.ru_utime + used.ru_stime
                hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
                soft = int(spent + math.ceil(float(req.get("cpu", DEFAULT_TIMEOUT)))) + 5
                if hard == resource.RLIM_INFINITY or soft <= hard:
                    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
            except (ValueError, OSError):
                pass
        try:
            _IN_JOB = True
            if has_timer:
                signal.setitimer(signal.ITIMER_REAL, float(req["soft"]), 0.05)
            try:
                if req.get("debug") == "block":  # tests: a worker stuck where signals cannot reach
                    if has_timer:
                        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
                    time.sleep(3600)
                g = parse_answer(req["gold"])
                p = parse_answer(req["pred"])
                out["equal"] = bool(g) and bool(p) and bool(verify(g, p, timeout_seconds=None))
            finally:
                _IN_JOB = False
                if has_timer:
                    signal.setitimer(signal.ITIMER_REAL, 0)
        except _SoftTimeout:
            out["timeout"] = True
        except Exception as e:  # noqa: BLE001
            out["equal"] = False
            out["error"] = repr(e)[:300]
        proto.write(json.dumps(out) + "\n")


if __name__ == "__main__" and "--worker" in sys.argv[1:]:  # manual debugging only
    _worker_main()
