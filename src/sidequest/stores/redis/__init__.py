"""The Redis store, in Sidekiq's data model: one module per role (``store``, ``keys``, ``claim``, ``beat``,
``admin``, ``cron``, ``unique``, ``metrics``, ``facts``, ``conn``, ``errors``, ``scripts`` with ``lua/``),
the same roles as the other stores' packages."""

from sidequest.stores.redis.store import RedisStore

__all__ = ["RedisStore"]
