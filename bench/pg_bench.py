"""PostgreSQL store benchmark: bulk enqueue, single enqueues, drain by one process at concurrency 10,
idle enqueue-to-start latency, and the plans of the hot queries with 1,000,000 jobs waiting.

    .venv/bin/python bench/pg_bench.py [--jobs 100000] [--single 2000] [--concurrency 10] [--url URL]

By default it starts a private PostgreSQL (initdb + pg_ctl on a free port, as the test suite does, with
the server's default durability settings) and removes it at the end; ``--url`` uses yours instead (it
creates and drops schemas named ``pgbench_*`` there). Peers (procrastinate, pgqueuer, chancy, oban) plug
in as ``bench/pg_bench_<name>.py`` modules with the same four phase functions (see ``SYSTEMS``); only
sidequest is written so far.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "src"), str(ROOT / "tests")]

TARGETS = {"bulk enqueue": 50_000.0, "drain": 10_000.0}
SYSTEMS = {"sidequest": "pg_bench"}
"""System name -> module with ``bulk``, ``single``, ``drain`` and ``latency`` (this one for sidequest)."""


def store_url(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}schema={schema}"


def bulk(url: str, count: int) -> float:
    """Seconds to bulk-enqueue ``count`` no-op jobs (perform_bulk, 1,000 per statement)."""
    from pg_bench_workers import PgNoopWorker

    import sidequest

    sidequest.configure(url)
    args = [[n] for n in range(count)]
    started = time.perf_counter()
    PgNoopWorker.perform_bulk(args, batch_size=1000)
    return time.perf_counter() - started


def single(url: str, count: int) -> float:
    """Seconds for ``count`` perform_async calls, one after the other."""
    from pg_bench_workers import PgNoopWorker

    import sidequest

    sidequest.configure(url)
    started = time.perf_counter()
    for n in range(count):
        PgNoopWorker.perform_async(n)
    return time.perf_counter() - started


def _process(
    url: str, concurrency: int, queues: tuple[str, ...] = ("default",), env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    environment = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT / "src")]), **(env or {}))
    command = [
        sys.executable,
        "-m",
        "sidequest",
        "run",
        "--url",
        url,
        "-r",
        "pg_bench_workers",
        "-c",
        str(concurrency),
    ]
    for queue in queues:
        command += ["-q", queue]
    command += ["--log-level", "WARNING"]
    return subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _left(url: str, schema: str, queue: str) -> bool:
    """True while ``queue`` has waiting jobs or any job runs (two index probes, so polling is cheap)."""
    import psycopg

    from sidequest.stores.postgres.connection import parse_url

    s = f'"{schema}"'
    with psycopg.connect(parse_url(url).conninfo) as conn:
        row = conn.execute(
            f"SELECT EXISTS (SELECT 1 FROM {s}.jobs WHERE state = 'enqueued' AND queue = %(queue)s)"
            f" OR EXISTS (SELECT 1 FROM {s}.jobs WHERE state = 'running' AND owner IS NOT NULL)",
            {"queue": queue},
        ).fetchone()
    return bool(row and row[0])


def drain(url: str, schema: str, concurrency: int) -> float:
    """Seconds from starting one ``sidequest run -c N`` to the last job of ``default`` done."""
    started = time.perf_counter()
    proc = _process(url, concurrency)
    try:
        while _left(url, schema, "default"):
            time.sleep(0.05)
        return time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(60)


def latency(url: str, count: int = 200) -> list[float]:
    """Enqueue-to-start seconds of ``count`` jobs sent one at a time to an idle process."""
    from pg_bench_workers import PgLatencyWorker

    import sidequest

    sidequest.configure(url)
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "latency.txt"
        proc = _process(url, 10, env={"PG_BENCH_LATENCY": str(record)})
        try:
            PgLatencyWorker.perform_async(time.time())  # warm-up: the process is up and idle after it
            while not record.exists():
                time.sleep(0.05)
            time.sleep(1.0)
            for _ in range(count):
                PgLatencyWorker.perform_async(time.time())
                time.sleep(0.02)
            deadline = time.monotonic() + 30
            while len(record.read_text().split()) < count + 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            return [float(line) for line in record.read_text().split()[1:]]
        finally:
            proc.terminate()
            proc.wait(60)


def explain(url: str, schema: str, waiting: int) -> dict[str, str]:
    """EXPLAIN ANALYZE of each hot-path statement with ``waiting`` jobs in the queue (in transactions
    that roll back, so the jobs stay)."""
    import psycopg

    from sidequest.stores.postgres import maintenance, moves
    from sidequest.stores.postgres.connection import parse_url

    s = f'"{schema}"'
    plans: dict[str, str] = {}
    with psycopg.connect(parse_url(url).conninfo) as conn:
        conn.execute(
            f"""
            INSERT INTO {s}.jobs (queue, state, payload, position)
            SELECT 'default', 'enqueued', '{{"class":"PgNoopWorker","args":[' || n || '],"queue":"default"}}',
                   nextval('{s}.back_positions')
            FROM generate_series(1, %s) AS n
            """,
            (waiting,),
        )
        conn.execute(
            f"""
            INSERT INTO {s}.jobs (queue, state, payload, score)
            SELECT 'default', 'scheduled', '{{"class":"PgNoopWorker","args":[0]}}', 1e9 + n
            FROM generate_series(1, %s) AS n
            """,
            (waiting // 10,),
        )
        conn.commit()
        conn.execute(f"ANALYZE {s}.jobs")
        conn.commit()
        owner = "bench:1:explain"
        claimed = conn.execute(
            moves.CLAIM.format(s=s), {"owner": owner, "queue": "default", "limit": 20}
        ).fetchall()
        conn.commit()
        statements: dict[str, tuple[str, dict[str, Any]]] = {
            "claim": (moves.CLAIM.format(s=s), {"owner": owner, "queue": "default", "limit": 20}),
            "ack": (
                moves.ACK.format(s=s),
                {
                    "owners": [owner] * 20,
                    "states": ["running"] * 20,
                    "ids": [row[0] for row in claimed],
                    "claims": [row[1] for row in claimed],
                },
            ),
            "promote": (
                maintenance.DUE.format(s=s),
                {"state": "scheduled", "now": time.time(), "limit": 1000},
            ),
            "rescue": (maintenance.ORPHANS.format(s=s), {"exclude": None}),
            "list_queue": (
                f"SELECT id, payload FROM {s}.jobs WHERE state = 'enqueued' AND queue = %(queue)s "
                "ORDER BY position LIMIT 25 OFFSET 0",
                {"queue": "default"},
            ),
        }
        for name, (sql, params) in statements.items():
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params).fetchall()
            plans[name] = "\n".join(str(row[0]) for row in rows)
            conn.rollback()
    return plans


def run_sidequest(base: str, args: argparse.Namespace) -> dict[str, Any]:
    from sidequest.stores import open_store

    results: dict[str, Any] = {}
    for phase in ("single", "bulk"):
        schema = f"pgbench_{phase}_{os.getpid()}"
        url = store_url(base, schema)
        open_store(url).close()
        count = args.single if phase == "single" else args.jobs
        seconds = single(url, count) if phase == "single" else bulk(url, count)
        results[phase] = (count, seconds)
        if phase == "bulk":
            results["drain"] = (count, drain(url, schema, args.concurrency))
    schema = f"pgbench_latency_{os.getpid()}"
    url = store_url(base, schema)
    open_store(url).close()
    results["latency"] = latency(url)
    schema = f"pgbench_explain_{os.getpid()}"
    url = store_url(base, schema)
    open_store(url).close()
    results["plans"] = explain(url, schema, args.waiting)
    # The drain again, on top of the 1,000,000 waiting in another queue of the same table.
    import psycopg

    from sidequest.stores.postgres.connection import parse_url

    with psycopg.connect(parse_url(url).conninfo, autocommit=True) as conn:
        conn.execute(f"UPDATE \"{schema}\".jobs SET queue = 'backlog' WHERE state = 'enqueued'")
        # The due jobs EXPLAIN promoted would be promoted by the draining process: move them far out.
        conn.execute(f"UPDATE \"{schema}\".jobs SET score = score + 4e9 WHERE state = 'scheduled'")
        conn.execute(f'VACUUM ANALYZE "{schema}".jobs')
    bulk(url, args.backlog_drain)
    results["drain with backlog"] = (args.backlog_drain, drain(url, schema, args.concurrency))
    return results


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    print(f"sidequest PostgreSQL benchmark, Python {sys.version.split()[0]}, concurrency {args.concurrency}")
    print(f"{'phase':<26} {'jobs':>9} {'seconds':>8} {'jobs/s':>10} {'vs target':>10}")
    for name in ("bulk", "single", "drain", "drain with backlog"):
        count, seconds = results[name]
        label = {"bulk": "bulk enqueue", "single": "single enqueue"}.get(name, name)
        target = TARGETS.get(label.split(" with")[0])
        ratio = f"{count / seconds / target:.2f}x" if target else "-"
        if name == "drain with backlog":
            label = f"drain, {args.waiting:,} waiting"
        print(f"{label:<26} {count:>9,} {seconds:>8.2f} {count / seconds:>10,.0f} {ratio:>10}")
    waits = sorted(results["latency"])
    if waits:
        p50 = statistics.median(waits) * 1000
        p95 = waits[int(len(waits) * 0.95) - 1] * 1000
        print(
            f"idle enqueue-to-start: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(waits)} jobs "
            "(target p50 <= 5 ms)"
        )
    print(f"\nPlans with {args.waiting:,} jobs waiting:")
    for name, plan in results["plans"].items():
        print(f"--- {name}\n{plan}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--waiting", type=int, default=1_000_000)
    parser.add_argument("--backlog-drain", type=int, default=100_000)
    parser.add_argument("--systems", default="sidequest")
    parser.add_argument("--url", help="a PostgreSQL to use instead of a private one")
    args = parser.parse_args()
    for name in args.systems.split(","):
        if name not in SYSTEMS:
            print(f"{name}: not written yet (add bench/pg_bench_{name}.py and list it in SYSTEMS)")
        elif SYSTEMS[name] != "pg_bench":
            importlib.import_module(SYSTEMS[name])
    server = None
    base = args.url
    if base is None:
        from pg_servers import PostgresServer

        server = PostgresServer(durable=True)
        server.start()
        base = server.url()
    try:
        report(run_sidequest(base, args), args)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
