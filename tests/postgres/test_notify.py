"""Wake-ups: idle processes LISTEN; an enqueue sends at most one NOTIFY per queue per transaction (one
for a bulk push of 1,000 jobs), never one per job; with ``?notify=off`` nothing is sent and idle claims
find jobs by polling."""

from __future__ import annotations

import threading
import time

import psycopg

from contract.support import process_info
from pg_servers import PostgresServer
from processes import wait_for
from sidequest.client import Client
from sidequest.errors import StoreError
from sidequest.job import Claimed
from sidequest.stores import open_store
from sidequest.stores.base import Heartbeat
from sidequest.stores.postgres import PostgresStore
from testapp.workers import NoopWorker


def notifications(
    url: str, channel: str = "sidequest_sidequest"
) -> tuple[psycopg.Connection[tuple[object, ...]], str]:
    conn = psycopg.connect(url, autocommit=True)
    conn.execute(f'LISTEN "{channel}"')
    return conn, channel


def received(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    return [note.payload for note in conn.notifies(timeout=0.5)]


def test_bulk_pushes_of_1000_jobs_send_one_notification_per_queue_not_per_job(postgres_url: str) -> None:
    listener, _ = notifications(postgres_url)
    store = open_store(postgres_url)
    client = Client(store)
    client.enqueue_bulk(NoopWorker, [[n] for n in range(1_000)])
    client.enqueue_bulk(NoopWorker, [[n] for n in range(1_000)], options={"queue": "mail"})
    assert sorted(received(listener)) == ["default", "mail"]
    store.close()
    listener.close()


def test_a_scheduled_job_sends_no_notification_until_it_is_promoted(postgres_url: str) -> None:
    import time

    listener, _ = notifications(postgres_url)
    store = open_store(postgres_url)
    Client(store).enqueue(NoopWorker, [1], options={"queue": "later"}, at=time.time() + 0.1)
    assert received(listener) == []
    time.sleep(0.2)
    assert store.promote_due(time.time()) == 1
    assert received(listener) == ["later"]
    store.close()
    listener.close()


def test_an_idle_claim_in_another_process_wakes_on_the_notification(postgres_url: str) -> None:
    # poll=60: within the claim's 30 s only the notification can hand it the job.
    claimer = PostgresStore(postgres_url + "?poll=60")
    pusher = open_store(postgres_url)
    claimer.beat(Heartbeat(process_info("host:1:claimer")))
    got: list[Claimed] = []
    waiting = threading.Thread(target=lambda: got.extend(claimer.claim(["default"], 5, "host:1:claimer", 30)))
    waiting.start()
    wait_for(lambda: claimer.listening, 10, "the idle claim to LISTEN")
    jid = Client(pusher).enqueue(NoopWorker, [7])
    waiting.join(20)
    assert [job.jid for job in got] == [jid]
    claimer.close()
    pusher.close()


def test_with_notify_off_nothing_is_sent_and_idle_claims_poll(postgres_url: str) -> None:
    listener, _ = notifications(postgres_url)
    claimer = open_store(postgres_url + "?notify=off&poll=0.05")
    pusher = open_store(postgres_url + "?notify=off")
    claimer.beat(Heartbeat(process_info("host:1:claimer")))
    got: list[Claimed] = []
    waiting = threading.Thread(target=lambda: got.extend(claimer.claim(["default"], 5, "host:1:claimer", 30)))
    waiting.start()
    threading.Event().wait(0.3)
    jid = Client(pusher).enqueue(NoopWorker, [7])
    waiting.join(20)
    assert [job.jid for job in got] == [jid]
    assert received(listener) == []
    assert any("poll" in warning for warning in claimer.startup_warnings())
    claimer.close()
    pusher.close()
    listener.close()


def test_the_listen_connection_comes_back_by_itself_after_the_server_restarts(own_pg: PostgresServer) -> None:
    # poll=60: after the restart, only a LISTEN that came back can hand the idle claim its job in time.
    claimer = PostgresStore(own_pg.url() + "?poll=60")
    pusher = open_store(own_pg.url())
    claimer.beat(Heartbeat(process_info("host:1:claimer")))
    assert claimer.claim(["default"], 1, "host:1:claimer", 0.2) == []
    assert claimer.listening
    own_pg.restart_immediately()
    wait_for(lambda: claimer.listening, 30, "LISTEN to come back")
    got: list[Claimed] = []

    def claim_until_found() -> None:
        deadline = time.monotonic() + 30
        while not got and time.monotonic() < deadline:
            try:
                got.extend(claimer.claim(["default"], 5, "host:1:claimer", 25))
            except StoreError:  # connections pooled before the restart are found broken once
                continue

    waiting = threading.Thread(target=claim_until_found)
    waiting.start()
    jid = None
    for _ in range(5):
        try:
            jid = Client(pusher).enqueue(NoopWorker, [7])
            break
        except StoreError:
            continue
    waiting.join(40)
    assert [job.jid for job in got] == [jid]
    claimer.close()
    pusher.close()
