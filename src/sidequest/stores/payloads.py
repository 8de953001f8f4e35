"""Payload text helpers every store shares: a stored job is its JSON text exactly as pushed, malformed
text is kept as it is (and shown as malformed), and a move rewrites only the fields it must.

orjson reads 1024 levels of nesting but writes only 254: a payload read from a store may not go back
as JSON, which :func:`encode` reports as a :class:`JobArgumentError` and :func:`try_encode` as None, so
each store can move that one row aside instead of failing a whole pass.
"""

from __future__ import annotations

from typing import Any

import orjson

from sidequest.errors import JobArgumentError, MalformedJobError
from sidequest.job import JobEntry, JobState, Payload
from sidequest.serializer import load_payload


def job_or_none(raw: str) -> Payload | None:
    """The stored text as a job, or None when it is malformed: what the contract calls malformed in
    admin lists, "Retry Now" and claims alike is what :func:`sidequest.serializer.load_payload` refuses
    (not JSON, not an object, no ``class`` string or no ``args`` array)."""
    try:
        return load_payload(raw)
    except MalformedJobError:
        return None


def decode(raw: str) -> Payload | None:
    """The stored text as a JSON object, or None when it is not one (shown as a malformed job)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def encode(value: Payload | list[Any]) -> str:
    """A payload (or a list of JSON values) as the compact JSON text the store keeps.

    Raises :class:`JobArgumentError` (a TypeError) for a value orjson cannot write: orjson reads 1024
    levels of nesting but writes only 254, so a payload read from the store may not go back as JSON.
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError as exc:
        jid = value.get("jid") if isinstance(value, dict) else None
        raise JobArgumentError(
            f"job {jid or '(no jid)'} cannot be written as JSON ({exc}): its arguments are nested deeper "
            "than the 254 levels JSON writers allow, or hold a value JSON cannot represent; flatten them"
        ) from None


def try_encode(payload: Payload) -> str | None:
    """``encode(payload)``, or None when it cannot be written (the caller buries the row)."""
    try:
        return encode(payload)
    except JobArgumentError:
        return None


def queue_of(payload: Payload | None, fallback: str = "default") -> str:
    """The queue a payload names, or ``fallback`` when it names none."""
    queue: Any = payload.get("queue") if payload is not None else None
    return queue if isinstance(queue, str) and queue else fallback


def decode_list(raw: str) -> list[dict[str, Any]]:
    """The JSON objects in a stored JSON array (a process's busy list); anything else is skipped."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return []
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def orphan_count(payload: Payload | None) -> int:
    """How many times the job was rescued from a dead process (0 when never, or not a count)."""
    count = payload.get("orphan_count") if payload is not None else None
    return count if isinstance(count, int) and not isinstance(count, bool) else 0


def orphaned_dead(payload: Payload, count: int, now: float, max_orphaned: int) -> Payload:
    """The payload of a poison pill going to the dead set, with the failure fields
    ``retry.record_failure`` would write and the same message on every store (``lua/rescue.lua``
    writes it too). Its queue is kept: "Retry Now" sends it back where it came from."""
    dead = dict(payload)
    dead["orphan_count"] = count
    dead["error_class"] = "OrphanedJobError"
    dead["error_message"] = orphaned_message(count, max_orphaned)
    if isinstance(payload.get("retry_count"), int) and not isinstance(payload.get("retry_count"), bool):
        dead["retry_count"] = payload["retry_count"] + 1
        dead["retried_at"] = float(now)
    else:
        dead["retry_count"] = 0
        dead["failed_at"] = float(now)
    return dead


def orphaned_message(count: int, max_orphaned: int) -> str:
    """Why a poison pill is in the dead set (the text ``lua/rescue.lua`` writes as well)."""
    return (
        f"the processes running this job died {count} times before it finished (killed, out of memory "
        f"or crashed); more than max_orphaned={max_orphaned}, so it was not run again"
    )


def dropped_when_dead(payload: Payload) -> bool:
    """True when the job says ``"dead": false``: out of retries (or a poison pill), it is dropped
    instead of kept in the dead set, as Sidekiq (and Sidekiq Pro's super_fetch) do."""
    return payload.get("dead") is False


def retried_now(payload: Payload, state: str, now: float) -> Payload:
    """The contract's "Retry Now" of a ``state`` entry (``scheduled``, ``retry`` or ``dead``): the same
    job with ``enqueued_at`` = ``now`` and, for a retry or dead entry, ``retry_count`` one down so its
    next failure counts the same (Sidekiq's ``SortedEntry#retry``); a scheduled entry keeps its count
    (Sidekiq's ``add_to_queue``), whatever it carries."""
    changed = dict(payload)
    count = changed.get("retry_count")
    if state != "scheduled" and isinstance(count, int) and not isinstance(count, bool):
        changed["retry_count"] = count - 1
    changed["enqueued_at"] = float(now)
    return changed


def row_entry(state: JobState, queue: str, job_id: int, raw: str, score: float | None) -> JobEntry:
    """An admin list's entry for one row of a SQL store's ``jobs`` table (its id kept in ``extra``, so
    an action on the entry finds that very row again)."""
    return JobEntry(
        state=state, queue=queue, raw=raw, payload=job_or_none(raw), score=score, extra={"id": job_id}
    )
