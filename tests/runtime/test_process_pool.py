"""The process pool with real child processes: CPU on both cores, hard time limits, crashes, memory, stop.

Every job records its run (key, child pid, CPU) in a file from inside the child
(``tests/testapp/cpu_workers.py``), so each test checks which child ran what, and that every job that
should have finished did, exactly once.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from processes import SRC, TESTS, wait_for
from sidequest.errors import ChildProcessDiedError, ConfigurationError, JobArgumentError, JobTimeoutError
from sidequest.retry import error_class
from sidequest.runtime.process_pool import PoolStoppedError, ProcessPool
from sidequest.runtime.remote_error import RemoteJobError
from sidequest.stores import open_store

MODULE = "testapp.cpu_workers"
SPIN = f"{MODULE}.SpinWorker"
SLEEP = f"{MODULE}.SleepWorker"


class Runs:
    """The record file the children append to: one line per run, ``key pid cpu start end``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[list[str]]:
        if not self.path.exists():
            return []
        return [line.split() for line in self.path.read_text().splitlines()]

    def counts(self) -> Counter[str]:
        return Counter(fields[0] for fields in self.lines())

    def pid_of(self, key: str) -> int:
        return next(int(fields[1]) for fields in self.lines() if fields[0] == key)


@pytest.fixture
def runs(tmp_path: Path) -> Runs:
    return Runs(tmp_path / "runs.txt")


@pytest.fixture
def make_pool() -> Iterator[Callable[..., ProcessPool]]:
    """Start pools over the test workers; stop each after the test and check no child is left."""
    pools: list[ProcessPool] = []

    def make(size: int, **options: Any) -> ProcessPool:
        pool = ProcessPool(size, [MODULE], cwd=TESTS, **options)
        pool.start()
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pids = child_pids(pool)
        pool.stop(5)
        assert not [pid for pid in pids if is_running(pid)], "children left running after stop()"


def child_pids(pool: ProcessPool) -> list[int]:
    return [child.pid for child in pool.stats().children if child.pid]


def is_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (a reaped-later corpse runs nothing)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            state = stat.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a live process, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pool_with_memory_limit(make_pool: Callable[..., ProcessPool], headroom_mb: float) -> ProcessPool:
    """A pool of one child whose ``--max-child-memory`` is ``headroom_mb`` above a fresh child's RSS."""
    probe = make_pool(1)
    baseline = probe.stats().children[0].rss_mb
    assert baseline is not None
    return make_pool(1, max_child_memory_mb=baseline + headroom_mb)


def in_thread(target: Callable[[], None]) -> tuple[threading.Thread, list[BaseException]]:
    """Run ``target`` on a thread, as a processor thread would; its exception lands in the list."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            target()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def test_cpu_bound_jobs_run_in_both_children_at_once_and_their_cpu_is_spent_there(
    make_pool: Callable[..., ProcessPool], runs: Runs
) -> None:
    pool = make_pool(2)
    pids = set(child_pids(pool))
    keys = iter(range(20))
    lock = threading.Lock()

    def processor() -> None:  # four processor threads share two children
        while True:
            with lock:
                key = next(keys, None)
            if key is None:
                return
            pool.perform(SPIN, [str(runs.path), f"job{key}", 0.05], f"jid{key}", None)

    threads = [in_thread(processor) for _ in range(4)]
    for thread, errors in threads:
        thread.join(60)
        assert not errors
    cpu_by_child = {pid: cpu_seconds(pid) for pid in pids}

    lines = runs.lines()
    assert runs.counts() == Counter({f"job{n}": 1 for n in range(20)})
    assert {int(fields[1]) for fields in lines} == pids, "both children performed jobs"
    by_child: dict[int, list[tuple[float, float]]] = {pid: [] for pid in pids}
    recorded_cpu: Counter[int] = Counter()
    for _, pid, cpu, start, end in lines:
        by_child[int(pid)].append((float(start), float(end)))
        recorded_cpu[int(pid)] += float(cpu)  # type: ignore[assignment]
    first, second = by_child.values()
    assert any(a0 < b1 and b0 < a1 for a0, a1 in first for b0, b1 in second), "the children ran at once"
    for pid in pids:
        # Each job's CPU was spent in its child (the kernel counts in clock ticks: allow one per job).
        assert cpu_by_child[pid] >= recorded_cpu[pid] - 0.01 * len(by_child[pid])
    assert sum(recorded_cpu.values()) >= 20 * 0.05


@pytest.mark.parametrize("worker", ["SleepWorker", "AsyncSleepWorker"])
def test_a_job_sleeping_past_its_time_limit_is_killed_and_the_next_job_runs_in_a_new_child(
    make_pool: Callable[..., ProcessPool], runs: Runs, worker: str
) -> None:
    pool = make_pool(1)
    [old_pid] = child_pids(pool)
    started = time.monotonic()
    with pytest.raises(JobTimeoutError, match="time_limit of 2 s") as raised:
        pool.perform(f"{MODULE}.{worker}", [str(runs.path), "long", 60], "jid-long", 2)
    assert time.monotonic() - started < 4
    assert str(old_pid) in str(raised.value)
    assert not is_running(old_pid)

    pool.perform(SPIN, [str(runs.path), "next", 0.0], "jid-next", 2)
    [new_pid] = child_pids(pool)
    assert new_pid != old_pid
    assert runs.pid_of("next") == new_pid
    assert "long" not in runs.counts()
    assert pool.stats().restarts == 1


@pytest.mark.parametrize(
    ("how", "described"),
    [("segfault", "killed by SIGSEGV"), ("exit", "exited with code 3"), ("kill9", "killed by SIGKILL")],
)
def test_a_child_that_dies_mid_job_fails_only_that_job_and_the_pool_keeps_its_size(
    make_pool: Callable[..., ProcessPool], runs: Runs, how: str, described: str
) -> None:
    pool = make_pool(2)
    path = str(runs.path)
    other, other_errors = in_thread(lambda: pool.perform(SLEEP, [path, "other", 1.5], "jid-other", None))
    wait_for(lambda: "other-started" in runs.counts(), 10, "the other job to start in its child")
    victim = next(pid for pid in child_pids(pool) if pid != runs.pid_of("other-started"))

    with pytest.raises(ChildProcessDiedError, match=described) as raised:
        if how == "kill9":
            killer = threading.Timer(0.5, os.kill, (victim, signal.SIGKILL))
            killer.start()
            pool.perform(SLEEP, [path, "victim", 30], "jid-victim", None)
        else:
            pool.perform(f"{MODULE}.CrashWorker", [path, how], "jid-victim", None)
    assert str(victim) in str(raised.value)

    other.join(30)
    assert not other_errors
    assert runs.counts()["other"] == 1, "the job on the other child finished, once"
    stats = pool.stats()
    assert stats.size == 2 and stats.restarts == 1
    assert len(set(child_pids(pool))) == 2 and victim not in child_pids(pool)
    assert all(is_running(pid) for pid in child_pids(pool))
    for n in range(4):  # both children serve jobs again
        pool.perform(SPIN, [path, f"after{n}", 0.0], f"jid-after{n}", None)
    assert {runs.pid_of(f"after{n}") for n in range(4)} == set(child_pids(pool))


@pytest.mark.parametrize(
    ("what", "expected_class", "exception"),
    [
        ("value", "ValueError", ValueError("x")),
        ("custom", "testapp.cpu_workers.PaymentDeclinedError", None),
        ("exit", "SystemExit", SystemExit("x")),
        ("interrupt", "KeyboardInterrupt", KeyboardInterrupt("x")),
    ],
)
def test_a_job_that_raises_in_its_child_gives_the_class_message_and_backtrace_and_the_child_lives_on(
    make_pool: Callable[..., ProcessPool],
    runs: Runs,
    what: str,
    expected_class: str,
    exception: BaseException | None,
) -> None:
    pool = make_pool(1)
    [pid] = child_pids(pool)
    with pytest.raises(RemoteJobError) as raised:
        pool.perform(f"{MODULE}.RaiseWorker", [str(runs.path), what, "x"], "jid-raise", None)
    error = raised.value
    if exception is not None:
        assert error.error_class == error_class(exception)  # as the retry policy writes it for a thread
    assert error.error_class == expected_class
    assert str(error) == "x" and error.pid == pid
    assert "cpu_workers.py" in error.backtrace[0] and error.backtrace[0].endswith("in `perform'")
    assert f"{expected_class.rsplit('.', 1)[-1]}: x" in error.formatted

    pool.perform(SPIN, [str(runs.path), "next", 0.0], "jid-next", None)
    assert runs.pid_of("next") == pid, "the same child performed the next job"
    assert pool.stats().restarts == 0


def test_a_class_the_child_has_not_loaded_fails_with_unknown_worker_error(
    make_pool: Callable[..., ProcessPool],
) -> None:
    pool = make_pool(1)
    with pytest.raises(RemoteJobError, match=r"unknown worker class 'os\.system'") as raised:
        pool.perform("os.system", ["echo hacked"], "jid-x", None)
    assert raised.value.error_class == "sidequest.errors.UnknownWorkerError"


def test_a_child_over_its_memory_limit_is_replaced_after_its_job_and_no_job_is_lost(
    make_pool: Callable[..., ProcessPool], runs: Runs
) -> None:
    pool = pool_with_memory_limit(make_pool, 60)
    [old_pid] = child_pids(pool)
    path = str(runs.path)

    pool.perform(f"{MODULE}.LeakWorker", [path, "small", 1], "jid-small", None)
    assert child_pids(pool) == [old_pid], "a child under its limit is kept"
    pool.perform(f"{MODULE}.LeakWorker", [path, "leak", 120], "jid-leak", None)
    [new_pid] = child_pids(pool)
    assert new_pid != old_pid and not is_running(old_pid)
    assert pool.stats().restarts == 1

    pool.perform(SPIN, [path, "next", 0.0], "jid-next", None)
    assert runs.counts() == Counter({"small": 1, "leak": 1, "next": 1})
    assert runs.pid_of("leak") == old_pid and runs.pid_of("next") == new_pid

    with pytest.raises(RemoteJobError, match="leaked and failed"):  # a failed job's child is measured too
        pool.perform(f"{MODULE}.LeakThenRaiseWorker", [path, "leak-fail", 120], "jid-leak-fail", None)
    assert child_pids(pool) != [new_pid] and not is_running(new_pid)
    assert pool.stats().restarts == 2


def test_stop_lets_a_job_finish_in_time_kills_one_that_does_not_and_leaves_no_child(
    make_pool: Callable[..., ProcessPool], runs: Runs
) -> None:
    pool = make_pool(2)
    pids = child_pids(pool)
    path = str(runs.path)
    short, short_errors = in_thread(lambda: pool.perform(SLEEP, [path, "short", 1.0], "jid-short", None))
    long, long_errors = in_thread(lambda: pool.perform(SLEEP, [path, "long", 60], "jid-long", None))
    wait_for(lambda: {"short-started", "long-started"} <= set(runs.counts()), 10, "both jobs to start")

    pool.stop(3)
    short.join(10)
    long.join(10)
    assert not short_errors and runs.counts()["short"] == 1
    assert len(long_errors) == 1 and isinstance(long_errors[0], PoolStoppedError)
    assert "long" not in runs.counts()
    assert not [pid for pid in pids if is_running(pid)]
    with pytest.raises(PoolStoppedError, match="stopping"):
        pool.perform(SPIN, [path, "late", 0.0], "jid-late", None)


def test_a_worker_module_that_cannot_be_imported_fails_start_with_its_name(tmp_path: Path) -> None:
    pool = ProcessPool(2, ["testapp.no_such_workers"], cwd=TESTS)
    with pytest.raises(ConfigurationError, match=r"testapp\.no_such_workers"):
        pool.start()
    assert [child.pid for child in pool.stats().children] == [0, 0], "no child is left from the attempt"


def test_a_job_that_enqueues_from_a_child_writes_to_the_pools_store(
    make_pool: Callable[..., ProcessPool], runs: Runs, sqlite_url: str
) -> None:
    pool = make_pool(1, store_url=sqlite_url)
    pool.perform(f"{MODULE}.EnqueueWorker", [str(runs.path), "parent"], "jid-parent", None)
    store = open_store(sqlite_url)
    try:
        [entry] = store.list_queue("default")
    finally:
        store.close()
    assert entry.payload is not None and entry.payload["class"] == SPIN
    assert entry.payload["args"] == [str(runs.path), "parent", 0.0]


PARENT_SCRIPT = """
import json, sys, threading, time
from pathlib import Path
from sidequest.runtime.process_pool import ProcessPool

