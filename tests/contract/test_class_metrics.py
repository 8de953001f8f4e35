"""Contract: per-class execution metrics (Sidekiq 7's), recorded by real runs per class and per UTC
minute, read back with their histograms, and gone beyond the retention."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from contract.support import process_info
from sidequest.client import Client
from sidequest.job import METRIC_BUCKETS_MS, METRICS_RETENTION, ClassMetrics, metric_bucket, metric_minute
from sidequest.registry import WorkerRegistry
from sidequest.runtime import Launcher, ProcessConfig
from sidequest.stores.base import Heartbeat, Store
from testapp.workers import ActionWorker, NoopWorker

FAST = dict(
    heartbeat_interval=0.2, lease_ttl=2.0, scheduler_interval=0.1, rescue_interval=0.5, fetch_timeout=0.2
)


@pytest.fixture(autouse=True)
def record(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "record.txt"
    monkeypatch.setenv("SIDEQUEST_TEST_RECORD", str(path))
    return path


def by_class(items: list[ClassMetrics]) -> dict[str, ClassMetrics]:
    """The items of each class added up over their minutes."""
    totals: dict[str, ClassMetrics] = {}
    for item in items:
        known = totals.get(item.name)
        totals[item.name] = item if known is None else known.plus(item)
    return totals


def test_a_real_run_of_two_classes_shows_up_per_class_and_per_minute(store: Store) -> None:
    client = Client(store)
    client.enqueue_bulk(NoopWorker, [[n] for n in range(30)])
    client.enqueue_bulk(ActionWorker, [["sleep", n, 0.03] for n in range(4)])
    client.enqueue_bulk(ActionWorker, [["fail", n] for n in range(3)])
    started = time.time()
    registry = WorkerRegistry.of(ActionWorker, NoopWorker)
    assert Launcher(store, registry, ProcessConfig(**FAST, concurrency=5)).drain(timeout=60)
    finished = time.time()

    items = store.metrics(started - 120, finished + 60)
    minutes = {item.minute for item in items}
    assert minutes <= {float(metric_minute(started)), float(metric_minute(finished))}
    assert all(item.minute % 60 == 0 for item in items)
    totals = by_class(items)
    assert set(totals) == {"testapp.workers.NoopWorker", "testapp.workers.ActionWorker"}
    noop, action = totals["testapp.workers.NoopWorker"], totals["testapp.workers.ActionWorker"]
    assert (noop.processed, noop.failed) == (30, 0)
    assert (action.processed, action.failed) == (7, 3)
    # Times and the histogram count the successful runs only, as Sidekiq does.
    assert len(action.histogram) == len(METRIC_BUCKETS_MS) and sum(action.histogram) == 4
    assert sum(action.histogram[metric_bucket(30) :]) == 4  # every sleeping run took 30 ms or more
    assert action.ms >= 4 * 30
    assert sum(noop.histogram) == 30 and noop.ms < 30 * 1000
    # A range that holds none of those minutes holds none of the runs.
    assert store.metrics(finished + 120, finished + 600) == []


def test_beats_of_several_processes_add_up_in_one_minute_with_their_histograms(store: Store) -> None:
    minute = float(metric_minute(time.time()))
    histogram = tuple(1 if index in (0, 3) else 0 for index in range(len(METRIC_BUCKETS_MS)))
    for identity in ("metrics-host:1:a", "metrics-host:2:b"):
        item = ClassMetrics("HardJob", minute, 3, 1, 120.0, histogram)
        store.beat(Heartbeat(process_info(identity), metrics=[item]))
    [item] = store.metrics(minute, minute + 60)
    assert (item.name, item.minute, item.processed, item.failed) == ("HardJob", minute, 6, 2)
    assert item.ms == pytest.approx(240)
    assert item.histogram == tuple(2 if index in (0, 3) else 0 for index in range(len(METRIC_BUCKETS_MS)))


def test_minutes_beyond_the_retention_are_not_kept(store: Store) -> None:
    now = time.time()
    recent = float(metric_minute(now - 3600))
    too_old = float(metric_minute(now - METRICS_RETENTION - 120))
    store.beat(
        Heartbeat(
            process_info("metrics-host:3:c"),
            metrics=[ClassMetrics("OldJob", too_old, 5, 0, 50.0), ClassMetrics("NewJob", recent, 2, 0, 20.0)],
        )
    )
    everything = store.metrics(now - 2 * METRICS_RETENTION, now + 60)
    assert {item.name for item in everything} == {"NewJob"}
    assert store.metrics(too_old - 60, too_old + 60) == []


def test_the_short_per_class_form_counts_in_the_minute_of_the_beat(store: Store) -> None:
    before = time.time()
    store.beat(Heartbeat(process_info(f"metrics-host:{os.getpid()}:d"), per_class={"HardJob": (3, 1, 120.4)}))
    [item] = store.metrics(before - 60, time.time() + 60)
    assert (item.name, item.processed, item.failed, round(item.ms)) == ("HardJob", 3, 1, 120)
    assert item.minute in {float(metric_minute(before)), float(metric_minute(time.time()))}
