"""A server middleware for ``sidequest run --middleware drain_clock:CLOCK``: the drain's clock inside a
real process, from the first job's start to the return of the ``$BENCH_JOBS``-th job, written as JSON
to ``$BENCH_CLOCK_FILE`` (by rename, so a reader never sees half of it). ``bench/log_bench.py`` uses it.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from contextlib import AbstractContextManager
from typing import Any


class DrainClock:
    """Counts jobs whose perform returned; one object for every job (it holds no per-job state)."""

    def __init__(self, target: int, path: str) -> None:
        self.target = target
        self.path = path
        self.started = 0.0
        self._starts = itertools.count(1)
        self._ends = itertools.count(1)

    def __call__(self, worker: Any, payload: Any) -> AbstractContextManager[None]:
        return self

    def __enter__(self) -> None:
        if next(self._starts) == 1:
            self.started = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        if next(self._ends) == self.target:
            seconds = time.perf_counter() - self.started
            with open(self.path + ".tmp", "w") as out:
                json.dump({"jobs": self.target, "seconds": seconds}, out)
            os.replace(self.path + ".tmp", self.path)


CLOCK = DrainClock(int(os.environ.get("BENCH_JOBS", "0")), os.environ.get("BENCH_CLOCK_FILE", os.devnull))
