"""Scenarios: a store URL or a server that cannot work (a wrong password, a database out of range, a
user without permissions, a disabled command) raises PermanentStoreError saying what to fix, and never
shows the password; an outage (a stopped or frozen server) stays a plain StoreError, which the runtime
retries. And the warning Sidekiq gives at start when Redis may evict jobs."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.client import Redis
from redis.exceptions import BusyLoadingError, MasterDownError, ReadOnlyError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis_helpers import OWNER, beat

from processes import SidequestProcess, wait_for
from servers import RedisServer, free_port, require_binary, wait_for_port
from sidequest.errors import PermanentStoreError, StoreError
from sidequest.stores.redis import RedisStore
from sidequest.stores.redis.conn import BLOCK_MARGIN, SOCKET_TIMEOUT
from sidequest.stores.redis.errors import classify

PASSWORD = "s3cret-Pa55"


@pytest.fixture
def locked_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own that requires a password."""
    server = RedisServer(
        tmp_path / "redis", require_binary("redis-server", "redis-server"), ["--requirepass", PASSWORD]
    )
    server.start()
    yield server
    server.stop()


def permanent(url: str) -> str:
    """Use a store on ``url``; return the PermanentStoreError's message (checked to hold no password)."""
    store = RedisStore(url)
    with pytest.raises(PermanentStoreError) as raised:
        beat(store)
    message = str(raised.value)
    assert PASSWORD not in message and "wrong-pw" not in message and PASSWORD not in repr(store)
    store.close()
    return message


def test_a_wrong_password_is_a_permanent_error_that_says_to_check_the_password(
    locked_redis: RedisServer,
) -> None:
    message = permanent(f"redis://:wrong-pw@127.0.0.1:{locked_redis.port}/0")
    assert "check the user name and password in the store URL" in message
    assert f"redis://:***@127.0.0.1:{locked_redis.port}/0" in message


def test_a_missing_password_and_a_password_in_the_query_string_are_permanent_errors_too(
    locked_redis: RedisServer, redis_server: RedisServer
) -> None:
    assert "requires a password: put it in the store URL" in permanent(
        f"redis://127.0.0.1:{locked_redis.port}/0"
    )
    message = permanent(f"redis://127.0.0.1:{redis_server.port}/0?password={PASSWORD}")
    assert "this Redis has no password: remove it from the store URL" in message
    assert "?password=***" in message


def test_the_right_password_opens_a_working_store(locked_redis: RedisServer) -> None:
    store = RedisStore(f"redis://:{PASSWORD}@127.0.0.1:{locked_redis.port}/0")
    beat(store)
    assert store.claim(["default"], 1, OWNER, 0) == []
    assert store.safe_url == f"redis://:***@127.0.0.1:{locked_redis.port}/0"
    store.close()


def test_a_database_index_out_of_range_is_a_permanent_error_that_says_which_range(
    locked_redis: RedisServer,
) -> None:
    message = permanent(f"redis://:{PASSWORD}@127.0.0.1:{locked_redis.port}/99")
    assert "the database number in the store URL is out of range" in message
    assert "0-15 by default" in message


def test_a_user_without_permission_for_scripts_is_a_permanent_error(redis_url: str) -> None:
    admin = Redis.from_url(redis_url)
    admin.acl_setuser(
        "limited", enabled=True, passwords=[f"+{PASSWORD}"], keys=["*"], commands=["+@all", "-evalsha"]
    )
    try:
        message = permanent(redis_url.replace("redis://", f"redis://limited:{PASSWORD}@"))
        assert "may not run a command sidequest needs" in message and "ACL SETUSER" in message
    finally:
        admin.acl_deluser("limited")
        admin.close()


def test_a_disabled_command_is_a_permanent_error_that_says_to_enable_it(tmp_path: Path) -> None:
    server = RedisServer(
        tmp_path / "redis", require_binary("redis-server", "redis-server"), ["--rename-command", "BLMOVE", ""]
    )
    server.start()
    try:
        store = RedisStore(server.url)
        beat(store)
        with pytest.raises(PermanentStoreError) as raised:
            store.claim(["default"], 1, OWNER, 0.2)  # an idle claim waits in BLMOVE
        assert "does not know a command sidequest needs" in str(raised.value)
        store.close()
    finally:
        server.stop()


def test_a_url_redis_py_cannot_read_is_a_permanent_error_without_its_password() -> None:
    with pytest.raises(PermanentStoreError) as raised:
        RedisStore(f"redis://:{PASSWORD}@127.0.0.1:notaport/0")
    assert PASSWORD not in str(raised.value) and "the URL should look like" in str(raised.value)


def test_a_stopped_server_is_an_outage_not_a_configuration_error(own_redis: RedisServer) -> None:
    store = RedisStore(own_redis.url.replace("redis://", f"redis://:{PASSWORD}@"))
    own_redis.stop()
    with pytest.raises(StoreError) as raised:
        store.claim(["default"], 1, OWNER, 0)
    assert type(raised.value) is StoreError
    assert PASSWORD not in str(raised.value) and "Connection refused" in str(raised.value)
    store.close()


