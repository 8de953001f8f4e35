"""What a process publishes besides its lease, read back the same on every store: its queues with their
weights (the dashboard's Busy page), its process pool, and the facts that prove it dead on this host."""

from __future__ import annotations

import dataclasses

from contract.support import process_info
from sidequest.stores.base import Heartbeat, Store


def test_a_process_publishes_its_queue_weights_pool_and_host_facts_on_every_store(store: Store) -> None:
    info = dataclasses.replace(
        process_info("host:1:weights", queues=["critical", "default"]),
        weights={"critical": 3, "default": 1},
        process_pool=2,
        boot_id="boot-1",
        pid_namespace="pid:[4026531836]",
        pid_started=12345,
    )
    store.beat(Heartbeat(info))
    [published] = store.processes()
    assert published.queues == ["critical", "default"]
    assert published.weights == {"critical": 3, "default": 1}
    assert published.process_pool == 2
    assert (published.boot_id, published.pid_namespace, published.pid_started) == (
        "boot-1",
        "pid:[4026531836]",
        12345,
    )
