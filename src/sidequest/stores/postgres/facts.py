"""What the dashboard's store panel shows about a PostgreSQL store: its tables' and indexes' size,
dead tuples waiting for vacuum, and the age of the oldest open transaction (which holds vacuum back,
so a long one makes the job tables bloat)."""

from __future__ import annotations

from typing import Any

import psycopg

SIZES = """
    SELECT coalesce(sum(pg_table_size(c.oid)), 0), coalesce(sum(pg_indexes_size(c.oid)), 0)
    FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE n.nspname = %(schema)s AND c.relkind = 'r'
"""
DEAD_TUPLES = "SELECT coalesce(sum(n_dead_tup), 0) FROM pg_stat_user_tables WHERE schemaname = %(schema)s"
# Other sessions only: this read's own transaction is young by construction.
OLDEST_TRANSACTION = """
    SELECT coalesce(extract(epoch FROM max(clock_timestamp() - xact_start)), 0)::float8
    FROM pg_stat_activity
    WHERE xact_start IS NOT NULL AND datname = current_database() AND pid <> pg_backend_pid()
"""

FACT_KEYS = ("server_version", "table_size", "index_size", "dead_tuples", "oldest_transaction_seconds")
"""The facts :func:`server_facts` returns, in order."""


def server_facts(conn: psycopg.Connection[Any], schema: str) -> dict[str, str]:
    """Sizes in bytes of the schema's tables and indexes, its dead tuples, the oldest open
    transaction's age in seconds in this database, and the server's version."""
    version = conn.execute("SHOW server_version").fetchone()
    sizes = conn.execute(SIZES, {"schema": schema}).fetchone() or (0, 0)
    dead = conn.execute(DEAD_TUPLES, {"schema": schema}).fetchone() or (0,)
    oldest = conn.execute(OLDEST_TRANSACTION).fetchone() or (0.0,)
    return {
        "server_version": str(version[0]) if version else "",
        "table_size": str(int(sizes[0])),
        "index_size": str(int(sizes[1])),
        "dead_tuples": str(int(dead[0])),
        "oldest_transaction_seconds": f"{float(oldest[0]):.1f}",
    }
