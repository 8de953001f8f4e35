"""Connections for the Redis store: a redis-py pool, one dedicated connection per thread for the hot
paths, Lua scripts run by SHA, and every redis-py error turned into :class:`StoreError`.

Why a dedicated connection per thread: a command through redis-py's pool costs about 40 us of Python
(checkout, readiness poll, metrics, release) on top of the round trip; on a small machine that alone
caps single enqueues near 7k/s. Pushes, claims and acks go straight to a connection the thread owns.

Why no automatic retries: redis-py would re-send a Lua call whose reply was lost, running it twice
(a second claim, an ack reported as 0). The store fails fast with :class:`StoreError`; the runtime
above retries with backoff, logs the outage, and after a failed claim reconciles what it holds with
:meth:`RedisStore.owned <sidequest.stores.redis.RedisStore.owned>`. What an error means (an outage, a
configuration error, a key of the wrong type) is decided in :mod:`sidequest.stores.redis.errors`.

How long one call can wait when Redis hangs (SIGSTOP, a partition): every reply is awaited at most
:data:`SOCKET_TIMEOUT` (5 s). A claim's replies are awaited until its own deadline plus
:data:`BLOCK_MARGIN` (2 s) and never longer than that, so ``claim(timeout=T)`` gives up after about
``T + 2`` s (a blocking ``BLMOVE`` waits at most :data:`BLOCK_CHUNK` each). A connection attempt gives
up after :data:`CONNECT_TIMEOUT` (5 s).
"""

from __future__ import annotations

import inspect
import os
import select
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, cast

from hiredis import pack_command
from redis.backoff import NoBackoff
from redis.client import Redis
from redis.connection import AbstractConnection
from redis.exceptions import NoScriptError, RedisError, ResponseError
from redis.retry import Retry

from sidequest.stores.redis import keys
from sidequest.stores.redis.errors import (
    BadKey,
    BadKeyLog,
    KeyTypeError,
    bad_keys_of,
    classify,
    is_wrong_type,
    parse_key_type_reply,
    url_error,
)
from sidequest.stores.redis.scripts import Script, load_script
from sidequest.stores.urls import redact, scrub, secrets

__all__ = ["BLOCK_CHUNK", "Command", "RedisConnection", "pack", "redact"]

BLOCK_CHUNK = 5.0
"""The longest a single blocking command (BLMOVE) waits; longer waits are made of several."""

BLOCK_MARGIN = 2.0
"""How much longer than its own wait a BLMOVE's reply is awaited before Redis counts as unreachable."""

SOCKET_TIMEOUT = 5.0
"""A reply to any other command slower than this means Redis is unreachable (a stopped server, a
partition). A loading Redis answers LOADING at once; one stuck in another client's slow script answers
BUSY once that script passes ``lua-time-limit`` (5 s by default): both are outages either way."""

CONNECT_TIMEOUT = 5.0

CHECKED_ARGS = 1000
"""The most values one command passes through the checked script (Lua's unpack handles ~8,000)."""

Command = tuple[Any, ...]


class Wire(Protocol):
    """The part of a redis-py connection the hot paths use (redis-py leaves it untyped)."""

    socket_timeout: float | None

    def send_packed_command(self, command: Any) -> None: ...
    def read_response(self, *, timeout: Any = ...) -> Any: ...
    def disconnect(self) -> None: ...


READ_TAKES_TIMEOUT = "timeout" in inspect.signature(AbstractConnection.read_response).parameters
"""redis-py 8 awaits one reply for a given time; 5 to 7 only for the connection's socket timeout."""


def read_reply(conn: Wire, timeout: float | None, native: bool = READ_TAKES_TIMEOUT) -> Any:
    """The next reply on ``conn``, awaited at most ``timeout`` seconds (None: the socket timeout).

    On redis-py before 8 (still what celery 5.4 and arq pin), the socket's own timeout is set for
    this one read and put back after it; a read that times out disconnects, and the next command
    connects afresh with the pool's settings. ``native``: whether redis-py takes the timeout itself."""
    if timeout is None:
        return conn.read_response()
    if native:
        return conn.read_response(timeout=timeout)
    sock: Any = getattr(conn, "_sock", None)
    if sock is None:
        return conn.read_response()  # not connected: read_response raises (nothing was sent)
    sock.settimeout(timeout)
    try:
        return conn.read_response()
    finally:
        if getattr(conn, "_sock", None) is not None:  # None: the read failed and disconnected
            sock.settimeout(conn.socket_timeout)


