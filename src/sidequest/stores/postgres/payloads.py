"""Payload text helpers of the PostgreSQL store: the same rules as the SQLite store's (a stored job is
its JSON text exactly as pushed; malformed text is kept as it is and shown as malformed).

Kept here rather than imported from the SQLite store's modules, which are being reorganised into a
package of their own; once the shared payload helpers have one home, this module should use it.
"""

from __future__ import annotations

from typing import Any

import orjson

from sidequest.job import Payload


def decode(raw: str) -> Payload | None:
    """The stored text as a JSON object, or None when it is not one (shown as a malformed job)."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def encode(value: Payload | list[Any]) -> str:
    """A payload (or a list of JSON values) as the compact JSON text the store keeps."""
    return orjson.dumps(value).decode()


def queue_of(payload: Payload | None, fallback: str = "default") -> str:
    """The queue a payload names, or ``fallback`` when it names none."""
    queue: Any = payload.get("queue") if payload is not None else None
    return queue if isinstance(queue, str) and queue else fallback


def with_enqueued_at(raw: str, now: float) -> str:
    """``raw`` with ``enqueued_at`` set to ``now`` (a float: Sidekiq 8 reads an int as milliseconds),
    every other field kept; malformed text unchanged."""
    payload = decode(raw)
    if payload is None:
        return raw
    payload["enqueued_at"] = float(now)
    return encode(payload)


def retried_now(raw: str, now: float) -> str:
    """``raw`` moved to its queue by a person ("Retry Now"): ``retry_count`` down by one if present, and
    ``enqueued_at`` set to ``now``."""
    payload = decode(raw)
    if payload is None:
        return raw
    count = payload.get("retry_count")
    if isinstance(count, int) and not isinstance(count, bool):
        payload["retry_count"] = count - 1
    payload["enqueued_at"] = float(now)
    return encode(payload)


def decode_list(raw: str) -> list[dict[str, Any]]:
    """The JSON objects in a stored JSON array (a process's busy list); anything else is skipped."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return []
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []
