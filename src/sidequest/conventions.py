"""``sidequest check``: load the user's workers and hold them to the recipe's naming conventions.

The recipe (seed: "Naming Convention") asks that every worker class lives under a ``workers`` package
(``app/workers/``, namespaced by subpackages) and that its name ends in ``Worker``. A worker defined in
``__main__`` or inside a function breaks something stronger: the name written in its payloads cannot
be imported by any other process, so no ``sidequest run`` can ever perform it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sidequest.batch import BatchCallbacks
from sidequest.job_function import FunctionWorker
from sidequest.loader import load_workers
from sidequest.registry import WorkerRegistry
from sidequest.worker import Worker

SUFFIX = "Worker"
PACKAGE_SEGMENT = "workers"


@dataclass(frozen=True, slots=True)
class WorkerReport:
    """One worker class: its payload name, resolved options, and what breaks the conventions."""

    name: str
    queue: str
    retry: Any
    is_async: bool
    problems: list[str] = field(default_factory=list)
    isolation: str = "thread"
    """Where ``perform`` runs: ``thread`` (or the event loop when async), or ``process`` (the pool)."""
    time_limit: float | None = None


@dataclass(frozen=True, slots=True)
class UnreadQueue:
    """A queue that loaded workers or periodic entries push to, and that the process would not read."""

    queue: str
    users: list[str]
    """The workers (payload names) and periodic entries (``periodic entry NAME``) that use it."""

    def warning(self, read: Sequence[str]) -> str:
        """The sentence ``sidequest run`` logs and ``sidequest check`` prints."""
        flags = " ".join(f"-q {name}" for name in [*read, self.queue])
        return (
            f"queue {self.queue!r} is used by {', '.join(self.users)} but this process reads only "
            f"{', '.join(read)}: its jobs would wait forever. Add -q {self.queue} "
            f"(e.g. sidequest run {flags}), or run another process with -q {self.queue}."
        )


def queue_users(registry: WorkerRegistry) -> dict[str, list[str]]:
    """Every queue the workers of ``registry`` push to (their ``queue`` and ``retry_queue`` options)
    and their periodic entries enqueue to, with who uses it."""
    users: dict[str, list[str]] = {}
    for worker in registry:
        options = worker.get_sidequest_options()
        for key in ("queue", "retry_queue"):
            if isinstance(options.get(key), str):
                users.setdefault(options[key], []).append(worker.sidequest_name())
    for entry in registry.periodic_entries():
        users.setdefault(entry.queue, []).append(f"periodic entry {entry.name!r}")
    return {queue: list(dict.fromkeys(names)) for queue, names in users.items()}


def unread_queues(registry: WorkerRegistry, read: Sequence[str]) -> list[UnreadQueue]:
    """The queues ``registry``'s workers and periodic entries use that a process reading ``read``
    does not, sorted by name: without a warning their jobs pile up while the process idles."""
    wanted = set(read)
    return [
        UnreadQueue(queue, users)
        for queue, users in sorted(queue_users(registry).items())
        if queue not in wanted
    ]


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The modules a check imported and a report for every worker they define, sorted by name.

    ``unread`` lists the queues those workers use that a process reading ``read`` would not: a
    warning, not a problem, since another process may read them.
    """

    modules: list[str]
    workers: list[WorkerReport]
    read: list[str] = field(default_factory=lambda: ["default"])
    unread: list[UnreadQueue] = field(default_factory=list)

    @property
    def problems(self) -> int:
        """How many convention problems were found in all."""
        return sum(len(report.problems) for report in self.workers)

    @property
    def ok(self) -> bool:
        """True when at least one worker was found and none breaks a convention."""
        return bool(self.workers) and self.problems == 0


def check_worker(worker: type[Worker]) -> WorkerReport:
    """Report on one Worker class: its queue and retry options, whether ``perform`` is async, and
    every convention it breaks (each a sentence that says what to do)."""
    options = worker.get_sidequest_options()
    module = worker.__module__
    cls_name = worker.__name__
    problems: list[str] = []
    # A function made a job by @sidequest.job keeps its own (snake_case) name: the suffix is for classes.
    # Batch callback classes are named for what they do when a batch ends (ImportDone), as in Sidekiq Pro.
    exempt = issubclass(worker, (FunctionWorker, BatchCallbacks))
    if not exempt and not cls_name.endswith(SUFFIX):
        problems.append(
            f"class name {cls_name!r} does not end in 'Worker' (the recipe's naming convention): "
            f"rename it, e.g. {cls_name}{SUFFIX}"
        )
    if module == "__main__":
        problems.append(
            "defined in __main__ (a script): other processes cannot import it by the name in its "
            "payloads; move it into a module of your workers package, e.g. app/workers/"
        )
    elif PACKAGE_SEGMENT not in module.split("."):
        problems.append(_outside_workers(module))
    if "<locals>" in worker.__qualname__:
        problems.append(
            "defined inside a function: the name in its payloads cannot be imported by another "
            "process; define it at module level"
        )
    return WorkerReport(
        name=worker.sidequest_name(),
        queue=str(options.get("queue", "default")),
        retry=options.get("retry", True),
        is_async=worker.is_async(),
        problems=problems,
        isolation=str(options.get("isolation", "thread")),
        time_limit=options.get("time_limit"),
    )


def _outside_workers(module: str) -> str:
    found = sys.modules.get(module)
    filename = getattr(found, "__file__", None)
    if filename and PACKAGE_SEGMENT in Path(filename).parts:
        return (
            f"module {module!r} was imported from a file path, so the name in its payloads lacks its "
            f"package: load it by module name instead (-r {_package_path(Path(filename))})"
        )
    return (
        f"module {module!r} is not inside a 'workers' package (the recipe keeps every worker under "
        f"app/workers/): move it, e.g. to app/workers/{module.rsplit('.', 1)[-1]}.py"
    )


def _package_path(filename: Path) -> str:
    """The dotted name Python gives a file inside packages (the directories holding ``__init__.py``)."""
    parts = [] if filename.stem == "__init__" else [filename.stem]
    directory = filename.parent
    while (directory / "__init__.py").is_file() and directory != directory.parent:
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(parts)


def check_workers(workers: Iterable[type[Worker]]) -> list[WorkerReport]:
    """Reports for several Worker classes, sorted by payload name."""
    return sorted((check_worker(worker) for worker in workers), key=lambda report: report.name)


def load_and_check(
    requires: Sequence[str], cwd: Path | None = None, queues: Sequence[str] = ("default",)
) -> CheckResult:
    """Import the user's worker modules as ``sidequest run`` does (``-r`` modules, else the
    conventional ``app/workers`` or ``workers`` package of ``cwd``) and check every Worker they
    define, including those of modules they import in turn.

    Workers imported before the call (sidequest's own, or a caller's) are left out, except those of
    ``__main__``. ``queues`` are the queue names the process would read (``-q``; by default
    ``default``), to warn about queues no one would read. Raises
    :class:`sidequest.errors.ConfigurationError` when a module cannot be imported or there is nothing
    to import.
    """
    modules, registry = load_workers(requires, cwd)
    read = list(queues)
    return CheckResult(
        modules=modules,
        workers=check_workers(registry),
        read=read,
        unread=unread_queues(registry, read),
    )
