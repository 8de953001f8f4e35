"""Payload text helpers of the PostgreSQL store: the same rules as the SQLite store's (a stored job is
its JSON text exactly as pushed; malformed text is kept as it is and shown as malformed).

The shared helpers live in :mod:`sidequest.stores.payloads`; this module adds the two rewrites whose
PostgreSQL callers always get text back.
"""

from __future__ import annotations

from sidequest.job import Payload
from sidequest.stores import payloads
from sidequest.stores.payloads import decode, decode_list, encode, job_or_none, queue_of, row_entry

__all__ = [
    "decode",
    "decode_list",
    "encode",
    "job_or_none",
    "queue_of",
    "retried_now",
    "row_entry",
    "with_enqueued_at",
]


def with_enqueued_at(raw: str, now: float) -> str:
    """``raw`` with ``enqueued_at`` set to ``now`` (a float: Sidekiq 8 reads an int as milliseconds),
    every other field kept; malformed text unchanged."""
    payload = decode(raw)
    if payload is None:
        return raw
    payload["enqueued_at"] = float(now)
    return encode(payload)


def retried_now(payload: Payload, state: str, now: float) -> str:
    """A ``state`` entry's payload moved to its queue by a person ("Retry Now",
    :func:`sidequest.stores.payloads.retried_now`), as text."""
    return encode(payloads.retried_now(payload, state, now))