if __name__ == "__main__":
    pool = ProcessPool(2, ["testapp.cpu_workers"], cwd=Path(sys.argv[1]))
    pool.start()
    args = [sys.argv[2], "busy", 60]
    threading.Thread(target=pool.perform, args=("testapp.cpu_workers.SleepWorker", args, "j", None)).start()
    print(json.dumps([child.pid for child in pool.stats().children]), flush=True)
    time.sleep(120)
"""


def test_kill_9_of_the_parent_leaves_no_child_behind(tmp_path: Path, runs: Runs) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(TESTS)])}
    parent = subprocess.Popen(
        [sys.executable, str(script), str(TESTS), str(runs.path)], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert parent.stdout is not None
        pids = json.loads(parent.stdout.readline())
        wait_for(lambda: "busy-started" in runs.counts(), 20, "the busy job to start in a child")
        forkserver = {_parent_of(pid) for pid in pids}
        assert len(pids) == 2 and all(is_running(pid) for pid in pids)
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
    wait_for(lambda: not any(is_running(pid) for pid in pids), 10, "the children to die with their parent")
    wait_for(lambda: not any(is_running(pid) for pid in forkserver), 10, "the forkserver to exit")
    assert "busy" not in runs.counts()


def _parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        return int(stat.read().rsplit(")", 1)[1].split()[1])


def test_log_records_of_a_job_in_a_child_are_logged_by_the_parent_thread_that_waits_for_it(
    make_pool: Callable[..., ProcessPool], runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    pool = make_pool(1)
    [pid] = child_pids(pool)
    pool.perform(f"{MODULE}.LogWorker", [str(runs.path), "k1"], "jid-log", None)
    mine = [record for record in caplog.records if record.name == "testapp.cpu_workers"]
    assert [record.getMessage().splitlines()[0] for record in mine] == ["hello from k1", "handled k1"]
    assert "LookupError: k1" in mine[1].getMessage()
    assert [record.levelno for record in mine] == [logging.WARNING, logging.ERROR]
    assert all(record.process == pid and record.thread == threading.get_ident() for record in mine)
    assert runs.counts() == Counter({"k1": 1})


def test_an_error_message_that_is_not_utf8_still_reaches_the_parent_and_the_child_lives_on(
    make_pool: Callable[..., ProcessPool], runs: Runs
) -> None:
    pool = make_pool(1)
    [pid] = child_pids(pool)
    with pytest.raises(RemoteJobError) as raised:
        pool.perform(f"{MODULE}.RaiseWorker", [str(runs.path), "undecodable", "bad "], "jid-bad", None)
    assert raised.value.error_class == "ValueError"
    assert str(raised.value) == "bad \\udcff"
    pool.perform(SPIN, [str(runs.path), "next", 0.0], "jid-next", None)
    assert runs.pid_of("next") == pid and pool.stats().restarts == 0


def test_arguments_a_child_cannot_be_sent_fail_the_job_in_the_parent_and_touch_no_child(
    make_pool: Callable[..., ProcessPool], runs: Runs
) -> None:
    pool = make_pool(1)
    [pid] = child_pids(pool)
    with pytest.raises(JobArgumentError, match="cannot be sent to a child process"):
        pool.perform(SPIN, [str(runs.path), "huge", 2**70], "jid-huge", None)
    pool.perform(SPIN, [str(runs.path), "next", 0.0], "jid-next", None)
    assert runs.counts() == Counter({"next": 1})
    assert child_pids(pool) == [pid] and pool.stats().children[0].jobs == 1


def test_the_spawn_start_method_runs_jobs_and_enforces_time_limits_too(
    make_pool: Callable[..., ProcessPool], runs: Runs
) -> None:
    pool = make_pool(1, start_method="spawn")
    [old_pid] = child_pids(pool)
    with pytest.raises(JobTimeoutError):
        pool.perform(SLEEP, [str(runs.path), "long", 60], "jid-long", 1)
    pool.perform(SPIN, [str(runs.path), "next", 0.0], "jid-next", None)
    assert runs.pid_of("next") != old_pid and runs.counts()["next"] == 1


def test_bad_pool_settings_are_refused_with_what_to_pass() -> None:
    with pytest.raises(ConfigurationError, match="at least 1 child"):
        ProcessPool(0, [MODULE])
    with pytest.raises(ConfigurationError, match="unknown start method 'fork'"):
        ProcessPool(1, [MODULE], start_method="fork")
    with pytest.raises(ConfigurationError, match="positive number of MB"):
        ProcessPool(1, [MODULE], max_child_memory_mb=0)


def test_a_busy_child_signalled_like_a_whole_container_or_terminal_finishes_its_job(
    make_pool: Callable[..., ProcessPool], runs: Runs
) -> None:
    # Heroku and systemd send TERM to every process of the dyno or unit, a terminal sends INT and TSTP to
    # the whole process group: the parent decides when its children stop, not the signal.
    pool = make_pool(1)
    [pid] = child_pids(pool)
    job, errors = in_thread(lambda: pool.perform(SLEEP, [str(runs.path), "job", 1.0], "jid-job", None))
    wait_for(lambda: "job-started" in runs.counts(), 10, "the job to start in its child")
    forkserver = _parent_of(pid)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGTSTP):
        os.kill(pid, signum)
    os.kill(forkserver, signal.SIGTERM)
    job.join(30)
    assert not errors and runs.counts()["job"] == 1
    pool.perform(SPIN, [str(runs.path), "next", 0.0], "jid-next", None)
    assert runs.pid_of("next") == pid and pool.stats().restarts == 0


def test_after_the_forkserver_died_a_replacement_child_still_starts(
    make_pool: Callable[..., ProcessPool], runs: Runs
) -> None:
    pool = make_pool(1)
    [pid] = child_pids(pool)
    os.kill(_parent_of(pid), signal.SIGKILL)
    with pytest.raises(JobTimeoutError):
        pool.perform(SLEEP, [str(runs.path), "long", 60], "jid-long", 1)
    pool.perform(SPIN, [str(runs.path), "next", 0.0], "jid-next", None)
    assert runs.pid_of("next") != pid and runs.counts()["next"] == 1


def test_stop_kills_a_busy_child_even_after_a_term_to_everyone_ended_the_forkserver(
    make_pool: Callable[..., ProcessPool], runs: Runs
) -> None:
    pool = make_pool(1)
    [pid] = child_pids(pool)
    job, errors = in_thread(lambda: pool.perform(SLEEP, [str(runs.path), "job", 60], "jid-job", None))
    wait_for(lambda: "job-started" in runs.counts(), 10, "the job to start in its child")
    forkserver = _parent_of(pid)
    for target in (forkserver, pid):  # what a platform's stop does to every process of the container
        os.kill(target, signal.SIGTERM)
    wait_for(lambda: not is_running(forkserver), 10, "the forkserver to die of the TERM")
    assert is_running(pid), "the busy child ignored the TERM"

    pool.stop(1)
    job.join(10)
    assert not is_running(pid)
    assert len(errors) == 1 and isinstance(errors[0], PoolStoppedError)
    assert "job" not in runs.counts()


CONVENTIONAL_WORKERS = """
import os
import sidequest


