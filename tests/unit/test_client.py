"""Enqueueing, as Sidekiq's client does it: the payload a job is stored as, where it lands (a queue or
the scheduled set, with which score), bulk pushes, client middleware, and ``Client.push`` by name.

Every scenario writes to a real SQLite store and reads the stored JSON back."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import sidequest
import sidequest.defaults
from sidequest.client import Client
from sidequest.errors import ConfigurationError, JobArgumentError, WorkerDefinitionError
from sidequest.job import NewJob, Payload
from sidequest.stores.base import Store

SIDEKIQ_KEY_ORDER = ["retry", "queue", "args", "class", "jid", "created_at", "enqueued_at"]
JID = re.compile(r"\A[0-9a-f]{24}\Z")


class HardWorker(sidequest.Worker):
    def perform(self, name: str, count: int = 1) -> None:
        pass


class CriticalWorker(sidequest.Worker):
    sidequest_options = {"queue": "critical", "retry": 3, "backtrace": 5, "tags": ["a"]}

    def perform(self, *args: Any) -> None:
        pass


class ApplicationWorker(sidequest.Worker, abstract=True):
    sidequest_options = {"queue": "low"}


class CountingClient(Client):
    """A client over a real store that remembers how many jobs each store write carried."""

    def __init__(self, store: Store | str, middleware: Sequence[Any] = ()) -> None:
        super().__init__(store, middleware)
        self.writes: list[int] = []

    def write(self, jobs: Sequence[NewJob]) -> None:
        self.writes.append(len(jobs))
        super().write(jobs)


@pytest.fixture
def client(sqlite_url: str) -> Iterator[CountingClient]:
    """The default client for ``MyWorker.perform_async`` and ``Client.push``, over a fresh SQLite store."""
    client = CountingClient(sqlite_url)
    sidequest.configure(client=client)
    yield client
    sidequest.defaults.DEFAULT.configure(None)
    client.close()


def queued(client: Client, queue: str = "default") -> list[Payload]:
    """The stored payloads of ``queue``, next to run first, parsed key order and all."""
    return [json.loads(entry.raw) for entry in client.store.list_queue(queue, limit=10_000)]


def scheduled(client: Client) -> list[tuple[float, Payload]]:
    """The scheduled set: (score, payload), soonest first."""
    entries = client.store.list_set("scheduled", limit=10_000)
    return [(float(entry.score or 0), json.loads(entry.raw)) for entry in entries]


# -- the payload ---------------------------------------------------------------------------------------


def test_an_immediate_job_is_stored_in_sidekiqs_key_order(client: Client) -> None:
    jid = HardWorker.perform_async("bob", 5)

    [payload] = queued(client)
    assert list(payload) == SIDEKIQ_KEY_ORDER
    assert payload["jid"] == jid
    assert payload["args"] == ["bob", 5]
    assert payload["class"] == HardWorker.sidequest_name()
    assert payload["retry"] is True
    assert payload["queue"] == "default"


def test_the_workers_options_come_first_in_their_own_order_as_ruby_writes_them(client: Client) -> None:
    CriticalWorker.perform_async(1, "two", {"k": [3]})

    [payload] = queued(client, "critical")
    assert list(payload) == ["retry", "queue", "backtrace", "tags", *SIDEKIQ_KEY_ORDER[2:]]
    assert {key: payload[key] for key in ("retry", "queue", "backtrace", "tags")} == {
        "retry": 3,
        "queue": "critical",
        "backtrace": 5,
        "tags": ["a"],
    }


def test_every_job_gets_its_own_24_hex_char_jid(client: Client) -> None:
    jids = [HardWorker.perform_async("bob") for _ in range(20)]

    assert all(jid is not None and JID.match(jid) for jid in jids)
    assert len(set(jids)) == 20


def test_created_at_and_enqueued_at_are_float_epoch_seconds_even_when_whole(client: Client) -> None:
    before = time.time()
    HardWorker.perform_async("bob")
    after = time.time()

    [entry] = client.store.list_queue("default")
    payload = json.loads(entry.raw)
    for key in ("created_at", "enqueued_at"):
        assert isinstance(payload[key], float), "an int would be read as milliseconds by Sidekiq 8"
        assert before <= payload[key] <= after


def test_build_payload_shows_the_payload_without_storing_anything(sqlite_url: str) -> None:
    client = Client(sqlite_url)
    try:
        payload = client.build_payload(CriticalWorker, [1], {"queue": "other"}, at=None)

        assert payload is not None
        assert list(payload) == ["retry", "queue", "backtrace", "tags", *SIDEKIQ_KEY_ORDER[2:]]
        assert payload["queue"] == "other"
        assert payload["created_at"] == payload["enqueued_at"]
        assert client.store.counts().enqueued == 0
    finally:
        client.close()


def test_a_scheduled_payload_has_no_enqueued_at(sqlite_url: str) -> None:
    client = Client(sqlite_url)
    try:
        payload = client.build_payload(HardWorker, ["bob"], {}, at=time.time() + 60)
    finally:
        client.close()

    assert payload is not None
    assert list(payload) == SIDEKIQ_KEY_ORDER[:-1]


def test_arguments_that_are_not_json_native_are_refused_and_nothing_is_stored(client: Client) -> None:
    with pytest.raises(
        JobArgumentError, match=r"HardWorker.perform_async: argument 1 is a datetime.datetime"
    ):
        HardWorker.perform_async(datetime.now())

    assert queued(client) == []


def test_arguments_that_do_not_fit_perform_are_refused_and_nothing_is_stored(client: Client) -> None:
    with pytest.raises(JobArgumentError, match=r"3 argument.* do not fit perform"):
        HardWorker.perform_async("bob", 1, "extra")

    assert queued(client) == []


def test_an_abstract_worker_cannot_be_enqueued(client: Client) -> None:
    with pytest.raises(JobArgumentError, match="ApplicationWorker is abstract and cannot be enqueued"):
        ApplicationWorker.perform_async()

    assert queued(client, "low") == []


def test_something_that_is_not_a_worker_cannot_be_enqueued(client: Client) -> None:
    with pytest.raises(
        JobArgumentError, match=r"must be a sidequest\.Worker subclass or a class name string"
    ):
        client.enqueue(dict, [])  # type: ignore[arg-type]


# -- set() ---------------------------------------------------------------------------------------------


def test_set_overrides_options_for_one_call_only(client: Client) -> None:
    HardWorker.set(queue="critical", retry=0).perform_async("bob")
    HardWorker.perform_async("alice")

    [overridden] = queued(client, "critical")
    [plain] = queued(client, "default")
    assert (overridden["queue"], overridden["retry"]) == ("critical", 0)
    assert (plain["queue"], plain["retry"]) == ("default", True)
    assert HardWorker.get_sidequest_options() == {"retry": True, "queue": "default"}


def test_set_calls_chain_and_the_last_one_wins(client: Client) -> None:
    HardWorker.set(queue="first", tags=["x"]).set(queue="second").perform_async("bob")

    [payload] = queued(client, "second")
    assert payload["tags"] == ["x"]


def test_set_with_a_bad_option_fails_before_anything_is_stored(client: Client) -> None:
    with pytest.raises(WorkerDefinitionError, match=r"HardWorker.set\(\): unknown option 'queu'"):
        HardWorker.set(queu="critical")

    with pytest.raises(WorkerDefinitionError, match="option queue='bad queue'"):
        HardWorker.set(queue="bad queue")


# -- scheduling ----------------------------------------------------------------------------------------


def test_perform_in_seconds_lands_in_the_scheduled_set_scored_by_its_due_time(client: Client) -> None:
    before = time.time()
    jid = HardWorker.perform_in(420, "Elfo")
    after = time.time()

    [(score, payload)] = scheduled(client)
    assert before + 420 <= score <= after + 420
    assert payload["jid"] == jid
    assert "enqueued_at" not in payload
    assert "at" not in payload, "the due time is the score, never a payload field"
    assert queued(client) == []


def test_perform_in_a_timedelta_is_relative(client: Client) -> None:
    before = time.time()
    HardWorker.perform_in(timedelta(hours=1), "Elfo")

    [(score, _)] = scheduled(client)
    assert before + 3600 <= score <= time.time() + 3600


def test_perform_in_a_number_from_1e9_up_is_an_absolute_epoch_second(client: Client) -> None:
    due = time.time() + 3600.5

    HardWorker.perform_in(due, "Elfo")

    [(score, _)] = scheduled(client)
    assert score == due


def test_perform_in_just_below_1e9_is_still_relative(client: Client) -> None:
    HardWorker.perform_in(999_999_999, "Elfo")

    [(score, _)] = scheduled(client)
    assert score > time.time() + 999_999_000


def test_perform_at_an_aware_datetime_is_scored_by_its_timestamp(client: Client) -> None:
    due = datetime.now(UTC) + timedelta(minutes=5)

    HardWorker.perform_at(due, "Emperor Cloyd")

    [(score, payload)] = scheduled(client)
    assert score == due.timestamp()
    assert payload["args"] == ["Emperor Cloyd"]


def test_perform_at_epoch_seconds(client: Client) -> None:
    due = time.time() + 90

    HardWorker.perform_at(due, "Emperor Cloyd")

    [(score, _)] = scheduled(client)
    assert score == due


@pytest.mark.parametrize(
    "enqueue",
    [
        lambda: HardWorker.perform_at(datetime.now(UTC) - timedelta(days=1), "late"),
        lambda: HardWorker.perform_at(time.time() - 5, "late"),
        lambda: HardWorker.perform_in(-30, "late"),
        lambda: HardWorker.perform_in(0, "late"),
        lambda: HardWorker.perform_in(timedelta(seconds=-1), "late"),
    ],
    ids=["past-datetime", "past-epoch", "negative-seconds", "zero-seconds", "negative-timedelta"],
)
def test_a_time_that_is_not_in_the_future_enqueues_the_job_now(client: Client, enqueue: Any) -> None:
    jid = enqueue()

    [payload] = queued(client)
    assert payload["jid"] == jid
    assert "enqueued_at" in payload
    assert scheduled(client) == []


def test_a_time_that_is_not_a_time_is_refused(client: Client) -> None:
    with pytest.raises(JobArgumentError, match="seconds, a timedelta or a datetime, not str"):
        HardWorker.perform_in("5 minutes", "bob")  # type: ignore[arg-type]
    with pytest.raises(JobArgumentError, match="not bool"):
        HardWorker.perform_at(True, "bob")


def test_set_then_perform_in_keeps_the_options_on_the_scheduled_job(client: Client) -> None:
    HardWorker.set(queue="later").perform_in(60, "bob")

    [(_, payload)] = scheduled(client)
    assert payload["queue"] == "later"


# -- bulk ----------------------------------------------------------------------------------------------


def test_perform_bulk_enqueues_one_job_per_argument_list_in_order(client: Client) -> None:
    jids = HardWorker.perform_bulk([["a"], ["b", 2], ["c"]])

    payloads = queued(client)
    assert [payload["args"] for payload in payloads] == [["a"], ["b", 2], ["c"]]
    assert [payload["jid"] for payload in payloads] == jids
    assert len(set(jids)) == 3


def test_a_bulk_push_gives_every_job_one_shared_created_at_and_its_own_jid(client: Client) -> None:
    sidequest.Client.push_bulk({"class": HardWorker, "args": [[str(n)] for n in range(50)]})

    payloads = queued(client)
    assert len({payload["created_at"] for payload in payloads}) == 1
    assert len({payload["jid"] for payload in payloads}) == 50


def test_a_bulk_push_makes_one_store_write_per_batch(client: CountingClient) -> None:
    HardWorker.perform_bulk([[str(n)] for n in range(250)], batch_size=100)

    assert client.writes == [100, 100, 50]
    assert len(queued(client)) == 250


def test_push_bulk_takes_the_batch_size_from_the_item(client: CountingClient) -> None:
    sidequest.Client.push_bulk({"class": HardWorker, "args": [["x"]] * 7, "batch_size": 3})

    assert client.writes == [3, 3, 1]


def test_a_bulk_push_of_nothing_writes_nothing(client: CountingClient) -> None:
    assert HardWorker.perform_bulk([]) == []
    assert client.writes == []


def test_a_bulk_push_with_at_schedules_every_job_at_that_time(client: Client) -> None:
    due = time.time() + 600

    sidequest.Client.push_bulk({"class": HardWorker, "args": [["a"], ["b"]], "at": due})

    assert [score for score, _ in scheduled(client)] == [due, due]
    assert queued(client) == []


def test_a_bulk_push_checks_every_argument_list(client: Client) -> None:
    with pytest.raises(JobArgumentError, match="argument 1 is a set"):
        HardWorker.perform_bulk([["fine"], [{"not", "fine"}]])
    with pytest.raises(JobArgumentError, match="a list of argument lists"):
        HardWorker.perform_bulk([["fine"], "oops"])  # type: ignore[list-item]
    with pytest.raises(JobArgumentError, match="a list of argument lists"):
        sidequest.Client.push_bulk({"class": HardWorker, "args": "oops"})


def test_a_batch_size_below_one_is_a_configuration_error(client: Client) -> None:
    with pytest.raises(ConfigurationError, match="batch_size must be >= 1, got 0"):
        HardWorker.perform_bulk([["a"]], batch_size=0)


# -- client middleware ---------------------------------------------------------------------------------


def test_a_client_middleware_can_change_a_job_before_it_is_stored(sqlite_url: str) -> None:
    def route_vips(payload: Payload) -> Payload:
        if payload["args"][0] == "vip":
            payload["queue"] = "critical"
        return payload

    client = Client(sqlite_url, middleware=[route_vips])
    try:
        client.enqueue(HardWorker, ["vip"])
        client.enqueue(HardWorker, ["regular"])

        assert [payload["args"] for payload in queued(client, "critical")] == [["vip"]]
        assert [payload["args"] for payload in queued(client, "default")] == [["regular"]]
    finally:
        client.close()


def test_a_client_middleware_can_drop_a_job_and_the_enqueue_returns_no_jid(sqlite_url: str) -> None:
    seen: list[str] = []

    def drop_everything(payload: Payload) -> None:
        seen.append(payload["jid"])
        return None

    def never_reached(payload: Payload) -> Payload:
        raise AssertionError("the chain stops at the middleware that dropped the job")

    client = CountingClient(sqlite_url, middleware=[drop_everything, never_reached])
    try:
        assert client.enqueue(HardWorker, ["bob"]) is None
        assert client.push({"class": "HardJob", "args": [1]}) is None
        assert len(seen) == 2
        assert client.writes == []
    finally:
        client.close()


def test_middleware_runs_in_order_each_seeing_the_previous_ones_changes(sqlite_url: str) -> None:
    def tag(payload: Payload) -> Payload:
        return {**payload, "tags": ["tagged"]}

    def check(payload: Payload) -> Payload:
        assert payload["tags"] == ["tagged"]
        return {**payload, "queue": "checked"}

    client = Client(sqlite_url, middleware=[tag, check])
    try:
        client.enqueue(HardWorker, ["bob"])

        [payload] = queued(client, "checked")
        assert payload["tags"] == ["tagged"]
    finally:
        client.close()


def test_a_bulk_push_skips_the_jobs_a_middleware_dropped(sqlite_url: str) -> None:
    def drop_odd(payload: Payload) -> Payload | None:
        return None if payload["args"][0] % 2 else payload

    client = Client(sqlite_url, middleware=[drop_odd])
    try:
        jids = client.enqueue_bulk("NumberJob", [[n] for n in range(6)])

        assert [jid is None for jid in jids] == [False, True, False, True, False, True]
        assert [payload["args"] for payload in queued(client)] == [[0], [2], [4]]
    finally:
        client.close()


# -- Client.push / push_bulk ---------------------------------------------------------------------------


def test_client_push_on_the_class_uses_the_default_client(client: Client) -> None:
    jid = sidequest.Client.push({"class": HardWorker, "args": ["bob"], "queue": "critical"})

    [payload] = queued(client, "critical")
    assert payload["jid"] == jid
    assert list(payload) == SIDEKIQ_KEY_ORDER


def test_client_push_on_an_instance_uses_that_instances_store(client: Client, tmp_path: Any) -> None:
    other = Client(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        other.push({"class": HardWorker, "args": ["bob"]})

        assert len(queued(other)) == 1
        assert queued(client) == []
    finally:
        other.close()


def test_a_ruby_worker_can_be_pushed_by_its_class_name_with_sidekiqs_defaults(client: Client) -> None:
    jid = sidequest.Client.push({"class": "HardJob", "args": [1, "two"], "queue": "ruby"})

    [payload] = queued(client, "ruby")
    assert payload == {
        "retry": True,
        "queue": "ruby",
        "args": [1, "two"],
        "class": "HardJob",
        "jid": jid,
        "created_at": payload["created_at"],
        "enqueued_at": payload["enqueued_at"],
    }
    assert list(payload) == SIDEKIQ_KEY_ORDER


def test_a_push_by_name_still_checks_the_arguments_are_json_native(client: Client) -> None:
    with pytest.raises(JobArgumentError, match=r"push\('HardJob'\): argument 1 is a bytes"):
        sidequest.Client.push({"class": "HardJob", "args": [b"raw"]})


def test_a_push_keeps_an_explicit_jid(client: Client) -> None:
    jid = sidequest.Client.push({"class": "HardJob", "args": [], "jid": "0123456789abcdef01234567"})

    assert jid == "0123456789abcdef01234567"
    assert queued(client)[0]["jid"] == jid


def test_a_push_with_a_future_at_is_scheduled_at_that_time(client: Client) -> None:
    due = time.time() + 30

    sidequest.Client.push({"class": HardWorker, "args": ["bob"], "at": due})

    [(score, payload)] = scheduled(client)
    assert score == due
    assert "at" not in payload


def test_a_push_validates_its_options_like_set(client: Client) -> None:
    with pytest.raises(WorkerDefinitionError, match="push: unknown option 'priority'"):
        sidequest.Client.push({"class": "HardJob", "args": [], "priority": 1})


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ({"args": [1]}, "the item needs a 'class'"),
        ({"class": "HardJob", "args": "1"}, "'args' must be a list, got str"),
        ({"class": "", "args": []}, "a job's class name must be a non-empty string"),
    ],
)
def test_a_malformed_push_is_refused(client: Client, item: dict[str, Any], problem: str) -> None:
    with pytest.raises(JobArgumentError, match=re.escape(problem)):
        sidequest.Client.push(item)
