"""The cron service on every store, driven by ``run_once(now)`` with a fixed clock: each tick becomes
one job however many processes offer it; ticks missed while nothing ran are skipped unless the entry
catches up; a paused entry enqueues nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import sidequest
from sidequest.client import Client
from sidequest.periodic import PeriodicEntry
from sidequest.registry import WorkerRegistry
from sidequest.runtime import Launcher, ProcessConfig, QueueSpec
from sidequest.runtime.cron import MAX_LATE, CronScheduler
from sidequest.stores import open_store
from sidequest.stores.base import Store

T0 = 1_800_000_000.0  # a whole second, 2027-01-15T08:00:00Z


class CleanupWorker(sidequest.Worker):
    sidequest_options = {"queue": "maintenance", "retry": 7}

    def perform(self) -> None:
        pass


EVERY_SECOND = sidequest.periodic("* * * * * *", CleanupWorker, name="svc-every-second")
CATCHING_UP = sidequest.periodic("* * * * * *", CleanupWorker, name="svc-catching-up", catch_up=True)
OVERRIDDEN = sidequest.periodic("*/10 * * * * *", CleanupWorker, name="svc-overridden", queue="low", retry=2)


def scheduler(store: Store, *entries: PeriodicEntry) -> CronScheduler:
    return CronScheduler(store, Client(store), entries or (EVERY_SECOND,))


def ticks_in(store: Store, queue: str = "maintenance") -> list[float]:
    return [entry.payload["cron_at"] for entry in store.list_queue(queue, limit=1000) if entry.payload]


@pytest.fixture
def stores(store_url: str) -> Iterator[list[Store]]:
    """Three more connections to the test's store, as three processes would have."""
    opened = [open_store(store_url) for _ in range(3)]
    yield opened
    for each in opened:
        each.close()


def test_the_first_pass_enqueues_nothing_then_each_due_tick_once(store: Store) -> None:
    cron = scheduler(store)

    assert cron.run_once(T0 + 0.3) == 0
    assert cron.run_once(T0 + 1.2) == 1
    assert cron.run_once(T0 + 1.4) == 0
    assert cron.run_once(T0 + 3.1) == 2

    assert ticks_in(store) == [T0 + 1, T0 + 2, T0 + 3]


def test_three_processes_offering_every_tick_enqueue_each_once(store: Store, stores: list[Store]) -> None:
    crons = [scheduler(each) for each in stores]
    pushed = [0, 0, 0]
    for step in range(40):
        now = T0 + step * 0.25
        for index in ((0, 1, 2), (2, 0, 1), (1, 2, 0))[step % 3]:
            pushed[index] += crons[index].run_once(now + 0.01 * index)

    assert ticks_in(store) == [T0 + n for n in range(1, 10)]
    assert sum(pushed) == 9 and all(count > 0 for count in pushed)


def test_the_job_carries_the_entrys_options_its_name_and_its_tick(store: Store) -> None:
    cron = scheduler(store, OVERRIDDEN)
    cron.run_once(T0 - 1)
    cron.run_once(T0 + 0.5)

    [entry] = store.list_queue("low")
    payload = entry.payload
    assert payload is not None
    assert payload["class"] == CleanupWorker.sidequest_name()
    assert (payload["args"], payload["queue"], payload["retry"]) == ([], "low", 2)
    assert (payload["cron"], payload["cron_at"]) == ("svc-overridden", T0)
    assert store.cron_state(["svc-overridden"])["svc-overridden"].last_jid == payload["jid"]


def test_a_paused_entry_enqueues_nothing_and_resumes_from_the_next_tick(store: Store) -> None:
    cron = scheduler(store)
    cron.run_once(T0)
    store.pause_cron(EVERY_SECOND.name, True)

    assert cron.run_once(T0 + 3.5) == 0

    store.pause_cron(EVERY_SECOND.name, False)
    assert cron.run_once(T0 + 4.5) == 1
    assert ticks_in(store) == [T0 + 4]


def test_ticks_missed_while_no_process_ran_are_skipped(store: Store, stores: list[Store]) -> None:
    before = scheduler(stores[0])
    before.run_once(T0)
    before.run_once(T0 + 2.5)  # enqueues T0+1, T0+2, then the process stops

    after = scheduler(stores[1])
    assert after.run_once(T0 + 30.5) == 0
    assert after.run_once(T0 + 31.5) == 1

    assert ticks_in(store) == [T0 + 1, T0 + 2, T0 + 31]


def test_a_catch_up_entry_gets_only_its_latest_missed_tick(store: Store, stores: list[Store]) -> None:
    before = scheduler(stores[0], CATCHING_UP)
    before.run_once(T0)
    before.run_once(T0 + 1.5)

    after = scheduler(stores[1], CATCHING_UP)
    assert after.run_once(T0 + 30.5) == 1
    assert after.run_once(T0 + 30.7) == 0

    assert ticks_in(store) == [T0 + 1, T0 + 30]


def test_a_catch_up_entry_that_never_ran_has_nothing_to_catch_up(store: Store) -> None:
    assert scheduler(store, CATCHING_UP).run_once(T0 + 0.5) == 0
    assert ticks_in(store) == []


def test_two_processes_starting_together_catch_up_once(store: Store, stores: list[Store]) -> None:
    first = scheduler(stores[0], CATCHING_UP)
    first.run_once(T0)
    first.run_once(T0 + 1.5)

    starting = [scheduler(each, CATCHING_UP) for each in stores[1:]]

    assert sum(cron.run_once(T0 + 60.5) for cron in starting) == 1
    assert ticks_in(store) == [T0 + 1, T0 + 60]


def test_a_process_that_falls_far_behind_skips_what_it_missed(store: Store) -> None:
    plain, catching = scheduler(store, EVERY_SECOND), scheduler(store, CATCHING_UP)
    for cron in (plain, catching):
        cron.run_once(T0)
        cron.run_once(T0 + 1.5)
    late = T0 + 1.5 + MAX_LATE + 5

    assert plain.run_once(late) == 0
    assert catching.run_once(late) == 1
    assert ticks_in(store) == [T0 + 1, T0 + 1, int(late)]


def test_ticks_due_while_the_store_was_down_are_enqueued_when_it_is_back(
    store: Store, tmp_path: Path
) -> None:
    down = open_store(f"sqlite:///{tmp_path / 'gone.db'}")
    down.close()  # every call now raises StoreError, like a store that cannot be reached
    cron = CronScheduler(down, Client(store), [EVERY_SECOND])
    cron.run_once(T0)

    assert cron.run_once(T0 + 2.5) == 0

    cron.store = store
    assert cron.run_once(T0 + 3.5) == 3
    assert ticks_in(store) == [T0 + 1, T0 + 2, T0 + 3]


def test_a_running_process_performs_its_every_second_entry(store: Store) -> None:
    class HeartbeatCheckWorker(sidequest.Worker):
        def perform(self) -> None:
            performed.append(time.time())

    performed: list[float] = []
    sidequest.periodic("* * * * * *", HeartbeatCheckWorker, name="svc-launcher-check")
    config = ProcessConfig(
        queues=(QueueSpec("default"),), heartbeat_interval=0.2, lease_ttl=2.0, fetch_timeout=0.2
    )
    launcher = Launcher(store, WorkerRegistry.of(HeartbeatCheckWorker), config)

    assert launcher.run_until(lambda: len(performed) >= 1, timeout=10)
    assert store.cron_state(["svc-launcher-check"])["svc-launcher-check"].last_tick is not None
