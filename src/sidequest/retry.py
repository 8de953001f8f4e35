"""The retry policy: what happens to a job whose ``perform`` raised. Pure functions, no I/O.

Reproduces Sidekiq's ``job_retry.rb`` (see the project's reference notes):

* ``retry: True`` means 25 retries (26 runs), ``retry: N`` N retries, ``retry: 0`` straight to the dead set,
  ``retry: False`` drops the job.
* The first failure sets ``failed_at`` and ``retry_count = 0``; later ones set ``retried_at`` and add 1.
* A job is retried while ``retry_count < max``; the delay is ``count**4 + 15`` seconds plus a jitter of
  ``rand(10) * (count + 1)``, unless the worker's ``retry_in`` hook says otherwise.
* When retries run out the job goes to the dead set unless ``dead: False``.
"""

from __future__ import annotations

import base64
import json
import math
import random
import traceback
import zlib
from dataclasses import dataclass
from typing import Any, Literal

from sidequest.errors import RemoteJobError
from sidequest.job import Payload

DEFAULT_MAX_RETRIES = 25
ERROR_MESSAGE_LIMIT = 10_000
DEAD_MAX_JOBS = 10_000
DEAD_TIMEOUT_SECONDS = 180 * 24 * 60 * 60
MAX_RETRY_DELAY = 365 * 24 * 60 * 60
"""The longest wait before a retry: a hook (or a retry count from elsewhere) asking for more is clamped,
so a job's ``at`` is always a finite time a store and Sidekiq can sort by."""

RetryHookResult = int | float | Literal["kill", "discard"] | None


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a failed job: ``retry`` at ``at``, ``kill`` (dead set) or ``discard`` (drop)."""

    action: Literal["retry", "kill", "discard"]
    payload: Payload
    at: float | None = None
    note: str | None = None
    """Why the worker's ``retry_in`` answer was not used as given (clamped, or not a number), for the log."""


def max_retries(retry_option: Any, default_max: int = DEFAULT_MAX_RETRIES) -> int | None:
    """The number of retries a payload's ``retry`` value allows; None when retries are off (False).

    ``0`` is a real number here, as in Ruby: the job goes straight to the dead set.
    """
    if retry_option is False or retry_option is None:
        return None
    if retry_option is True:
        return default_max
    if isinstance(retry_option, int):
        return max(retry_option, 0)
    return default_max


def default_delay(count: int, rng: random.Random | None = None) -> float:
    """Sidekiq's backoff: ``count**4 + 15`` seconds plus ``rand(10) * (count + 1)`` jitter."""
    rng = rng or random.Random()
    # Capped before float(): a retry_count from another client can make count**4 overflow a float.
    count = min(max(count, 0), 1000)
    return float(min(count**4 + 15 + rng.randrange(10) * (count + 1), MAX_RETRY_DELAY))


def hook_delay(hook_result: object) -> tuple[float | None, str | None]:
    """The delay a ``retry_in`` answer asks for, made finite: ``(seconds, note)``.

    ``seconds`` is None for the default backoff: None, 0, or an answer that is not a usable number (NaN,
    a negative number, a bool, a string other than "kill"/"discard"). Infinity and huge numbers are
    clamped to :data:`MAX_RETRY_DELAY`. ``note`` says what was wrong with the answer, or is None.
    """
    if hook_result is None or (isinstance(hook_result, str) and hook_result in ("kill", "discard")):
        return None, None
    if isinstance(hook_result, bool) or not isinstance(hook_result, (int, float)):
        return None, f"retry_in returned {_short(hook_result)}, not seconds; using the default backoff"
    if isinstance(hook_result, float) and math.isnan(hook_result):
        return None, "retry_in returned NaN; using the default backoff"
    if hook_result < 0:
        return None, f"retry_in returned a negative delay ({_short(hook_result)}); using the default backoff"
    if hook_result == 0:
        return None, None
    if hook_result > MAX_RETRY_DELAY:
        return float(MAX_RETRY_DELAY), (
            f"retry_in returned {_short(hook_result)} s; clamped to {MAX_RETRY_DELAY} s (a year)"
        )
    return float(hook_result), None


def _short(value: object) -> str:
    try:
        text = repr(value)
    except BaseException:  # a hostile __repr__ must not turn a failure into a crash
        text = f"<unprintable {type(value).__name__}>"
    return text if len(text) <= 40 else text[:20] + "..." + text[-10:]


