"""sidequest's side of the Redis benchmark: bulk enqueue, drain, single enqueue, idle latency, and
throughput with a million jobs waiting (is every hot-path operation O(1) or O(log n)?).

Run by ``bench/redis_bench.py``; see ``bench/redis_bench_common.py`` for the command line.
"""

from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import orjson
from noop_workers import NoopWorker
from redis_bench_common import (
    BULK_BATCH,
    FinishLine,
    PhaseArgs,
    Result,
    batches,
    connect,
    run_child,
    timed_loop,
)

import sidequest
from sidequest.job import Payload
from sidequest.registry import WorkerRegistry
from sidequest.runtime import Launcher, ProcessConfig
from sidequest.stores import open_store, redis_keys
from sidequest.worker import Worker

QUEUE = "default"
LATENCY_INTERVAL = 0.01
"""Seconds between two enqueues in the idle-latency probe."""

LATENCY_SAMPLES = 250

FILL_QUEUED = 1_000_000
"""Jobs left waiting in the queue behind the measured ones, for the scale check."""

FILL_SCHEDULED = 100_000
"""Jobs in the schedule set (due in an hour) for the scale check."""

FILL_CHUNK = 50_000
"""Filler jobs one Lua call writes (Redis is blocked for ~50 ms per call)."""

SCALE_ENQUEUES = 2_000
"""Single enqueues (immediate, then scheduled) timed in each scale case."""

# Writes ARGV[2] filler jobs: prefix .. zero-padded index .. suffix, so every job text (and jid) differs.
# KEYS[1]  queue:<name> (LIST, LPUSH at the left, behind every job already there) or schedule (ZSET)
# ARGV[1]  "list" or "zset"; ARGV[2] count; ARGV[3] first index; ARGV[4] prefix; ARGV[5] suffix;
# ARGV[6]  zset only: the first score (float seconds), each next job 1 ms later
FILL_SCRIPT = """
local count, first = tonumber(ARGV[2]), tonumber(ARGV[3])
local batch = {}
for i = first, first + count - 1 do
  local text = ARGV[4] .. string.format('%024d', i) .. ARGV[5]
  if ARGV[1] == 'zset' then
    batch[#batch + 1] = tostring(tonumber(ARGV[6]) + i / 1000)
  end
  batch[#batch + 1] = text
  if #batch >= 1000 then
    if ARGV[1] == 'zset' then redis.call('ZADD', KEYS[1], unpack(batch)) else
      redis.call('LPUSH', KEYS[1], unpack(batch)) end
    batch = {}
  end
end
if #batch > 0 then
  if ARGV[1] == 'zset' then redis.call('ZADD', KEYS[1], unpack(batch)) else
    redis.call('LPUSH', KEYS[1], unpack(batch)) end
end
return count
"""


class CountPerformed:
    """Server middleware that counts each job whose ``perform`` returned (the drain's finish line).

    The same object is the context manager for every job: it holds no per-job state, so entering it
    from ten threads at once is safe, and it costs less than a generator-based middleware.
    """

    def __init__(self, finish: FinishLine) -> None:
        self.finish = finish

    def __call__(self, worker: Worker, payload: Payload) -> AbstractContextManager[None]:
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.finish.hit()


class RecordLatency:
    """Server middleware that records, as each job starts, how long ago its argument (an enqueue-time
    ``time.time()``) was taken."""

    def __init__(self) -> None:
        self.samples: list[float] = []

    def __call__(self, worker: Worker, payload: Payload) -> AbstractContextManager[None]:
        self.samples.append(time.time() - float(payload["args"][0]))
        return self

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def quiet_logs() -> None:
    """Warnings and errors only, as a production process would log."""
    logging.getLogger("sidequest").setLevel(logging.WARNING)


def launcher_for(url: str, concurrency: int, middleware: Any) -> Launcher:
    """One sidequest process (reliable fetch is how the Redis store always claims) running NoopWorker."""
    return Launcher(
        open_store(url),
        WorkerRegistry.of(NoopWorker),
        ProcessConfig(concurrency=concurrency),
        middleware=[middleware],
    )


def drain_seconds(url: str, jobs: int, concurrency: int) -> float:
    """Start one process, time it until ``jobs`` jobs have been performed, then shut it down."""
    finish = FinishLine(jobs)
    launcher = launcher_for(url, concurrency, CountPerformed(finish))
    started = time.perf_counter()
    launcher.start()
    try:
        finished = finish.wait()
    finally:
        launcher.stop()
        launcher.store.close()
    return finished - started


def unacked(url: str) -> int:
    """Jobs still in any in-flight list (claimed but never acked): must be 0 after a clean drain."""
    conn = connect(url)
    lists = conn.smembers(redis_keys.INFLIGHT_REGISTRY)
    return sum(int(conn.llen(key)) for key in lists)


# -- the three phases every system runs -------------------------------------------------------------


