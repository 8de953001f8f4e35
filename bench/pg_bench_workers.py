"""Workers of the PostgreSQL benchmark: a no-op with one int argument, and one that records how long
its job waited between enqueue and start (for the idle latency phase)."""

from __future__ import annotations

import os
import time

import sidequest


class PgNoopWorker(sidequest.Worker):
    """Does nothing (one int argument, as Sidekiq's bin/sidekiqload)."""

    def perform(self, n: int) -> None:
        pass


class PgLatencyWorker(sidequest.Worker):
    """Appends ``now - sent`` (seconds) to the file named by ``PG_BENCH_LATENCY``."""

    def perform(self, sent: float) -> None:
        waited = time.time() - sent
        fd = os.open(os.environ["PG_BENCH_LATENCY"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, f"{waited:.6f}\n".encode())
        finally:
            os.close(fd)
