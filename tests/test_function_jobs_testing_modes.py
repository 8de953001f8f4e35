"""``@sidequest.job`` functions in the testing modes: fake mode collects and drains them, inline mode
runs them at once, both through the real Executor, sync and ``async def`` alike; and
``sidequest.testing.drain`` performs them from a real store."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import sidequest
import sidequest.testing
from sidequest.client import Client
from sidequest.defaults import DEFAULT
from sidequest.stores import open_store
from sidequest.testing import EmptyQueueError, FakeClient, InlineClient


def note(path: str, text: str) -> None:
    with open(path, "a") as file:
        file.write(text + "\n")


def read(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@sidequest.job(queue="mailers")
def send_note(path: str, text: str) -> None:
    note(path, text)


@sidequest.job
async def send_note_later(path: str, text: str) -> None:
    await asyncio.sleep(0)
    note(path, f"async {text}")


@sidequest.job
def fan_out(path: str, count: int) -> None:
    for n in range(count):
        send_note.perform_async(path, f"child {n}")


class NoteFailedError(RuntimeError):
    pass


@sidequest.job(retry=3)
def fail_loudly(message: str) -> None:
    raise NoteFailedError(message)


def test_fake_mode_collects_function_jobs_by_function_and_drains_them(
    sidequest_fake: FakeClient, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    send_note.perform_async(str(notes), "one")
    send_note_later.perform_async(str(notes), "two")
    fan_out.perform_async(str(notes), 2)
    assert read(notes) == []  # nothing runs until drained
    assert [job.args for job in sidequest_fake.for_worker(send_note)] == [[str(notes), "one"]]
    assert [job.queue for job in sidequest_fake.jobs] == ["mailers", "default", "default"]

    assert sidequest_fake.drain() == 5
    assert read(notes) == ["one", "async two", "child 0", "child 1"]
    assert len(sidequest_fake) == 0


def test_fake_mode_performs_clears_and_raises_per_function(
    sidequest_fake: FakeClient, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    send_note.perform_async(str(notes), "kept")
    send_note_later.perform_async(str(notes), "cleared")
    fail_loudly.perform_async("boom")
    sidequest_fake.clear(send_note_later)
    assert sidequest_fake.perform_one(send_note).args == [str(notes), "kept"]
    with pytest.raises(EmptyQueueError, match=r"no job of .*send_note to perform"):
        sidequest_fake.perform_one(send_note)
    with pytest.raises(NoteFailedError, match="boom"):
        sidequest_fake.drain(fail_loudly)
    assert read(notes) == ["kept"]


def test_inline_mode_runs_function_jobs_at_once_and_raises_their_errors(
    sidequest_inline: InlineClient, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    assert send_note.perform_async(str(notes), "now") is not None
    send_note_later.perform_in(3600, str(notes), "in an hour, so now")
    fan_out.set(queue="low").perform_async(str(notes), 1)
    assert read(notes) == ["now", "async in an hour, so now", "child 0"]
    with pytest.raises(NoteFailedError, match="inline"):
        fail_loudly.perform_async("inline")


def test_testing_drain_runs_function_jobs_from_a_real_store_on_their_own_queue(
    store_url: str, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    store = open_store(store_url)
    try:
        with DEFAULT.current(Client(store)):
            send_note.perform_async(str(notes), "from the store")  # queue "mailers"
            send_note_later.perform_async(str(notes), "too")
        assert sidequest.testing.drain(store, send_note, send_note_later, timeout=30)
        assert sorted(read(notes)) == ["async too", "from the store"]
        assert store.counts().processed == 2
    finally:
        store.close()
