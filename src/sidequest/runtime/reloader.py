"""``sidequest run --reload``: restart the process when a worker module's file changes (development).

The reloader runs no jobs. It starts one child (a full ``sidequest run`` without ``--reload``), watches
the directories the worker modules were found in with `watchfiles` (a maintained Rust watcher: no
polling loop here), and on a change to a ``.py`` file stops the child gracefully (its running jobs
finish within ``-t`` or go back to their queues) and starts a new one with the new code. A child that
exits on its own (a syntax error in the new code) is started again at the next change, not before, so a
broken edit does not spin. TERM/INT stop the child and the reloader.

As in the supervisor, the signal handler only records the signal: it runs on the main thread between
two bytecodes, where taking a lock the main thread holds would deadlock.
"""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from sidequest.runtime.signals import install

log = logging.getLogger("sidequest")


class _StopFlag:
    """What ``watchfiles.watch`` polls to stop; set from a signal handler, so a bare flag, no lock."""

    def __init__(self) -> None:
        self.set_by: str | None = None

    def is_set(self) -> bool:
        return self.set_by is not None


def watched_paths(modules: Sequence[str], cwd: Path) -> list[Path]:
    """Directories holding the worker modules ``modules`` (dotted names or .py paths), else ``cwd``.

    Finding a dotted module's file imports its parent packages (never the module itself).
    """
    found: list[Path] = []
    for name in modules:
        if name.endswith(".py") or "/" in name:
            path = (cwd / name).resolve()
            found.append(path if path.is_dir() else path.parent)
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin).resolve()
        found.append(origin.parent)
    roots = sorted({path for path in found if path.is_dir()}) or [cwd.resolve()]
    # A directory inside another watched one adds nothing.
    return [path for path in roots if not any(other in path.parents for other in roots)]


class Reloader:
    """Runs ``command`` and restarts it whenever a ``.py`` file under ``paths`` changes."""

    def __init__(self, command: Sequence[str], paths: Sequence[Path], timeout: float) -> None:
        self.command = list(command)
        self.paths = list(paths)
        self.timeout = timeout
        self._stop = _StopFlag()

    def signal(self, name: str) -> None:
        """Called from the signal handler: TERM/INT end the reloader; others are ignored here."""
        if name in ("TERM", "INT"):
            self._stop.set_by = name

    def run(self) -> int:
        """Reload until TERM/INT; returns 0 once the child has stopped."""
        from watchfiles import PythonFilter, watch

        restore = install(self.signal, ("TERM", "INT"))
        cwd = Path.cwd().resolve()
        shown = ", ".join(str(path.relative_to(cwd) if cwd in path.parents else path) for path in self.paths)
        log.info("reload: watching %s for changes to .py files", shown or ".")
        child = self._spawn()
        try:
            for changes in watch(
                *self.paths,
                watch_filter=PythonFilter(),
                stop_event=self._stop,
                rust_timeout=500,
                yield_on_timeout=True,
                raise_interrupt=False,
            ):
                if self._stop.is_set():
                    break
                if not changes:
                    continue
                names = sorted({Path(path).name for _change, path in changes})
                log.info("reload: %s changed; restarting", ", ".join(names))
                self._stop_child(child)
                child = self._spawn()
        finally:
            self._stop_child(child)
            restore()
        return 0

    def _spawn(self) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(self.command)
        log.info("reload: started process %d", child.pid)
        return child

    def _stop_child(self, child: subprocess.Popen[bytes]) -> None:
        if child.poll() is not None:
            return
        child.terminate()
        try:
            child.wait(self.timeout + 5.0)
        except subprocess.TimeoutExpired:
            log.error("reload: process %d did not stop in time; killing it", child.pid)
            child.kill()
            child.wait()


def child_command(argv: Sequence[str], prefix: Sequence[str] = ()) -> list[str]:
    """The command a reloader runs: this ``sidequest run`` without ``--reload`` (``prefix`` runs the
    ``sidequest`` group again; by default ``python -m sidequest``)."""
    start = list(prefix) or [sys.executable, "-m", "sidequest"]
    return [*start, *(arg for arg in argv if arg != "--reload")]