def test_a_frozen_server_fails_a_claim_within_its_timeout_plus_the_margin(own_redis: RedisServer) -> None:
    store = RedisStore(own_redis.url)
    beat(store)
    assert own_redis.process is not None
    os.kill(own_redis.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(StoreError) as raised:
            store.claim(["default", "other"], 1, OWNER, 0.5)
        waited = time.monotonic() - started
        assert type(raised.value) is StoreError and "Timeout" in str(raised.value)
        # Not SOCKET_TIMEOUT on top of the wait: the claim's reads are bounded by its own deadline.
        assert waited < 0.5 + BLOCK_MARGIN + 1.5 < SOCKET_TIMEOUT
    finally:
        os.kill(own_redis.process.pid, signal.SIGCONT)
    store.close()


def test_startup_warns_when_redis_may_evict_jobs_and_not_with_noeviction(own_redis: RedisServer) -> None:
    admin = Redis.from_url(own_redis.url)
    store = RedisStore(own_redis.url)
    admin.config_set("maxmemory-policy", "allkeys-lru")
    [warning] = store.startup_warnings()
    assert "will evict Sidekiq data under heavy load" in warning
    assert "'noeviction' maxmemory policy is recommended (current policy: 'allkeys-lru')" in warning
    admin.config_set("maxmemory-policy", "noeviction")
    assert store.startup_warnings() == []
    admin.close()
    store.close()


@pytest.mark.parametrize(
    "reply",
    [
        "unknown command 'BLMOVE', with args beginning with: ",
        "Error running script (call to f_x): @user_script:1: wrong number of arguments for 'rpop' command",
        "Error running script (call to f_x): @user_script:2: ERR syntax error",
    ],
)
def test_a_server_older_than_6_2_is_a_permanent_error_naming_the_version_needed(reply: str) -> None:
    # The replies Redis 6.0 gives to BLMOVE and to the claim and promote scripts; no 6.0 server here,
    # so the classification is checked on the replies themselves.
    error = classify(ResponseError(reply), "claim from default", "redis://h:6379/0", lambda: (6, 0, 16))
    assert isinstance(error, PermanentStoreError)
    assert "this Redis is version 6.0.16; sidequest needs Redis 6.2 or later" in str(error)
    assert "upgrade the server" in str(error)


def test_outage_replies_stay_plain_store_errors() -> None:
    for exc in (
        BusyLoadingError("Redis is loading the dataset in memory"),
        ReadOnlyError("You can't write against a read only replica."),
        MasterDownError("Link with MASTER is down and replica-serve-stale-data is set to 'no'."),
        ResponseError("BUSY Redis is busy running a script."),
        RedisConnectionError("Error 111 connecting to h:6379. Connection refused."),
        RedisTimeoutError("Timeout reading from socket"),
    ):
        error = classify(exc, "claim", "redis://h:6379/0", lambda: (7, 0, 15))
        assert type(error) is StoreError, exc


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A redis-server speaking only TLS, with a self-signed certificate for ``localhost``: (port, cert)."""
    openssl = require_binary("openssl", "openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    request = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"]
    subprocess.run(
        [openssl, *request, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    port = free_port()
    tls = ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert), "--tls-key-file", str(key)]
    command = [require_binary("redis-server", "redis-server"), *tls, "--tls-auth-clients", "no"]
    server = subprocess.Popen([*command, "--save", "", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    wait_for_port(port)
    yield port, cert
    server.terminate()
    server.wait(10)


def test_a_tls_certificate_that_cannot_be_verified_is_a_permanent_error_saying_how_to_trust_it(
    tls_redis: tuple[int, Path],
) -> None:
    port, cert = tls_redis
    store = RedisStore(f"rediss://localhost:{port}/0")
    with pytest.raises(PermanentStoreError) as raised:
        store.queues()
    assert "could not be verified" in str(raised.value) and "ssl_ca_certs" in str(raised.value)
    store.close()
    trusted = RedisStore(f"rediss://localhost:{port}/0?ssl_ca_certs={cert}")
    beat(trusted)
    assert trusted.claim(["default"], 1, OWNER, 0) == []
    trusted.close()


def test_a_running_process_never_logs_the_password_of_its_store(
    locked_redis: RedisServer, tmp_path: Path
) -> None:
    url = f"redis://:{PASSWORD}@127.0.0.1:{locked_redis.port}/0"
    proc = SidequestProcess(url, tmp_path, ["-c", "2"])
    try:
        wait_for(lambda: "starting" in proc.output(), 30, "the startup log line")
    finally:
        assert proc.terminate() == 0
    output = proc.output()
    assert f"redis://:***@127.0.0.1:{locked_redis.port}/0" in output and PASSWORD not in output


def test_an_ssl_error_on_an_established_connection_is_an_outage() -> None:
    try:
        raise ssl.SSLEOFError(8, "EOF occurred in violation of protocol")
    except ssl.SSLError as cause:
        dropped = RedisConnectionError("Error while reading from h:6380")
        dropped.__cause__ = cause
    assert type(classify(dropped, "claim", "rediss://h:6380/0", lambda: (7, 0, 15))) is StoreError
