"""The exception a job raised in a child process, as the parent sees it.

The child's exception object stays in the child (sidequest never unpickles): the parent gets its class
name, message and traceback as text and raises :class:`RemoteJobError`, which carries them so the retry
policy can record the job exactly as if it had raised in a thread. It lives in :mod:`sidequest.errors`,
below the retry policy that reads it.
"""

from __future__ import annotations

from sidequest.errors import RemoteJobError

__all__ = ["RemoteJobError"]
