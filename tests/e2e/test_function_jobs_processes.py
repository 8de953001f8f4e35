"""``@sidequest.job`` functions enqueued through their typed methods and performed by a real
``sidequest run -r MODULE`` process, on every store: options, async functions, retries, the dead set,
a function isolated in a child process."""

from __future__ import annotations

import time
from pathlib import Path

from processes import SidequestProcess, runs, wait_for
from sidequest.client import Client
from sidequest.defaults import DEFAULT
from sidequest.stores import open_store
from testapp.function_jobs import deliver, doomed, flaky, in_child, refresh


def test_decorated_functions_are_performed_by_a_real_process_with_their_options_and_retries(
    store_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    store = open_store(store_url)
    with DEFAULT.current(Client(store)):
        delivered = deliver.perform_async("welcome", 2)
        deliver.set(queue="default").perform_async("rerouted")
        refresh.perform_in(0.5, "feed")
        flaky.perform_async("shaky")
        dead = doomed.perform_async("hopeless")
        in_child.perform_async("isolated")
    sizes = {queue.name: queue.size for queue in store.queues()}
    assert sizes == {"default": 4, "mailers": 1}  # deliver's own queue; set() overrides it per call
    [queued] = [entry for entry in store.list_queue("mailers") if entry.jid == delivered]
    assert queued.payload is not None
    assert queued.payload["class"] == "testapp.function_jobs.deliver"
    assert queued.payload["retry"] == 3 and queued.payload["args"] == ["welcome", 2]

    proc = SidequestProcess(
        store_url, tmp_path, ["-r", "testapp.function_jobs", "-q", "mailers", "-q", "default"], record
    )
    try:

        def all_done() -> bool:
            store.promote_due(time.time() + 3600)  # flaky's retry is due 15+ s out: bring it forward
            done = runs(record)
            isolated = [key for key in done if key.startswith("child-isolated-")]
            keys = ("welcomex2", "reroutedx1", "async-feed", "shaky")
            return all(done[key] == 1 for key in keys) and len(isolated) == 1

        wait_for(all_done, 60, "every function job, flaky's retry included")
        wait_for(lambda: len(store.list_set("dead")) == 1, 20, "doomed in the dead set")
    finally:
        assert proc.terminate() == 0
    assert runs(record)["attempt-shaky"] == 2  # failed once, then succeeded on its retry
    [isolated] = [key for key in runs(record) if key.startswith("child-isolated-")]
    assert isolated != f"child-isolated-{proc.pid}"  # isolation="process": a child of the pool ran it
    [entry] = store.list_set("dead")
    assert entry.jid == dead and entry.payload is not None
    assert entry.payload["class"] == "testapp.function_jobs.doomed"
    assert entry.payload["error_class"] == "ValueError"
    assert entry.payload["error_message"] == "hopeless never works"
    assert store.list_set("retry") == []
    store.close()
