"""Scenarios: the URLs a Redis store opens (``redis://``, ``rediss://``, ``unix://``), and what it shows
of them."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis_helpers import OWNER, beat

from servers import free_port, require_binary
from sidequest.client import Client
from sidequest.errors import StoreError
from sidequest.stores import open_store
from sidequest.stores.redis import RedisStore
from sidequest.stores.urls import redact


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


def test_the_store_shows_its_url_only_with_the_password_hidden() -> None:
    store = RedisStore("rediss://user:pa55word@redis.example:6380/3")
    assert store.safe_url == "rediss://user:***@redis.example:6380/3"  # what the startup log line prints
    assert store.url == "rediss://user:pa55word@redis.example:6380/3"  # to open the same store again
    assert repr(store) == "RedisStore('rediss://user:***@redis.example:6380/3')"
    store.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pa55word@host:6379/0", "redis://:***@host:6379/0"),
        ("redis://user:pa55word@host/0", "redis://user:***@host/0"),
        ("rediss://:pa55word@host:6380/1", "rediss://:***@host:6380/1"),
        ("unix://:pa55word@/run/redis.sock?db=2", "unix://:***@/run/redis.sock?db=2"),
        ("redis://host:6379/0?password=pa55word", "redis://host:6379/0?password=***"),
        ("unix:///run/redis.sock?db=2&password=pa55word&x=1", "unix:///run/redis.sock?db=2&password=***&x=1"),
        ("redis://:p%40ss%3Aword@host/0", "redis://:***@host/0"),
        ("redis://:pa@55@word@host/0", "redis://:***@host/0"),
        ("redis://host:6379/0", "redis://host:6379/0"),
        ("redis://user@host:6379/0", "redis://user@host:6379/0"),
    ],
)
def test_every_form_of_password_in_a_url_is_hidden(url: str, shown: str) -> None:
    assert redact(url) == shown
    store = RedisStore(url)
    assert store.safe_url == shown and "pa55" not in repr(store) and "ss%3A" not in repr(store)
    store.close()


@pytest.mark.parametrize(
    "url",
    [
        "redis://:pa55word@127.0.0.1:{port}/0",
        "redis://u:pa55word@127.0.0.1:{port}/0",
        "redis://127.0.0.1:{port}/0?password=pa55word",
        "unix://:pa55word@/nonexistent/redis.sock",
    ],
)
def test_error_messages_of_an_unreachable_store_never_hold_its_password(url: str) -> None:
    store = RedisStore(url.format(port=free_port()))
    with pytest.raises(StoreError) as raised:
        store.queues()
    assert "pa55word" not in str(raised.value) and "***" in str(raised.value)
    store.close()