class HelloWorker(sidequest.Worker):
    def perform(self, path):
        with open(path, "a") as out:
            out.write(f"hello {os.getpid()} 0 0 0\\n")
"""


def test_without_modules_children_load_the_conventional_workers_package_of_cwd(
    tmp_path: Path, runs: Runs
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / "workers.py").write_text(CONVENTIONAL_WORKERS)
    pool = ProcessPool(1, [], cwd=app)
    pool.start()
    try:
        pool.perform("workers.HelloWorker", [str(runs.path)], "jid-hello", None)
        assert runs.counts() == Counter({"hello": 1})
        assert runs.pid_of("hello") == child_pids(pool)[0]
    finally:
        pool.stop(5)


def interrupt(thread: threading.Thread) -> None:
    """Raise JobTimeoutError in ``thread`` at its next bytecode, as a thread time limit does."""
    raise_in = ctypes.pythonapi.PyThreadState_SetAsyncExc
    assert raise_in(ctypes.c_ulong(thread.ident or 0), ctypes.py_object(JobTimeoutError)) == 1


def answers_its_own_jobs(pool: ProcessPool, runs: Runs) -> None:
    """The pool's next two jobs get their own answers (no stale reply), from one child."""
    path = str(runs.path)
    with pytest.raises(RemoteJobError, match=r"^mine$"):
        pool.perform(f"{MODULE}.RaiseWorker", [path, "value", "mine"], "jid-mine", None)
    pool.perform(SPIN, [path, "after", 0.0], "jid-after", None)
    assert runs.counts()["after"] == 1 and len(child_pids(pool)) == 1


