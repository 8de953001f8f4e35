"""Real ``sidequest run`` processes on PostgreSQL: killed with -9 while holding 100 jobs, the server
crashed and restarted mid-drain, and 2 processes x 10 threads draining 20,000 jobs exactly once,
directly and through pgbouncer in transaction mode. Every job runs; none is lost."""

from __future__ import annotations

from pathlib import Path

from pg_servers import PgBouncer, PostgresServer
from processes import SidequestProcess, runs, wait_for
from sidequest.client import Client
from sidequest.errors import StoreError
from sidequest.stores import open_store
from sidequest.stores.base import Store
from testapp.workers import ActionWorker, NoopWorker


def queue_empty(store: Store) -> bool:
    """True once nothing waits; False while the test's own store reconnects after an outage."""
    try:
        return store.counts().enqueued == 0
    except StoreError:
        return False


def holding(store: Store, pid: int) -> int:
    """How many jobs the process ``pid`` published as running at its last beat."""
    return sum(process.busy for process in store.processes() if process.pid == pid)


def test_kill_9_three_times_of_a_process_holding_100_jobs_during_a_drain_loses_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(postgres_url)
    client = Client(store)
    client.enqueue_bulk(ActionWorker, [["block", f"h{n}", 60] for n in range(300)], options={"queue": "held"})
    client.enqueue_bulk(ActionWorker, [["ok", n] for n in range(5_000)])
    drainer = SidequestProcess(postgres_url, tmp_path, ["-c", "10", "-q", "default"], record, name="drainer")
    try:
        for kill in range(1, 4):
            victim = SidequestProcess(
                postgres_url,
                tmp_path,
                ["-c", "100", "-q", "held", "--log-level", "WARNING"],
                record,
                env={"SIDEQUEST_TEST_BLOCK": "1"},
                name=f"victim{kill}",
            )
            wait_for(
                lambda victim=victim: holding(store, victim.pid) >= 100, 60, f"victim {kill} to hold 100 jobs"
            )
            victim.kill9()
        assert len(runs(record)) < 5_300  # the drain was still going while the victims died
        finisher = SidequestProcess(
            postgres_url, tmp_path, ["-c", "20", "-q", "held", "-q", "default"], record
        )
        try:
            wait_for(lambda: len(runs(record)) == 5_300, 120, "every job to run", poll=0.25)
            wait_for(lambda: queue_empty(store), 30, "the queues to empty")
        finally:
            assert finisher.terminate() == 0
    finally:
        assert drainer.terminate() == 0
    counted = runs(record)
    assert set(counted) == {str(n) for n in range(5_000)} | {f"h{n}" for n in range(300)}
    # The victims never finished a held job and the drainer was never killed: each ran exactly once.
    assert set(counted.values()) == {1}
    assert store.counts().dead == 0
    store.close()


def test_postgresql_restarted_immediately_mid_drain_the_processes_reconnect_and_lose_nothing(
    own_pg: PostgresServer, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    url = own_pg.url()
    store = open_store(url)
    Client(store).enqueue_bulk(NoopWorker, [[n] for n in range(20_000)])
    procs = [SidequestProcess(url, tmp_path, ["-c", "10"], record, name=f"p{i}") for i in range(2)]
    try:
        wait_for(lambda: len(runs(record)) >= 3_000, 60, "the drain to start")
        own_pg.restart_immediately()
        assert len(runs(record)) < 20_000
        wait_for(lambda: len(runs(record)) == 20_000, 180, "every job to run after the restart", poll=0.25)
        wait_for(lambda: queue_empty(store), 30, "the queue to empty")
    finally:
        for proc in procs:
            assert proc.terminate() == 0
    assert set(runs(record)) == {str(n) for n in range(20_000)}
    output = "".join(proc.output() for proc in procs)
    assert "unreachable" in output
    store.close()


def drain_exactly_once(url: str, tmp_path: Path, jobs: int = 20_000) -> None:
    record = tmp_path / "record.txt"
    store = open_store(url)
    Client(store).enqueue_bulk(NoopWorker, [[n] for n in range(jobs)])
    procs = [SidequestProcess(url, tmp_path, ["-c", "10"], record, name=f"p{i}") for i in range(2)]
    try:
        wait_for(lambda: len(runs(record)) >= jobs, 240, "every job to run", poll=0.25)
        wait_for(lambda: queue_empty(store), 30, "the queue to empty")
    finally:
        for proc in procs:
            assert proc.terminate() == 0
    counted = runs(record)
    assert set(counted) == {str(n) for n in range(jobs)}
    assert set(counted.values()) == {1}
    assert store.counts().processed == jobs
    store.close()


def test_two_processes_of_ten_threads_drain_20000_jobs_each_exactly_once(
    postgres_url: str, tmp_path: Path
) -> None:
    drain_exactly_once(postgres_url, tmp_path)


def test_two_processes_drain_20000_jobs_exactly_once_through_pgbouncer_in_transaction_mode(
    bouncer: PgBouncer, tmp_path: Path
) -> None:
    drain_exactly_once(bouncer.url() + "?pgbouncer=on", tmp_path)
