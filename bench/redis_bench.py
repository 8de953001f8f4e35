"""Redis benchmark: Sidekiq's own load test (bin/sidekiqload) for sidequest, Ruby Sidekiq 6.4.1 and the
Python peers (Dramatiq, RQ, Celery, arq) that are installed, on one Redis, in one run.

    .venv/bin/python bench/redis_bench.py [--jobs 100000] [--single 10000] [--concurrency 10]
        [--systems sidequest,sidekiq,dramatiq,rq,celery,arq] [--url redis://127.0.0.1:PORT/13]
        [--repeat 2] [--full]

Without ``--url`` it starts its own ``redis-server`` (from PATH, on a free port, no persistence) and
stops it at the end, so it never touches a Redis it did not start. With ``--url`` it FLUSHDBs that
database over and over: point it at a throwaway one.

For each system, after FLUSHDB, each phase runs in its own child process (``bench/redis_bench_<system>.py``
or ``bench/sidekiq_load.rb``) so its peak RSS is its own: (1) bulk enqueue of ``--jobs`` no-op jobs with
one int argument, with the system's fastest documented multi-job enqueue (a loop where it has none);
(2) one process at concurrency 10 drains them, clocked from its start until the last job's perform has
returned; (3) after FLUSHDB, ``--single`` one-job enqueues. The slow Python peers drain fewer jobs
(``System.peer_share``; ``--full`` gives them all). Every system runs ``--repeat`` rounds, round-robin,
and the best rate of each phase is kept (other work on a small machine only ever slows a run down).
Then sidequest's own checks: idle latency, and throughput with 1,000,000 jobs waiting or 100,000
scheduled. Prints one table and a PASS/MISS line per target.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bytecode import compile_sidequest
from redis_bench_common import connect
from redis_bench_report import Report, SystemRun, print_report, rate_of

HERE = Path(__file__).resolve().parent

SCALE_JOBS = 10_000
"""Jobs drained in each round of sidequest's scale check."""

PINNED_SINGLE = 5_000
PINNED_ROUNDS = 3
"""Single enqueues per round, and rounds, of the one-CPU single-enqueue comparison."""

CHILD_TIMEOUT = 900.0


@dataclass(frozen=True, slots=True)
class System:
    """How to run one system's phases, and what to call it in the table."""

    name: str
    label: str
    command: tuple[str, ...]
    requires: str
    """A Python module that must be importable (or ``ruby`` for Sidekiq) for the system to run."""
    concurrency: str
    peer_share: int = 1
    """The drain gets ``--jobs // peer_share`` jobs, so a slow peer takes seconds, not minutes."""


PY = sys.executable
SYSTEMS = [
    System("sidequest", "sidequest", (PY, str(HERE / "redis_bench_sidequest.py")), "sidequest", "10 threads"),
    System("sidekiq", "Sidekiq 6.4.1 (Ruby)", ("ruby", str(HERE / "sidekiq_load.rb")), "ruby", "10 threads"),
    System("dramatiq", "Dramatiq", (PY, str(HERE / "redis_bench_dramatiq.py")), "dramatiq", "10 threads", 10),
    System("rq", "RQ (SimpleWorker)", (PY, str(HERE / "redis_bench_rq.py")), "rq", "1", 50),
    System(
        "celery", "Celery (threads)", (PY, str(HERE / "redis_bench_celery.py")), "celery", "10 threads", 20
    ),
    System("arq", "arq", (PY, str(HERE / "redis_bench_arq.py")), "arq", "10 (asyncio)", 10),
]


def installed(system: System) -> bool:
    """Whether the system can run here (its Python package, or Ruby with the sidekiq gem)."""
    if system.requires != "ruby":
        return importlib.util.find_spec(system.requires) is not None
    if shutil.which("ruby") is None:
        return False
    probe = subprocess.run(["ruby", "-e", 'require "sidekiq"'], capture_output=True, check=False)
    return probe.returncode == 0


# -- the Redis the benchmark runs on -------------------------------------------------------------------


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class RedisTarget:
    """The Redis the benchmark runs on; ``pid`` only when the benchmark started it."""

    url: str
    pid: int | None = None


