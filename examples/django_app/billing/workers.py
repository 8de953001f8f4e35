"""The billing app's workers, in a plain ``workers`` module."""

from orders.models import Order

import sidequest


class InvoiceWorker(sidequest.Worker):
    sidequest_options = {"queue": "billing"}

    def perform(self, order_id: int) -> None:
        Order.objects.filter(id=order_id).update(invoiced=True)
