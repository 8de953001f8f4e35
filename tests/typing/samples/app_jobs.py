"""Workers and job functions the typing samples enqueue (checked by mypy and pyright, never run)."""

from __future__ import annotations

import sidequest


class OrderWorker(sidequest.Worker):
    sidequest_options = {"queue": "orders"}

    def perform(self, order_id: int, note: str = "") -> None:
        pass


class RushOrderWorker(OrderWorker):
    """A subclass of a subclass: inherits perform, and its types."""


class Base(sidequest.Worker, abstract=True):
    pass


class ResizeWorker(Base):
    async def perform(self, image_id: int, *sizes: int) -> None:
        pass


@sidequest.job(queue="mailers", retry=5)
def send_welcome(user_id: int, locale: str = "en") -> str:
    return f"{user_id}:{locale}"


@sidequest.job
async def refresh_feed(feed_id: int) -> None:
    pass
