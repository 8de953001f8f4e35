"""Scenarios run inside the example Django project, one per process (Django's settings are global to
a process): ``python django_scenarios.py NAME [ARG...]`` prints one JSON line with what it saw.

The environment names the project's database (``SHOP_DATABASE``) and the store (``SIDEQUEST_URL``),
as in ``examples/django_app/shop_site/settings.py``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_site.settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from sidequest.stores import open_store  # noqa: E402


class Rollback(Exception):
    """Raised inside an atomic block to roll it back."""


def pending() -> int:
    """Jobs waiting in the store, seen from a connection of the store's own (committed ones only)."""
    with open_store(os.environ["SIDEQUEST_URL"]) as store:
        return store.counts().enqueued


def seen_by_django() -> int | None:
    """Jobs seen through Django's own connection (inside its transaction), on a PostgreSQL store in
    Django's database; None elsewhere."""
    if connection.vendor != "postgresql":
        return None
    with open_store(os.environ["SIDEQUEST_URL"]) as store:
        schema = getattr(store, "schema", None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [f'"{schema}".jobs'])
        if not cursor.fetchone()[0]:
            return None
        cursor.execute(f'SELECT count(*) FROM "{schema}".jobs')
        return int(cursor.fetchone()[0])


def place(item: str) -> int:
    from billing.workers import InvoiceWorker
    from orders.models import Order
    from orders.workers.confirmation import OrderConfirmationWorker

    order = Order.objects.create(item=item)
    OrderConfirmationWorker.perform_async(order.id)
    InvoiceWorker.perform_async(order.id)
    return int(order.id)


def atomic() -> dict[str, Any]:
    """A rolled-back block, a committed one, and a committed one whose savepoint rolled back."""
    call_command("migrate", verbosity=0)
    seen: dict[str, Any] = {}
    try:
        with transaction.atomic():
            seen["lost"] = place("lost")
            seen["inside_lost"] = pending()
            seen["django_sees_lost"] = seen_by_django()
            raise Rollback
    except Rollback:
        pass
    seen["after_rollback"] = pending()
    with transaction.atomic():
        seen["kept"] = place("kept")
        seen["inside_kept"] = pending()
        seen["django_sees_kept"] = seen_by_django()
        try:
            with transaction.atomic():
                seen["savepoint"] = place("savepoint")
                raise Rollback
        except Rollback:
            pass
    seen["after_commit"] = pending()
    seen["autocommit"] = place("autocommit")
    seen["after_autocommit"] = pending()
    return seen


def killed_inside() -> dict[str, Any]:
    """kill -9 of this process inside an atomic block, after the enqueues: nothing may survive."""
    import signal

    call_command("migrate", verbosity=0)
    with transaction.atomic():
        place("killed")
        os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("not killed")


def discovered() -> dict[str, Any]:
    from sidequest.contrib.django.apps import sidequest_config
    from sidequest.registry import WorkerRegistry

    return {
        "modules": sidequest_config().worker_modules,
        "workers": [
            name for name in WorkerRegistry.from_loaded().names() if not name.startswith("sidequest.")
        ],
    }


def orders(count: str) -> dict[str, Any]:
    call_command("migrate", verbosity=0)
    ids = []
    for number in range(int(count)):
        with transaction.atomic():
            ids.append(place(f"order {number}"))
    return {"ids": ids, "pending": pending()}


def state() -> dict[str, Any]:
    from orders.models import Order

    return {"orders": list(Order.objects.order_by("id").values("item", "confirmed", "invoiced"))}


def dashboard() -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.test import Client

    from contrib.support import follow_links

    call_command("migrate", verbosity=0)
    User.objects.create_user("clerk", password="pw")
    User.objects.create_user("boss", password="pw", is_staff=True)
    seen: dict[str, Any] = {}
    anonymous = Client().get("/sidequest/queues")
    seen["anonymous"] = [anonymous.status_code, anonymous.get("Location", "")]
    clerk = Client()
    clerk.login(username="clerk", password="pw")
    seen["clerk"] = clerk.get("/sidequest/").status_code
    boss = Client()
    boss.login(username="boss", password="pw")

    def get(url: str) -> tuple[int, str]:
        response = boss.get(url)
        return response.status_code, response.content.decode()

    seen["links"] = follow_links(get, "/sidequest")
    status, page = get("/sidequest/queues/m%C3%A4il")
    seen["unicode_path"] = [status, page[:300]]
    # Under Django's ASGI handler too (an AsyncClient): the same view, the same prefix.
    seen["asgi"] = asyncio.run(_through_asgi(User.objects.get(username="boss")))
    # A POST from the dashboard's own page (same origin) reaches it and is answered (a redirect back).
    posted = boss.post("/sidequest/retries/all/delete", HTTP_SEC_FETCH_SITE="same-origin")
    seen["post"] = [posted.status_code, posted.get("Location", "")]
    return seen


async def _through_asgi(user: Any) -> list[Any]:
    from django.test import AsyncClient

    client = AsyncClient()
    await client.aforce_login(user)
    response = await client.get("/sidequest/queues")
    anonymous = await AsyncClient().get("/sidequest/queues")
    return [response.status_code, b'href="/sidequest/static/' in response.content, anonymous.status_code]


SCENARIOS: dict[str, Callable[..., dict[str, Any]]] = {
    "atomic": atomic,
    "discovered": discovered,
    "killed_inside": killed_inside,
    "orders": orders,
    "state": state,
    "dashboard": dashboard,
}

if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[1]](*sys.argv[2:])))
