"""sidequest at scale: does anything on the hot path slow down when Redis holds many jobs?

Every round runs three cases back to back on one Redis, so load from elsewhere on the machine hits them
alike: "empty" (the queue holds only the jobs about to be drained), "queued" (1,000,000 jobs wait in the
same queue; the drain takes its jobs off the front) and "scheduled" (100,000 jobs are in the schedule
set, which the process's scheduler polls every 0.5 s). Measured: a drain of ``--jobs`` jobs by one
process, and perform_async and perform_in calls. The filler is written once, in Lua, and RENAMEd in and
out of place (O(1)) between cases. With every hot-path operation O(1) or O(log n) the rates match the
empty case (ratio ~1.0).

    python bench/redis_bench_scale.py --phase scale --url URL --jobs 10000
"""

from __future__ import annotations

import time

import orjson
from noop_workers import NoopWorker
from redis_bench_common import BULK_BATCH, PhaseArgs, Result, batches, connect, run_child, timed_loop
from redis_bench_sidequest import QUEUE, drain_seconds, quiet_logs

import redis
import sidequest
from sidequest.stores.redis import keys as redis_keys

FILL_QUEUED = 1_000_000
"""Jobs waiting in the queue in the "queued" case (valid NoopWorker jobs: each round drains some)."""

FILL_SCHEDULED = 100_000
"""Jobs in the schedule set (due in an hour) in the "scheduled" case."""

FILL_CHUNK = 50_000
"""Filler jobs one Lua call writes (Redis is blocked for ~50 ms per call)."""

ROUNDS = 3
"""Drain rounds; each drains once in every case, and the best round of each case is kept."""

ENQUEUES = 500
"""perform_async calls, then perform_in calls, timed in each enqueue round of each case."""

ENQUEUE_ROUNDS = 12
"""Enqueue rounds. A round trip's cost on a small shared machine swings 2-3x from one second to the
next (CPU placement and wake-ups), so the cases alternate in short slices and each keeps its best."""

PARKED_QUEUE = "bench:parked-queue"
PARKED_SCHEDULE = "bench:parked-schedule"
"""Where the filler waits while another case runs: RENAME moves it in and out in O(1)."""

CASES = ("empty", "queued", "scheduled")

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


def fill(url: str, key: str, count: int, at: float | None) -> None:
    """Write ``count`` valid NoopWorker jobs with distinct texts to the list ``key`` (LPUSH) or, with
    ``at``, to the sorted set ``key`` scored from ``at``; in Lua, ``FILL_CHUNK`` per call."""
    client = sidequest.Client(url)
    payload = client.build_payload(NoopWorker, [0], {}, at)
    client.close()
    assert payload is not None
    payload["jid"] = "@JID@"
    prefix, suffix = orjson.dumps(payload).decode().split("@JID@")
    kind = "list" if at is None else "zset"
    script = connect(url).register_script(FILL_SCRIPT)
    for first in range(0, count, FILL_CHUNK):
        script(keys=[key], args=[kind, min(FILL_CHUNK, count - first), first, prefix, suffix, at or 0])


def enter(conn: redis.Redis, case: str, jobs: int) -> None:
    """Set Redis up for a case: the filler moved into place, and ``jobs`` fresh jobs pushed to drain
    (in the "queued" case the drain takes the filler's oldest jobs instead)."""
    queue = redis_keys.queue(QUEUE)
    conn.delete(queue, redis_keys.SCHEDULE)
    if case == "queued":
        conn.rename(PARKED_QUEUE, queue)
        return
    if case == "scheduled":
        conn.rename(PARKED_SCHEDULE, redis_keys.SCHEDULE)
    for batch in batches(jobs):
        NoopWorker.perform_bulk([[n] for n in batch], batch_size=BULK_BATCH)


def leave(conn: redis.Redis, case: str) -> None:
    """Park the case's filler again (with the jobs the round added to it)."""
    if case == "queued":
        conn.rename(redis_keys.queue(QUEUE), PARKED_QUEUE)
    elif case == "scheduled":
        conn.rename(redis_keys.SCHEDULE, PARKED_SCHEDULE)


def enqueue_rates() -> dict[str, float]:
    """perform_async and perform_in (due in an hour) rates over ``ENQUEUES`` calls each."""
    single = timed_loop(ENQUEUES, NoopWorker.perform_async)["seconds"]
    scheduled = timed_loop(ENQUEUES, lambda n: NoopWorker.perform_in(3600, n))["seconds"]
    return {"single": ENQUEUES / single, "scheduled": ENQUEUES / scheduled}


def phase_scale(args: PhaseArgs) -> Result:
    """Each case's best drain rate over ``ROUNDS`` rounds and best enqueue rates over ``ENQUEUE_ROUNDS``."""
    quiet_logs()
    conn = connect(args.url)
    conn.flushdb()
    sidequest.configure(args.url)
    fill(args.url, PARKED_QUEUE, FILL_QUEUED, None)
    fill(args.url, PARKED_SCHEDULE, FILL_SCHEDULED, time.time() + 3600)
    best = {case: {"drain": 0.0, "single": 0.0, "scheduled": 0.0} for case in CASES}
    for _ in range(ROUNDS):
        for case in CASES:
            enter(conn, case, args.jobs)
            # A short fetch timeout only shortens the shutdown after the clock stops: the queue is
            # never empty while the clock runs, so the fetcher never waits on it.
            seconds = drain_seconds(args.url, args.jobs, args.concurrency, fetch_timeout=0.2)
            leave(conn, case)
            best[case]["drain"] = max(best[case]["drain"], args.jobs / seconds)
    for _ in range(ENQUEUE_ROUNDS):
        for case in CASES:
            enter(conn, case, 0)
            rates = enqueue_rates()
            leave(conn, case)
            for key, rate in rates.items():
                best[case][key] = max(best[case][key], rate)
    sizes = {"queued": int(conn.llen(PARKED_QUEUE)), "scheduled": int(conn.zcard(PARKED_SCHEDULE))}
    conn.flushdb()
    return {
        "jobs": args.jobs,
        "enqueues": ENQUEUES,
        "rounds": ROUNDS,
        "enqueue_rounds": ENQUEUE_ROUNDS,
        "cases": best,
        "filler_left": sizes,
    }


if __name__ == "__main__":
    run_child({"scale": phase_scale})
