import sidequest
from orders.models import Order


class OrderConfirmationWorker(sidequest.Worker):
    """Marks an order confirmed (where a real shop would send the email)."""

    sidequest_options = {"queue": "default", "retry": 3}

    def perform(self, order_id: int) -> None:
        # get() raises for an order that does not exist: a job for a rolled-back order would fail here.
        order = Order.objects.get(id=order_id)
        order.confirmed = True
        order.save(update_fields=["confirmed"])
