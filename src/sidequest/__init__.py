"""sidequest: background jobs for Python, done the way Sidekiq does them for Ruby.

::

    import sidequest

    class HardWorker(sidequest.Worker):
        def perform(self, name: str, count: int) -> None:
            ...

    HardWorker.perform_async("bob", 5)
"""

from __future__ import annotations

__version__ = "0.1.0"

from sidequest import iteration
from sidequest.cancellation import cancel
from sidequest.client import Client
from sidequest.defaults import configure, default_client
from sidequest.errors import (
    ConfigurationError,
    JobArgumentError,
    JobTimeoutError,
    SidequestError,
    UnknownWorkerError,
    WorkerDefinitionError,
)
from sidequest.iterable import IterableWorker
from sidequest.periodic import PeriodicEntry, periodic
from sidequest.transaction import transaction
from sidequest.worker import JobSetter, Worker

__all__ = [
    "Client",
    "ConfigurationError",
    "IterableWorker",
    "JobArgumentError",
    "JobSetter",
    "JobTimeoutError",
    "PeriodicEntry",
    "SidequestError",
    "UnknownWorkerError",
    "Worker",
    "WorkerDefinitionError",
    "__version__",
    "cancel",
    "configure",
    "default_client",
    "iteration",
    "periodic",
    "transaction",
]