def error_message(exc: BaseException) -> str:
    """The message Sidekiq stores: ``str(exc)`` cut at 10,000 characters, never raising.

    The text may still hold what JSON cannot carry (a lone surrogate from a file name); the acker
    escapes it when the store refuses the payload.
    """
    try:
        text = str(exc)
        if not isinstance(text, str):  # a C extension can return anything
            raise TypeError("__str__ returned a non-string")
        return text[:ERROR_MESSAGE_LIMIT]
    except BaseException:  # any failure of a user's __str__ is the job's, not ours
        return "!!! ERROR MESSAGE THREW AN ERROR !!!"


def error_class(exc: BaseException) -> str:
    """The exception's class name, qualified unless it is a builtin; never raising. A job that raised in
    a child process (``isolation="process"``) is recorded with the child's exception class."""
    if isinstance(exc, RemoteJobError):
        return exc.error_class
    try:
        cls = type(exc)
        module, name = cls.__module__, cls.__qualname__
        if not isinstance(module, str) or not isinstance(name, str):
            raise TypeError("class name is not a string")
        return name if module == "builtins" else f"{module}.{name}"
    except BaseException:  # a metaclass property that raises fails the job, not the thread
        return "UnknownError"


def encode_backtrace(lines: list[str]) -> str:
    """Sidekiq's ``error_backtrace``: Base64 of zlib-deflated JSON array of strings (strict Base64)."""
    return base64.b64encode(zlib.compress(json.dumps(lines).encode())).decode()


def decode_backtrace(value: Any) -> list[str]:
    """Read an ``error_backtrace`` in any form Sidekiq writes (MIME or strict Base64, or a raw list)."""
    if isinstance(value, list):
        return [str(line) for line in value]
    if not isinstance(value, str):
        return []
    try:
        lines = json.loads(zlib.decompress(base64.b64decode(value.replace("\n", ""))))
    except Exception:
        return []
    return [str(line) for line in lines] if isinstance(lines, list) else []


def backtrace_lines(exc: BaseException, limit: int | None) -> list[str]:
    """The exception's traceback as ``file:line:in `func'`` lines, most recent call first, like Ruby (the
    child's frames for a job that raised in a child process)."""
    if isinstance(exc, RemoteJobError):
        lines = list(exc.backtrace)
        return lines[:limit] if limit else lines
    try:
        frames = traceback.extract_tb(exc.__traceback__)
    except BaseException:  # a hostile traceback must not lose the failure itself
        return []
    lines = [f"{frame.filename}:{frame.lineno}:in `{frame.name}'" for frame in reversed(frames)]
    return lines[:limit] if limit else lines


def record_failure(payload: Payload, exc: BaseException, at: float) -> Payload:
    """Return a copy of ``payload`` with Sidekiq's failure fields set for one more failure at ``at``."""
    failed = dict(payload)
    failed["queue"] = payload.get("retry_queue") or payload.get("queue", "default")
    failed["error_message"] = error_message(exc)
    failed["error_class"] = error_class(exc)
    if isinstance(payload.get("retry_count"), int):
        failed["retry_count"] = payload["retry_count"] + 1
        failed["retried_at"] = at
    else:
        failed["retry_count"] = 0
        failed["failed_at"] = at
    backtrace = payload.get("backtrace")
    if backtrace:
        limit = backtrace if isinstance(backtrace, int) and not isinstance(backtrace, bool) else None
        failed["error_backtrace"] = encode_backtrace(backtrace_lines(exc, limit))
    return failed


def decide(
    payload: Payload,
    exc: BaseException,
    at: float,
    hook_result: object = None,
    rng: random.Random | None = None,
    default_max: int = DEFAULT_MAX_RETRIES,
) -> Decision:
    """Decide the fate of a job that raised ``exc`` at ``at``.

    ``hook_result`` is what the worker's ``retry_in(count, exc)`` returned: seconds to wait, ``"kill"``,
    ``"discard"``, or None for the default backoff. A job with ``retry: False`` is discarded.
    """
    limit = max_retries(payload.get("retry", True), default_max)
    if limit is None:
        return Decision("discard", payload)
    failed = record_failure(payload, exc, at)
    verdict = hook_result if isinstance(hook_result, str) else None  # never == on a user's object
    if verdict == "discard":
        return Decision("discard", failed)
    count = failed["retry_count"]
    if verdict == "kill" or count >= limit:
        return Decision("discard", failed) if payload.get("dead") is False else Decision("kill", failed)
    seconds, note = hook_delay(hook_result)
    if seconds is not None:
        rng = rng or random.Random()
        delay = seconds + rng.randrange(10) * (min(count, 1000) + 1)
    else:
        delay = default_delay(count, rng)
    return Decision("retry", failed, at + delay, note)
