"""Processes take turns at the database's write lock in the kernel, not in SQLite's busy handler.

SQLite has one write lock per file. A process that finds it taken sleeps in the busy handler (1, 2, 5,
10 ... 100 ms between tries) even when the lock frees a microsecond later, so two processes writing
often (``sidequest run -p 2``: each claims and acks several hundred times a second) keep missing each
other's releases: each worker process idled a quarter of the time on a CPU-bound drain, and ``-p 2``
gave 1.4x one process where the machine gives 1.75x.

So every write transaction first takes an exclusive ``flock`` on ``<database>-writer.lock``: a process
that waits for it sleeps in the kernel and is woken the moment the holder lets go, and once it holds the
turn, ``BEGIN IMMEDIATE`` finds SQLite's lock free (unless a program other than sidequest is writing;
then the busy handler waits for that one, as before). The threads of one process take turns before this
(the store's ``_write_turn``), so one open file per process is enough.

``flock`` locks belong to an open file, which a forked child shares with its parent: a child that used
its parent's would pass while the parent holds the turn. Each process opens its own, on first use.

Where the lock file cannot be created (a read-only directory, a platform without ``fcntl``), writes go
straight to ``BEGIN IMMEDIATE`` and the busy handler, as they would without this module: slower with
several processes, never wrong. A process stopped (``SIGSTOP``) in the middle of a write holds the
other processes' writes until it continues or dies, as it would hold SQLite's own lock.
"""

from __future__ import annotations

import logging
import os
import threading

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Linux or macOS
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("sidequest")

SUFFIX = "-writer.lock"
"""What the lock file's name adds to the database's."""


class WriteTurn:
    """The turn of this process at one database file's write lock (see the module docstring).

    Not for threads to share at once: the caller holds its own lock around :meth:`take` and
    :meth:`give_back`."""

    def __init__(self, database: str) -> None:
        self.path = database + SUFFIX
        self._fd: int | None = None
        self._pid = -1
        self._lock = threading.Lock()
        self._failed = False

    def take(self) -> bool:
        """Wait for the turn (in the kernel); False when there is no lock file to take turns on."""
        fd = self._file()
        if fd is None:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:  # ENOLCK on a filesystem without locks: go on without turns
            self._give_up(exc)
            return False
        return True

    def give_back(self) -> None:
        """Let the next process write (after :meth:`take` returned True)."""
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        """Close this process's lock file (the turn, if held, goes with it)."""
        with self._lock:
            fd, self._fd = self._fd, None
            if fd is not None:
                os.close(fd)  # in a forked child, only the child's copy: the parent keeps its lock

    def _file(self) -> int | None:
        if self._pid == os.getpid():
            return self._fd
        with self._lock:
            pid = os.getpid()
            if self._pid == pid:
                return self._fd
            # A fork: the inherited file is the parent's turn, not ours. Closing our copy leaves the
            # parent's lock alone (it lives until the parent's own file closes).
            inherited, self._fd = self._fd, None
            if inherited is not None:
                os.close(inherited)
            self._fd = self._open()
            self._pid = pid
            return self._fd

    def _open(self) -> int | None:
        if fcntl is None or self._failed:
            return None
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        except OSError as exc:
            self._give_up(exc)
            return None

    def _give_up(self, exc: OSError) -> None:
        self._failed = True
        self._fd = None
        log.warning(
            "cannot lock %s (%s): processes sharing this SQLite store take turns at its write lock "
            "through SQLite's busy handler instead, which is slower when several write at once",
            self.path,
            exc,
        )
