"""The process pool sends a waiting job to a busy child ahead of its turn, so the child starts it the
moment its job is done: whatever ends the job before it (a time limit, a crash, a memory limit, a stop),
the job sent ahead runs exactly once, and is reported not started only when it did not run."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable

import pytest

from processes import wait_for
from runtime.test_process_pool import (
    MODULE,
    SLEEP,
    SPIN,
    Runs,
    child_pids,
    in_thread,
    is_running,
    pool_with_memory_limit,
)
from runtime.test_process_pool import make_pool as make_pool  # the fixture, used by name
from runtime.test_process_pool import runs as runs  # the fixture, used by name
from sidequest.errors import ChildProcessDiedError, JobTimeoutError
from sidequest.runtime.process_pool import PoolStoppedError, ProcessPool


def start_with_one_behind(
    pool: ProcessPool, runs: Runs, first: Callable[[], None]
) -> tuple[threading.Thread, list[BaseException], threading.Thread, list[BaseException]]:
    """``first`` running in the pool's only child, and a second job (key ``behind``) sent after it."""
    path = str(runs.path)
    first_thread, first_errors = in_thread(first)
    wait_for(lambda: any(k.endswith("-started") for k in runs.counts()), 10, "the first job to start")
    behind, behind_errors = in_thread(lambda: pool.perform(SPIN, [path, "behind", 0.0], "jid-behind", None))
    wait_for(lambda: pool.stats().busy == 1 and _sent_ahead(pool), 10, "the second job to be sent ahead")
    return first_thread, first_errors, behind, behind_errors


def _sent_ahead(pool: ProcessPool) -> bool:
    return any(slot.next is not None for slot in pool._slots)


def test_a_job_behind_one_killed_at_its_time_limit_runs_once_in_the_new_child(
    make_pool: Callable[..., ProcessPool], runs: Runs
) -> None:
    pool = make_pool(1)
    [old_pid] = child_pids(pool)
    path = str(runs.path)
    first, first_errors, behind, behind_errors = start_with_one_behind(
        pool, runs, lambda: pool.perform(SLEEP, [path, "long", 60], "jid-long", 2)
    )
    first.join(10)
    behind.join(10)
    assert len(first_errors) == 1 and isinstance(first_errors[0], JobTimeoutError)
    assert not behind_errors
    assert runs.counts()["behind"] == 1 and runs.pid_of("behind") != old_pid
    assert "long" not in runs.counts()


def test_a_job_behind_one_whose_child_was_killed_9_runs_once_in_the_new_child(
    make_pool: Callable[..., ProcessPool], runs: Runs
) -> None:
    pool = make_pool(1)
    [victim] = child_pids(pool)
    path = str(runs.path)
    first, first_errors, behind, behind_errors = start_with_one_behind(
        pool, runs, lambda: pool.perform(SLEEP, [path, "victim", 30], "jid-victim", None)
    )
    os.kill(victim, signal.SIGKILL)
    first.join(10)
    behind.join(10)
    assert len(first_errors) == 1 and isinstance(first_errors[0], ChildProcessDiedError)
    assert not behind_errors
    assert runs.counts()["behind"] == 1 and runs.pid_of("behind") != victim
    assert not is_running(victim) and pool.stats().restarts == 1


def test_a_child_over_its_memory_limit_finishes_the_job_already_sent_to_it_before_it_is_replaced(
    make_pool: Callable[..., ProcessPool], runs: Runs
) -> None:
    pool = pool_with_memory_limit(make_pool, 60)
    [old_pid] = child_pids(pool)
    path = str(runs.path)
    first, first_errors, behind, behind_errors = start_with_one_behind(
        pool, runs, lambda: pool.perform(f"{MODULE}.LeakWorker", [path, "leak", 120, 0.5], "jid-leak", None)
    )
    first.join(10)
    behind.join(10)
    assert not first_errors and not behind_errors
    assert runs.pid_of("leak") == old_pid
    assert runs.pid_of("behind") == old_pid, "the job sent ahead ran where it was sent, not killed"
    [new_pid] = child_pids(pool)
    assert new_pid != old_pid and not is_running(old_pid), "replaced after the job it already had"
    pool.perform(SPIN, [path, "next", 0.0], "jid-next", None)
    assert runs.pid_of("next") == new_pid
    assert runs.counts()["behind"] == 1 and pool.stats().restarts == 1


@pytest.mark.parametrize("timeout", [5.0, 0.1])
def test_a_stop_reports_a_job_sent_ahead_as_not_started_only_when_it_did_not_run(
    make_pool: Callable[..., ProcessPool], runs: Runs, timeout: float
) -> None:
    pool = make_pool(1)
    path = str(runs.path)
    first, first_errors, behind, behind_errors = start_with_one_behind(
        pool, runs, lambda: pool.perform(SLEEP, [path, "first", 0.5], "jid-first", None)
    )
    pool.stop(timeout)
    first.join(10)
    behind.join(10)
    ran = runs.counts()["behind"]
    if behind_errors:
        assert isinstance(behind_errors[0], PoolStoppedError) and ran == 0
    else:
        assert ran == 1
    if timeout > 1:  # time enough for both: the first finished, and so did the one sent after it
        assert not first_errors and runs.counts()["first"] == 1 and ran == 1
    assert not [pid for pid in child_pids(pool) if is_running(pid)]
