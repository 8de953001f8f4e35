"""The example Flask shop: ``flask --app flask_shop run``, ``flask --app flask_shop sidequest run``.

``POST /orders`` enqueues a confirmation; the dashboard is at ``/sidequest``. The store comes from
``SIDEQUEST_URL`` (default: jobs.db in the working directory), the outbox file the worker writes
from ``SHOP_OUTBOX``.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, jsonify, request

from sidequest.contrib.flask import Sidequest


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SIDEQUEST_URL=os.environ.get("SIDEQUEST_URL", "sqlite:///jobs.db"),
        SIDEQUEST_QUEUES=["default"],
        SIDEQUEST_WORKERS=["flask_shop.workers"],
        SIDEQUEST_OPTIONS={"concurrency": 5},
    )
    app.config.update(config or {})
    Sidequest(app)

    @app.post("/orders")
    def place_order() -> tuple[Any, int]:
        from flask_shop.workers import ConfirmationWorker

        order_id = int(request.form.get("order_id", "1"))
        jid = ConfirmationWorker.perform_async(order_id)
        return jsonify(order=order_id, jid=jid), 202

    return app
