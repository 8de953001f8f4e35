"""Connections for the Redis store: a redis-py pool, one dedicated connection per thread for the hot
paths, Lua scripts run by SHA, and every redis-py error turned into :class:`StoreError`.

Why a dedicated connection per thread: a command through redis-py's pool costs about 40 us of Python
(checkout, readiness poll, metrics, release) on top of the round trip; on a small machine that alone
caps single enqueues near 7k/s. Pushes, claims and acks go straight to a connection the thread owns.

Why no automatic retries: redis-py would re-send a Lua call whose reply was lost, running it twice
(a second claim, an ack reported as 0). The store fails fast with :class:`StoreError`; the runtime
above retries with backoff, logs the outage, and after a failed claim reconciles what it holds with
:meth:`RedisStore.owned <sidequest.stores.redis.RedisStore.owned>`.
"""

from __future__ import annotations

import os
import select
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, cast
from urllib.parse import urlsplit, urlunsplit

from hiredis import pack_command
from redis.backoff import NoBackoff
from redis.client import Redis
from redis.exceptions import NoScriptError, RedisError
from redis.retry import Retry

from sidequest.errors import StoreError
from sidequest.stores.redis_scripts import Script

BLOCK_CHUNK = 5.0
"""The longest a single blocking command (BLMOVE) waits; longer waits are made of several."""

SOCKET_TIMEOUT = BLOCK_CHUNK + 5.0
"""A reply slower than this means Redis is unreachable. It must exceed :data:`BLOCK_CHUNK`, or a
blocking fetch on an idle queue would look like an outage."""

CONNECT_TIMEOUT = 5.0

Command = tuple[Any, ...]


class Wire(Protocol):
    """The part of a redis-py connection the hot paths use (redis-py leaves it untyped)."""

    def send_packed_command(self, command: Any) -> None: ...
    def read_response(self) -> Any: ...
    def disconnect(self) -> None: ...


def redact(url: str) -> str:
    """The URL with its password replaced by ``***``, fit for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def pack(commands: Sequence[Command]) -> bytes:
    """RESP for ``commands``, packed by hiredis (redis-py's own packer costs ~15 us per push).

    Job text may hold surrogate escapes (bytes that are not UTF-8, read with ``surrogateescape``);
    those are encoded back to the very bytes they came from.
    """
    parts = []
    for command in commands:
        try:
            parts.append(pack_command(command))
        except UnicodeEncodeError:
            encoded = tuple(
                arg.encode("utf-8", "surrogateescape") if isinstance(arg, str) else arg for arg in command
            )
            parts.append(pack_command(cast(Any, encoded)))
    return b"".join(parts)


class RedisConnection:
    """A redis-py client (pool) plus a dedicated connection per thread for hot-path commands."""

    def __init__(self, url: str) -> None:
        self.safe_url = redact(url)
        # TCP keepalive spots a dead peer under a long BLMOVE; unix sockets refuse the option.
        tcp = {"socket_keepalive": True} if url.lower().startswith(("redis:", "rediss:")) else {}
        try:
            self.client = Redis.from_url(
                url,
                **tcp,
                decode_responses=True,
                # Job text is stored and matched byte for byte (LREM by exact value); surrogateescape
                # round-trips bytes that are not UTF-8 instead of failing on them.
                encoding_errors="surrogateescape",
                socket_timeout=SOCKET_TIMEOUT,
                socket_connect_timeout=CONNECT_TIMEOUT,
                retry=Retry(NoBackoff(), 0),
                # RESP2 on purpose: the raw replies the hot paths parse have one shape on every
                # Redis version (redis-py 8 would otherwise negotiate RESP3 where it can).
                protocol=2,
            )
        except (ValueError, RedisError) as exc:
            raise StoreError(f"cannot open Redis store {self.safe_url}: {exc}") from exc
        self._local = threading.local()
        self._opened: weakref.WeakSet[Wire] = weakref.WeakSet()
        self._lock = threading.Lock()

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Turn any redis-py error raised inside into :class:`StoreError` naming ``action``."""
        try:
            yield
        except RedisError as exc:
            raise StoreError(
                f"Redis store {self.safe_url}: {action} failed ({type(exc).__name__}: {exc})"
            ) from exc

    # -- the calling thread's own connection --------------------------------------------------------

    def _connection(self) -> Wire:
        conn: Wire | None = getattr(self._local, "conn", None)
        # A forked child must not share its parent's socket: replies would go to either process.
        if conn is None or self._local.pid != os.getpid():
            pool = self.client.connection_pool
            conn = cast(Wire, pool.connection_class(**pool.connection_kwargs))
            self._local.conn = conn
            self._local.pid = os.getpid()
            with self._lock:
                self._opened.add(conn)
            return conn
        # redis-py keeps the socket in _sock (None when disconnected); stable across its versions.
        if getattr(conn, "_sock", None) is None:
            return conn  # not connected (yet, or since an error): the next command connects once
        # Nothing is due on an idle connection: readable means the server closed it (a restart, an
        # idle timeout) or a reply is left over. Reconnect now rather than fail the caller's command,
        # as redis-py's pool does at checkout. Costs one non-blocking poll(2).
        try:
            poller = select.poll()
            poller.register(conn._sock, select.POLLIN)  # type: ignore[attr-defined]
            stale = bool(poller.poll(0))
        except (OSError, ValueError, TypeError):
            stale = True
        if stale:
            conn.disconnect()
        return conn

    def call(self, *args: Any) -> Any:
        """Run one command on this thread's connection and return its raw reply."""
        conn = self._connection()
        try:
            conn.send_packed_command([pack([args])])
            return conn.read_response()
        except BaseException:
            # After a failure the reply stream may be out of step; start afresh next time.
            conn.disconnect()
            raise

    def pipeline(self, commands: Sequence[Command]) -> list[Any]:
        """Send ``commands`` in one write and return their raw replies (one round trip)."""
        conn = self._connection()
        try:
            conn.send_packed_command([pack(commands)])
            return [conn.read_response() for _ in commands]
        except BaseException:
            conn.disconnect()
            raise

    def transaction(self, commands: Sequence[Command]) -> list[Any]:
        """Run ``commands`` in MULTI/EXEC (all applied or none), one round trip; returns EXEC's replies."""
        replies = self.pipeline([("MULTI",), *commands, ("EXEC",)])
        results = replies[-1]
        if not isinstance(results, list):
            raise RedisError("MULTI/EXEC was aborted")
        for result in results:
            if isinstance(result, Exception):
                raise result
        return results

    def run(self, script: Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run a Lua script by SHA on this thread's connection, loading it first when Redis lacks it."""
        try:
            return self.call("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            self.call("SCRIPT", "LOAD", script.source)
            return self.call("EVALSHA", script.sha, len(keys), *keys, *args)

    def close(self) -> None:
        """Close every connection this object opened (pool and per-thread ones)."""
        with self._lock:
            opened = list(self._opened)
            self._opened = weakref.WeakSet()
        for conn in opened:
            conn.disconnect()
        self.client.close()
        self.client.connection_pool.disconnect()
