"""PostgreSQL benchmark: sidequest against procrastinate, pgqueuer, chancy and oban on one PostgreSQL, in
one run: bulk enqueue, single enqueues, drain by one process at concurrency 10; and for sidequest the idle
enqueue-to-start latency, the plans of the hot queries with 1,000,000 jobs waiting, and a drain on top.

    .venv/bin/python bench/pg_bench.py [--jobs 100000] [--single 2000] [--concurrency 10] [--url URL]
                                       [--systems sidequest,procrastinate,pgqueuer,chancy,oban]

By default it starts a private PostgreSQL (initdb + pg_ctl on a free port, as the test suite does, with
``synchronous_commit`` on) and removes it at the end; ``--url`` uses yours instead (it creates and drops
databases named ``pgbench_*`` there). Every system gets fresh databases of its own. Each peer runs as a
subprocess in its own virtualenv under ``bench/.venvs/`` (made, with pinned versions, when missing): see
``pg_bench_peers.py`` and ``pg_bench_<name>.py``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from bytecode import compile_sidequest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT / "src"), str(ROOT / "tests")]

TARGETS = {"bulk enqueue": 50_000.0, "drain": 10_000.0}
PEER_RATIOS = {"bulk": 2.0, "drain": 3.0}
"""Issue 9 section 5: sidequest's bulk enqueue >= 2x and drain >= 3x the fastest peer's."""
SYSTEMS = {
    "sidequest": "pg_bench",
    "procrastinate": "pg_bench_procrastinate",
    "pgqueuer": "pg_bench_pgqueuer",
    "chancy": "pg_bench_chancy",
    "oban": "pg_bench_oban",
}
"""System name -> module: this one for sidequest, a ``pg_bench_peers`` peer module for the others."""


def database_url(base: str, database: str) -> str:
    """``base`` with its database replaced by ``database`` (query parameters dropped)."""
    parts = urllib.parse.urlsplit(base)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + database, "", ""))


def fresh_database(base: str, database: str) -> str:
    """Drop and create ``database`` on the server of ``base``; its URL."""
    import psycopg

    with psycopg.connect(database_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    return database_url(base, database)


def drop_database(base: str, database: str) -> None:
    import psycopg

    with psycopg.connect(database_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


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
    # The defaults a user runs: INFO logging (a start and a done line per job), written to a file.
    log = tempfile.NamedTemporaryFile(prefix="pg_bench_sidequest_", suffix=".log", delete=False)  # noqa: SIM115
    return subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)


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
        # explain() committed one claim of 20 jobs for an owner that never acks them: they would count as
        # running until a rescue long after the drain is done, and stretch its clock to the rescue.
        conn.execute(f"DELETE FROM \"{schema}\".jobs WHERE state = 'running'")
        conn.execute(f"UPDATE \"{schema}\".jobs SET queue = 'backlog' WHERE state = 'enqueued'")
        # The due jobs EXPLAIN promoted would be promoted by the draining process: move them far out.
        conn.execute(f"UPDATE \"{schema}\".jobs SET score = score + 4e9 WHERE state = 'scheduled'")
        conn.execute(f'VACUUM ANALYZE "{schema}".jobs')
    bulk(url, args.backlog_drain)
    results["drain with backlog"] = (args.backlog_drain, drain(url, schema, args.concurrency))
    return results


def run_peer(name: str, base: str, args: argparse.Namespace) -> dict[str, Any]:
    """The peer's single enqueues in one fresh database, then its bulk enqueue and drain in another."""
    import pg_bench_peers

    peer = importlib.import_module(SYSTEMS[name])
    python = pg_bench_peers.venv_python(name, peer)
    results: dict[str, Any] = {}
    for phase in ("single", "bulk"):
        database = f"pgbench_{name}_{phase}"
        dsn = fresh_database(base, database)
        try:
            pg_bench_peers.run_phase(python, name, "setup", dsn)
            count = args.single if phase == "single" else args.jobs
            results[phase] = (count, pg_bench_peers.run_phase(python, name, phase, dsn, count))
            if phase == "bulk":
                seconds = pg_bench_peers.drain(python, name, peer, dsn, count, args.concurrency)
                results["drain"] = (count, seconds)
        finally:
            drop_database(base, database)
    return results


def _rate(results: dict[str, Any], phase: str) -> float:
    count, seconds = results[phase]
    return float(count / seconds)


def _versions(base: str) -> str:
    import psycopg

    with psycopg.connect(database_url(base, "postgres")) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    server = row[0] if row else "?"
    return f"PostgreSQL {server}; sidequest at {commit or '?'}, Python {sys.version.split()[0]}"