@contextmanager
def own_redis() -> Iterator[RedisTarget]:
    """Start a private redis-server (no RDB, no AOF) and yield its db 13; stop it afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not on PATH; install it, or pass --url redis://... of a throwaway Redis")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="redis-bench-") as workdir:
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        server = subprocess.Popen(
            [*command, "--dir", workdir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"redis://127.0.0.1:{port}/13"
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    connect(url).ping()
                    break
                except Exception:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError(f"redis-server did not start on port {port}") from None
                    time.sleep(0.05)
            yield RedisTarget(url, server.pid)
        finally:
            server.terminate()
            server.wait(10)


# -- running the children ------------------------------------------------------------------------------


def run_phase(
    system: System, phase: str, url: str, jobs: int, single: int, concurrency: int, cpu: int | None = None
) -> dict[str, Any]:
    """Run one phase in a fresh child process (on CPU ``cpu`` only, if given) and return the JSON it
    printed last."""
    command = [
        *system.command,
        *("--phase", phase, "--url", url, "--jobs", str(jobs)),
        *("--single", str(single), "--concurrency", str(concurrency)),
    ]
    pin = None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False, preexec_fn=pin
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-6:])
        raise RuntimeError(f"{system.name} {phase} failed (exit {done.returncode}):\n{tail}")
    return dict(json.loads(lines[-1]))


def run_round(system: System, run: SystemRun, url: str, args: argparse.Namespace) -> None:
    """Bulk enqueue, drain, single enqueue, one after the other, FLUSHDB before bulk and single."""
    if run.error:
        return
    try:
        connect(url).flushdb()
        run.add("bulk", run_phase(system, "bulk", url, run.jobs, args.single, args.concurrency))
        run.add("drain", run_phase(system, "drain", url, run.jobs, args.single, args.concurrency))
        connect(url).flushdb()
        run.add("single", run_phase(system, "single", url, run.jobs, args.single, args.concurrency))
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        run.error = str(exc)
    print(f"  {system.name}: {run.summary()}", file=sys.stderr, flush=True)


def jobs_for(system: System, args: argparse.Namespace) -> int:
    """How many jobs a system enqueues and drains: all of ``--jobs``, or its share for a slow peer."""
    jobs: int = args.jobs
    return jobs if args.full else max(1, jobs // system.peer_share)


def run_sidequest_checks(
    system: System, target: RedisTarget, args: argparse.Namespace, report: Report
) -> None:
    """Idle latency, and the 1M-queued / 100k-scheduled scale cases with the client and redis-server on
    one CPU (when the benchmark started Redis), so the ratios compare the work each operation costs and
    not the cross-CPU wake-ups that swing single round trips 2-3x (see :func:`run_pinned_single`)."""
    url = target.url
    try:
        connect(url).flushdb()
        report.latency = run_phase(system, "latency", url, 0, 0, args.concurrency)
        print(f"  sidequest latency: {report.latency}", file=sys.stderr, flush=True)
        connect(url).flushdb()
        scale_jobs = min(SCALE_JOBS, args.jobs)
        scale = replace(system, command=(PY, str(HERE / "redis_bench_scale.py")))
        with one_cpu(target) as cpu:
            report.scale = run_phase(scale, "scale", url, scale_jobs, 0, args.concurrency, cpu)
        print(f"  sidequest scale: {report.scale['cases']}", file=sys.stderr, flush=True)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        report.errors.append(str(exc))


@contextmanager
def one_cpu(target: RedisTarget) -> Iterator[int | None]:
    """Pin the benchmark's own redis-server to one CPU for the block and yield that CPU for the client;
    yield None (nothing pinned) for a Redis the benchmark did not start."""
    if target.pid is None:
        yield None
        return
    cpu = min(os.sched_getaffinity(0))
    before = os.sched_getaffinity(target.pid)
    os.sched_setaffinity(target.pid, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(target.pid, before)


def run_pinned_single(
    chosen: list[System], target: RedisTarget, args: argparse.Namespace, report: Report
) -> None:
    """Single enqueues of sidequest and Sidekiq with the client and redis-server on one CPU.

    A one-job enqueue is a round trip, and on a small VM a round trip between two CPUs costs 2-3x more
    when the other CPU is idle (it must be woken) than when it is busy, so the free-running figure moves
    with whatever else the machine does. On one CPU there is no wake-up across CPUs: what is left is the
    work each enqueue costs the client and Redis, which is what the comparison is about.
    """
    pair = [system for system in chosen if system.name in ("sidequest", "sidekiq")]
    if target.pid is None or not pair:
        return
    try:
        with one_cpu(target) as cpu:
            for _ in range(PINNED_ROUNDS):
                for system in pair:
                    connect(target.url).flushdb()
                    result = run_phase(system, "single", target.url, 0, PINNED_SINGLE, args.concurrency, cpu)
                    report.pinned_single.setdefault(system.name, []).append(result)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        report.errors.append(str(exc))
    rates = {name: [round(rate_of(r)) for r in results] for name, results in report.pinned_single.items()}
    print(f"  single enqueue on one CPU: {rates}", file=sys.stderr, flush=True)


def source_revision() -> str:
    """The sidequest commit measured, marked when src/ has uncommitted changes (others may be editing)."""
    repo = HERE.parent

    def git(*words: str) -> str:
        done = subprocess.run(["git", "-C", str(repo), *words], capture_output=True, text=True, check=False)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown commit"
    return f"{commit} + uncommitted changes in src/" if git("status", "--porcelain", "src") else commit


def versions(url: str, chosen: list[System]) -> dict[str, str]:
    """Versions of everything measured, for the report header."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0], "redis": str(connect(url).info("server")["redis_version"])}
    found["sidequest"] = source_revision()
    for system in chosen:
        if system.name == "sidekiq":
            ruby = 'print "#{RUBY_VERSION} / Sidekiq #{Sidekiq::VERSION}"'
            probe = subprocess.run(["ruby", "-rsidekiq", "-e", ruby], capture_output=True, text=True)
            found["ruby"] = probe.stdout.strip()
        elif system.name != "sidequest":
            try:
                found[system.name] = version(system.requires)
            except PackageNotFoundError:
                found[system.name] = "?"
    return found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs to bulk enqueue and drain")
    parser.add_argument("--single", type=int, default=10_000, help="one-job enqueues to time")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--systems", default=",".join(system.name for system in SYSTEMS))
    parser.add_argument("--url", help="a throwaway Redis database (default: start a private redis-server)")
    parser.add_argument("--full", action="store_true", help="slow peers drain all --jobs jobs too")
    parser.add_argument("--repeat", type=int, default=2, help="rounds per system; the best is kept")
    args = parser.parse_args()
    compile_sidequest()
    wanted = [name.strip() for name in args.systems.split(",") if name.strip()]
    unknown = set(wanted) - {system.name for system in SYSTEMS}
    if unknown:
        parser.error(f"unknown systems {sorted(unknown)}; choose from {[s.name for s in SYSTEMS]}")
    chosen = [system for system in SYSTEMS if system.name in wanted]
    skipped = [system.name for system in chosen if not installed(system)]
    chosen = [system for system in chosen if system.name not in skipped]
    with own_redis() if args.url is None else given_redis(args.url) as target:
        url = target.url
        report = Report(
            jobs=args.jobs,
            single=args.single,
            concurrency=args.concurrency,
            repeat=args.repeat,
            versions=versions(url, chosen),
            load_before=os.getloadavg(),
            skipped=skipped,
        )
        started = time.monotonic()
        report.runs = [SystemRun(s.name, s.label, s.concurrency, jobs_for(s, args)) for s in chosen]
        # Round-robin, so load from elsewhere on the machine hits every system alike.
        for _ in range(args.repeat):
            for system, run in zip(chosen, report.runs, strict=True):
                run_round(system, run, url, args)
        for system in chosen:
            if system.name == "sidequest":
                run_sidequest_checks(system, target, args, report)
        run_pinned_single(chosen, target, args, report)
        connect(url).flushdb()
        report.load_after = os.getloadavg()
        report.seconds = time.monotonic() - started
    print_report(report)


@contextmanager
def given_redis(url: str) -> Iterator[RedisTarget]:
    """The Redis the user gave: used as is, never stopped or pinned."""
    yield RedisTarget(url)


if __name__ == "__main__":
    main()
