"""Real servers for the test suite, started from the binaries on the machine on free ports.

Nothing here is mocked: a test that needs Redis gets a real ``redis-server`` it can kill and restart.
Under ``CI=true`` a missing binary fails the test run instead of skipping it.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest


def in_ci() -> bool:
    """True when the suite runs in CI, where nothing may be skipped."""
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_binary(name: str, package: str) -> str:
    """The path of ``name``; skips the test locally, fails it in CI, when it is missing."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} not found: install the Debian package {package} (.ci/run does)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """TERM a server the suite started, and kill it when it has not exited 10 s later."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    """A TCP port nobody holds right now, for a server a test starts (see :func:`free_port_run`)."""
    return free_port_run(1)


def free_port_run(count: int) -> int:
    """The first of ``count`` consecutive TCP ports nobody holds now, below the kernel's ephemeral
    range (32768 and up on Linux): a program told to listen on PORT+i binds them seconds later, and a
    port in the ephemeral range may meanwhile become the local end of any outgoing connection."""
    rng = random.Random()
    while True:
        first = rng.randrange(20000, 32768 - count)
        held: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    """Block until something accepts connections on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


class RedisServer:
    """A ``redis-server`` of our own, with AOF on so a restart keeps the data. ``extra`` adds
    command-line settings (``["--requirepass", "s3cret"]``)."""

    def __init__(self, directory: Path, binary: str, extra: Sequence[str] = ()) -> None:
        self.directory = directory
        self.binary = binary
        self.port = free_port()
        self.extra = list(extra)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart) the server on the same port and data directory."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.directory),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--daemonize",
                "no",
                "--logfile",
                str(self.directory / "redis.log"),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def kill(self) -> None:
        """SIGKILL the server (what a crash looks like)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        """Stop the server cleanly."""
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def restart(self, down_for: float = 0.0) -> None:
        """Stop, stay down ``down_for`` seconds, start again with the same data."""
        self.stop()
        time.sleep(down_for)
        self.start()