def command_keys(command: Command) -> list[str]:
    """The keys a command names (to say which one a WRONGTYPE reply is about)."""
    name = str(command[0]).upper()
    if name in ("EVALSHA", "EVAL"):
        return [str(key) for key in command[3 : 3 + int(command[2])]]
    if name in ("MULTI", "EXEC", "PING", "SCRIPT", "INFO", "WATCH", "UNWATCH"):
        return []
    if name in ("DEL", "UNLINK", "EXISTS", "MGET"):
        return [str(key) for key in command[1:]]
    return [str(command[1])] if len(command) > 1 else []


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
        except (ValueError, TypeError, RedisError) as exc:
            # A URL redis-py cannot read does not heal by retrying.
            error = url_error(exc, self.safe_url)
            raise type(error)(scrub(str(error), secrets(url))) from None
        self._secrets = secrets(url)
        self._local = threading.local()
        self._opened: weakref.WeakSet[Wire] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._checked = load_script("checked")
        self.bad_keys = BadKeyLog()
        """Keys of the wrong type that batch operations skipped, logged once a minute each."""

    @contextmanager
    def errors(self, action: str) -> Iterator[None]:
        """Turn any redis-py error raised inside into a :class:`StoreError` naming ``action``:
        :class:`PermanentStoreError` for configuration errors, :class:`StoreDataError` for a key of the
        wrong type, plain :class:`StoreError` for outages. No message holds the URL's password."""
        try:
            yield
        except RedisError as exc:
            error = classify(exc, action, self.safe_url, self._server_version)
            # from None: the redis-py error's text is in the message already (scrubbed of any secret);
            # chained, it would be printed again, unscrubbed, by every traceback that logs this one.
            raise type(error)(scrub(str(error), self._secrets)) from None

    def report(self, action: str, flat: list[str], consequence: str) -> None:
        """Log the keys a batch script skipped (its ``{key, actual, expected, ...}`` report)."""
        if flat:
            self.bad_keys.report(self.safe_url, action, bad_keys_of(flat), consequence)

    def _server_version(self) -> tuple[int, ...] | None:
        try:
            info = str(self.call("INFO", "server"))
        except RedisError:
            return None
        for line in info.splitlines():
            if line.startswith("redis_version:"):
                try:
                    return tuple(int(part) for part in line.split(":", 1)[1].strip().split(".")[:3])
                except ValueError:
                    return None
        return None

    def _key_type_error(self, exc: ResponseError, command: Command) -> RedisError:
        """The error to raise for an error reply to ``command``: :class:`KeyTypeError` naming the key
        when the reply says a key has the wrong type, else the reply's own error."""
        text = str(exc)
        parsed = parse_key_type_reply(text)
        if parsed is not None:
            return KeyTypeError([parsed])
        if not is_wrong_type(exc):
            return exc
        # A plain WRONGTYPE names no key: ask Redis for the type of each key the command touches.
        bad: list[BadKey] = []
        for key in command_keys(command):
            expected = keys.expected_type(key)
            try:
                actual = str(self.call("TYPE", key))
            except RedisError:
                continue
            if actual != "none" and (expected is None or actual != expected):
                bad.append(BadKey(key, actual, expected))
        return KeyTypeError(bad)

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

    def call(self, *args: Any, timeout: float | None = None) -> Any:
        """Run one command on this thread's connection and return its raw reply, awaited at most
        ``timeout`` seconds (default :data:`SOCKET_TIMEOUT`)."""
        conn = self._connection()
        try:
            conn.send_packed_command([pack([args])])
            return read_reply(conn, timeout)
        except ResponseError as exc:
            raise self._key_type_error(exc, args) from None  # the stream is in step: keep the socket
        except BaseException:
            # After a failure the reply stream may be out of step; start afresh next time.
            conn.disconnect()
            raise

    def pipeline(self, commands: Sequence[Command], timeout: float | None = None) -> list[Any]:
        """Send ``commands`` in one write and return their raw replies (one round trip). An error
        reply is raised once every reply is read (the others have run: a pipeline is not atomic).
        ``timeout``: how long to await each reply, when not :data:`SOCKET_TIMEOUT`."""
        replies = self.pipeline_replies(commands, timeout)
        for reply in replies:
            if isinstance(reply, RedisError):
                raise reply
        return replies

    def pipeline_replies(self, commands: Sequence[Command], timeout: float | None = None) -> list[Any]:
        """As :meth:`pipeline`, with each error reply returned in its place as an exception (a
        :class:`KeyTypeError` for a key of the wrong type) instead of raised."""
        conn = self._connection()
        replies: list[Any] = []
        try:
            conn.send_packed_command([pack(commands)])
            for _ in commands:
                try:
                    replies.append(read_reply(conn, timeout))
                except ResponseError as exc:
                    replies.append(exc)
        except BaseException:
            conn.disconnect()
            raise
        return [
            self._key_type_error(reply, command) if isinstance(reply, ResponseError) else reply
            for reply, command in zip(replies, commands, strict=True)
        ]

    def checked(self, types: Sequence[tuple[str, str]], commands: Sequence[Command]) -> list[Any]:
        """Run ``commands`` atomically, as MULTI/EXEC would, but only once every ``(key, type)`` in
        ``types`` holds that type or nothing (``lua/checked.lua``): a key of the wrong type raises
        :class:`KeyTypeError` with nothing written. Returns every command's reply. (No MULTI/EXEC
        anywhere in this store: it does not roll back a command that fails, leaving the others applied.)"""
        args: list[Any] = [kind for _, kind in types]
        for command in commands:
            args += [len(command), *command]
        return list(self.run(self._checked, [key for key, _ in types], args))

    def run(
        self, script: Script, keys: Sequence[str], args: Sequence[Any], timeout: float | None = None
    ) -> Any:
        """Run a Lua script by SHA on this thread's connection, loading it first when Redis lacks it."""
        try:
            return self.call("EVALSHA", script.sha, len(keys), *keys, *args, timeout=timeout)
        except NoScriptError:
            self.call("SCRIPT", "LOAD", script.source, timeout=timeout)
            return self.call("EVALSHA", script.sha, len(keys), *keys, *args, timeout=timeout)

    def close(self) -> None:
        """Close every connection this object opened (pool and per-thread ones)."""
        with self._lock:
            opened = list(self._opened)
            self._opened = weakref.WeakSet()
        for conn in opened:
            conn.disconnect()
        self.client.close()
        self.client.connection_pool.disconnect()
