"""sidequest.testing: fake mode collects jobs and drains them, inline mode runs them at once.

Both are explicit Client objects installed as the default client for a block (or by the pytest
fixtures ``sidequest_fake`` / ``sidequest_inline``); nothing is patched, no store is touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sidequest
import sidequest.testing
from sidequest.errors import ConfigurationError, SidequestError, UnknownWorkerError
from sidequest.job import Payload
from sidequest.registry import WorkerRegistry
from sidequest.testing import EmptyQueueError, FakeClient, InlineClient


class Notes:
    """A file the test workers append lines to: what ran, in which order."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def read(self) -> list[str]:
        path = Path(self.path)
        return path.read_text().splitlines() if path.exists() else []


def note(path: str, text: str) -> None:
    with open(path, "a") as file:
        file.write(text + "\n")


class NoteWorker(sidequest.Worker):
    def perform(self, path: str, text: str) -> None:
        note(path, text)


class AsyncNoteWorker(sidequest.Worker):
    async def perform(self, path: str, text: str) -> None:
        await asyncio.sleep(0)
        note(path, text)


class ParentWorker(sidequest.Worker):
    def perform(self, path: str, children: int) -> None:
        note(path, "parent")
        for n in range(children):
            NoteWorker.perform_async(path, f"child {n}")
        note(path, "parent done")


class JidWorker(sidequest.Worker):
    def perform(self, path: str) -> None:
        note(path, str(self.jid))


class BoomError(RuntimeError):
    pass


class FailingWorker(sidequest.Worker):
    def perform(self, message: str) -> None:
        raise BoomError(message)


class CriticalWorker(sidequest.Worker):
    sidequest_options = {"queue": "critical", "retry": 3}

    def perform(self, n: int) -> None:
        pass


class ForeverWorker(sidequest.Worker):
    def perform(self) -> None:
        ForeverWorker.perform_async()


@pytest.fixture
def notes(tmp_path: Path) -> Notes:
    return Notes(tmp_path / "notes.txt")


# -- fake mode -------------------------------------------------------------------------------------------


def test_fake_mode_collects_jobs_as_a_store_would_hold_them_and_runs_nothing(notes: Notes) -> None:
    with sidequest.testing.fake() as jobs:
        jid = NoteWorker.perform_async(notes.path, "hello")

    [job] = jobs.jobs
    assert (job.jid, job.args, job.queue, job.at) == (jid, [notes.path, "hello"], "default", None)
    assert job.class_name == NoteWorker.sidequest_name() == f"{__name__}.NoteWorker"
    assert job.payload["retry"] is True and isinstance(job.payload["enqueued_at"], float)
    assert notes.read() == []


def test_jobs_are_found_by_worker_and_by_queue_counted_and_cleared(
    sidequest_fake: FakeClient, notes: Notes
) -> None:
    NoteWorker.perform_async(notes.path, "a")
    CriticalWorker.perform_async(1)
    CriticalWorker.perform_async(2)
    NoteWorker.set(queue="low").perform_async(notes.path, "b")

    assert len(sidequest_fake) == 4
    assert [job.args for job in sidequest_fake.for_worker(CriticalWorker)] == [[1], [2]]
    assert [job.args for job in sidequest_fake.for_worker(CriticalWorker.sidequest_name())] == [[1], [2]]
    assert [job.args for job in sidequest_fake.jobs_in("critical")] == [[1], [2]]
    assert [job.args[1] for job in sidequest_fake.jobs_in("low")] == ["b"]
    assert sidequest_fake.jobs_in("critical")[0].payload["retry"] == 3

    sidequest_fake.clear(CriticalWorker)
    assert [job.class_name for job in sidequest_fake] == [NoteWorker.sidequest_name()] * 2
    sidequest_fake.clear()
    assert len(sidequest_fake) == 0


def test_drain_also_runs_the_jobs_enqueued_while_draining(sidequest_fake: FakeClient, notes: Notes) -> None:
    ParentWorker.perform_async(notes.path, 2)

    assert sidequest_fake.drain() == 3

    assert notes.read() == ["parent", "parent done", "child 0", "child 1"]
    assert len(sidequest_fake) == 0


