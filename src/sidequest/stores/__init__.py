"""Stores, chosen by URL: ``sqlite:///path.db`` (embedded, the default), ``redis://`` / ``rediss://`` /
``unix://`` (Sidekiq's data model),
``postgresql://`` / ``postgres://`` (PostgreSQL, with enqueue inside the application's transaction)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sidequest.errors import ConfigurationError

if TYPE_CHECKING:
    from sidequest.stores.base import Store

SCHEMES = (
    "sqlite:///path/to/file.db, redis://host:6379/0, rediss://..., unix:///path/to/redis.sock, "
    "postgresql://user:password@host:5432/database"
)


def open_store(url: str) -> Store:
    """Open the store a URL names. Raises :class:`ConfigurationError` for a URL no store understands."""
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "sqlite":
        from sidequest.stores.sqlite import SQLiteStore

        return SQLiteStore(url)
    if scheme in ("redis", "rediss", "unix"):
        from sidequest.stores.redis import RedisStore

        return RedisStore(url)
    if scheme in ("postgres", "postgresql"):
        from sidequest.stores.postgres import PostgresStore

        return PostgresStore(url)
    raise ConfigurationError(f"unknown store URL {url!r}; sidequest understands {SCHEMES}")
