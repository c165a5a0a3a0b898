"""Run many chat requests through a backend: bounded concurrency, retries, a response cache, a bar.

:func:`run_jobs` sends every :class:`Job` (one item's messages) to the backend and hands each
completion to ``accept(job, completion)``, which returns the item's value or raises
:class:`BadReply` (reason). Failed attempts are retried with exponential backoff (0.5 s doubling,
at most 8 s, with jitter), or after the server's ``Retry-After`` when it sent one; after
``max_retries`` retries the item is reported failed with the last reason. Accepted completions are
stored in the :class:`ResponseCache`, so a rerun asks nothing again. Every attempt, retry reason,
HTTP status and token is counted in :class:`RunStats` (the run manifest).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from r1k_plugins.core.io import dumps_line, read_whole_lines
from r1k_plugins.data.teacher.backends import Completion, Failure, Retryable

INITIAL_DELAY, MAX_DELAY = 0.5, 8.0


class BadReply(Exception):
    """The completion arrived but is unusable (not JSON, fields missing, ...): retried."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Job:
    id: str
    messages: list[dict]
    cache_key: str
    payload: object = None  # whatever accept() needs (the forward record, ...)


@dataclass
class RunStats:
    requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: Counter = field(default_factory=Counter)
    failures: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)  # reason -> the first thing a server said with it
    elapsed_s: float = 0.0

    def note(self, reason: str, detail: str | None) -> None:
        if detail and reason not in self.examples:
            self.examples[reason] = detail

    def to_dict(self) -> dict:
        return {
            "requests": self.requests,
            "cache_hits": self.cache_hits,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "retries": sum(self.retries.values()),
            "retries_by_reason": dict(sorted(self.retries.items())),
            "failures_by_reason": dict(sorted(self.failures.items())),
            "server_said": dict(sorted(self.examples.items())),
            "elapsed_s": round(self.elapsed_s, 3),
        }


def cache_key(*, prompt_version: str, teacher: str, params: dict, messages: list[dict], shared: int = 0) -> str:
    """Key of one request: prompt version, teacher (spec), generation parameters and the item's messages.

    ``shared``: how many leading messages are the same for every item (system turn, few-shot turns);
    their part of the key is computed once per run.
    """
    head = _head_digest(prompt_version, teacher, dumps_line(params), dumps_line(messages[:shared]))
    return item_key(head, messages[shared:])


def item_key(head: str, item_messages: list[dict]) -> str:
    """``cache_key`` with the shared part's digest (``head_digest``) computed once per run."""
    return hashlib.sha256((head + dumps_line(item_messages)).encode()).hexdigest()


def head_digest(*, prompt_version: str, teacher: str, params: dict, context: list[dict]) -> str:
    return _head_digest(prompt_version, teacher, dumps_line(params), dumps_line(context))


@functools.lru_cache(maxsize=64)
def _head_digest(prompt_version: str, teacher: str, params: str, context: str) -> str:
    return hashlib.sha256(dumps_line([prompt_version, teacher, params, context]).encode()).hexdigest()


class ResponseCache:
    """Append-only JSONL of accepted completions (``{"key": ..., "completion": {...}}`` per line).

    One file per teacher under the cache folder. A line cut short by a kill is ignored on load
    (and cut off before the next append); concurrent writers append whole lines.
    """

    def __init__(self, folder: str | os.PathLike | None, teacher: str):
        self._mem: dict[str, Completion] = {}
        self._fh: TextIO | None = None
        self.path = None
        if folder is None:
            return
        slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in teacher)[:80]
        self.path = Path(folder) / f"{slug}-{hashlib.sha256(teacher.encode()).hexdigest()[:10]}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            # whole lines only; a line a kill left half-written is cut off the file
            read_whole_lines(self.path, lambda obj: self._mem.__setitem__(obj["key"], Completion(**obj["completion"])))

    def get(self, key: str) -> Completion | None:
        return self._mem.get(key)

    def put(self, key: str, comp: Completion) -> None:
        self._mem[key] = comp
        if self.path is None:
            return
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")
        self._fh.write(dumps_line({"key": key, "completion": comp.to_dict()}) + "\n")
        self._fh.flush()

    def close(self):
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def backoff(attempt: int) -> float:
    return min(INITIAL_DELAY * 2**attempt, MAX_DELAY) * (0.75 + 0.25 * random.random())


def _check(comp: Completion) -> None:
    if comp.finish_reason == "length":
        raise BadReply("truncated (finish_reason=length)")
    if not comp.text or not comp.text.strip():
        raise BadReply("empty content")


