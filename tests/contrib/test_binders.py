"""Transaction binders (``sidequest.transaction.add_binder``), the hook a framework uses to make
every enqueue of an open transaction wait for its commit, on every store."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

import sidequest
from sidequest.client import Client
from sidequest.stores.base import Store
from sidequest.testing import fake
from sidequest.transaction import Binding, add_binder, deferred_binding, remove_binder
from testapp.workers import ActionWorker


class PretendTransaction:
    """A framework's transaction: callbacks to run at commit, dropped at rollback."""

    def __init__(self) -> None:
        self.open = False
        self.callbacks: list[Callable[[], None]] = []

    def binder(self, store: Store) -> Binding | None:
        if not self.open:
            return None
        return deferred_binding(store, self.callbacks.append, "a pretend transaction")

    def commit(self) -> None:
        self.open = False
        for callback in self.callbacks:
            callback()
        self.callbacks = []

    def rollback(self) -> None:
        self.open, self.callbacks = False, []


@pytest.fixture
def framework() -> Iterator[PretendTransaction]:
    made = PretendTransaction()
    add_binder(made.binder)
    yield made
    remove_binder(made.binder)


def waiting(store: Store) -> list[object]:
    return [entry.payload["args"] for entry in store.list_queue("default") if entry.payload]


def test_enqueues_in_an_open_transaction_are_pushed_at_its_commit_and_dropped_at_its_rollback(
    store: Store, framework: PretendTransaction
) -> None:
    client = Client(store)
    framework.open = True
    assert client.enqueue(ActionWorker, ["ok", "lost"]) is not None
    client.enqueue_bulk(ActionWorker, [["ok", "lost-bulk"]])
    assert waiting(store) == []
    framework.rollback()
    assert waiting(store) == []

    framework.open = True
    client.enqueue(ActionWorker, ["ok", "kept"])
    client.enqueue(ActionWorker, ["ok", "later"], at=9e9)
    assert client.enqueue(ActionWorker, ["ok", "once"], options={"unique_for": 60}) is not None
    assert (
        client.enqueue(ActionWorker, ["ok", "once"], options={"unique_for": 60}) is not None
    )  # decided later
    assert waiting(store) == [] and store.counts().scheduled == 0
    framework.commit()
    assert waiting(store) == [["ok", "kept"], ["ok", "once"]]  # the duplicate was skipped at the commit
    assert store.counts().scheduled == 1

    client.enqueue(ActionWorker, ["ok", "autocommit"])  # no transaction open: pushed at once
    assert waiting(store)[-1] == ["ok", "autocommit"]


def test_an_explicit_sidequest_transaction_block_wins_over_a_binder_and_a_removed_binder_is_not_asked(
    tmp_path: object, framework: PretendTransaction
) -> None:
    import sqlite3
    from pathlib import Path

    path = Path(str(tmp_path)) / "app.db"
    client = Client(f"sqlite:///{path}")
    conn = sqlite3.connect(path)
    framework.open = True
    with sidequest.transaction(conn, client=client):
        client.enqueue(ActionWorker, ["ok", "in-block"])
    conn.commit()
    assert framework.callbacks == [] and waiting(client.store) == [["ok", "in-block"]]
    remove_binder(framework.binder)
    client.enqueue(ActionWorker, ["ok", "unbound"])
    assert framework.callbacks == [] and waiting(client.store)[-1] == ["ok", "unbound"]
    conn.close()
    client.close()


def test_the_fake_testing_mode_keeps_jobs_in_memory_even_inside_a_bound_transaction(
    framework: PretendTransaction,
) -> None:
    framework.open = True
    with fake() as jobs:
        ActionWorker.perform_async("ok", "faked")
        assert [job.args for job in jobs.jobs] == [["ok", "faked"]]
    assert framework.callbacks == []
