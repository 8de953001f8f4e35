"""A FastAPI app that enqueues from a route and mounts the dashboard at /sidequest.

Serve it with ``uvicorn --factory fastapi_shop.main:create_app``.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from fastapi_shop.workers import ConfirmationWorker
from sidequest.contrib.starlette import dashboard, lifespan


def create_app(url: str | None = None) -> FastAPI:
    store_url = url or os.environ.get("SIDEQUEST_URL", "sqlite:///jobs.db")
    app = FastAPI(lifespan=lifespan(store_url))
    app.mount("/sidequest", dashboard(store_url))

    @app.post("/orders/{order_id}", status_code=202)
    def place_order(order_id: int) -> dict[str, object]:
        # A plain def route runs in the threadpool: the enqueue's store write does not block the loop.
        return {"order": order_id, "jid": ConfirmationWorker.perform_async(order_id)}

    return app
