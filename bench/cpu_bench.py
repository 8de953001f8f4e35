"""CPU-bound drain: one process, ``-p 2``, and ``isolation="process"`` in one process.

    .venv/bin/python bench/cpu_bench.py [--jobs 6000] [--ms 2] [--repeat 2]

Each job runs the pure-Python work that takes ``--ms`` milliseconds on one idle thread (issue 8's
workload: ~2 ms), calibrated at the start of the run (``cpu_workers.burn``). Every case is a real
``sidequest run`` on its own fresh SQLite file, with default settings (concurrency 10, text logs at INFO
to a file). Two clocks per case:

* drain: from the first job's start in any process to the last job's end in any process, as the
  processes themselves record it (``bench/job_span.py``, a server middleware), the clock of
  ``bench/log_bench.py`` and of Sidekiq's own load test; process start-up and shutdown are outside it.
* from start: from the ``sidequest run`` command's start until the queue is empty and no process holds
  a job (what the store's leases say, polled every 0.25 s), start-up included.

Prints jobs/s per case and the ratio to one process (the best of ``--repeat`` rounds, run round-robin);
the targets are >= 1.7x for ``-p 2`` and for ``isolation="process"`` (``--process-pool`` defaults to the
number of CPUs) on a 2-core machine, on the drain clock.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bytecode import compile_sidequest

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
TARGET = 1.7


def calibrate(ms: float) -> int:
    """The ``burn`` steps that take ``ms`` milliseconds here (the best of a few tries)."""
    sys.path[:0] = [str(HERE)]
    from cpu_workers import burn

    steps = 20_000
    best = min(_timed(burn, steps) for _ in range(5))
    return max(1, round(steps * (ms / 1000) / best))


def _timed(func: object, steps: int) -> float:
    assert callable(func)
    started = time.perf_counter()
    func(steps)
    return time.perf_counter() - started


def machine_ceiling(steps: int, jobs: int = 600) -> float:
    """What this machine gives two CPU-bound processes over one, with no job system at all: the same
    ``burn`` in one process, then in two at once (a VM's two vCPUs may not give two cores' worth)."""
    import multiprocessing

    from cpu_workers import burn

    started = time.perf_counter()
    _burn_many(burn, steps, jobs)
    one = jobs / (time.perf_counter() - started)
    started = time.perf_counter()
    workers = [multiprocessing.Process(target=_burn_many, args=(burn, steps, jobs)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    two = 2 * jobs / (time.perf_counter() - started)
    return two / one


def _burn_many(burn: object, steps: int, jobs: int) -> None:
    assert callable(burn)
    for _ in range(jobs):
        burn(steps)


def drain(module: str, worker: str, jobs: int, steps: int, extra: list[str]) -> tuple[float, float]:
    """(drain seconds, seconds from start) for a fresh ``sidequest run -r module`` (with ``extra``
    arguments) to drain ``jobs`` jobs of ``module.worker``."""
    sys.path[:0] = [str(HERE), str(SRC)]
    from job_span import read_spans

    from sidequest.client import Client
    from sidequest.stores import open_store

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/jobs.db"
        spans = Path(folder) / "spans"
        spans.mkdir()
        store = open_store(url)
        Client(store).enqueue_bulk(f"{module}.{worker}", [[n, steps] for n in range(jobs)])
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), str(SRC)]),
            "BENCH_SPAN_DIR": str(spans),
        }
        log = open(Path(folder) / "run.log", "wb")  # noqa: SIM115 - closed below
        command = [sys.executable, "-m", "sidequest", "run", "--url", url, "-r", module, *extra]
        started = time.perf_counter()
        proc = subprocess.Popen(
            [*command, "--middleware", "job_span:SPAN"],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            while True:
                # Not counts().busy or busy(): those are what heartbeats last published, up to a beat
                # (5 s) late, which would add a beat's worth of nothing to the clock.
                if store.counts().enqueued == 0 and done(store, jobs):
                    break
                time.sleep(0.25)  # the check itself costs CPU the drain needs
            took = time.perf_counter() - started
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
            log.close()
            store.close()
        first, last, performed = read_spans(spans)
        if performed != jobs:
            raise RuntimeError(f"{performed} jobs performed of {jobs}")
        return last - first, took


def done(store: object, jobs: int) -> bool:
    """Every job performed: the processed counter (flushed by heartbeats) is not needed; the queue is
    empty and no process holds a job, which :meth:`Store.owned` of each live process confirms."""
    from sidequest.stores.base import Store

    assert isinstance(store, Store)
    return all(not store.owned(process.identity) for process in store.processes())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=6000)
    parser.add_argument("--ms", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=2, help="rounds of every case, round-robin")
    args = parser.parse_args()
    compile_sidequest()
    steps = calibrate(args.ms)
    print(
        f"CPU-bound drain: {args.jobs} jobs of {args.ms:g} ms pure Python ({steps:,} loop steps), "
        f"{os.cpu_count()} CPUs, SQLite"
    )
    print("settings: sidequest run defaults (-c 10, text logs at INFO to a file); fresh store per case")
    ceiling = machine_ceiling(steps)
    print(f"this machine, no job system: two processes of the same work give {ceiling:.2f}x one process")
    cases = [
        ("one process", "cpu_workers", "CpuWorker", []),
        ("-p 2", "cpu_workers", "CpuWorker", ["-p", "2"]),
        ('isolation="process", one process', "cpu_isolated_workers", "IsolatedCpuWorker", []),
    ]
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in cases}
    for number in range(args.repeat):
        for name, module, worker, extra in cases:
            seconds, from_start = drain(module, worker, args.jobs, steps, extra)
            rounds[name].append((args.jobs / seconds, args.jobs / from_start))
            print(
                f"  round {number + 1}, {name}: drain {rounds[name][-1][0]:.0f} jobs/s, "
                f"from start {rounds[name][-1][1]:.0f} jobs/s",
                file=sys.stderr,
            )
    base = max(rate for rate, _ in rounds["one process"])
    base_from_start = max(rate for _, rate in rounds["one process"])
    print(f"{'case':34s} {'drain':>12s} {'ratio':>6s}   {'from start':>12s} {'ratio':>6s}")
    for name, *_ in cases:
        rate = max(r for r, _ in rounds[name])
        from_start = max(r for _, r in rounds[name])
        ratio = rate / base
        verdict = (
            ""
            if name == "one process"
            else f"  (target >= {TARGET}x: {'met' if round(ratio, 2) >= TARGET else 'NOT met'}; "
            f"{ratio / ceiling:.0%} of the machine's {ceiling:.2f}x)"
        )
        print(
            f"{name:34s} {rate:8.0f}/s {ratio:5.2f}x   {from_start:8.0f}/s "
            f"{from_start / base_from_start:5.2f}x{verdict}"
        )


if __name__ == "__main__":
    main()
