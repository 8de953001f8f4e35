"""Unique jobs (Sidekiq Enterprise's ``unique_for``): the lock's name and lifetime. Pure functions, no I/O.

A job whose options set ``unique_for`` is pushed only while no other job of the same class, queue and
arguments holds the lock :func:`lock_key` names (see ``Store.push_unique``). The key travels in the
payload as ``unique_key`` and the lock's value is the job's ``jid``, so the process that runs the job can
release exactly its own lock - never one a later job took after this one's expired. When the lock is
released, and where the promise is only best-effort, is written in ``docs/workers-and-options.md``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

from sidequest.job import Payload

UNIQUE_KEY = "unique_key"
"""The payload field that carries the lock's key from the client to the process that runs the job."""


def unique_for(payload: Payload) -> float | None:
    """The payload's ``unique_for`` in seconds, or None when the job is not unique (absent, None, or
    anything but a positive number: options are validated at enqueue, but payloads may come from Ruby)."""
    value: Any = payload.get("unique_for")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    return float(value)


def lock_key(payload: Payload) -> str:
    """The lock's key: the SHA-256 hex digest of ``[class, queue, args]`` as canonical JSON.

    SHA-256 over class, queue and arguments is what Sidekiq Enterprise 8 digests; the exact bytes are
    sidequest's own (Enterprise is closed source), so the two never share a lock. Canonical JSON (dict
    keys sorted, no spaces) makes ``{"a": 1, "b": 2}`` and ``{"b": 2, "a": 1}`` the same job, in every
    process and on every Python version.
    """
    identity = [payload.get("class"), payload.get("queue") or "default", payload.get("args", [])]
    return hashlib.sha256(orjson.dumps(identity, option=orjson.OPT_SORT_KEYS)).hexdigest()


def lock_ttl(seconds: float, at: float | None, now: float) -> float:
    """How long the lock lives: ``unique_for``, plus the wait of a job scheduled for ``at`` (as Sidekiq
    Enterprise extends it), so a job scheduled an hour out is still unique when it becomes due."""
    return seconds + max(0.0, at - now) if at is not None else seconds


def held_lock(payload: Payload | None) -> tuple[str, str] | None:
    """``(unique_key, jid)``: the lock this job holds while pending or running, or None for a job that
    took no lock (not unique, malformed, or pushed by a client that does not take locks)."""
    if payload is None:
        return None
    key, jid = payload.get(UNIQUE_KEY), payload.get("jid")
    if isinstance(key, str) and key and isinstance(jid, str):
        return key, jid
    return None


def releases_at_start(payload: Payload) -> bool:
    """True for ``unique_until="start"``: the lock goes when ``perform`` starts, not when it succeeds."""
    return payload.get("unique_until") == "start"
