"""The FastAPI shop's worker: appends the confirmation it would email to an outbox file."""

from __future__ import annotations

import os

import sidequest


class ConfirmationWorker(sidequest.Worker):
    sidequest_options = {"queue": "default", "retry": 3}

    def perform(self, order_id: int) -> None:
        with open(os.environ.get("SHOP_OUTBOX", "outbox.txt"), "a") as outbox:
            outbox.write(f"fastapi order {order_id} confirmed\n")
