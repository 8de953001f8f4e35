"""The exception a job raised in a child process, as the parent sees it.

The child's exception object stays in the child (sidequest never unpickles): the parent gets its class
name, message and traceback as text and raises :class:`RemoteJobError`, which carries them so the retry
policy can record the job exactly as if it had raised in a thread.
"""

from __future__ import annotations

from sidequest.errors import SidequestError


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