def run_jobs(
    backend,
    jobs: list[Job],
    accept: Callable[[Job, Completion], object],
    *,
    on_success: Callable[[Job, object, bool], None],
    on_failure: Callable[[Job, str], None],
    cache: ResponseCache,
    stats: RunStats,
    max_connections: int = 32,
    max_retries: int = 5,
    progress: bool = True,
    desc: str = "teacher",
) -> None:
    """Send every job; call ``on_success(job, value, from_cache)`` or ``on_failure(job, reason)`` exactly once per job.

    An :class:`~r1k_plugins.core.errors.R1KError` from the backend (unreachable endpoint, refused key)
    stops the run and propagates; everything finished before it was already reported.
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    bar = tqdm(total=len(jobs), desc=desc, unit="item", disable=not progress, dynamic_ncols=True, mininterval=0.5)
    try:
        todo = []
        for job in jobs:  # cache hits first: no request at all
            comp = cache.get(job.cache_key)
            if comp is not None:
                try:
                    value = accept(job, comp)
                except BadReply:
                    todo.append(job)
                    continue
                stats.cache_hits += 1
                on_success(job, value, True)
                bar.update(1)
            else:
                todo.append(job)
        if todo:
            if getattr(backend, "batched", False):
                _run_batched(backend, todo, accept, on_success, on_failure, cache, stats, max_retries, bar)
            else:
                asyncio.run(
                    _run_async(
                        backend, todo, accept, on_success, on_failure, cache, stats, max_connections, max_retries, bar
                    )
                )
    finally:
        bar.close()
        stats.elapsed_s = time.perf_counter() - t0


def _accepted(job, comp, accept, cache, stats):
    stats.prompt_tokens += comp.prompt_tokens
    stats.completion_tokens += comp.completion_tokens
    _check(comp)
    value = accept(job, comp)
    cache.put(job.cache_key, comp)
    return value


async def _run_async(backend, jobs, accept, on_success, on_failure, cache, stats, max_connections, max_retries, bar):
    # an item keeps its connection slot through its retries' waits: under a rate limit (429) at most
    # max_connections items are in play, instead of every item spending its retries at once
    sem = asyncio.Semaphore(max_connections)

    async def one(job: Job):
        last, delay = "unknown", 0.0
        async with sem:
            for attempt in range(max_retries + 1):
                if attempt:
                    stats.retries[last] += 1
                    await asyncio.sleep(delay)
                stats.requests += 1
                try:
                    comp = await backend.complete(job.messages)
                    value = _accepted(job, comp, accept, cache, stats)
                except Retryable as e:
                    last = e.reason
                    stats.note(last, e.detail)
                    delay = e.retry_after if e.retry_after is not None else backoff(attempt)
                    continue
                except BadReply as e:
                    last, delay = e.reason, backoff(attempt)
                    continue
                except Failure as e:
                    last = e.reason
                    stats.note(last, e.detail)
                    break
                on_success(job, value, False)
                bar.update(1)
                return
        stats.failures[last] += 1
        on_failure(job, last)
        bar.update(1)

    await backend.open()
    try:
        tasks = [asyncio.ensure_future(one(j)) for j in jobs]
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        errors = [e for t in done if not t.cancelled() and (e := t.exception()) is not None]
        if errors:  # every exception retrieved (no 'never retrieved' noise); the first one ends the run
            raise errors[0]
    finally:
        await backend.close()


def _run_batched(backend, jobs, accept, on_success, on_failure, cache, stats, max_retries, bar):
    """Local engines: one batch per round; greedy decoding repeats itself, so retry only when sampling."""
    rounds = max_retries + 1 if backend.gen.temperature > 0 else 1
    pending = list(jobs)
    last: dict[str, str] = {}  # job id -> the reason of its last failed try
    for attempt in range(rounds):
        if attempt:
            for j in pending:
                stats.retries[last[j.id]] += 1
        step = getattr(backend, "batch_size", 8)
        still = []
        for i in range(0, len(pending), step):
            chunk = pending[i : i + step]
            comps = backend.complete_batch([j.messages for j in chunk])
            stats.requests += len(chunk)
            for job, comp in zip(chunk, comps):
                try:
                    value = _accepted(job, comp, accept, cache, stats)
                except BadReply as e:
                    last[job.id] = e.reason
                    still.append(job)
                    continue
                on_success(job, value, False)
                bar.update(1)
        pending = still
        if not pending:
            break
    for job in pending:
        stats.failures[last[job.id]] += 1
        on_failure(job, last[job.id])
        bar.update(1)