def test_drain_runs_jobs_due_now_first_then_scheduled_jobs_by_due_time(
    sidequest_fake: FakeClient, notes: Notes
) -> None:
    NoteWorker.perform_in(7200, notes.path, "in two hours")
    NoteWorker.perform_at(time.time() + 3600, notes.path, "in an hour")
    NoteWorker.perform_async(notes.path, "now")

    assert [job.at is None for job in sidequest_fake.jobs] == [False, False, True]
    sidequest_fake.drain_all()

    assert notes.read() == ["now", "in an hour", "in two hours"]


def test_a_failing_job_raises_out_of_drain_and_the_jobs_after_it_wait(
    sidequest_fake: FakeClient, notes: Notes
) -> None:
    FailingWorker.perform_async("no luck")
    NoteWorker.perform_async(notes.path, "after")

    with pytest.raises(BoomError, match="no luck"):
        sidequest_fake.drain()

    assert [job.args for job in sidequest_fake.jobs] == [[notes.path, "after"]]
    assert sidequest_fake.drain() == 1
    assert notes.read() == ["after"]


def test_drain_can_record_failures_and_go_on(sidequest_fake: FakeClient, notes: Notes) -> None:
    FailingWorker.perform_async("first")
    NoteWorker.perform_async(notes.path, "runs anyway")
    FailingWorker.perform_async("second")

    assert sidequest_fake.drain(raise_errors=False) == 3

    assert notes.read() == ["runs anyway"]
    assert [(job.args, str(exc)) for job, exc in sidequest_fake.failures] == [
        (["first"], "first"),
        (["second"], "second"),
    ]
    assert all(isinstance(exc, BoomError) for _, exc in sidequest_fake.failures)


def test_perform_one_and_drain_can_pick_one_worker_and_say_when_there_is_none(
    sidequest_fake: FakeClient, notes: Notes
) -> None:
    NoteWorker.perform_async(notes.path, "first")
    CriticalWorker.perform_async(1)
    NoteWorker.perform_async(notes.path, "second")

    assert sidequest_fake.perform_one(NoteWorker).args == [notes.path, "first"]
    assert sidequest_fake.drain(NoteWorker) == 1
    assert notes.read() == ["first", "second"]
    assert [job.args for job in sidequest_fake.jobs] == [[1]]
    assert sidequest_fake.perform_one().args == [1]
    with pytest.raises(EmptyQueueError, match=f"no job of {re.escape(CriticalWorker.sidequest_name())}"):
        sidequest_fake.perform_one(CriticalWorker)


def test_drain_stops_a_job_that_keeps_enqueueing_itself(sidequest_fake: FakeClient) -> None:
    ForeverWorker.perform_async()

    with pytest.raises(SidequestError, match="does a job enqueue itself"):
        sidequest_fake.drain(max_jobs=50)


def test_the_job_id_is_the_one_perform_async_returned(sidequest_fake: FakeClient, notes: Notes) -> None:
    jid = JidWorker.perform_async(notes.path)
    sidequest_fake.drain()
    assert notes.read() == [jid]


def test_jobs_enqueued_from_many_threads_are_all_kept(sidequest_fake: FakeClient) -> None:
    def enqueue(start: int) -> None:
        for n in range(start, start + 100):
            CriticalWorker.perform_async(n)

    threads = [threading.Thread(target=enqueue, args=(start,)) for start in range(0, 800, 100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(job.args[0] for job in sidequest_fake) == list(range(800))


# -- what both modes share: the production client path --------------------------------------------------


class Order:
    id = 42


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        ((Order(),), f"argument 1 is a {re.escape(__name__)}.Order.*pass the object's id"),
        ((1, 2), "2 argument"),
        ((2**70,), "64-bit"),
    ],
    ids=["an object", "too many arguments", "an int JSON stores cannot hold"],
)
def test_both_modes_refuse_what_production_would_refuse(
    args: tuple[Any, ...], refusal: str, sidequest_fake: FakeClient, sqlite_url: str
) -> None:
    with pytest.raises(TypeError, match=refusal):
        CriticalWorker.perform_async(*args)
    with sidequest.testing.inline(), pytest.raises(TypeError, match=refusal):
        CriticalWorker.perform_async(*args)
    with (
        contextlib.closing(sidequest.Client(sqlite_url)) as production,
        pytest.raises(TypeError, match=refusal),
    ):
        production.enqueue(CriticalWorker, args)
    assert len(sidequest_fake) == 0


