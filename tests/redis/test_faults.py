"""Scenarios: Redis goes away, restarts or forgets its scripts, and a process dies mid-claim. The store
fails fast with StoreError (the runtime retries), loses nothing across a restart, and a kill -9 at any
instant leaves every job either finished or somewhere a rescuer finds it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from redis.client import Redis
from redis.exceptions import RedisError
from redis_helpers import OWNER, beat

from servers import RedisServer, free_port
from sidequest.client import Client
from sidequest.errors import StoreError
from sidequest.retry import record_failure
from sidequest.stores.redis import RedisStore


def wait_until_loaded(server: RedisServer) -> None:
    """Redis accepts connections before it has replayed its AOF, answering LOADING meanwhile."""
    client = Redis.from_url(server.url)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)
    client.close()


def test_an_unreachable_redis_raises_store_error_naming_the_operation_without_the_password() -> None:
    store = RedisStore(f"redis://:s3cret@127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(StoreError) as raised:
        store.claim(["default"], 10, OWNER, 0)
    message = str(raised.value)
    assert "claim from default failed" in message and "127.0.0.1" in message
    assert "s3cret" not in message and "s3cret" not in repr(store)
    assert time.monotonic() - started < 6
    store.close()


def test_a_restart_keeps_what_the_scripts_wrote_and_the_scripts_load_again(own_redis: RedisServer) -> None:
    store = RedisStore(own_redis.url)
    client = Client(store)
    client.push_bulk({"class": "HardJob", "args": [[1], [2], [3], [4]]})
    client.push({"class": "HardJob", "args": ["later"], "at": time.time() + 3600})
    beat(store)
    held, failing = store.claim(["default"], 2, OWNER, 0)
    assert failing.payload is not None
    assert store.retry(OWNER, failing, record_failure(failing.payload, ValueError("x"), time.time()), 1.0)
    assert store.promote_due(time.time()) == 1

    own_redis.restart()
    wait_until_loaded(own_redis)

    counts = store.counts()  # the first call after the restart reconnects by itself
    assert (counts.enqueued, counts.scheduled, counts.retry) == (3, 1, 0)
    beat(store)
    assert store.ack(OWNER, [held]) == 1  # the in-flight list survived; EVALSHA reloaded the script
    assert len(store.claim(["default"], 10, OWNER, 0)) == 3
    store.close()


def test_a_crashed_redis_with_fsync_always_loses_nothing_acknowledged(own_redis: RedisServer) -> None:
    store = RedisStore(own_redis.url)
    Client(store).push_bulk({"class": "HardJob", "args": [[n] for n in range(50)]})
    beat(store)
    claimed = store.claim(["default"], 20, OWNER, 0)
    assert store.ack(OWNER, claimed[:10]) == 10
    own_redis.kill()
    with pytest.raises(StoreError):
        store.claim(["default"], 1, OWNER, 0)
    own_redis.start()
    wait_until_loaded(own_redis)
    assert store.counts().enqueued == 30
    beat(store)
    assert store.ack(OWNER, claimed[10:]) == 10
    store.close()


def test_script_flush_is_survived(store: RedisStore, raw: Redis, client: Client) -> None:
    client.push({"class": "HardJob", "args": [1]})
    beat(store)
    raw.script_flush()
    [job] = store.claim(["default"], 1, OWNER, 0)
    raw.script_flush()
    assert store.ack(OWNER, [job]) == 1
    raw.script_flush()
    client.push({"class": "HardJob", "args": ["s"], "at": time.time() + 60})
    [entry] = store.list_set("scheduled")
    assert store.retry_now([entry]) == 1


def test_a_claim_waiting_while_redis_dies_raises_store_error_then_works_again(
    own_redis: RedisServer,
) -> None:
    store = RedisStore(own_redis.url)
    beat(store)
    killer = threading.Timer(0.3, own_redis.kill)
    started = time.monotonic()
    killer.start()
    with pytest.raises(StoreError):
        store.claim(["default"], 1, OWNER, 3.0)
    killer.join()
    assert time.monotonic() - started < 2
    own_redis.start()
    wait_until_loaded(own_redis)
    beat(store)
    assert store.claim(["default"], 1, OWNER, 0.1) == []
    store.close()


CLAIMER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from redis_helpers import beat
    from sidequest.stores.redis import RedisStore

    store = RedisStore(sys.argv[1])
    owner = "doomed:1:000000000000"
    beat(store, owner, ttl=0.5)
    while True:
        jobs = store.claim(["default"], 7, owner, 1.0)
        print(" ".join(job.jid for job in jobs), flush=True)  # before the ack: "maybe done"
        store.ack(owner, jobs)
        beat(store, owner, ttl=0.5)
    """
)


def test_a_process_killed_at_any_instant_loses_no_job(
    store: RedisStore, client: Client, redis_url: str
) -> None:
    jids = set(client.push_bulk({"class": "HardJob", "args": [[n] for n in range(3000)]}))
    here = Path(__file__).parent
    child = subprocess.Popen(
        [sys.executable, "-c", CLAIMER, redis_url, str(here)],
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    # Kill it mid-drain: once it has claimed some (a fixed sleep failed on a loaded machine).
    watcher = Redis.from_url(redis_url)
    deadline = time.monotonic() + 20
    while watcher.llen("queue:default") > 2500 and time.monotonic() < deadline:
        time.sleep(0.01)
    watcher.close()
    child.send_signal(signal.SIGKILL)
    output, _ = child.communicate()
    maybe_done = set(output.split())
    assert maybe_done, "the child claimed nothing before it was killed"
    time.sleep(0.6)  # its lease (0.5 s) lapses
    store.rescue_orphans(time.time())
    beat(store)
    left: set[str] = set()
    while batch := store.claim(["default"], 500, OWNER, 0):
        left |= {job.jid or "" for job in batch}
    assert jids - maybe_done == left - maybe_done
    assert jids <= maybe_done | left
