"""What the SQL stores share for job records and cancellation (see :mod:`sidequest.job_state`).

A job's jid is not a column of ``jobs``: a cancel finds its row with a substring test of the payload
text for ``"jid":"<jid>"`` (how orjson and Ruby's JSON both write it), then confirms the decoded jid.
Cancel is a person's action, so a scan of the waiting and running rows is acceptable.
"""

from __future__ import annotations

import orjson

from sidequest.errors import JobArgumentError
from sidequest.stores.payloads import decode

WAITING = ("enqueued", "scheduled", "retry")
"""The states a cancel removes a job from."""

EXPIRED_COUNTER = "expired"
"""The name of the counter of expired jobs."""


def jid_needle(jid: str) -> str:
    """The text a payload holding this jid contains: ``"jid":"<jid>"``."""
    if not isinstance(jid, str) or not jid:
        raise JobArgumentError(f"a jid must be a non-empty str, got {jid!r}")
    return '"jid":' + orjson.dumps(jid).decode()


def holds_jid(raw: str, jid: str) -> bool:
    """True when the payload text ``raw`` is a job whose jid is ``jid``."""
    payload = decode(raw)
    return payload is not None and payload.get("jid") == jid
