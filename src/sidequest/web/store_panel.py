"""The dashboard's store panel: facts about the store itself, one builder per kind of store.

A new store adds its builder to :data:`PANELS` under its URL scheme. Facts that only the store's
server knows (Redis INFO, PostgreSQL table sizes) need a store method the contract does not have yet,
so the panel says what is not recorded instead of reaching past the Admin API.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sidequest.admin import Admin
from sidequest.stores.sqlite_schema import database_path


@dataclass(frozen=True, slots=True)
class StorePanel:
    """What the dashboard shows about the store: a title, facts as (label, value), and a note on what
    is not available yet."""

    kind: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    missing: str = ""

    def as_dict(self) -> dict[str, str]:
        """The facts as a JSON object (for ``/stats``)."""
        return {label: value for label, value in self.facts}


def human_bytes(size: int) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - the loop always returns


def _file_size(path: str) -> str:
    try:
        return human_bytes(os.stat(path).st_size)
    except OSError:
        return "none"


def sqlite_panel(admin: Admin) -> StorePanel:
    """SQLite: the database file and its write-ahead log, read from the file system."""
    path = database_path(admin.store.url)
    return StorePanel(
        "SQLite",
        [
            ("file", path),
            ("database size", _file_size(path)),
            ("WAL size", _file_size(path + "-wal")),
        ],
    )


def redis_panel(admin: Admin) -> StorePanel:
    """Redis: the server's INFO fields need a store method that does not exist yet."""
    return StorePanel(
        "Redis",
        [("url", admin.store.safe_url)],
        "Server facts (version, memory, clients, uptime) are not recorded yet: "
        "the store contract has no server-facts read.",
    )


def unknown_panel(admin: Admin) -> StorePanel:
    """A store with no panel of its own."""
    return StorePanel(
        type(admin.store).__name__, [("url", admin.store.safe_url)], "No panel for this store yet."
    )


PANELS: Mapping[str, Callable[[Admin], StorePanel]] = MappingProxyType(
    {"sqlite": sqlite_panel, "redis": redis_panel, "rediss": redis_panel, "unix": redis_panel}
)


def store_panel(admin: Admin) -> StorePanel:
    """The panel for the admin's store, chosen by its URL scheme."""
    scheme = admin.store.url.split(":", 1)[0].lower()
    return PANELS.get(scheme, unknown_panel)(admin)
