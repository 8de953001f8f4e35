"""What every system's benchmark child shares: its command line, the finish-line counter, peak RSS, the
JSON line it prints for the parent (``bench/redis_bench.py``).

A child runs one phase of one system and prints one JSON object on its last stdout line::

    python bench/redis_bench_<system>.py --phase bulk|drain|single --url URL --jobs N --single M

``bulk`` enqueues ``--jobs`` jobs with the system's fastest documented multi-job enqueue, ``drain`` runs
one worker process at concurrency ``--concurrency`` until ``--jobs`` jobs have been performed, and
``single`` times ``--single`` one-job enqueues. Each phase is its own process, so the peak RSS a drain
reports is the drain's own and not the enqueue's.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis

BULK_BATCH = 10_000
"""Jobs per bulk round trip, as bin/sidekiqload's push_bulk."""

DRAIN_TIMEOUT = 600.0
"""A drain that has not finished after this long has lost jobs; the child fails rather than hang."""

Result = dict[str, Any]
"""What a phase reports: ``jobs`` and ``seconds`` always, ``kind`` (how it enqueued) and notes."""


@dataclass(frozen=True, slots=True)
class PhaseArgs:
    """A child's command line."""

    phase: str
    url: str
    jobs: int
    single: int
    concurrency: int


def parse_args(argv: list[str] | None = None) -> PhaseArgs:
    """Read a child's command line (see the module docstring)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--phase", required=True)
    parser.add_argument("--url", required=True)
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--single", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=10)
    ns = parser.parse_args(argv)
    return PhaseArgs(ns.phase, ns.url, ns.jobs, ns.single, ns.concurrency)


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(phases: Mapping[str, Callable[[PhaseArgs], Result]], argv: list[str] | None = None) -> None:
    """Run the phase the command line names and print its result, with the peak RSS, as one JSON line."""
    args = parse_args(argv)
    if args.phase not in phases:
        sys.exit(f"unknown phase {args.phase!r}; this system has: {', '.join(phases)}")
    result = phases[args.phase](args)
    result["rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(result), flush=True)


class FinishLine:
    """Counts performed jobs from any thread and notes the instant the ``target``-th one finished.

    ``next()`` on an ``itertools.count`` is atomic under the GIL, so the hot path takes no lock; the
    thread that counts the last job records the time and wakes the waiter.
    """

    def __init__(self, target: int) -> None:
        self.target = target
        self._ticks = itertools.count(1)
        self._done = threading.Event()
        self.finished_at = 0.0

    def hit(self) -> None:
        """One job performed."""
        if next(self._ticks) == self.target:
            self.finished_at = time.perf_counter()
            self._done.set()

    def wait(self, timeout: float = DRAIN_TIMEOUT) -> float:
        """Block until the target is reached; returns the perf_counter time it was. Raises on timeout."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"only some of {self.target} jobs were performed within {timeout:.0f} s")
        return self.finished_at


def connect(url: str) -> redis.Redis:
    """A plain redis-py client for setup and checks (never on a measured path)."""
    return redis.Redis.from_url(url, decode_responses=True)


def timed_loop(count: int, enqueue: Callable[[int], object]) -> Result:
    """Time ``count`` calls of ``enqueue(n)``: the single-enqueue phase of every Python system."""
    started = time.perf_counter()
    for n in range(count):
        enqueue(n)
    return {"jobs": count, "seconds": time.perf_counter() - started}


def batches(count: int, size: int = BULK_BATCH) -> list[range]:
    """``range(count)`` cut into consecutive ranges of at most ``size``."""
    return [range(start, min(start + size, count)) for start in range(0, count, size)]
