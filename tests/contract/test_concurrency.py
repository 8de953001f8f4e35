"""Contract: many claimers at once - threads sharing one store object, threads with their own
connections, and separate OS processes - never get the same job, and together get every job."""

from __future__ import annotations

import textwrap
import threading
from collections import Counter

from contract.support import JobMaker, beat
from racing import race
from sidequest.job import Claimed
from sidequest.stores import open_store
from sidequest.stores.base import Store

# A claimer in its own process: claims until the queue stays empty, acks, prints each jid.
DRAIN = textwrap.dedent(
    """
    import sys
    from sidequest.stores import open_store
    from sidequest.stores.base import Heartbeat
    from sidequest.job import ProcessInfo

    url, identity = sys.argv[1], sys.argv[2]
    store = open_store(url)
    store.beat(Heartbeat(ProcessInfo(identity, "host", 0, 0.0, 5, ["default"]), ttl=60))
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    while jobs := store.claim(["default"], 7, identity, 0.2):
        assert store.ack(identity, jobs) == len(jobs)
        print("\\n".join(job.jid or "" for job in jobs), flush=True)
    store.close()
    """
)


def drain_in_threads(stores: list[Store], per_claim: int = 5) -> list[list[Claimed]]:
    """Each thread claims from its store (with its own owner) until the queue is empty."""
    taken: list[list[Claimed]] = [[] for _ in stores]
    start = threading.Barrier(len(stores))

    def drain(index: int) -> None:
        owner = f"host:{index}:thread"
        beat(stores[index], owner)
        start.wait()
        while jobs := stores[index].claim(["default"], per_claim, owner, 0):
            taken[index].extend(jobs)
            assert stores[index].ack(owner, jobs) == len(jobs)

    threads = [threading.Thread(target=drain, args=(index,)) for index in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return taken


def test_two_threads_claiming_at_once_never_get_the_same_job(store: Store, jobs: JobMaker) -> None:
    pushed = jobs.push_many(300)
    taken = drain_in_threads([store] * 8)
    seen = Counter(job.jid for batch in taken for job in batch)
    assert sorted(seen) == sorted(pushed)
    assert set(seen.values()) == {1}


def test_claimers_on_their_own_connections_never_get_the_same_job(store: Store, jobs: JobMaker) -> None:
    pushed = jobs.push_many(300)
    claimers = [open_store(store.url) for _ in range(6)]
    try:
        taken = drain_in_threads(claimers, per_claim=3)
    finally:
        for claimer in claimers:
            claimer.close()
    seen = Counter(job.jid for batch in taken for job in batch)
    assert sorted(seen) == sorted(pushed)
    assert set(seen.values()) == {1}


def test_several_processes_draining_one_queue_get_every_job_exactly_once(
    store: Store, jobs: JobMaker
) -> None:
    pushed = jobs.push_many(400)
    outputs = race(DRAIN, [[store.url, f"host:{number}:process"] for number in range(3)])
    seen = Counter(jid for out in outputs for jid in out)
    assert sorted(seen) == sorted(pushed)
    assert set(seen.values()) == {1}
    assert store.counts().enqueued == 0
