"""Calls that every type checker must accept (tests/typing/test_typed_enqueue.py)."""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any

from app_jobs import OrderWorker, ResizeWorker, RushOrderWorker, refresh_feed, send_welcome

import sidequest


def enqueue_everything(when: datetime, worker: type[sidequest.Worker]) -> list[str | None]:
    jids: list[str | None] = [
        OrderWorker.perform_async(1),
        OrderWorker.perform_async(1, "gift"),
        OrderWorker.perform_in(60, 2),
        OrderWorker.perform_in(timedelta(minutes=5), 2, "late"),
        OrderWorker.perform_at(when, 3),
        OrderWorker.set(queue="critical").perform_async(4),
        OrderWorker.set(queue="critical").set(retry=2).perform_in(1.5, 5, "x"),
        OrderWorker.set(queue="critical").perform_at(when, 6),
        RushOrderWorker.perform_async(7),
        RushOrderWorker.set(queue="rush").perform_async(7, "now"),
        ResizeWorker.perform_async(8),
        ResizeWorker.perform_async(8, 100, 200, 300),
        send_welcome.perform_async(9),
        send_welcome.perform_async(9, "fr"),
        send_welcome.perform_in(30, 9),
        send_welcome.perform_at(when, 9, "de"),
        send_welcome.set(queue="critical").perform_async(9),
        refresh_feed.perform_async(10),
        # A Worker class known only as type[Worker]: accepted, its arguments checked at run time.
        worker.perform_async(1, "two", 3.0),
    ]
    jids += OrderWorker.perform_bulk([[1], [2, "b"]])
    jids += send_welcome.perform_bulk([[1], [2]])
    return jids


def call_directly() -> tuple[str, Coroutine[Any, Any, None]]:
    # The decorated function is still the function, with its own signature and return type.
    greeting: str = send_welcome(1, locale="fr")
    coroutine = refresh_feed(2)
    return greeting, coroutine
