"""The ``isolation="process"`` worker of ``bench/cpu_bench.py``: the same work as ``cpu_workers.CpuWorker``
in the process pool (one child per core). A module of its own, as an application would have it: loading
it starts the pool, and only the case that uses it should pay for that.
"""

from __future__ import annotations

from cpu_workers import burn

import sidequest


class IsolatedCpuWorker(sidequest.Worker):
    """The same work in the process pool (``isolation="process"``): one child per core."""

    sidequest_options = {"isolation": "process"}

    def perform(self, n: int, steps: int) -> None:
        burn(steps)
