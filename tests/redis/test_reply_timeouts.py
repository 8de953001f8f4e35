"""A reply awaited for a given time gives up after that time on every redis-py sidequest accepts: 8
takes the timeout itself; 5 to 7 (what celery 5.4 and arq still pin) get the socket's timeout set for
the one read, and put back after it."""

from __future__ import annotations

import time

import pytest
from redis.client import Redis
from redis.exceptions import TimeoutError as RedisTimeout

from sidequest.stores.redis.conn import READ_TAKES_TIMEOUT, SOCKET_TIMEOUT, Wire, pack, read_reply

WAYS = [False, True] if READ_TAKES_TIMEOUT else [False]


def connection(url: str) -> Wire:
    pool = Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT).connection_pool
    conn: Wire = pool.connection_class(**pool.connection_kwargs)
    return conn


@pytest.mark.parametrize("native", WAYS, ids=lambda native: "redis-py 8" if native else "redis-py 5-7")
def test_a_reply_slower_than_its_timeout_gives_up_then_the_connection_works_again(
    redis_url: str, native: bool
) -> None:
    conn = connection(redis_url)
    conn.send_packed_command([pack([("BLPOP", "nothing-comes", "3")])])
    started = time.monotonic()
    with pytest.raises(RedisTimeout):
        read_reply(conn, 0.3, native=native)
    assert time.monotonic() - started < 2.0
    conn.disconnect()  # the reply still due would be out of step: callers start afresh, as here
    conn.send_packed_command([pack([("PING",)])])
    assert read_reply(conn, 1.0, native=native) in (b"PONG", "PONG")
    sock = getattr(conn, "_sock", None)
    assert sock is not None and sock.gettimeout() == SOCKET_TIMEOUT  # the pool's setting is back
    conn.disconnect()
