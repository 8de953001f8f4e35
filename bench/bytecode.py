"""Compile sidequest's modules to bytecode before a benchmark starts its processes.

``pip install`` compiles a package's modules when it installs them, and so it did for every peer in its
virtualenv; a checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (as on some CI machines) never writes
them, so every ``sidequest run`` would compile its modules from source again, a start-up cost no user
pays. Compiling once here makes the two sides start the same way.
"""

from __future__ import annotations

import compileall
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent / "src" / "sidequest"


def compile_sidequest() -> None:
    """Write the ``__pycache__`` of every sidequest module (quietly; nothing if up to date)."""
    compileall.compile_dir(str(SOURCE), quiet=1)
