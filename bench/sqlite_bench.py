"""SQLite store benchmark: single enqueue, bulk enqueue, and drain by one process with 10 threads.

    .venv/bin/python bench/sqlite_bench.py [--jobs 100000] [--single 10000] [--concurrency 10]

Each phase runs in a fresh child process so its peak RSS is its own. Prints jobs/s and peak RSS per
phase and the ratio to the targets (bulk >= 100,000 jobs/s, drain >= 10,000 jobs/s).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGETS = {"bulk enqueue": 100_000.0, "drain": 10_000.0}


def phase_single(url: str, count: int) -> dict[str, float]:
    from noop_workers import NoopWorker

    import sidequest

    sidequest.configure(url)
    started = time.perf_counter()
    for n in range(count):
        NoopWorker.perform_async(n)
    return {"jobs": count, "seconds": time.perf_counter() - started}


def phase_bulk(url: str, count: int) -> dict[str, float]:
    from noop_workers import NoopWorker

    import sidequest

    sidequest.configure(url)
    args = [[n] for n in range(count)]
    started = time.perf_counter()
    NoopWorker.perform_bulk(args, batch_size=1000)
    return {"jobs": count, "seconds": time.perf_counter() - started}


def phase_drain(url: str, count: int, concurrency: int) -> dict[str, float]:
    import logging

    from noop_workers import NoopWorker

    from sidequest.registry import WorkerRegistry
    from sidequest.runtime import Launcher, ProcessConfig
    from sidequest.stores import open_store

    logging.getLogger("sidequest").setLevel(logging.WARNING)
    store = open_store(url)
    launcher = Launcher(store, WorkerRegistry.of(NoopWorker), ProcessConfig(concurrency=concurrency))
    started = time.perf_counter()
    assert launcher.drain(timeout=600), "drain did not finish"
    elapsed = time.perf_counter() - started
    processed = store.counts().processed
    return {"jobs": processed, "seconds": elapsed}


def child(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(HERE))
    if args.phase == "single":
        result = phase_single(args.url, args.single)
    elif args.phase == "bulk":
        result = phase_bulk(args.url, args.jobs)
    else:
        result = phase_drain(args.url, args.jobs, args.concurrency)
    result["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_phase(phase: str, url: str, args: argparse.Namespace) -> dict[str, float]:
    command = [
        sys.executable,
        __file__,
        "--phase",
        phase,
        "--url",
        url,
        "--jobs",
        str(args.jobs),
        "--single",
        str(args.single),
        "--concurrency",
        str(args.concurrency),
    ]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--single", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--phase", choices=["single", "bulk", "drain"])
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.phase:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        single_url = f"sqlite:///{tmp}/single.db"
        url = f"sqlite:///{tmp}/bench.db"
        rows = [
            ("single enqueue", run_phase("single", single_url, args)),
            ("bulk enqueue", run_phase("bulk", url, args)),
            (f"drain (c={args.concurrency})", run_phase("drain", url, args)),
        ]
    print(f"sidequest SQLite benchmark: {args.jobs:,} no-op jobs, Python {sys.version.split()[0]}")
    print(f"{'phase':<18} {'jobs':>9} {'seconds':>8} {'jobs/s':>10} {'peak RSS':>9} {'vs target':>10}")
    for name, row in rows:
        rate = row["jobs"] / row["seconds"]
        target = TARGETS.get(name.split(" (")[0])
        ratio = f"{rate / target:.2f}x" if target else "-"
        print(
            f"{name:<18} {int(row['jobs']):>9,} {row['seconds']:>8.2f} {rate:>10,.0f} "
            f"{row['rss_mb']:>7.0f}MB {ratio:>10}"
        )


if __name__ == "__main__":
    main()