def test_args_arrive_in_perform_as_json_gives_them_back(sidequest_fake: FakeClient) -> None:
    received: list[Any] = []

    @contextlib.contextmanager
    def spy(worker: sidequest.Worker, job: Payload) -> Iterator[None]:
        received.extend(job["args"])
        yield

    with sidequest.testing.fake(server_middleware=[spy]) as jobs:
        CriticalWorker.perform_async({"when": 1.5, "ids": [1, 2]})
        jobs.drain()

    assert received == [{"when": 1.5, "ids": [1, 2]}]


def test_client_middleware_can_change_or_drop_jobs_as_in_production(notes: Notes) -> None:
    def tag(payload: Payload) -> Payload | None:
        if payload["args"][-1] == "drop me":
            return None
        return {**payload, "tags": ["tested"]}

    with sidequest.testing.fake(middleware=[tag]) as jobs:
        assert NoteWorker.perform_async(notes.path, "drop me") is None
        NoteWorker.perform_async(notes.path, "keep me")

    [job] = jobs.jobs
    assert job.payload["tags"] == ["tested"]


def test_server_middleware_wraps_perform_in_both_modes(notes: Notes) -> None:
    @contextlib.contextmanager
    def around(worker: sidequest.Worker, job: Payload) -> Iterator[None]:
        note(notes.path, "before")
        yield
        note(notes.path, "after")

    with sidequest.testing.inline(server_middleware=[around]):
        NoteWorker.perform_async(notes.path, "inline")
    with sidequest.testing.fake(server_middleware=[around]) as jobs:
        NoteWorker.perform_async(notes.path, "fake")
        jobs.drain()

    assert notes.read() == ["before", "inline", "after", "before", "fake", "after"]


def test_testing_clients_never_open_a_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, notes: Notes
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SIDEQUEST_URL", raising=False)
    with sidequest.testing.fake() as jobs:
        NoteWorker.perform_async(notes.path, "x")
        sidequest.Client.push_bulk({"class": CriticalWorker, "args": [[1], [2]]})
        jobs.drain()
    with sidequest.testing.inline():
        NoteWorker.perform_async(notes.path, "y")

    assert notes.read() == ["x", "y"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]
    with pytest.raises(ConfigurationError, match="FakeClient has no store"):
        _ = jobs.store


def test_modes_nest_and_each_block_restores_the_default_it_found(notes: Notes) -> None:
    with sidequest.testing.fake() as outer:
        with sidequest.testing.inline():
            NoteWorker.perform_async(notes.path, "ran inline")
        NoteWorker.perform_async(notes.path, "collected")

    assert notes.read() == ["ran inline"]
    assert [job.args[1] for job in outer.jobs] == ["collected"]


def test_the_clients_are_plain_objects_usable_without_installing_them(notes: Notes) -> None:
    jobs = FakeClient()
    jobs.enqueue(NoteWorker, [notes.path, "enqueued"])
    jobs.push({"class": NoteWorker, "args": [notes.path, "pushed"], "queue": "low"})
    sidequest.JobSetter(NoteWorker, {}, jobs).perform_async(notes.path, "set")
    assert jobs.drain() == 3

    InlineClient().enqueue(NoteWorker, [notes.path, "inline"])

    assert notes.read() == ["enqueued", "pushed", "set", "inline"]


def test_a_job_naming_no_runnable_worker_raises_unknown_worker(
    sidequest_fake: FakeClient, notes: Notes
) -> None:
    sidequest.Client.push({"class": "nowhere.MissingWorker", "args": []})
    with pytest.raises(UnknownWorkerError, match=r"nowhere\.MissingWorker"):
        sidequest_fake.drain()

    only_notes = FakeClient(registry=WorkerRegistry.of(NoteWorker))
    only_notes.enqueue(CriticalWorker, [1])
    with pytest.raises(UnknownWorkerError, match="CriticalWorker"):
        only_notes.drain()


