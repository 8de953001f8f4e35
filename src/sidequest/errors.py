"""Every error sidequest raises on purpose. Each message names the problem and what to do about it."""

from __future__ import annotations


class SidequestError(Exception):
    """Base class of every error raised by sidequest."""


class ConfigurationError(SidequestError, ValueError):
    """A setting is missing or invalid (a store URL, an option, a CLI flag)."""


class WorkerDefinitionError(SidequestError, TypeError):
    """A Worker subclass breaks the rules: no ``perform``, an unknown option, a bad option value."""


class JobArgumentError(SidequestError, TypeError):
    """A job argument is not JSON-native. Pass ids and plain values, never objects."""


class UnknownWorkerError(SidequestError, LookupError):
    """A job names a class that is not a Worker loaded by this process."""


class MalformedJobError(SidequestError, ValueError):
    """A payload in the store is not a JSON object with the fields a job needs."""


class StoreError(SidequestError):
    """The store could not be reached or refused an operation."""


class PermanentStoreError(StoreError):
    """The store answered, and the answer will not change by retrying: a wrong password, a database
    index out of range, a file that is not a database. Outages are retried; these are configuration
    errors and end a ``sidequest run`` process with the error (an admin command with one line)."""


class StoreDataError(StoreError):
    """One key or row holds something the store cannot use (a Redis key of the wrong type, set by
    another application). The message names the key and what to do. The operation changed nothing,
    and it concerns only that key: other queues and jobs go on, and the process keeps running."""


class OrphanedJobError(SidequestError):
    """Recorded on a job that kept crashing its process (a poison pill) and was moved to the dead set."""


class JobTimeoutError(SidequestError):
    """A job ran past its ``time_limit`` and was stopped: raised inside its thread, its task cancelled,
    or its child process killed. It goes through the normal retry policy like any failure."""


class ChildProcessDiedError(SidequestError):
    """A job with ``isolation="process"`` lost its child process (a segfault, ``os._exit``, an OOM kill).
    Only that job fails; the pool starts a new child."""


class RemoteJobError(SidequestError):
    """A job performed in a child process raised.

    ``str(exc)`` is the child's message. ``error_class`` is the child's exception class as
    :func:`sidequest.retry.error_class` writes it (``ValueError``, ``app.errors.PaymentDeclined``),
    ``backtrace`` its frames as :func:`sidequest.retry.backtrace_lines` writes them (most recent first),
    ``formatted`` the child's full ``traceback.format_exception`` text, for logs, and ``pid`` the child.
    """

    def __init__(
        self, error_class: str, message: str, backtrace: list[str], formatted: str, pid: int
    ) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.message = message
        self.backtrace = backtrace
        self.formatted = formatted
        self.pid = pid

    def __reduce__(self) -> tuple[type[RemoteJobError], tuple[str, str, list[str], str, int]]:
        return (type(self), (self.error_class, self.message, self.backtrace, self.formatted, self.pid))


class OverLimit(SidequestError):
    """A rate limiter said no: ``within_limit`` waited its ``wait_timeout`` and the limit still held.

    Raised out of ``perform``, it does not count as a failure: the job is rescheduled with the limiter's
    backoff and its payload's ``overrated`` counter goes up; after 20 such reschedules it goes through
    the normal retry policy. ``limiter`` is the :class:`sidequest.limiter.Limiter` that refused (None
    when the error was made elsewhere); ``name`` and ``kind`` name it.
    """

    def __init__(self, message: str, limiter: object = None, name: str = "", kind: str = "") -> None:
        super().__init__(message)
        self.limiter = limiter
        self.name = name
        self.kind = kind

    def __reduce__(self) -> tuple[type[OverLimit], tuple[str, None, str, str]]:
        return (type(self), (str(self), None, self.name, self.kind))
