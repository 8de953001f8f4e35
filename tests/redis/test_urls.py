"""Scenarios: the URLs a Redis store opens (``redis://``, ``rediss://``, ``unix://``), and what it shows
of them."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_helpers import OWNER, beat

from servers import require_binary
from sidequest.client import Client
from sidequest.stores import open_store
from sidequest.stores.redis import RedisStore


@pytest.fixture
def unix_socket(tmp_path: Path) -> Iterator[Path]:
    """A redis-server listening only on a unix socket."""
    socket = tmp_path / "redis.sock"
    command = [require_binary("redis-server", "redis-server"), "--port", "0", "--unixsocket", str(socket)]
    command += ["--save", "", "--dir", str(tmp_path)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not socket.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    yield socket
    server.terminate()
    server.wait(10)


def test_a_unix_socket_url_opens_a_working_store(unix_socket: Path) -> None:
    store = open_store(f"unix://{unix_socket}?db=2")
    assert isinstance(store, RedisStore)
    Client(store).push({"class": "HardJob", "args": [1]})
    beat(store)
    [job] = store.claim(["default"], 5, OWNER, 1.0)
    assert store.ack(OWNER, [job]) == 1
    store.close()


def test_the_url_keeps_its_password_but_the_store_never_shows_it() -> None:
    store = RedisStore("rediss://user:pa55word@redis.example:6380/3")
    assert store.url == "rediss://user:pa55word@redis.example:6380/3"  # to open the same store again
    assert repr(store) == "RedisStore('rediss://user:***@redis.example:6380/3')"
    store.close()
