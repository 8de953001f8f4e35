"""The peers' side of ``bench/pg_bench.py``: each peer runs in a virtualenv of its own, ``bench/.venvs/NAME``.

A peer is a module ``bench/pg_bench_<name>.py`` that is two things:

* imported by ``pg_bench.py`` (sidequest's venv), it describes the peer with module constants: ``LABEL``,
  ``PYTHON`` (the interpreter its venv is made with), ``REQUIREMENTS`` (pinned, installed when the venv is
  missing), ``SETTINGS`` (what the output says about its configuration), ``LEFT_SQL`` (how many jobs are not
  done yet) and ``DONE_SQL`` (how many finished successfully, or None when the peer keeps no such record);
* run as a script in its own venv (``python pg_bench_<name>.py PHASE DSN N``), it does one phase with the
  peer's own API and prints the seconds it took as JSON: ``setup`` (install the peer's schema), ``bulk``,
  ``single``, and ``drain`` (a worker that runs until it is terminated; the parent clocks it).

This module is imported on both sides, so at import time it needs only the standard library.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
VENVS = HERE / ".venvs"

PYTHONS = {
    "3.11": ["python3.11", "/root/.pyenv/versions/3.11.7/bin/python3.11"],
    "3.12": ["python3.12", "/root/.pyenv/versions/3.12.1/bin/python3.12"],
}
"""Where to look for each interpreter a venv is made with (PATH first, then this machine's pyenv)."""

BATCH = 5_000
"""Jobs per bulk call for peers whose bulk API takes a list and has no batch size of its own (Oban and
River insert 5,000 per batch; sidequest's perform_bulk writes 1,000 per statement)."""


class PeerUnavailable(Exception):
    """The peer's venv cannot be made or its phase failed; the message says why."""


def _interpreter(version: str) -> str:
    for candidate in PYTHONS[version]:
        found = shutil.which(candidate)
        if found:
            try:
                # pyenv shims exist for versions that are not selected and fail when run.
                subprocess.run([found, "-c", "pass"], check=True, capture_output=True)
            except (OSError, subprocess.CalledProcessError):
                continue
            return found
    raise PeerUnavailable(f"no Python {version} found (looked for {', '.join(PYTHONS[version])})")


def venv_python(name: str, peer: ModuleType) -> Path:
    """The peer's venv interpreter, making the venv and installing ``REQUIREMENTS`` when missing."""
    venv = VENVS / name
    python = venv / "bin" / "python"
    marker = venv / "requirements.txt"
    wanted = "\n".join(peer.REQUIREMENTS) + "\n"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    print(f"{name}: creating {venv} with Python {peer.PYTHON}: pip install {' '.join(peer.REQUIREMENTS)}")
    shutil.rmtree(venv, ignore_errors=True)
    try:
        subprocess.run([_interpreter(peer.PYTHON), "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", *peer.REQUIREMENTS],
            check=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
    except subprocess.CalledProcessError as exc:
        output = exc.stdout.decode(errors="replace")[-2000:] if exc.stdout else ""
        raise PeerUnavailable(f"installing {peer.REQUIREMENTS} failed: {exc}\n{output}") from exc
    marker.write_text(wanted)
    return python


def _command(python: Path, name: str, phase: str, dsn: str, count: int, concurrency: int) -> list[str]:
    script = HERE / f"pg_bench_{name}.py"
    return [str(python), str(script), phase, dsn, str(count), str(concurrency)]


def run_phase(python: Path, name: str, phase: str, dsn: str, count: int = 0, concurrency: int = 10) -> float:
    """Run one timed phase in the peer's venv; the seconds it printed."""
    done = subprocess.run(
        _command(python, name, phase, dsn, count, concurrency), capture_output=True, timeout=1800
    )
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace")[-3000:]
        raise PeerUnavailable(f"{name} {phase} exited {done.returncode}:\n{tail}")
    return float(json.loads(done.stdout.decode().strip().splitlines()[-1])["seconds"])


def _count(dsn: str, sql: str) -> int:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def drain(python: Path, name: str, peer: ModuleType, dsn: str, count: int, concurrency: int) -> float:
    """Seconds from starting the peer's worker process to ``LEFT_SQL`` reading 0 (polled every 50 ms,
    as sidequest's drain is); then the worker is terminated and ``DONE_SQL`` checked against ``count``."""
    # stderr goes to a file, not a pipe: a worker that logs every job would fill a pipe nobody reads
    # and block on its next write, stalling the drain.
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        command = _command(python, name, "drain", dsn, count, concurrency)
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            deadline = time.monotonic() + 1800
            while _count(dsn, peer.LEFT_SQL) > 0:
                if proc.poll() is not None:
                    errors.seek(0)
                    tail = errors.read().decode(errors="replace")[-3000:]
                    raise PeerUnavailable(f"{name} worker exited {proc.returncode} mid-drain:\n{tail}")
                if time.monotonic() > deadline:
                    raise PeerUnavailable(f"{name} did not drain {count} jobs in 30 minutes")
                time.sleep(0.05)
            seconds = time.perf_counter() - started
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    if peer.DONE_SQL is not None:
        succeeded = _count(dsn, peer.DONE_SQL)
        if succeeded != count:
            raise PeerUnavailable(f"{name}: {succeeded} jobs succeeded, expected {count}")
    return seconds


def child_main(phases: dict[str, Callable[[str, int, int], Awaitable[float]]]) -> None:
    """The script side: ``argv`` = PHASE DSN COUNT CONCURRENCY; runs the phase, which returns the seconds
    of its timed part (connecting and building the peer's app are outside it), and prints them as JSON."""
    import asyncio

    phase, dsn, count, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    seconds = asyncio.run(phases[phase](dsn, count, concurrency))
    print(json.dumps({"seconds": seconds, "pid": os.getpid()}))
