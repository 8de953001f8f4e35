"""The embedded SQLite store: one module per role (``store``, ``schema``, ``moves``, ``maintenance``,
``admin``, ``cron``, ``unique``, ``metrics``, ``facts``), the same roles as the other stores' packages."""

from sidequest.stores.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
