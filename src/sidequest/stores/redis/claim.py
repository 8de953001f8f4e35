"""The Redis store's claim: reliable fetch across several queues (see :mod:`sidequest.stores.redis` for
the wait with one queue and with several).

A queue whose list or in-flight list another application turned into another type is skipped, by the
claim script and by the blocking ``BLMOVE`` alike: its jobs stay where they are, the key is logged as
an ERROR once a minute, and the other queues are served. A claim gives up on a frozen Redis after
about its own timeout plus :data:`~sidequest.stores.redis.conn.BLOCK_MARGIN`.

A paused queue (in Sidekiq Pro's ``paused`` SET) is skipped the same way: the script takes nothing from
it and the blocking wait never names it; with every queue paused, the claim waits without spinning and
looks again every :data:`~sidequest.stores.redis.conn.BLOCK_CHUNK` seconds, so a resume is noticed.
"""

from __future__ import annotations

import threading
import time

from sidequest import serializer
from sidequest.errors import MalformedJobError
from sidequest.job import Claimed, Payload
from sidequest.stores.redis import keys
from sidequest.stores.redis.conn import BLOCK_CHUNK, BLOCK_MARGIN, SOCKET_TIMEOUT, RedisConnection
from sidequest.stores.redis.errors import KeyTypeError, bad_keys_of
from sidequest.stores.redis.scripts import Scripts

SKIPPED_QUEUE = "that queue is skipped, its jobs stay where they are; the other queues are served"


def parse_claimed(raw: str, queue: str) -> Claimed:
    """A claimed job; ``payload`` is None when the text is not a valid job (it then goes to dead)."""
    try:
        payload: Payload | None = serializer.load_payload(raw)
    except MalformedJobError:
        payload = None
    return Claimed(raw=raw, payload=payload, queue=queue)


class RedisClaims:
    """The claim half of one :class:`~sidequest.stores.redis.RedisStore`, on its connection. ``closing``
    is set by the store's ``close()``: a claim waiting on queues of the wrong type wakes at once."""

    def __init__(self, conn: RedisConnection, scripts: Scripts, closing: threading.Event) -> None:
        self._conn = conn
        self._scripts = scripts
        self._closing = closing

    def claim(
        self, names: list[str], limit: int, owner: str, deadline: float, poll_interval: float
    ) -> list[Claimed]:
        """Claim up to ``limit`` jobs from ``names`` (distinct, in order) for ``owner``, waiting until
        ``deadline`` (``time.monotonic()``) when every queue is empty; ``poll_interval``: how long each
        BLMOVE on the first queue waits when there are several queues."""
        action = f"claim from {', '.join(names)}"
        with self._conn.errors(action):
            claimed, usable = self._claim_now(names, limit, owner, deadline)
            while not claimed and not self._closing.is_set():
                wait_ms = int((deadline - time.monotonic()) * 1000)
                if wait_ms < 1:
                    break
                if not usable:
                    # Every queue is paused or its key holds another type (logged): wait as an idle
                    # claim would, without spinning (close() wakes us), then look again (a resume, a fix).
                    self._closing.wait(min(wait_ms / 1000, BLOCK_CHUNK))
                    claimed, usable = self._claim_now(names, limit, owner, deadline)
                    continue
                chunk = BLOCK_CHUNK if len(names) == 1 else poll_interval
                wait = min(wait_ms / 1000, chunk)
                first = usable[0]
                inflight = keys.inflight(owner, first)
                # The reply is awaited for the wait plus a margin, not SOCKET_TIMEOUT: a hung Redis
                # holds a claim no longer than its own timeout allows.
                registered, moved, paused = self._conn.pipeline_replies(
                    [
                        ("SADD", keys.INFLIGHT_REGISTRY, inflight),
                        ("BLMOVE", keys.queue(first), inflight, "RIGHT", "LEFT", f"{wait:.3f}"),
                        # Runs the moment BLMOVE returns, in the same round trip: a queue paused while
                        # we waited on it must not hand out the job that woke us.
                        ("SISMEMBER", keys.PAUSED, first),
                    ],
                    timeout=wait + BLOCK_MARGIN,
                )
                if isinstance(moved, str) and paused == 1:
                    self._give_back(inflight, first, moved)
                    usable = [name for name in usable if name != first]
                    continue
                if isinstance(moved, str):
                    # Hand the woken job over at once: claiming more first would add a round trip to
                    # the idle latency, and the caller's next claim takes whatever came with it.
                    claimed = [parse_claimed(moved, first)]
                    continue
                if isinstance(registered, Exception):
                    raise registered  # sq|inflight itself is unusable: no claim can be made safely
                if isinstance(moved, KeyTypeError):
                    # The queue's key turned bad since the script looked: skip it, as the script does.
                    self._conn.bad_keys.report(self._conn.safe_url, action, moved.bad, SKIPPED_QUEUE)
                    usable = [name for name in usable if name != first]
                elif isinstance(moved, Exception):
                    raise moved
                if len(names) > 1:
                    claimed, usable = self._claim_now(names, limit, owner, deadline)
        return claimed

    def _give_back(self, inflight: str, queue_name: str, raw: str) -> None:
        """Put a job the blocking wait took from a queue paused meanwhile back at its queue's front."""
        _, report = self._conn.run(
            self._scripts.requeue, [keys.QUEUES, inflight, keys.queue(queue_name)], [raw, queue_name]
        )
        self._conn.report(
            f"giving back a job of paused queue {queue_name}", report, "it stays in flight, to be rescued"
        )

    def _claim_now(
        self, names: list[str], limit: int, owner: str, deadline: float
    ) -> tuple[list[Claimed], list[str]]:
        """One claim script over every queue: the jobs it moved, and the queues whose keys are usable
        (a queue or in-flight key of another type is skipped and logged once a minute)."""
        script_keys = [keys.INFLIGHT_REGISTRY, keys.PAUSED]
        for name in names:
            script_keys += [keys.queue(name), keys.inflight(owner, name)]
        # Awaited until the claim's own deadline plus a margin (at most SOCKET_TIMEOUT), so a hung
        # Redis holds a claim about as long as its caller asked it to wait, not longer.
        timeout = min(SOCKET_TIMEOUT, max(0.0, deadline - time.monotonic()) + BLOCK_MARGIN)
        reply = self._conn.run(self._scripts.claim, script_keys, [limit, *names], timeout=timeout)
        *per_queue, report, paused = reply
        # A paused queue is not usable either: the blocking BLMOVE must not wait on it (and take from it).
        usable = [name for name in names if name not in set(paused)]
        if report:
            bad = {item.key for item in bad_keys_of(report)}
            self._conn.report(f"claim from {', '.join(names)}", report, SKIPPED_QUEUE)
            usable = [name for name in usable if not {keys.queue(name), keys.inflight(owner, name)} & bad]
        claimed = [
            parse_claimed(raw, name) for name, raws in zip(names, per_queue, strict=True) for raw in raws
        ]
        return claimed, usable
