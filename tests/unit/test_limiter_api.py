"""``sidequest.limiter``: definitions check their arguments at once (with messages saying what to give)
and do no I/O; a use waits up to ``wait_timeout`` then raises ``OverLimit``; the testing modes, whose
clients have no store, never limit. Uses run on a real SQLite store."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import sidequest
import sidequest.testing
from sidequest import limiter
from sidequest.errors import ConfigurationError, OverLimit
from sidequest.stores import open_store
from sidequest.stores.base import Store


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    with open_store(sqlite_url) as opened:
        yield opened


@pytest.mark.parametrize("name", ["", "a|b", "has space", "tab\there", 5, None, "x" * 201])
def test_an_unusable_name_is_refused_at_definition_with_what_to_give(name: object) -> None:
    with pytest.raises(ConfigurationError, match=r"limiter name .* is not usable: give a non-empty string"):
        limiter.concurrent(name, 3)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "3"])
def test_a_size_that_is_not_a_positive_integer_is_refused(n: object) -> None:
    with pytest.raises(ConfigurationError, match="limiter 'api': n must be a positive integer"):
        limiter.bucket("api", n, "second")  # type: ignore[arg-type]


@pytest.mark.parametrize("period", ["fortnight", 0, -1, math.nan, math.inf, True, None])
def test_a_period_that_is_not_seconds_or_a_word_is_refused_naming_the_words(period: object) -> None:
    with pytest.raises(ConfigurationError, match="'second', 'minute', 'hour', 'day'"):
        limiter.window("api", 5, period)  # type: ignore[arg-type]


def test_other_bad_settings_are_refused_with_the_setting_named(store: Store) -> None:
    with pytest.raises(ConfigurationError, match="lock_timeout must be"):
        limiter.concurrent("api", 3, lock_timeout=0)
    with pytest.raises(ConfigurationError, match="wait_timeout must be a number of seconds >= 0"):
        limiter.leaky("api", 3, "minute", wait_timeout=-1)
    with pytest.raises(ConfigurationError, match="backoff must be seconds >= 0"):
        limiter.concurrent("api", 3, backoff=-5)
    with pytest.raises(ConfigurationError, match="give store= or client=, not both"):
        limiter.concurrent("api", 3, store=store, client=sidequest.Client(store))


def test_periods_in_words_are_seconds_minutes_hours_and_days() -> None:
    assert [limiter.bucket("b", 1, word).limit.period for word in ("second", "minute", "hour", "day")] == [
        1.0,
        60.0,
        3600.0,
        86400.0,
    ]
    assert limiter.leaky("l", 4, 2.5).limit.period == 2.5


def test_a_definition_does_no_io(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SIDEQUEST_URL", f"sqlite:///{tmp_path / 'never.db'}")
    limiter.concurrent("email", 3)
    limiter.bucket("api", 10, "second")
    assert list(tmp_path.iterdir()) == []


def test_over_the_limit_a_use_waits_its_wait_timeout_then_raises_overlimit_naming_the_limiter(
    store: Store,
) -> None:
    email = limiter.concurrent("email", 1, wait_timeout=0.3, store=store)
    with email.within_limit():
        started = time.monotonic()
        over = r"concurrent limiter 'email' is over its limit of 1 holders"
        with pytest.raises(OverLimit, match=over), email.within_limit():
            pytest.fail("entered a full limiter")
        assert 0.3 <= time.monotonic() - started < 2
    with email.within_limit():  # released at the end of the block
        pass
    (stats,) = store.limiters()
    assert (stats.allowed, stats.refused, stats.in_use) == (2, 1, 0)


def test_a_use_waits_for_the_next_bucket_interval_when_it_comes_within_wait_timeout(store: Store) -> None:
    api = limiter.bucket("api", 1, "second", wait_timeout=2, store=store)
    with api.within_limit() as first:
        pass
    with api.within_limit() as second:
        pass
    assert int(second.at) == int(first.at) + 1
    assert store.limiters()[0].refused == 0  # it waited, it was not refused


def test_a_use_that_cannot_be_allowed_within_wait_timeout_is_refused_at_once(store: Store) -> None:
    reports = limiter.bucket("reports", 1, "hour", wait_timeout=1, store=store)
    with reports.within_limit():
        pass
    started = time.monotonic()
    with pytest.raises(OverLimit) as raised, reports.within_limit():
        pass
    assert time.monotonic() - started < 0.5  # no point sleeping an hour's remainder
    assert raised.value.name == "reports" and raised.value.kind == "bucket"
    assert raised.value.limiter is reports


def test_an_async_block_waits_without_blocking_the_event_loop(store: Store) -> None:
    pair = limiter.concurrent("pair", 2, wait_timeout=5, store=store)
    inside: list[int] = []
    peak: list[int] = []

    async def use() -> None:
        async with pair.within_limit():
            inside.append(1)
            peak.append(len(inside))
            await asyncio.sleep(0.05)
            inside.pop()

    async def main() -> None:
        await asyncio.gather(*(use() for _ in range(6)))

    asyncio.run(main())
    assert max(peak) == 2 and len(peak) == 6
    assert store.limiters()[0].allowed == 6


def test_the_limiter_uses_the_default_clients_store_when_none_is_given(store: Store) -> None:
    email = limiter.concurrent("email", 1, wait_timeout=0)
    with sidequest.defaults.DEFAULT.override(sidequest.Client(store)), email.within_limit():
        pass
    assert store.limiters()[0].allowed == 1


@pytest.mark.parametrize("mode", ["inline", "fake"])
def test_the_testing_modes_never_limit(mode: str) -> None:
    single = limiter.concurrent("single", 1, wait_timeout=0)
    with getattr(sidequest.testing, mode)(), single.within_limit(), single.within_limit():
        pass


def test_the_default_backoff_grows_linearly_with_jitter_and_a_function_can_replace_it() -> None:
    plain = limiter.concurrent("plain", 1)
    delays = [plain.reschedule_in(count) for count in (1, 2, 20)]
    assert 5 <= delays[0] <= 10 and 10 <= delays[1] <= 15 and 100 <= delays[2] <= 105
    custom = limiter.concurrent("custom", 1, backoff=lambda overrated: 2.0**overrated)
    assert custom.reschedule_in(3) == 8.0