def phase_bulk(args: PhaseArgs) -> Result:
    """``NoopWorker.perform_bulk`` in batches of 10,000: one MULTI/EXEC (SADD + LPUSH) per batch."""
    sidequest.configure(args.url)
    started = time.perf_counter()
    for batch in batches(args.jobs):
        NoopWorker.perform_bulk([[n] for n in batch], batch_size=BULK_BATCH)
    return {"jobs": args.jobs, "seconds": time.perf_counter() - started, "kind": "perform_bulk"}


def phase_drain(args: PhaseArgs) -> Result:
    """One process, ``--concurrency`` threads, until every job has been performed and acked."""
    quiet_logs()
    seconds = drain_seconds(args.url, args.jobs, args.concurrency)
    waiting = int(connect(args.url).llen(redis_keys.queue(QUEUE)))
    return {"jobs": args.jobs, "seconds": seconds, "left": waiting, "unacked": unacked(args.url)}


def phase_single(args: PhaseArgs) -> Result:
    """``NoopWorker.perform_async(n)`` in a loop: one MULTI/EXEC round trip per job."""
    sidequest.configure(args.url)
    return timed_loop(args.single, NoopWorker.perform_async)


# -- sidequest-only checks --------------------------------------------------------------------------


def phase_latency(args: PhaseArgs) -> Result:
    """Enqueue a job every 10 ms to an idle running process; each job's delay from the enqueue call
    to its perform starting (the job's argument is ``time.time()`` taken just before the enqueue)."""
    quiet_logs()
    probe = RecordLatency()
    launcher = launcher_for(args.url, args.concurrency, probe)
    launcher.start()
    sidequest.configure(args.url)
    try:
        time.sleep(0.5)  # let the fetcher settle into its blocking wait: the process is idle
        for _ in range(LATENCY_SAMPLES):
            NoopWorker.perform_async(time.time())
            time.sleep(LATENCY_INTERVAL)
        deadline = time.monotonic() + 5.0
        while len(probe.samples) < LATENCY_SAMPLES and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        launcher.stop()
    samples_ms = sorted(sample * 1000 for sample in probe.samples)
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {
        "jobs": len(samples_ms),
        "p50_ms": round(cuts[49], 3),
        "p99_ms": round(cuts[98], 3),
        "max_ms": round(samples_ms[-1], 3),
    }


def fill(url: str, kind: str, count: int) -> None:
    """Write ``count`` valid NoopWorker jobs with distinct texts to the queue's left end or the
    schedule set (due in an hour), in Lua, ``FILL_CHUNK`` per call."""
    client = sidequest.Client(url)
    at = time.time() + 3600 if kind == "zset" else None
    payload = client.build_payload(NoopWorker, [0], {}, at)
    assert payload is not None
    payload["jid"] = "@JID@"
    prefix, suffix = orjson.dumps(payload).decode().split("@JID@")
    key = redis_keys.SCHEDULE if kind == "zset" else redis_keys.queue(QUEUE)
    conn = connect(url)
    script = conn.register_script(FILL_SCRIPT)
    for first in range(0, count, FILL_CHUNK):
        script(keys=[key], args=[kind, min(FILL_CHUNK, count - first), first, prefix, suffix, at or 0])
    client.close()


def scale_case(args: PhaseArgs, setup: Callable[[], None]) -> dict[str, float]:
    """Jobs/s of a drain of ``--jobs`` jobs queued before ``setup`` runs, then of single immediate and
    scheduled enqueues, with whatever ``setup`` left in Redis."""
    connect(args.url).flushdb()
    sidequest.configure(args.url)
    for batch in batches(args.jobs):
        NoopWorker.perform_bulk([[n] for n in batch], batch_size=BULK_BATCH)
    setup()
    drain = drain_seconds(args.url, args.jobs, args.concurrency)
    single = timed_loop(SCALE_ENQUEUES, NoopWorker.perform_async)["seconds"]
    scheduled = timed_loop(SCALE_ENQUEUES, lambda n: NoopWorker.perform_in(3600, n))["seconds"]
    return {
        "drain": args.jobs / drain,
        "single": SCALE_ENQUEUES / single,
        "scheduled": SCALE_ENQUEUES / scheduled,
    }


def phase_scale(args: PhaseArgs) -> Result:
    """The same drain and enqueues on an empty Redis, with 1,000,000 jobs waiting behind the measured
    ones in the same queue, and with 100,000 jobs in the schedule set."""
    quiet_logs()
    cases = {
        "empty": scale_case(args, lambda: None),
        "queued": scale_case(args, lambda: fill(args.url, "list", FILL_QUEUED)),
        "scheduled": scale_case(args, lambda: fill(args.url, "zset", FILL_SCHEDULED)),
    }
    connect(args.url).flushdb()
    return {"jobs": args.jobs, "cases": cases}


if __name__ == "__main__":
    run_child(
        {
            "bulk": phase_bulk,
            "drain": phase_drain,
            "single": phase_single,
            "latency": phase_latency,
            "scale": phase_scale,
        }
    )