def report(everything: dict[str, dict[str, Any]], args: argparse.Namespace, versions: str) -> None:
    """The table of every system with ratios to the fastest peer, sidequest's own rows, PASS/MISS lines."""
    print(f"PostgreSQL benchmark, {time.strftime('%Y-%m-%d')}: {os.cpu_count()} cores; {versions}")
    print(
        f"{args.jobs:,} no-op jobs (one int argument) bulk-enqueued then drained by one process at "
        f"concurrency {args.concurrency}; {args.single:,} single enqueues; one run"
    )
    peers = {name: r for name, r in everything.items() if name != "sidequest" and "error" not in r}
    fastest = {
        phase: max(peers.items(), key=lambda item: _rate(item[1], phase)) if peers else None
        for phase in ("bulk", "single", "drain")
    }
    rows = [["system", "bulk enqueue", "bulk jobs/s", "vs fastest", "single jobs/s", "vs fastest"]]
    rows[0] += ["drain jobs/s", "vs fastest", "settings"]
    for name, results in everything.items():
        label = "sidequest" if name == "sidequest" else importlib.import_module(SYSTEMS[name]).LABEL
        if "error" in results:
            first = str(results["error"]).strip().splitlines()[0][:60]
            rows.append([label, f"not run: {first}"] + [""] * 7)
            continue
        if name == "sidequest":
            row = [label, "perform_bulk (1,000 per statement)"]
            settings = f"sidequest run -c {args.concurrency} (threads), store defaults"
        else:
            peer = importlib.import_module(SYSTEMS[name])
            row = [label, peer.BULK]
            settings = peer.SETTINGS
        for phase in ("bulk", "single", "drain"):
            rate = _rate(results, phase)
            best = fastest[phase]
            row += [f"{rate:,.0f}", f"{rate / _rate(best[1], phase):.2f}x" if best else "-"]
        rows.append([*row, settings])
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    numeric = {2, 3, 4, 5, 6, 7}
    print()
    for number, row in enumerate(rows):
        cells = [
            cell.rjust(width) if column in numeric and number else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("| " + " | ".join(cells) + " |")
        if number == 0:
            print("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    print(
        "\ndrain: clock from starting the worker process to the last job done (the database polled every "
        "50 ms);\nvs fastest: the rate divided by the fastest peer's in this run."
    )
    for name, results in everything.items():
        if "error" in results:
            print(f"\n{name} could not run:\n{results['error']}")
    sidequest = everything.get("sidequest")
    if sidequest is None or "error" in sidequest:
        return
    print()
    for name in ("drain", "drain with backlog"):
        count, seconds = sidequest[name]
        label = "sidequest drain" if name == "drain" else f"sidequest drain, {args.waiting:,} waiting"
        print(f"{label:<44} {count:>9,} jobs {seconds:>7.2f} s {count / seconds:>9,.0f} jobs/s")
    waits = sorted(sidequest["latency"])
    p50 = statistics.median(waits) * 1000 if waits else float("inf")
    if waits:
        p95 = waits[int(len(waits) * 0.95) - 1] * 1000
        print(f"sidequest idle enqueue-to-start: p50 {p50:.1f} ms, p95 {p95:.1f} ms over {len(waits)} jobs")
    print(f"\nPlans with {args.waiting:,} jobs waiting:")
    for name, plan in sidequest["plans"].items():
        print(f"--- {name}\n{plan}")
    print()
    verdicts: list[tuple[bool, str]] = []
    for phase, label in (("drain", "drain"), ("bulk", "bulk enqueue")):
        rate = _rate(sidequest, phase)
        floor = TARGETS[label]
        verdicts.append((rate >= floor, f"{label} >= {floor:,.0f} jobs/s: {rate:,.0f}"))
        best = fastest[phase]
        if best is not None:
            ratio = rate / _rate(best[1], phase)
            want = PEER_RATIOS[phase]
            verdicts.append(
                (
                    ratio >= want,
                    f"{label} >= {want:g}x the fastest peer: {ratio:.2f}x "
                    f"({rate:,.0f} vs {best[0]} {_rate(best[1], phase):,.0f})",
                )
            )
    verdicts.append((p50 <= 5.0, f"idle enqueue-to-start p50 <= 5 ms: {p50:.1f} ms"))
    slowdown = _rate(sidequest, "drain with backlog") / _rate(sidequest, "drain")
    scans = [name for name, plan in sidequest["plans"].items() if "Seq Scan" in plan]
    verdicts.append(
        (
            slowdown >= 0.8 and not scans,
            f"no slowdown with {args.waiting:,} waiting (drain ratio >= 0.8, every plan on an index): "
            f"{slowdown:.2f}x" + (f", sequential scans in {', '.join(scans)}" if scans else ", no Seq Scan"),
        )
    )
    for ok, line in verdicts:
        print(f"{'PASS' if ok else 'MISS'}  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--single", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--waiting", type=int, default=1_000_000)
    parser.add_argument("--backlog-drain", type=int, help="jobs drained on top of --waiting (default --jobs)")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--url", help="a PostgreSQL to use instead of a private one")
    args = parser.parse_args()
    compile_sidequest()
    if args.backlog_drain is None:
        args.backlog_drain = args.jobs
    names = args.systems.split(",")
    unknown = [name for name in names if name not in SYSTEMS]
    if unknown:
        parser.error(f"unknown systems {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}")
    # SIGTERM (timeout, a CI kill) would skip the finally below and leave the private server running.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    server = None
    base = args.url
    if base is None:
        from pg_servers import PostgresServer

        server = PostgresServer(durable=True)
        server.start()
        base = server.url()
    started = time.monotonic()
    try:
        import pg_bench_peers

        everything: dict[str, dict[str, Any]] = {}
        for name in names:
            print(f"{name}: running", file=sys.stderr, flush=True)
            try:
                if name == "sidequest":
                    everything[name] = run_sidequest(fresh_database(base, "pgbench_sidequest"), args)
                    drop_database(base, "pgbench_sidequest")
                else:
                    everything[name] = run_peer(name, base, args)
            except pg_bench_peers.PeerUnavailable as exc:
                everything[name] = {"error": str(exc)}
            except Exception as exc:  # a peer that breaks is reported and the others still run
                if name == "sidequest":
                    raise
                everything[name] = {"error": f"{type(exc).__name__}: {exc}"}
        report(everything, args, _versions(base))
        print(f"\n(total {time.monotonic() - started:.0f} s)")
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    main()
