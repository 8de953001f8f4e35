"""What the per-job log lines cost: real ``sidequest run`` processes with their log in a file, beside Ruby
Sidekiq 6.4.1 with its default logging to a file, on one Redis; and the SQLite drain with and without
the log lines.

    .venv/bin/python bench/log_bench.py [--jobs 100000] [--repeat 2] [--concurrency 10]
        [--cases redis,sqlite] [--url redis://127.0.0.1:PORT/13]

Cases (each round runs every case once, round-robin; the best round of each is kept):

* sidequest, default logging: ``sidequest run -c 10`` (``--log-level info --log-format text``, the
  defaults: a start and a done line per job), stdout and stderr to a file, as a user runs it.
* sidequest, logs at ERROR: the same with ``--log-level error`` (no job fails, so nothing is logged:
  this is also "logs off").
* Sidekiq 6.4.1, default logging: ``bench/sidekiq_load.rb --phase drain --log-file F``: a
  ``Sidekiq::Launcher`` at concurrency 10 with ``Sidekiq.logger`` at INFO (its default: a start and a
  done line per job, the Pretty format) writing to a file line by line, as ``sidekiq >> F`` does.
* Sidekiq 6.4.1, logs at ERROR: the same without ``--log-file``.
* SQLite: ``sidequest run -c 10`` on a fresh SQLite file, default logging, then ``--log-level error``.

The clock, for every case: from the first job's start to the return of the last job's perform,
counted by a server middleware inside the draining process (``bench/drain_clock.py`` for sidequest,
``CountPerformed`` in ``sidekiq_load.rb``), so process start-up is outside it for both systems.
Enqueueing (each system's bulk enqueue, in its own child process) is outside it too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bytecode import compile_sidequest
from redis_bench import SYSTEMS, RedisTarget, installed, own_redis, run_phase, source_revision
from redis_bench_common import connect

HERE = Path(__file__).resolve().parent
PY = sys.executable
DRAIN_TIMEOUT = 900.0
SIDEQUEST = next(system for system in SYSTEMS if system.name == "sidequest")
SIDEKIQ = next(system for system in SYSTEMS if system.name == "sidekiq")

SIDEQUEST_SETTINGS = "sidequest run -c {c} --log-level {level} --log-format text, stdout+stderr > file"
SIDEKIQ_SETTINGS = {
    "info": "Launcher, concurrency {c}, Sidekiq.logger INFO (default), Pretty format, file sync=true",
    "error": "Launcher, concurrency {c}, Sidekiq.logger.level = ERROR",
}


@dataclass
class Case:
    """One line of the table: its rounds' results."""

    key: str
    label: str
    settings: str
    rounds: list[dict[str, Any]] = field(default_factory=list)

    def best(self) -> float:
        """The best rate of the rounds, jobs/s (other work on the machine only slows a round down)."""
        return max((r["jobs"] / r["seconds"] for r in self.rounds), default=0.0)


def count_lines(path: Path) -> tuple[int, int]:
    """(lines, lines that are a job's start) in a log file."""
    lines = starts = 0
    with path.open("rb") as log:
        for line in log:
            lines += 1
            starts += line.rstrip().endswith(b" start")
    return lines, starts


def sidequest_drain(url: str, jobs: int, concurrency: int, level: str, workdir: Path) -> dict[str, Any]:
    """One real ``sidequest run`` drains ``jobs`` jobs with its log in a file; then TERM."""
    log_path = workdir / f"sidequest-{level}-{time.monotonic_ns()}.log"
    clock = workdir / f"clock-{time.monotonic_ns()}.json"
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    env = {
        **os.environ,
        # absolute: the process runs in workdir, where a relative PYTHONPATH=src would name nothing
        "PYTHONPATH": os.pathsep.join([str(HERE), *(str(Path(p).resolve()) for p in paths if p)]),
        "BENCH_JOBS": str(jobs),
        "BENCH_CLOCK_FILE": str(clock),
    }
    command = [PY, "-m", "sidequest", "run", "--url", url, "-r", "noop_workers", "-c", str(concurrency)]
    command += ["--log-level", level, "--middleware", "drain_clock:CLOCK"]
    with log_path.open("w") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=log, cwd=workdir, env=env)
        try:
            deadline = time.monotonic() + DRAIN_TIMEOUT
            while not clock.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace").splitlines()[-5:]
                    raise RuntimeError("sidequest drain failed:\n" + "\n".join(tail))
                time.sleep(0.05)
        finally:
            proc.terminate()
            proc.wait(60)
    result: dict[str, Any] = json.loads(clock.read_text())
    result["log_lines"], result["start_lines"] = count_lines(log_path)
    log_path.unlink()
    return result


