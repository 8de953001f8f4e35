"""Calls that mypy and pyright must reject: each line below a ``# mypy CODE: TEXT | pyright RULE: TEXT``
comment must get that error code and a message containing TEXT from each checker, and no other line
may get an error (tests/typing/test_typed_enqueue.py)."""

from __future__ import annotations

from datetime import datetime

from app_jobs import OrderWorker, ResizeWorker, RushOrderWorker, refresh_feed, send_welcome


def wrong(when: datetime) -> None:
    # mypy arg-type: expected "int" | pyright reportArgumentType: parameter "order_id"
    OrderWorker.perform_async("not-an-int")
    # mypy call-arg: Missing positional argument "order_id" | pyright reportCallIssue: parameter "order_id"
    OrderWorker.perform_async()
    # mypy call-arg: Too many arguments | pyright reportCallIssue: Expected 2 positional arguments
    OrderWorker.perform_async(1, "note", "extra")
    # mypy arg-type: expected "int" | pyright reportArgumentType: parameter "order_id"
    OrderWorker.perform_in(60, "not-an-int")
    # mypy arg-type: expected "float | int | timedelta" | pyright reportArgumentType: parameter "interval"
    OrderWorker.perform_in("soon", 1)
    # mypy arg-type: expected "int" | pyright reportArgumentType: parameter "order_id"
    OrderWorker.perform_at(when, None)
    # mypy arg-type: expected "int" | pyright reportArgumentType: parameter "order_id"
    OrderWorker.set(queue="critical").perform_async("not-an-int")
    # mypy call-arg: Missing positional argument "order_id" | pyright reportCallIssue: parameter "order_id"
    OrderWorker.set(queue="critical").perform_in(5)
    # mypy arg-type: expected "int" | pyright reportArgumentType: parameter "order_id"
    RushOrderWorker.perform_async("not-an-int")
    # mypy arg-type: expected "int" | pyright reportArgumentType: parameter "sizes"
    ResizeWorker.perform_async(1, "big")
    # mypy arg-type: expected "int" | pyright reportArgumentType: parameter "user_id"
    send_welcome.perform_async("not-an-int")
    # mypy call-arg: Missing positional argument "user_id" | pyright reportCallIssue: parameter "user_id"
    send_welcome.perform_async()
    # mypy arg-type: expected "str" | pyright reportArgumentType: parameter "locale"
    send_welcome.set(retry=1).perform_async(1, 2)
    # mypy call-arg: Unexpected keyword argument "user" | pyright reportCallIssue: No parameter named "user"
    send_welcome.perform_in(10, user="x")
    # mypy call-arg: Missing positional argument "feed_id" | pyright reportCallIssue: parameter "feed_id"
    refresh_feed.perform_at(when)
    # mypy arg-type: expected "int" | pyright reportArgumentType: parameter "user_id"
    send_welcome(None)
