"""Contract: rate limiters. ``limiter_acquire`` decides and records one use atomically for each kind
(concurrent, bucket, window, leaky), ``limiter_release`` frees a concurrent slot, ``limiters`` reports
use and refusals. Times are explicit ``now`` values, so every boundary is exact."""

from __future__ import annotations

import threading
import time

import pytest

from sidequest.limits import Limit, LimiterStats
from sidequest.stores import open_store
from sidequest.stores.base import Store

T0 = 1_800_000_000.0  # a whole second, minute, hour and UTC day (2027-01-15T08:00:00Z is not; 1.8e9 is)


def stats_of(store: Store, limit: Limit, now: float) -> LimiterStats:
    (found,) = [item for item in store.limiters(now) if (item.kind, item.name) == (limit.kind, limit.name)]
    return found


def test_a_concurrent_limiter_admits_n_holders_and_a_release_frees_a_slot_at_once(store: Store) -> None:
    limit = Limit("concurrent", "email-service", 2, 30.0)
    assert store.limiter_acquire(limit, "a", T0).allowed
    assert store.limiter_acquire(limit, "b", T0 + 1).allowed
    refused = store.limiter_acquire(limit, "c", T0 + 2)
    assert not refused.allowed
    assert refused.wait == pytest.approx(28.0)  # until a's lock expires
    assert store.limiter_release(limit, "a", T0 + 3) is True
    assert store.limiter_release(limit, "a", T0 + 3) is False  # released already
    assert store.limiter_acquire(limit, "c", T0 + 4).allowed
    assert not store.limiter_acquire(limit, "d", T0 + 5).allowed


def test_a_concurrent_holder_that_never_releases_frees_its_slot_after_lock_timeout(store: Store) -> None:
    limit = Limit("concurrent", "stripe", 1, 10.0)
    assert store.limiter_acquire(limit, "dead-process", T0).allowed
    assert not store.limiter_acquire(limit, "live", T0 + 9.999).allowed
    assert stats_of(store, limit, T0 + 9.999).in_use == 1
    assert store.limiter_acquire(limit, "live", T0 + 10.0).allowed  # expired exactly at lock_timeout
    assert stats_of(store, limit, T0 + 10.5).in_use == 1
    # The late release of the expired holder frees nothing: its slot is someone else's now.
    assert store.limiter_release(limit, "dead-process", T0 + 11) is False
    assert stats_of(store, limit, T0 + 11).in_use == 1
    assert store.limiter_release(limit, "live", T0 + 11) is True
    assert stats_of(store, limit, T0 + 11).in_use == 0


