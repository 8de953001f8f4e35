"""Per-worker options, the equivalent of ``sidekiq_options``, and their validation.

Options travel in the job payload exactly as Sidekiq's do (``queue``, ``retry``, ``dead``, ``retry_queue``,
``backtrace``, ``tags``), so Ruby tools read them. ``time_limit``, ``isolation``, ``unique_for`` and
``unique_until`` are sidequest's own and are kept by Sidekiq untouched. ``expires_in`` (Sidekiq Pro's) is
written as ``expires_at`` by the client; ``max_iteration_runtime`` is read by iterable jobs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from sidequest.errors import WorkerDefinitionError

DEFAULT_OPTIONS: dict[str, Any] = {"retry": True, "queue": "default"}

QUEUE_NAME = re.compile(r"\A[A-Za-z0-9_:.\-]+\Z")
"""Queue names Sidekiq's Web UI can show: letters, digits, ``_ : . -``."""


def _queue(value: Any) -> str | None:
    if isinstance(value, str) and QUEUE_NAME.match(value):
        return None
    return "must be a non-empty str of letters, digits, '_', ':', '.' or '-' (e.g. 'critical')"


def _retry(value: Any) -> str | None:
    if isinstance(value, bool) or (isinstance(value, int) and value >= 0):
        return None
    return "must be True (25 retries), False (drop on failure), or an int >= 0 (0 = straight to the dead set)"


def _bool(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be True or False"


def _backtrace(value: Any) -> str | None:
    if isinstance(value, bool) or (isinstance(value, int) and value > 0):
        return None
    return "must be True (whole backtrace), False, or a number of lines > 0"


def _tags(value: Any) -> str | None:
    if isinstance(value, list) and all(isinstance(tag, str) for tag in value):
        return None
    return "must be a list of str"


def _positive_number(value: Any) -> str | None:
    if value is None or (
        isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < math.inf
    ):
        return None
    return "must be a finite number of seconds > 0, or None"


def _isolation(value: Any) -> str | None:
    if value in ISOLATIONS:
        return None
    return "must be 'thread' (the default: a thread of the process) or 'process' (a child process)"


def _unique_until(value: Any) -> str | None:
    return None if value in ("success", "start") else "must be 'success' (default) or 'start'"


ISOLATIONS = ("thread", "process")
"""Where a job's ``perform`` runs: a thread of the process, or a pre-started child process."""

VALIDATORS = {
    "queue": _queue,
    "retry": _retry,
    "dead": _bool,
    "retry_queue": _queue,
    "backtrace": _backtrace,
    "tags": _tags,
    "time_limit": _positive_number,
    "unique_for": _positive_number,
    "unique_until": _unique_until,
    "isolation": _isolation,
    "expires_in": _positive_number,
    "max_iteration_runtime": _positive_number,
}
"""Every option a worker or a call may set, with its check."""


def validate_options(options: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Return a copy of ``options`` or raise :class:`WorkerDefinitionError` naming the bad key or value."""
    checked: dict[str, Any] = {}
    for key, value in options.items():
        validator = VALIDATORS.get(key)
        if validator is None:
            known = ", ".join(sorted(VALIDATORS))
            raise WorkerDefinitionError(f"{where}: unknown option {key!r}; known options are {known}.")
        problem = validator(value)
        if problem:
            raise WorkerDefinitionError(f"{where}: option {key}={value!r} {problem}.")
        checked[key] = value
    return checked
