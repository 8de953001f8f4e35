"""Which Worker classes a process may run, looked up by the name in a payload's ``class`` field.

A payload's class name runs code only if it names a Worker subclass this process has imported (from
its ``-r`` modules); sidequest never imports a module because a payload named it.
"""

from __future__ import annotations

from collections.abc import Iterator

from sidequest.errors import ConfigurationError, UnknownWorkerError
from sidequest.job_function import WorkerLike, as_worker
from sidequest.periodic import PeriodicEntry, entries_of
from sidequest.worker import Worker


class WorkerRegistry:
    """An immutable map from ``module.ClassName`` to Worker class."""

    def __init__(self, workers: dict[str, type[Worker]]) -> None:
        self._workers = dict(workers)

    @classmethod
    def from_loaded(cls) -> WorkerRegistry:
        """Every concrete Worker subclass imported so far in this Python process."""
        found: dict[str, type[Worker]] = {}
        pending = list(Worker.__subclasses__())
        while pending:
            worker = pending.pop()
            pending.extend(worker.__subclasses__())
            if not worker.__sidequest_abstract__:
                found[worker.sidequest_name()] = worker
        return cls(found)

    @classmethod
    def of(cls, *workers: WorkerLike) -> WorkerRegistry:
        """A registry of exactly these classes (or :func:`sidequest.job` functions)."""
        classes = [as_worker(worker) for worker in workers]
        return cls({worker.sidequest_name(): worker for worker in classes})

    def get(self, name: str) -> type[Worker]:
        """The Worker class a payload names; :class:`UnknownWorkerError` if this process has none."""
        worker = self._workers.get(name)
        if worker is None:
            raise UnknownWorkerError(
                f"unknown worker class {name!r}: no Worker of that name is loaded in this process. "
                f"Load its module with 'sidequest run -r MODULE', or check the class name in the payload."
            )
        return worker

    def names(self) -> list[str]:
        """The registered class names, sorted."""
        return sorted(self._workers)

    def periodic_entries(self) -> list[PeriodicEntry]:
        """The periodic entries registered on these workers (:func:`sidequest.periodic`), by name.

        Raises :class:`ConfigurationError` when two entries share a name: their ticks would share
        one unique key in the store, and one of them would never run.
        """
        found: dict[str, PeriodicEntry] = {}
        for worker in self:
            for entry in entries_of(worker):
                other = found.setdefault(entry.name, entry)
                if other is not entry:
                    raise ConfigurationError(
                        f"two periodic entries are named {entry.name!r} ({other.worker_name} and "
                        f"{entry.worker_name}); give one of them another name=..."
                    )
        return [found[name] for name in sorted(found)]

    def __contains__(self, name: object) -> bool:
        return name in self._workers

    def __iter__(self) -> Iterator[type[Worker]]:
        return iter(self._workers[name] for name in self.names())

    def __len__(self) -> int:
        return len(self._workers)
