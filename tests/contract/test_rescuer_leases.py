"""The rescuer on real stores: it holds off after a wall-clock step, renews its own lease before it
judges others, and ends at once the lease of a process that provably died on this machine (a real
child process, killed) - never that of a live one, nor of one it cannot prove dead.

``Rescuer.run_once(now)`` is called with jumped ``now`` values; the real-process version of the clock
steps is in ``tests/e2e/test_clock_steps.py``.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from contract.support import JobMaker, claim_all, let_lease_lapse, process_info
from sidequest.runtime import host
from sidequest.runtime.rescuer import Rescuer
from sidequest.stores.base import Heartbeat, Store
from sidequest.stores.sqlite import SQLiteStore

ME = "contract-host:3001:rescuer"
HOLDER = "contract-host:3002:holder"
INTERVAL = 0.1  # heartbeat interval given to the rescuer: it holds off 3 of them after a step


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    """A real process of this machine that a test may kill (and leave unreaped: a zombie)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


def beat_as(store: Store, identity: str, pid: int, ttl: float = 60.0, **facts: str | int) -> None:
    """Beat as a process with ``pid`` that published this machine's facts (or those in ``facts``)."""
    mine = host.this_process()
    published = {
        "boot_id": mine.boot_id,
        "pid_namespace": mine.pid_namespace,
        "pid_started": host.pid_started(pid) or 0,
        **facts,
    }
    info = dataclasses.replace(process_info(identity), pid=pid, **published)
    store.beat(Heartbeat(info, [], 0, 0, ttl))


def held_by(store: Store, identity: str) -> int:
    return len(store.owned(identity))


def test_a_clock_step_forward_or_back_holds_every_rescue_for_a_few_heartbeats(
    store: Store, jobs: JobMaker
) -> None:
    rescuer = Rescuer(store, 3, ME, heartbeat_interval=INTERVAL)
    assert rescuer.run_once(time.time()).requeued == 0  # nothing to rescue yet; the clock is noted
    jobs.push_many(3)
    let_lease_lapse(store, HOLDER)
    claim_all(store, HOLDER)  # orphans: their owner's lease is over
    assert rescuer.run_once(time.time() + 120).requeued == 0  # the clock stepped forward: held
    assert rescuer.run_once(time.time() + 120).requeued == 0  # still within the hold
    assert held_by(store, HOLDER) == 3
    time.sleep(3 * INTERVAL + 0.1)
    assert rescuer.run_once(time.time() + 120).requeued == 3  # the new clock is steady: rescue
    claim_all(store, HOLDER)
    assert rescuer.run_once(time.time()).requeued == 0  # stepped back by 120 s: held again
    assert held_by(store, HOLDER) == 3
    time.sleep(3 * INTERVAL + 0.1)
    assert rescuer.run_once(time.time()).requeued == 3


def test_after_a_clock_step_a_live_process_keeps_its_jobs_while_it_renews(sqlite_url: str) -> None:
    # On SQLite a lease is a wall-clock time: by a clock 120 s ahead every lease looks expired.
    with SQLiteStore(sqlite_url) as store:
        JobMaker(store).push_many(3)
        beat_as(store, HOLDER, pid=1, ttl=2.0, boot_id="")  # alive, beats every heartbeat
        claim_all(store, HOLDER)
        rescuer = Rescuer(store, 3, ME, heartbeat_interval=INTERVAL)
        rescuer.run_once(time.time())
        assert rescuer.run_once(time.time() + 120).requeued == 0
        assert held_by(store, HOLDER) == 3


def test_a_rescuer_that_cannot_renew_its_own_lease_rescues_nothing(store: Store, jobs: JobMaker) -> None:
    jobs.push_many(2)
    let_lease_lapse(store, HOLDER)
    claim_all(store, HOLDER)
    renewals: list[float] = []

    def cannot_renew(now: float) -> bool:
        renewals.append(now)
        return False

    assert Rescuer(store, 3, ME, renew=cannot_renew).run_once(time.time()).requeued == 0
    assert len(renewals) == 1
    assert held_by(store, HOLDER) == 2
    assert Rescuer(store, 3, ME, renew=lambda now: True).run_once(time.time()).requeued == 2


def test_a_killed_process_of_this_machine_loses_its_lease_at_once(
    store: Store, jobs: JobMaker, child: subprocess.Popen[bytes]
) -> None:
    jobs.push_many(20)
    beat_as(store, HOLDER, child.pid)  # a 60 s lease
    assert len(claim_all(store, HOLDER)) == 20
    rescuer = Rescuer(store, 3, ME)
    assert rescuer.run_once(time.time()).requeued == 0  # alive: never ended
    assert [process.identity for process in store.processes()] == [HOLDER]
    child.kill()
    child.wait()
    assert rescuer.run_once(time.time()).requeued == 20
    assert store.processes() == []
    assert sum(queue.size for queue in store.queues()) == 20


def test_a_zombie_counts_as_dead(store: Store, jobs: JobMaker, child: subprocess.Popen[bytes]) -> None:
    jobs.push_many(2)
    beat_as(store, HOLDER, child.pid)
    claim_all(store, HOLDER)
    child.kill()  # not reaped: the pid stays, in state Z
    deadline = time.monotonic() + 10
    while host.pid_started(child.pid) is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert Rescuer(store, 3, ME).run_once(time.time()).requeued == 2


@pytest.mark.parametrize(
    "facts",
    [{"boot_id": "another-boot"}, {"pid_namespace": "pid:[1]"}, {"pid_started": 0}, {"boot_id": ""}],
    ids=["other-boot", "other-pid-namespace", "unknown-start", "unknown-boot"],
)
def test_a_dead_process_that_cannot_be_proven_dead_here_keeps_its_lease(
    store: Store, jobs: JobMaker, child: subprocess.Popen[bytes], facts: dict[str, str | int]
) -> None:
    jobs.push_many(2)
    beat_as(store, HOLDER, child.pid, **facts)
    claim_all(store, HOLDER)
    child.kill()
    child.wait()
    assert Rescuer(store, 3, ME).run_once(time.time()).requeued == 0
    assert held_by(store, HOLDER) == 2
    assert [process.identity for process in store.processes()] == [HOLDER]


def test_the_rescuer_never_ends_its_own_lease(store: Store, jobs: JobMaker) -> None:
    jobs.push_many(2)
    beat_as(store, ME, os.getpid(), pid_started=1)  # our own identity, even with a start time that differs
    claim_all(store, ME)
    assert Rescuer(store, 3, ME).run_once(time.time()).requeued == 0
    assert held_by(store, ME) == 2
