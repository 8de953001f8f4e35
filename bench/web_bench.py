"""Dashboard benchmark: how long the pages take with 100,000 jobs in a set and 100 live processes.

    .venv/bin/python bench/web_bench.py [--url URL] [--jobs 100000] [--processes 100] [--repeat 5]

The dead set keeps at most 10,000 jobs (Sidekiq's ``dead_max_jobs``, ``retry.DEAD_MAX_JOBS``): every
kill trims it. So the 100,000 jobs go to the scheduled set, whose page, paging and filter are the same
code as the Retries and Dead pages, and the dead set is filled to its cap.

Without ``--url`` it uses a fresh SQLite file. A Redis URL is FLUSHDB'ed first: give a throwaway
database. The dashboard is served by uvicorn on a loopback port and read with httpx, as a browser
would; each page is fetched ``--repeat`` times and the median and worst times are printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from sidequest.admin import ALL, Admin  # noqa: E402
from sidequest.client import Client  # noqa: E402
from sidequest.job import ProcessInfo, WorkInfo  # noqa: E402
from sidequest.stores import open_store  # noqa: E402
from sidequest.stores.base import Heartbeat, Store  # noqa: E402
from sidequest.web import create_app  # noqa: E402


def seed_scheduled(store: Store, count: int) -> str:
    """``count`` scheduled jobs, due in a day. Returns the jid of the last one (the last page)."""
    jids = Client(store).enqueue_bulk(
        "app.workers.ReportWorker",
        [[n, {"account": f"acct-{n % 977}"}] for n in range(count)],
        at=time.time() + 86400,
    )
    return str(jids[-1])


def seed_dead(store: Store, count: int) -> None:
    """Dead jobs made the way people make them: scheduled, then killed by the admin API (a page of 500
    per store call); the store trims the set to its cap."""
    seed_scheduled(store, count)
    Admin(store).kill("scheduled", ALL)


def seed_processes(store: Store, count: int, busy_each: int) -> None:
    """``count`` live processes (60 s lease), each publishing ``busy_each`` running jobs."""
    now = time.time()
    for n in range(count):
        identity = f"bench-{n:03d}:{1000 + n}:cafe{n:04d}"
        info = ProcessInfo(
            identity, f"bench-{n:03d}", 1000 + n, now - 600, 10, ["default", "low"], busy_each, now
        )
        jobs = [
            {"jid": f"{n:04d}{t:020d}", "class": "app.workers.ReportWorker", "args": [t], "queue": "default"}
            for t in range(busy_each)
        ]
        busy = [WorkInfo(identity, f"t{t}", "default", job, "{}", now - t) for t, job in enumerate(jobs)]
        store.beat(Heartbeat(info, busy=busy, ttl=600))


def timed(client: httpx.Client, path: str, repeat: int) -> tuple[float, float, int]:
    """Median and worst seconds of ``repeat`` GETs, and the page's size in bytes."""
    times = []
    size = 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - started)
        response.raise_for_status()
        size = len(response.content)
    return statistics.median(times), max(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="store URL (default: a fresh SQLite file); a Redis DB is flushed")
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs in the scheduled set")
    parser.add_argument("--dead", type=int, default=10_000, help="dead jobs (the store keeps 10,000 at most)")
    parser.add_argument("--processes", type=int, default=100)
    parser.add_argument("--busy", type=int, default=10, help="running jobs per process")
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()

    url = options.url or f"sqlite:///{tempfile.mkdtemp()}/web-bench.db"
    store = open_store(url)
    if url.startswith(("redis", "unix")):
        import redis

        redis.Redis.from_url(url).flushdb()
    started = time.perf_counter()
    seed_dead(store, options.dead)
    last = seed_scheduled(store, options.jobs)
    seed_processes(store, options.processes, options.busy)
    admin = Admin(store)
    print(
        f"seeded {admin.size('scheduled')} scheduled jobs, {admin.size('dead')} dead jobs and "
        f"{len(admin.processes())} processes in {time.perf_counter() - started:.1f} s ({url.split(':')[0]})"
    )

    app = create_app(store=store)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    last_page = max(1, -(-options.jobs // 25))
    pages = [
        "/",
        "/stats",
        "/scheduled",
        "/scheduled?count=500",
        f"/scheduled?page={last_page}",
        "/scheduled?class=app.workers.NoSuchWorker",
        "/scheduled?args=acct-976",
        f"/jobs/{last}?in=scheduled",
        "/morgue",
        "/morgue?class=app.workers.NoSuchWorker",
        "/errors",
        "/busy",
        "/busy?count=100",
    ]
    print(f"{'page':45} {'median':>9} {'worst':>9} {'bytes':>9}")
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
        for path in pages:
            median, worst, size = timed(client, path, options.repeat)
            print(f"{path:45} {median * 1000:7.0f}ms {worst * 1000:7.0f}ms {size:9d}")
    server.should_exit = True
    thread.join(10)
    store.close()


if __name__ == "__main__":
    main()