def test_a_waiting_thread_interrupted_by_an_exception_never_gets_a_stale_reply_for_its_next_job(
    make_pool: Callable[..., ProcessPool], runs: Runs
) -> None:
    # A thread time limit raises JobTimeoutError into the waiting thread at its next bytecode: wherever
    # that lands, the child's unread reply must not answer the next job.
    pool = make_pool(1)
    path = str(runs.path)
    job, errors = in_thread(lambda: pool.perform(SLEEP, [path, "first", 0.5], "jid-first", None))
    wait_for(lambda: "first-started" in runs.counts(), 10, "the first job to start in its child")
    interrupt(job)
    job.join(10)
    assert len(errors) == 1 and isinstance(errors[0], JobTimeoutError)
    answers_its_own_jobs(pool, runs)


def test_threads_queued_for_one_child_each_get_the_answer_to_their_own_job(
    make_pool: Callable[..., ProcessPool], runs: Runs
) -> None:
    # A finishing thread hands its child to the next waiting thread and sends that thread's job itself:
    # every answer must still reach the thread whose job it is.
    pool = make_pool(1)
    path = str(runs.path)
    jobs = [
        in_thread(lambda n=n: pool.perform(f"{MODULE}.RaiseWorker", [path, "value", f"job {n}"], None, None))
        for n in range(8)
    ]
    for thread, _ in jobs:
        thread.join(30)
    messages = [str(errors[0]) for _, errors in jobs]
    assert messages == [f"job {n}" for n in range(8)]
    assert runs.counts()["raise-value"] == 8 and len(child_pids(pool)) == 1


def test_a_thread_interrupted_while_it_waits_for_a_child_never_leaves_its_answer_to_another(
    make_pool: Callable[..., ProcessPool], runs: Runs
) -> None:
    # The exception lands when the waiting thread next runs bytecode: maybe only once the child was
    # handed over with its job already sent. That job may then run, but its answer must reach nobody.
    pool = make_pool(1)
    path = str(runs.path)
    busy, _ = in_thread(lambda: pool.perform(SLEEP, [path, "busy", 0.5], None, None))
    wait_for(lambda: "busy-started" in runs.counts(), 10, "the first job to start in its child")
    waiting, errors = in_thread(lambda: pool.perform(SPIN, [path, "never", 0.0], None, None))
    time.sleep(0.1)  # waiting for the only child
    interrupt(waiting)
    waiting.join(10)
    busy.join(10)
    assert len(errors) == 1 and isinstance(errors[0], JobTimeoutError)
    answers_its_own_jobs(pool, runs)
