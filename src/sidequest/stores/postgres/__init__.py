"""The PostgreSQL store (``postgresql://`` and ``postgres://`` URLs), on psycopg 3 and psycopg_pool.

One module per role, as in the other stores: ``store.py`` (the processing side), ``schema.py`` (numbered
migrations, applied at open), ``moves.py`` (the SQL that moves jobs between states), ``maintenance.py``
(heartbeats, promotion, rescue), ``admin.py`` (reads and actions for people), ``cron.py``, ``unique.py``,
``notify.py`` (LISTEN/NOTIFY wake-ups) and ``connection.py`` (URL options, the pool, error mapping).
"""

from sidequest.stores.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