def sidekiq_drain(url: str, jobs: int, concurrency: int, level: str, workdir: Path) -> dict[str, Any]:
    """Sidekiq's drain child, with its default logging to a file (``info``) or at ERROR."""
    log_path = workdir / f"sidekiq-{time.monotonic_ns()}.log"
    command = [*SIDEKIQ.command, "--phase", "drain", "--url", url, "--jobs", str(jobs)]
    command += ["--concurrency", str(concurrency)]
    if level == "info":
        command += ["--log-file", str(log_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=DRAIN_TIMEOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError("Sidekiq drain failed:\n" + "\n".join(done.stderr.splitlines()[-5:]))
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["seconds"] = result["first_to_last_seconds"]
    if log_path.exists():
        result["log_lines"], result["start_lines"] = count_lines(log_path)
        log_path.unlink()
    else:
        result["log_lines"] = result["start_lines"] = 0
    return result


def redis_round(cases: dict[str, Case], url: str, args: argparse.Namespace, workdir: Path) -> None:
    """Each Redis case once: FLUSHDB, the system's bulk enqueue (a child), the drain."""
    for key, case in cases.items():
        if not key.startswith("redis"):
            continue
        system, level = (SIDEKIQ if "sidekiq" in key else SIDEQUEST), key.rsplit("-", 1)[1]
        connect(url).flushdb()
        run_phase(system, "bulk", url, args.jobs, 0, args.concurrency)
        drain = sidekiq_drain if system is SIDEKIQ else sidequest_drain
        case.rounds.append(drain(url, args.jobs, args.concurrency, level, workdir))
        print(
            f"  {case.label}: {case.rounds[-1]['jobs'] / case.rounds[-1]['seconds']:,.0f} jobs/s",
            file=sys.stderr,
        )


def sqlite_round(cases: dict[str, Case], args: argparse.Namespace, workdir: Path) -> None:
    """Each SQLite case once, on a fresh file filled by ``sqlite_bench.py``'s bulk phase."""
    for key, case in cases.items():
        if not key.startswith("sqlite"):
            continue
        url = f"sqlite:///{workdir / f'{key}-{time.monotonic_ns()}.db'}"
        enqueue = [
            PY,
            str(HERE / "sqlite_bench.py"),
            "--phase",
            "bulk",
            "--url",
            url,
            "--jobs",
            str(args.jobs),
        ]
        subprocess.run(enqueue, check=True, capture_output=True, timeout=DRAIN_TIMEOUT)
        case.rounds.append(sidequest_drain(url, args.jobs, args.concurrency, key.rsplit("-", 1)[1], workdir))
        print(
            f"  {case.label}: {case.rounds[-1]['jobs'] / case.rounds[-1]['seconds']:,.0f} jobs/s",
            file=sys.stderr,
        )


def make_cases(args: argparse.Namespace, sidekiq: bool) -> dict[str, Case]:
    """The cases the command line asks for (Sidekiq's only where Ruby with the gem is installed)."""
    c = args.concurrency
    cases: dict[str, Case] = {}
    if "redis" in args.cases:
        for level in ("info", "error"):
            cases[f"redis-sidequest-{level}"] = Case(
                f"redis-sidequest-{level}",
                f"Redis  sidequest, logs {level.upper()}",
                SIDEQUEST_SETTINGS.format(c=c, level=level),
            )
            if sidekiq:
                cases[f"redis-sidekiq-{level}"] = Case(
                    f"redis-sidekiq-{level}",
                    f"Redis  Sidekiq 6.4.1, logs {level.upper()}",
                    SIDEKIQ_SETTINGS[level].format(c=c),
                )
    if "sqlite" in args.cases:
        for level in ("info", "error"):
            cases[f"sqlite-sidequest-{level}"] = Case(
                f"sqlite-sidequest-{level}",
                f"SQLite sidequest, logs {level.upper()}",
                SIDEQUEST_SETTINGS.format(c=c, level=level),
            )
    return cases


def verdicts(cases: dict[str, Case]) -> list[str]:
    """One PASS/MISS line per target of issue 8 section 4 that these cases can check."""
    rate = {key: case.best() for key, case in cases.items()}
    lines = []

    def check(name: str, value: float, target: float, detail: str) -> None:
        lines.append(f"{'PASS' if value >= target else 'MISS'}  {name}: {detail}")

    pairs = [("info", 3.0, "default logging"), ("error", 4.0, "logs at ERROR")]
    for level, target, words in pairs:
        ours, theirs = rate.get(f"redis-sidequest-{level}"), rate.get(f"redis-sidekiq-{level}")
        if ours and theirs:
            check(
                f"Redis drain, {words} for both, >= {target:.0f}x Sidekiq",
                ours / theirs,
                target,
                f"{ours / theirs:.2f}x ({ours:,.0f} vs {theirs:,.0f} jobs/s)",
            )
    if rate.get("sqlite-sidequest-info"):
        value = rate["sqlite-sidequest-info"]
        check("SQLite drain with default logging >= 10,000 jobs/s", value, 10_000, f"{value:,.0f} jobs/s")
    for store in ("redis", "sqlite"):
        on, off = rate.get(f"{store}-sidequest-info"), rate.get(f"{store}-sidequest-error")
        if on and off:
            check(
                f"{store} drain with default logging within 15% of logs off",
                on / off,
                0.85,
                f"{on / off:.2f} of it ({on:,.0f} vs {off:,.0f} jobs/s)",
            )
    return lines


def print_report(cases: dict[str, Case], args: argparse.Namespace, load: tuple[float, float]) -> None:
    """The table, every round, and the verdicts."""
    print(
        f"Log-line cost benchmark, {time.strftime('%Y-%m-%d')}: {os.cpu_count()} cores, sidequest at "
        f"{source_revision()}, Python {sys.version.split()[0]}"
    )
    print(f"{args.jobs:,} no-op jobs per drain, concurrency {args.concurrency}, best of {args.repeat} rounds")
    print(
        f"load average (other work on this machine skews figures): {load[0]:.2f} before, {load[1]:.2f} after"
    )
    print()
    print(f"| {'case':<32} | {'drain jobs/s':>12} | {'log lines':>9} | settings")
    print(f"|{'-' * 34}|{'-' * 14}|{'-' * 11}|{'-' * 60}")
    for case in cases.values():
        lines = max((r["log_lines"] for r in case.rounds), default=0)
        print(f"| {case.label:<32} | {case.best():>12,.0f} | {lines:>9,} | {case.settings}")
    print()
    print("Every round, jobs/s (log lines that are a job's start / jobs):")
    for case in cases.values():
        rounds = ", ".join(
            f"{r['jobs'] / r['seconds']:,.0f} ({r['start_lines']:,}/{r['jobs']:,})" for r in case.rounds
        )
        print(f"  {case.label}: {rounds}")
    print()
    for line in verdicts(cases):
        print(line)


@contextmanager
def redis_for(args: argparse.Namespace) -> Iterator[RedisTarget | None]:
    """The benchmark's private redis-server, the one ``--url`` names, or none (SQLite only)."""
    if "redis" not in args.cases:
        yield None
    elif args.url:
        yield RedisTarget(args.url)
    else:
        with own_redis() as target:
            yield target


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--cases", default="redis,sqlite", help="redis, sqlite, or both (comma-separated)")
    parser.add_argument(
        "--url", help="a throwaway Redis database (it is FLUSHDBed); default: a private server"
    )
    args = parser.parse_args()
    compile_sidequest()
    sidekiq = installed(SIDEKIQ)
    if "redis" in args.cases and not sidekiq:
        print("Ruby with the sidekiq gem is not installed: the Sidekiq cases are skipped", file=sys.stderr)
    cases = make_cases(args, sidekiq)
    before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="log-bench-") as tmp, redis_for(args) as target:
        for n in range(args.repeat):
            print(f"round {n + 1} of {args.repeat}", file=sys.stderr)
            if target is not None:
                redis_round(cases, target.url, args, Path(tmp))
            sqlite_round(cases, args, Path(tmp))
    print_report(cases, args, (before, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
