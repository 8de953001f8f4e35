"""What the dashboard's store panel shows about a Redis store: the ``INFO`` fields Sidekiq's Web UI
shows (and its ``/stats`` returns under ``redis``), under the same names."""

from __future__ import annotations

FACT_KEYS = (
    "redis_version",
    "uptime_in_days",
    "connected_clients",
    "used_memory_human",
    "used_memory_peak_human",
)
"""The INFO fields :func:`server_facts` returns, in Sidekiq's order."""


def server_facts(info: str) -> dict[str, str]:
    """The :data:`FACT_KEYS` fields of an ``INFO`` reply's text (a field the server lacks is left out)."""
    fields: dict[str, str] = {}
    for line in info.splitlines():
        name, sep, value = line.partition(":")
        if sep and name in FACT_KEYS:
            fields[name] = value.strip()
    return {name: fields[name] for name in FACT_KEYS if name in fields}
