"""A server middleware for ``sidequest run --middleware job_span:SPAN``: when each process performed its
first job and finished its last, for a drain spread over several processes (``bench/cpu_bench.py``).

Each process keeps one small file, ``$BENCH_SPAN_DIR/<pid>``, holding ``first-start last-end count``
(wall-clock seconds, so the processes' files compare), rewritten in place as each job ends: one
``pwrite`` per job, a few microseconds beside a job of milliseconds. The drain's clock is the earliest
first start to the latest last end over the files: process start-up and shutdown are outside it, as in
``bench/drain_clock.py``.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

RECORD = 64
"""Bytes of a span file: the three numbers, padded, so each rewrite replaces the whole record."""


class JobSpan:
    """One object for every job of the process (``__enter__``/``__exit__`` hold no per-job state)."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.first = 0.0
        self.count = 0
        self._fd = -1
        self._pid = -1
        self._lock = threading.Lock()

    def __call__(self, worker: Any, payload: Any) -> AbstractContextManager[None]:
        return self

    def __enter__(self) -> None:
        if self._pid != os.getpid():  # the first job in this process (a -p child is a process of its own)
            with self._lock:
                if self._pid != os.getpid():
                    self.first, self.count = time.time(), 0
                    self._fd = os.open(Path(self.folder) / str(os.getpid()), os.O_WRONLY | os.O_CREAT, 0o644)
                    self._pid = os.getpid()

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.count += 1
            record = f"{self.first:.6f} {time.time():.6f} {self.count}".ljust(RECORD).encode()
            os.pwrite(self._fd, record, 0)


def read_spans(folder: Path) -> tuple[float, float, int]:
    """(earliest first start, latest last end, jobs) over the span files in ``folder``."""
    spans = [path.read_text().split() for path in folder.iterdir()]
    if not spans:
        return 0.0, 0.0, 0
    return (
        min(float(first) for first, _, _ in spans),
        max(float(last) for _, last, _ in spans),
        sum(int(count) for _, _, count in spans),
    )


SPAN = JobSpan(os.environ.get("BENCH_SPAN_DIR", os.devnull))
