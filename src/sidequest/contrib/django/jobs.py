"""Server middleware for jobs performed by ``manage.py sidequest run``.

Django closes a request's broken or expired database connections around each request
(``close_old_connections``); :func:`django_connections` does the same around each job, so a job never
inherits the connection a previous job on the same thread left broken (a database restart, an
aborted transaction) or that outlived ``CONN_MAX_AGE``. ``manage.py sidequest run`` adds it by
default; passing ``--middleware`` replaces the default, so list it there too::

    python manage.py sidequest run --middleware sidequest.contrib.django.jobs:django_connections \\
        --middleware myproject.jobs:audit
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DJANGO_CONNECTIONS = "sidequest.contrib.django.jobs:django_connections"


@contextmanager
def django_connections(worker: Any, payload: Any) -> Iterator[None]:
    """Close this thread's unusable or expired Django connections before and after the job."""
    from django.db import close_old_connections

    close_old_connections()
    try:
        yield
    finally:
        close_old_connections()
