"""CPU-bound workers for ``bench/cpu_bench.py``: each job spends about ``ms`` milliseconds in pure Python."""

from __future__ import annotations

import time

import sidequest


def burn(ms: float) -> None:
    end = time.process_time() + ms / 1000
    while time.process_time() < end:
        pass


class CpuWorker(sidequest.Worker):
    """Pure Python for ``ms`` milliseconds, on a thread of the process (holding the GIL)."""

    def perform(self, n: int, ms: float) -> None:
        burn(ms)


class IsolatedCpuWorker(sidequest.Worker):
    """The same work in the process pool (``isolation="process"``): one child per core."""

    sidequest_options = {"isolation": "process"}

    def perform(self, n: int, ms: float) -> None:
        burn(ms)
