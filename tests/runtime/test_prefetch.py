"""The prefetch buffer: jobs claimed ahead of the processors while jobs are short. By default it holds
about 10 ms of work (what the processors finish in that time), between the concurrency and 400 jobs;
``--prefetch N`` fixes it; long jobs get none."""

from __future__ import annotations

import time

from sidequest.job import Claimed
from sidequest.runtime.tracker import AUTO_PREFETCH_MAX, Tracker


def job(n: int) -> Claimed:
    return Claimed(f'{{"jid":"{n}"}}', {"jid": str(n), "class": "app.Fast", "queue": "default"}, "default", n)


def run_jobs(tracker: Tracker, count: int, each: float) -> None:
    """Claim and finish ``count`` jobs one after the other, each taking ``each`` seconds."""
    for n in range(count):
        claimed = job(n)
        tracker.hold([claimed])
        tracker.start_running(claimed, "t1")
        if each:
            time.sleep(each)
        tracker.finish_running(claimed, failed=False)
        tracker.settle([claimed])


def free_slots(tracker: Tracker) -> int:
    return tracker.wait_for_free_slots(timeout=0)


def test_a_process_of_very_short_jobs_grows_its_buffer_to_cover_10_ms_of_work() -> None:
    tracker = Tracker("host:1:a", concurrency=10, prefetch=10, auto_prefetch=True)
    assert free_slots(tracker) == 20  # before any job: the concurrency, and a buffer as large
    run_jobs(tracker, 300, 0.0)  # thousands of jobs a second: 10 ms of them is more than 100
    assert free_slots(tracker) == 10 + AUTO_PREFETCH_MAX
    assert tracker.max_capacity == 10 + AUTO_PREFETCH_MAX


def test_jobs_of_a_few_milliseconds_keep_the_buffer_at_the_concurrency() -> None:
    tracker = Tracker("host:1:b", concurrency=10, prefetch=10, auto_prefetch=True)
    run_jobs(tracker, 80, 0.002)  # 500 jobs a second: 10 ms of work is 5 jobs, under the floor
    assert free_slots(tracker) == 20


def test_a_fixed_prefetch_stays_as_set_and_long_jobs_get_no_buffer() -> None:
    fixed = Tracker("host:1:c", concurrency=10, prefetch=3)
    run_jobs(fixed, 300, 0.0)
    assert free_slots(fixed) == 13
    assert fixed.max_capacity == 13
    off = Tracker("host:1:d", concurrency=4, prefetch=0, auto_prefetch=True)
    run_jobs(off, 300, 0.0)
    assert free_slots(off) == 4  # --prefetch 0 turns it off
    slow = Tracker("host:1:e", concurrency=4, prefetch=4, auto_prefetch=True)
    run_jobs(slow, 30, 0.012)  # typically longer than 5 ms: no job waits behind them here
    assert free_slots(slow) == 4


def test_jobs_that_wait_for_a_pool_child_are_timed_by_their_run_in_the_child() -> None:
    # Threads sharing fewer children each wait ~10 ms for a child, then run 2 ms there: the thread
    # sees 12 ms a job, which alone would turn the buffer off and claim one job per finished job.
    tracker = Tracker("host:1:f", concurrency=4, prefetch=4, auto_prefetch=True)
    for n in range(40):
        claimed = job(n)
        tracker.hold([claimed])
        tracker.start_running(claimed, "t1")
        time.sleep(0.012)  # the thread's wait and the child's run
        tracker.finish_running(claimed, failed=False, ran=0.002)
        tracker.settle([claimed])
    assert free_slots(tracker) == 8, "jobs of 2 ms: the buffer is on"
