"""Run a real sidequest process inside a test until every queue its jobs use is empty.

::

    store = open_store(f"sqlite:///{tmp_path / 'jobs.db'}")
    with DEFAULT.override(sidequest.Client(store)):
        MailerWorker.perform_async(42)          # sidequest_options = {"queue": "mailers"}
    assert sidequest.testing.drain(store, MailerWorker)

A :class:`~sidequest.runtime.Launcher` built by hand reads only the queues its ``ProcessConfig`` names
(``default`` unless told otherwise), so a test of a worker on another queue would pass with nothing run.
:func:`drain` reads every queue by default: those the store knows and those the workers use.
"""

from __future__ import annotations

from collections.abc import Sequence

from sidequest.conventions import queue_users
from sidequest.job_function import WorkerLike
from sidequest.middleware import ServerMiddleware
from sidequest.registry import WorkerRegistry
from sidequest.runtime import Launcher, ProcessConfig, QueueSpec
from sidequest.stores.base import Store


def drain(
    store: Store,
    *workers: WorkerLike,
    registry: WorkerRegistry | None = None,
    queues: Sequence[str] | None = None,
    timeout: float = 60.0,
    middleware: Sequence[ServerMiddleware] = (),
) -> bool:
    """Perform jobs from ``store`` with a real process (threads, event loop, acker) until the queues
    are empty and every outcome is recorded; True if that happened within ``timeout`` seconds.

    The process runs ``workers`` (or ``registry``). It reads ``queues`` if given, else every queue:
    those the store holds jobs in when the drain starts, and every queue the workers and their
    periodic entries push to, ``default`` first. Failed jobs are then in ``store.list_set("retry")``
    or ``"dead"``; jobs scheduled for later stay scheduled.
    """
    runnable = registry if registry is not None else WorkerRegistry.of(*workers)
    if queues is None:
        known = {queue.name for queue in store.queues()} | set(queue_users(runnable)) | {"default"}
        names = sorted(known, key=lambda name: (name != "default", name))
    else:
        names = list(queues)
    config = ProcessConfig(queues=tuple(QueueSpec.parse(name) for name in names), fetch_timeout=0.1)
    return Launcher(store, runnable, config, middleware=middleware).drain(timeout)
