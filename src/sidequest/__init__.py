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

from sidequest import iteration, limiter
from sidequest.batch import Batch, BatchCallbacks, BatchStatus
from sidequest.cancellation import cancel
from sidequest.client import Client
from sidequest.defaults import configure, default_client
from sidequest.errors import (
    ConfigurationError,
    JobArgumentError,
    JobTimeoutError,
    OverLimit,
    SidequestError,
    UnknownWorkerError,
    WorkerDefinitionError,
)
from sidequest.iterable import IterableWorker

# sidequest.job, the payload module, is imported above (by client): from here on the attribute
# sidequest.job is the decorator, and ``from sidequest.job import Payload`` still reads the module.
from sidequest.job_function import JobFunction, job
from sidequest.periodic import PeriodicEntry, periodic
from sidequest.transaction import transaction
from sidequest.worker import JobSetter, Worker

__all__ = [
    "Batch",
    "BatchCallbacks",
    "BatchStatus",
    "Client",
    "ConfigurationError",
    "IterableWorker",
    "JobArgumentError",
    "JobFunction",
    "JobSetter",
    "JobTimeoutError",
    "OverLimit",
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
    "job",
    "limiter",
    "periodic",
    "transaction",
]