# -- inline mode -----------------------------------------------------------------------------------------


def test_inline_mode_has_performed_the_job_when_perform_async_returns(
    sidequest_inline: InlineClient, notes: Notes
) -> None:
    jid = JidWorker.perform_async(notes.path)

    assert jid is not None and notes.read() == [jid]


def test_inline_mode_raises_the_jobs_exception_to_the_caller(sidequest_inline: InlineClient) -> None:
    with pytest.raises(BoomError, match="told you"):
        FailingWorker.perform_async("told you")


def test_inline_mode_runs_scheduled_jobs_at_once(sidequest_inline: InlineClient, notes: Notes) -> None:
    NoteWorker.perform_in(3600, notes.path, "in an hour, so now")
    NoteWorker.perform_at(time.time() + 60, notes.path, "in a minute, so now")

    assert notes.read() == ["in an hour, so now", "in a minute, so now"]


def test_inline_mode_runs_jobs_enqueued_by_a_job_inside_it(
    sidequest_inline: InlineClient, notes: Notes
) -> None:
    ParentWorker.perform_async(notes.path, 2)

    assert notes.read() == ["parent", "child 0", "child 1", "parent done"]


def test_async_perform_is_awaited_with_or_without_a_running_event_loop(
    sidequest_inline: InlineClient, notes: Notes
) -> None:
    AsyncNoteWorker.perform_async(notes.path, "no loop")

    async def from_async_code() -> None:
        AsyncNoteWorker.perform_async(notes.path, "inside a loop")

    asyncio.run(from_async_code())

    assert notes.read() == ["no loop", "inside a loop"]


def test_async_jobs_drain_in_fake_mode(sidequest_fake: FakeClient, notes: Notes) -> None:
    AsyncNoteWorker.perform_async(notes.path, "async")
    sidequest_fake.drain()
    assert notes.read() == ["async"]


# -- draining every queue ----------------------------------------------------------------------------


class MailerNoteWorker(sidequest.Worker):
    sidequest_options = {"queue": "mailers"}

    def perform(self, path: str, text: str) -> None:
        note(path, text)


def test_fake_drain_runs_jobs_of_every_queue(sidequest_fake: FakeClient, notes: Notes) -> None:
    MailerNoteWorker.perform_async(notes.path, "mail")
    NoteWorker.set(queue="low").perform_async(notes.path, "low")

    assert sidequest_fake.drain() == 2
    assert notes.read() == ["mail", "low"]


def test_drain_on_a_real_store_reads_every_queue_the_workers_and_the_store_use(
    sqlite_url: str, notes: Notes
) -> None:
    from sidequest.defaults import DEFAULT
    from sidequest.stores import open_store

    store = open_store(sqlite_url)
    with DEFAULT.override(sidequest.Client(store)):
        MailerNoteWorker.perform_async(notes.path, "mail")
        NoteWorker.set(queue="reports").perform_async(notes.path, "report")
        NoteWorker.perform_async(notes.path, "default")

    assert sidequest.testing.drain(store, MailerNoteWorker, NoteWorker, timeout=30)

    assert sorted(notes.read()) == ["default", "mail", "report"]
    assert sum(queue.size for queue in store.queues()) == 0
    assert store.list_set("retry") == [] and store.list_set("dead") == []
    store.close()


def test_drain_on_a_real_store_can_be_limited_to_some_queues(sqlite_url: str, notes: Notes) -> None:
    from sidequest.defaults import DEFAULT
    from sidequest.stores import open_store

    store = open_store(sqlite_url)
    with DEFAULT.override(sidequest.Client(store)):
        MailerNoteWorker.perform_async(notes.path, "mail")
        NoteWorker.perform_async(notes.path, "default")

    assert sidequest.testing.drain(store, MailerNoteWorker, NoteWorker, queues=["default"], timeout=30)

    assert notes.read() == ["default"]
    assert [(queue.name, queue.size) for queue in store.queues() if queue.size] == [("mailers", 1)]
    store.close()
