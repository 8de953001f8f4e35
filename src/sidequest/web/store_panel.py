"""The dashboard's store panel: what the store says about its server or file
(:meth:`sidequest.admin.Admin.server_facts`), with a person's labels and sizes in KiB/MiB.

The kind of store is named from its URL scheme; facts a panel does not know a label for are shown
under their own key, so a store that adds a fact needs no change here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sidequest.admin import Admin
from sidequest.errors import SidequestError


@dataclass(frozen=True, slots=True)
class StorePanel:
    """What the dashboard shows about the store: a title, facts as (label, value) for people, the raw
    facts (for ``/stats``), and a note when the facts could not be read."""

    kind: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    raw: dict[str, str] = field(default_factory=dict)
    missing: str = ""

    def as_dict(self) -> dict[str, str]:
        """The store's facts under their keys, as a JSON object (for ``/stats``)."""
        return dict(self.raw)


KINDS: Mapping[str, str] = MappingProxyType(
    {
        "sqlite": "SQLite",
        "redis": "Redis",
        "rediss": "Redis",
        "unix": "Redis",
        "postgres": "PostgreSQL",
        "postgresql": "PostgreSQL",
    }
)

LABELS: Mapping[str, str] = MappingProxyType(
    {
        "file": "file",
        "database_size": "database size",
        "wal_size": "WAL size",
        "redis_version": "version",
        "uptime_in_days": "uptime (days)",
        "connected_clients": "connected clients",
        "used_memory_human": "used memory",
        "used_memory_peak_human": "peak memory",
        "server_version": "version",
        "table_size": "table size",
        "index_size": "index size",
        "dead_tuples": "dead tuples",
        "oldest_transaction_seconds": "oldest open transaction",
    }
)

BYTES = frozenset({"database_size", "wal_size", "table_size", "index_size"})
"""Facts given in bytes, shown in KiB/MiB/GiB."""


def human_bytes(size: int) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - the loop always returns


def shown(key: str, value: str) -> str:
    """A fact's value for people: bytes as KiB/MiB, seconds with their unit."""
    if key in BYTES and value.isdigit():
        return human_bytes(int(value))
    if key == "oldest_transaction_seconds":
        return f"{value} s"
    return value


def store_panel(admin: Admin) -> StorePanel:
    """The panel for the admin's store: its kind, URL (password hidden) and facts. A store that
    cannot be reached gets a panel saying why instead of a failed page."""
    scheme = admin.store.url.split(":", 1)[0].lower()
    kind = KINDS.get(scheme, type(admin.store).__name__)
    facts = [("url", admin.store.safe_url)]
    try:
        raw = admin.server_facts()
    except SidequestError as exc:
        return StorePanel(kind, facts, {}, f"Server facts could not be read: {exc}")
    facts += [(LABELS.get(key, key), shown(key, value)) for key, value in raw.items()]
    return StorePanel(kind, facts, raw, "" if raw else "This store reports no server facts.")
