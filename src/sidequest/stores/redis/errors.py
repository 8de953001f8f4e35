"""What a Redis error means for sidequest: an outage (retry), a configuration error (fatal), or one key
of the wrong type (that operation only).

* :class:`~sidequest.errors.PermanentStoreError`: the server answered and will answer the same way
  until a person changes the URL or the server (a wrong password, a database index out of range, a
  missing ACL permission, a server too old for ``BLMOVE``, a TLS mismatch, a URL redis-py refuses).
* :class:`~sidequest.errors.StoreDataError`: a key sidequest writes holds another type (``SET dead x``
  by another application). The Lua scripts check the type of every key they write before their first
  destructive command and answer ``SQWRONGTYPE <actual> <expected> <key>``, so the job stays where it
  was; a plain ``WRONGTYPE`` from any other command is turned into the same error, naming the key.
* :class:`~sidequest.errors.StoreError`: everything else, retried by the runtime: refused connections,
  timeouts, ``LOADING``, ``BUSY``, ``READONLY`` and ``MASTERDOWN`` during a failover, ``OOM``.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.exceptions import (
    AuthenticationError,
    AuthenticationWrongNumberOfArgsError,
    NoPermissionError,
    RedisError,
    ResponseError,
)

from sidequest.errors import PermanentStoreError, StoreDataError, StoreError
from sidequest.stores.redis import keys

log = logging.getLogger("sidequest")

KEY_TYPE_REPLY = "SQWRONGTYPE"
"""The error code the Lua scripts (``lua/key_types.lua``) answer with when a key has the wrong type."""

MIN_VERSION = (6, 2)
MIN_VERSION_WHY = "BLMOVE, RPOP with a count and ZRANGE BYSCORE"

NOTHING_WRITTEN = "nothing was written; the job stays where it was"

TLS_MISMATCHES = (
    "wrong version number",
    "unknown protocol",
    "unsupported protocol",
    "no protocols available",
)
"""OpenSSL's words for a handshake that cannot succeed with these settings (TLS against a plain port,
no common protocol version)."""

REPORT_EVERY = 60.0
"""A key of the wrong type that a batch operation skips is logged at most once a minute per key."""

TYPE_NAMES = {
    "string": "a string",
    "text": "a string that is not an integer",
    "list": "a list",
    "set": "a set",
    "zset": "a sorted set",
    "hash": "a hash",
    "stream": "a stream",
    "none": "nothing",
}


@dataclass(frozen=True)
class BadKey:
    """A key holding ``actual`` where sidequest keeps ``expected`` (Redis ``TYPE`` names)."""

    key: str
    actual: str
    expected: str | None

    def describe(self) -> str:
        """The problem and what to do, without the consequence (the caller knows it)."""
        actual = TYPE_NAMES.get(self.actual, f"a {self.actual}")
        who = "sidequest keeps" if keys.is_sidequest_own(self.key) else "sidequest and Sidekiq keep"
        where = f", where {who} {TYPE_NAMES.get(self.expected, self.expected)}" if self.expected else ""
        return (
            f"Redis key {self.key!r} holds {actual}{where}; another application wrote it. "
            "Rename or delete that key"
        )


class KeyTypeError(RedisError):
    """Raised inside the store's connection layer for keys of the wrong type; :func:`classify` turns it
    into :class:`StoreDataError`."""

    def __init__(self, bad: list[BadKey], consequence: str = NOTHING_WRITTEN) -> None:
        self.bad = bad
        self.consequence = consequence
        super().__init__(self.message())

    def message(self) -> str:
        """Every bad key, what to do, and what happened to the job."""
        if not self.bad:
            return f"a Redis key holds the wrong kind of value ({self.consequence})"
        return "; ".join(bad.describe() for bad in self.bad) + f" ({self.consequence})."


def parse_key_type_reply(text: str) -> BadKey | None:
    """The bad key of a script's ``SQWRONGTYPE <actual> <expected> <key>`` error, or None."""
    if not text.startswith(KEY_TYPE_REPLY + " "):
        return None
    parts = text.split(" ", 3)
    if len(parts) != 4:
        return None
    return BadKey(key=parts[3], actual=parts[1], expected=parts[2])


def bad_keys_of(flat: list[str]) -> list[BadKey]:
    """The keys a batch script skipped, from its flat ``{key, actual, expected, ...}`` report."""
    return [BadKey(flat[i], flat[i + 1], flat[i + 2]) for i in range(0, len(flat) - 2, 3)]


def is_wrong_type(exc: BaseException) -> bool:
    """A native ``WRONGTYPE`` reply (from a command, or a script's ``redis.call``)."""
    return isinstance(exc, ResponseError) and str(exc).startswith("WRONGTYPE")


