"""What the dashboard's store panel shows about a SQLite store: the database file and the size of it
and of its write-ahead log (a WAL that keeps growing means a reader holds a snapshot open, so
checkpoints cannot reset it)."""

from __future__ import annotations

import os

FACT_KEYS = ("file", "database_size", "wal_size")
"""The facts :func:`server_facts` returns; sizes in bytes, 0 for a file not there (no WAL yet)."""


def server_facts(path: str) -> dict[str, str]:
    """The file's path and the sizes of the database and its ``-wal`` file, from the file system."""
    return {"file": path, "database_size": str(_size(path)), "wal_size": str(_size(path + "-wal"))}


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
