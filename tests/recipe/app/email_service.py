"""``MyEmailService`` of the recipe: the less reliable of the two systems a job talks to."""

from __future__ import annotations

from recipe.app.models import Order, current_shop


class EmailServiceDown(RuntimeError):
    """The email service refused a delivery."""


def deliver(kind: str, order: Order) -> None:
    """``MyEmailService.deliver!(kind, order)``: send one email, or raise :class:`EmailServiceDown`."""
    shop = current_shop()
    if shop.is_down_for(order.email):
        raise EmailServiceDown(f"cannot deliver {kind} to {order.email}")
    shop.record_delivery(kind, order.id)