def _in_chain(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def classify(
    exc: RedisError, action: str, where: str, version: Callable[[], tuple[int, ...] | None]
) -> StoreError:
    """The sidequest error for a redis-py error raised during ``action`` on the store shown as ``where``.

    ``version`` asks the server for its version; it is called only for replies that a server older
    than 6.2 gives (an unknown command, a wrong number of arguments, a syntax error).
    """
    prefix = f"Redis store {where}: {action} failed"
    detail = f"{type(exc).__name__}: {exc}"
    text = str(exc)
    if isinstance(exc, KeyTypeError):
        return StoreDataError(f"{prefix}: {exc.message()}")
    if isinstance(exc, (AuthenticationError, AuthenticationWrongNumberOfArgsError)):
        if "without any password configured" in text or "no password is set" in text.lower():
            fix = "this Redis has no password: remove it from the store URL, or set requirepass on the server"
        elif "required" in text.lower():
            fix = "this Redis requires a password: put it in the store URL (redis://:PASSWORD@host:6379/0)"
        else:
            fix = "check the user name and password in the store URL against the server's requirepass or ACL"
        return PermanentStoreError(f"{prefix}: Redis refused the credentials ({detail}); {fix}")
    if isinstance(exc, NoPermissionError):
        return PermanentStoreError(
            f"{prefix}: the Redis user may not run a command sidequest needs ({detail}); grant it with "
            "ACL SETUSER (sidequest needs its keys, Lua scripts (EVALSHA, SCRIPT LOAD), BLMOVE and INFO)"
        )
    if "DB index is out of range" in text or "Invalid Database" in text:
        return PermanentStoreError(
            f"{prefix}: the database number in the store URL is out of range ({detail}); use one the "
            "server has (0 to its 'databases' setting minus one, 0-15 by default)"
        )
    lowered = text.lower()
    unknown = "unknown command" in lowered or "unknown redis command" in lowered
    # Before 6.2, RPOP refuses a count ("wrong number of arguments") and ZRANGE refuses BYSCORE
    # ("syntax error"), inside the scripts: only the server's version tells these from a bug.
    if isinstance(exc, ResponseError) and (
        unknown or "wrong number of arguments" in lowered or "syntax" in lowered
    ):
        found = version()
        if found is not None and found < MIN_VERSION:
            shown = ".".join(str(part) for part in found)
            return PermanentStoreError(
                f"{prefix}: this Redis is version {shown}; sidequest needs Redis "
                f"{'.'.join(map(str, MIN_VERSION))} or later ({MIN_VERSION_WHY}): upgrade the server"
            )
        if unknown:
            return PermanentStoreError(
                f"{prefix}: the server does not know a command sidequest needs ({detail}); it may be "
                "renamed or disabled (rename-command in redis.conf): enable it"
            )
    if "certificate verify failed" in lowered:
        return PermanentStoreError(
            f"{prefix}: the server's TLS certificate could not be verified ({detail}); give the CA that "
            "signed it in the URL (?ssl_ca_certs=/path/to/ca.pem), and connect by the name the certificate "
            "holds (or add ssl_check_hostname=false)"
        )
    # Only handshake mismatches are permanent: an SSL error while reading (EOF, reset) is a dropped
    # connection, an outage like any other.
    tls = _in_chain(exc, ssl.SSLError)
    if tls is not None and any(reason in str(tls).lower() for reason in TLS_MISMATCHES):
        return PermanentStoreError(
            f"{prefix}: the TLS handshake failed ({detail}); use rediss:// only for a server that speaks "
            "TLS (redis:// otherwise), and check its certificate (ssl_ca_certs, ssl_cert_reqs in the URL)"
        )
    return StoreError(f"{prefix} ({detail})")


def url_error(exc: Exception, where: str) -> PermanentStoreError:
    """A URL redis-py refuses to open: fatal, it cannot heal."""
    return PermanentStoreError(
        f"cannot open Redis store {where}: {exc}; the URL should look like redis://[:PASSWORD@]HOST:PORT/DB, "
        "rediss://... (TLS) or unix:///PATH/redis.sock?db=DB"
    )


class BadKeyLog:
    """Logs a key a batch operation had to skip: one ERROR per key at most every minute (a claim runs
    many times a second, and the key stays wrong until a person fixes it)."""

    def __init__(self, every: float = REPORT_EVERY) -> None:
        self._every = every
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def report(self, where: str, action: str, bad: list[BadKey], consequence: str) -> None:
        """Log each key of ``bad`` not logged in the last minute."""
        now = time.monotonic()
        for item in bad:
            with self._lock:
                last = self._last.get(item.key)
                if last is not None and now - last < self._every:
                    continue
                self._last[item.key] = now
            log.error("Redis store %s: %s: %s (%s).", where, action, item.describe(), consequence)
