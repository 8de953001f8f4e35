"""Contract: each store's server facts, the keys its store panel promises, with real values."""

from __future__ import annotations

import os
import time

import psycopg

from contract.support import JobMaker
from sidequest.stores.base import Store


def test_each_store_gives_the_facts_its_panel_promises(store: Store, jobs: JobMaker) -> None:
    jobs.push_many(20)
    facts = store.server_facts()
    kind = type(store).__name__
    assert all(isinstance(value, str) for value in facts.values())
    if kind == "SQLiteStore":
        assert set(facts) == {"file", "database_size", "wal_size"}
        assert facts["file"] == os.path.abspath(facts["file"]) and os.path.exists(facts["file"])
        assert int(facts["database_size"]) > 0
        assert int(facts["wal_size"]) > 0  # the pushes sit in the WAL until a checkpoint
    elif kind == "RedisStore":
        assert list(facts) == [
            "redis_version",
            "uptime_in_days",
            "connected_clients",
            "used_memory_human",
            "used_memory_peak_human",
        ]
        assert facts["redis_version"][0].isdigit()
        assert int(facts["connected_clients"]) >= 1
        assert int(facts["uptime_in_days"]) >= 0
        assert facts["used_memory_human"][-1] in "BKMG"
    else:
        assert kind == "PostgresStore"
        assert list(facts) == [
            "server_version",
            "table_size",
            "index_size",
            "dead_tuples",
            "oldest_transaction_seconds",
        ]
        assert facts["server_version"][0].isdigit()
        assert int(facts["table_size"]) > 0 and int(facts["index_size"]) > 0
        assert int(facts["dead_tuples"]) >= 0
        assert float(facts["oldest_transaction_seconds"]) >= 0


def test_the_oldest_open_transaction_is_the_age_of_one_left_open(store: Store) -> None:
    if type(store).__name__ != "PostgresStore":
        assert "oldest_transaction_seconds" not in store.server_facts()
        return
    with psycopg.connect(store.options.conninfo) as idle:  # type: ignore[attr-defined]
        idle.execute("SELECT 1")  # opens a transaction (psycopg is not in autocommit) and leaves it open
        time.sleep(1.2)
        assert float(store.server_facts()["oldest_transaction_seconds"]) >= 1.0
