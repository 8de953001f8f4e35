"""The one default client, used by ``MyWorker.perform_async`` and ``Client.push`` called on the class.

Resolution order, first match wins:

1. the client of the sidequest process running the current job (set by the executor, per thread/task);
2. a testing mode entered with :mod:`sidequest.testing` (``inline()`` / ``fake()``);
3. the client given to :func:`configure`;
4. made lazily from ``SIDEQUEST_URL``, else ``sqlite:///sidequest.db`` in the working directory.

Everything else in sidequest takes its store or client as an argument.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING

from sidequest.batch_context import BatchContext

if TYPE_CHECKING:
    from sidequest.client import Client
    from sidequest.transaction import Binder

DEFAULT_URL = "sqlite:///sidequest.db"
URL_ENV = "SIDEQUEST_URL"


class DefaultClient:
    """Holds the default client; one instance per Python process (:data:`DEFAULT`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._configured: Client | None = None
        self._lazy_url: str | None = None
        self._overrides: list[Client] = []
        self._current: ContextVar[Client | None] = ContextVar("sidequest_current_client", default=None)
        self.binders: tuple[Binder, ...] = ()
        """Transaction binders (:func:`sidequest.transaction.add_binder`), asked in order at each write."""
        self.batches = BatchContext()
        """The open ``Batch.jobs()`` block and the running job's batch (:mod:`sidequest.batch`)."""

    def get(self) -> Client:
        """The client ``perform_async`` should use right now."""
        current = self._current.get()
        if current is not None:
            return current
        with self._lock:
            if self._overrides:
                return self._overrides[-1]
            if self._configured is None:
                from sidequest.client import Client

                self._configured = Client(self._lazy_url or os.environ.get(URL_ENV) or DEFAULT_URL)
            return self._configured

    def configure(self, client: Client | None) -> Client | None:
        """Set (or, with None, forget) the configured client; returns the previous one."""
        with self._lock:
            previous, self._configured = self._configured, client
            self._lazy_url = None
            return previous

    def configure_lazily(self, url: str) -> None:
        """Use the store ``url`` names, opened at the first ``perform_async`` rather than now (a
        framework's startup, where the store may not be reachable yet, e.g. ``manage.py migrate``)."""
        with self._lock:
            self._configured, self._lazy_url = None, url

    @contextmanager
    def override(self, client: Client) -> Iterator[Client]:
        """Use ``client`` as the default inside the block, in every thread (testing modes)."""
        with self._lock:
            self._overrides.append(client)
        try:
            yield client
        finally:
            with self._lock:
                self._overrides.remove(client)

    def add_binder(self, binder: Binder) -> None:
        """Register ``binder`` (once) for every client of this process; see :mod:`sidequest.transaction`."""
        with self._lock:
            if binder not in self.binders:
                self.binders = (*self.binders, binder)

    def remove_binder(self, binder: Binder) -> None:
        """Forget ``binder`` (compared by equality, so a bound method given again is found); nothing
        happens when it was not registered."""
        with self._lock:
            self.binders = tuple(known for known in self.binders if known != binder)

    @contextmanager
    def current(self, client: Client) -> Iterator[None]:
        """Use ``client`` in this thread or task only, inside the block."""
        token = self.use(client)
        try:
            yield
        finally:
            self.reset(token)

    def use(self, client: Client) -> Token[Client | None]:
        """Use ``client`` in this thread or task only, until :meth:`reset` with the returned token (the
        executor, around every job: cheaper than entering :meth:`current`)."""
        return self._current.set(client)

    def reset(self, token: Token[Client | None]) -> None:
        """Undo the :meth:`use` that returned ``token``."""
        self._current.reset(token)


DEFAULT = DefaultClient()
"""The process-wide default. The only module-level state in sidequest, and deliberately so."""


def default_client() -> Client:
    """The client ``MyWorker.perform_async`` uses (see the module docstring for the order)."""
    return DEFAULT.get()


def configure(url: str | None = None, *, client: Client | None = None) -> Client:
    """Set the default store by URL (``sqlite:///jobs.db``, ``redis://host:6379/0``) or client.

    Call it once at startup, before the first ``perform_async``. Returns the client now in use.
    """
    from sidequest.client import Client

    if client is None:
        client = Client(url or os.environ.get(URL_ENV) or DEFAULT_URL)
    DEFAULT.configure(client)
    return client