def test_a_bucket_allows_n_uses_per_clock_interval_and_refills_at_the_next_one(store: Store) -> None:
    limit = Limit("bucket", "api", 3, 1.0)
    assert [store.limiter_acquire(limit, f"u{i}", T0 + 0.1 * i).allowed for i in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    refused = store.limiter_acquire(limit, "u4", T0 + 0.75)
    assert not refused.allowed and refused.wait == pytest.approx(0.25)
    assert not store.limiter_acquire(limit, "u5", T0 + 0.999).allowed
    # A new wall-clock second: a full bucket again, whatever happened just before.
    assert [store.limiter_acquire(limit, f"v{i}", T0 + 1.0 + 0.001 * i).allowed for i in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    assert stats_of(store, limit, T0 + 1.5).in_use == 3
    assert stats_of(store, limit, T0 + 2.5).in_use == 0


def test_a_minute_bucket_counts_uses_in_the_clock_minute(store: Store) -> None:
    limit = Limit("bucket", "reports", 2, 60.0)
    assert store.limiter_acquire(limit, "a", T0 + 59).allowed
    assert store.limiter_acquire(limit, "b", T0 + 59.5).allowed
    refused = store.limiter_acquire(limit, "c", T0 + 59.9)
    assert not refused.allowed and refused.wait == pytest.approx(0.1)
    assert store.limiter_acquire(limit, "d", T0 + 60).allowed  # the next minute, a second later


def test_a_window_allows_n_uses_in_any_sliding_period(store: Store) -> None:
    limit = Limit("window", "search", 2, 10.0)
    assert store.limiter_acquire(limit, "a", T0).allowed
    assert store.limiter_acquire(limit, "b", T0 + 5).allowed
    refused = store.limiter_acquire(limit, "c", T0 + 9)
    assert not refused.allowed and refused.wait == pytest.approx(1.0)  # until a leaves the window
    assert not store.limiter_acquire(limit, "c", T0 + 9.999).allowed
    assert store.limiter_acquire(limit, "c", T0 + 10).allowed  # a used exactly one period ago: gone
    assert not store.limiter_acquire(limit, "d", T0 + 14.9).allowed  # b and c in (4.9, 14.9]
    assert store.limiter_acquire(limit, "d", T0 + 15).allowed
    assert stats_of(store, limit, T0 + 15).in_use == 2


def test_a_leaky_bucket_allows_a_burst_of_n_then_one_use_per_period_over_n(store: Store) -> None:
    limit = Limit("leaky", "sms", 4, 60.0)  # drains one drop every 15 s
    assert all(store.limiter_acquire(limit, f"a{i}", T0).allowed for i in range(4))
    refused = store.limiter_acquire(limit, "b", T0 + 5)
    assert not refused.allowed and refused.wait == pytest.approx(10.0)
    assert stats_of(store, limit, T0 + 5).in_use == pytest.approx(4 - 5 / 15)
    assert store.limiter_acquire(limit, "b", T0 + 15).allowed
    assert not store.limiter_acquire(limit, "c", T0 + 16).allowed
    assert store.limiter_acquire(limit, "c", T0 + 30).allowed
    assert stats_of(store, limit, T0 + 120).in_use == 0


def test_stats_count_allowed_uses_and_final_refusals_but_not_polls(store: Store) -> None:
    limit = Limit("concurrent", "pdf", 1, 30.0)
    assert store.limiters(T0) == []
    store.limiter_acquire(limit, "a", T0)
    for _ in range(3):
        assert not store.limiter_acquire(limit, "b", T0 + 1, final=False).allowed
    assert not store.limiter_acquire(limit, "b", T0 + 2, final=True).allowed
    assert store.limiters(T0 + 2) == [
        LimiterStats("concurrent", "pdf", 1, 30.0, 1.0, allowed=1, refused=1, last_used=T0 + 2)
    ]


@pytest.mark.parametrize(
    "limit",
    [
        Limit("concurrent", "k", 1, 30.0),
        Limit("bucket", "k", 1, 60.0),
        Limit("window", "k", 1, 60.0),
        Limit("leaky", "k", 1, 60.0),
    ],
    ids=lambda limit: limit.kind,
)
def test_a_refused_poll_records_nothing_and_a_poll_that_may_succeed_takes_the_use(
    store: Store, limit: Limit
) -> None:
    assert store.limiter_acquire(limit, "a", T0, final=False).allowed  # room: the poll takes it
    before = store.limiters(T0 + 1)
    refused = store.limiter_acquire(limit, "b", T0 + 1, final=False)
    assert not refused.allowed and refused.wait > 0 and refused.at == T0 + 1
    assert store.limiters(T0 + 1) == before
    assert before[0].last_used == T0 and before[0].allowed == 1 and before[0].refused == 0


def test_limiters_of_different_kinds_under_one_name_are_separate_and_listed_by_kind(store: Store) -> None:
    bucket = Limit("bucket", "shared", 1, 3600.0)
    concurrent = Limit("concurrent", "shared", 1, 30.0)
    assert store.limiter_acquire(bucket, "a", T0).allowed
    assert store.limiter_acquire(concurrent, "a", T0).allowed
    assert [(item.kind, item.name, item.size, item.period) for item in store.limiters(T0)] == [
        ("bucket", "shared", 1, 3600.0),
        ("concurrent", "shared", 1, 30.0),
    ]


def test_a_changed_size_applies_from_the_next_use(store: Store) -> None:
    assert store.limiter_acquire(Limit("concurrent", "grow", 1, 30.0), "a", T0).allowed
    assert not store.limiter_acquire(Limit("concurrent", "grow", 1, 30.0), "b", T0).allowed
    assert store.limiter_acquire(Limit("concurrent", "grow", 2, 30.0), "b", T0).allowed
    assert stats_of(store, Limit("concurrent", "grow", 2, 30.0), T0).size == 2


def test_release_of_a_limiter_that_is_not_concurrent_does_nothing(store: Store) -> None:
    limit = Limit("bucket", "b", 1, 1.0)
    assert store.limiter_acquire(limit, "a", T0).allowed
    assert store.limiter_release(limit, "a", T0) is False
    assert not store.limiter_acquire(limit, "b", T0 + 0.5).allowed


def test_the_store_clock_is_used_when_no_time_is_given(store: Store) -> None:
    limit = Limit("concurrent", "clock", 1, 30.0)
    before = time.time()
    assert store.limiter_acquire(limit, "a").allowed
    (found,) = store.limiters()
    assert found.in_use == 1
    assert found.last_used is not None and before - 5 < found.last_used < time.time() + 5
    assert store.limiter_release(limit, "a") is True


def test_racing_acquirers_on_their_own_connections_never_exceed_the_limit(store_url: str) -> None:
    limit = Limit("concurrent", "race", 3, 30.0)
    stores = [open_store(store_url) for _ in range(8)]
    allowed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(stores))

    def attempt(index: int) -> None:
        barrier.wait()
        for round_ in range(5):
            token = f"t{index}-{round_}"
            if stores[index].limiter_acquire(limit, token, T0).allowed:
                with lock:
                    allowed.append(token)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(allowed) == 3
        (found,) = stores[0].limiters(T0)
        assert (found.in_use, found.allowed) == (3, 3)
    finally:
        for opened in stores:
            opened.close()
