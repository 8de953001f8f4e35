"""``POST /orders/ item=...``: save the order and enqueue its jobs in one atomic block."""

from billing.workers import InvoiceWorker
from django.db import transaction
from django.http import HttpRequest, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from orders.models import Order
from orders.workers.confirmation import OrderConfirmationWorker


@csrf_exempt
def place_order(request: HttpRequest) -> JsonResponse | HttpResponseNotAllowed:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    with transaction.atomic():
        order = Order.objects.create(item=request.POST.get("item", "a teapot"))
        # Pushed when the block commits (or, on the PostgreSQL store in this database, written in it):
        # never a job for an order that was rolled back.
        OrderConfirmationWorker.perform_async(order.id)
        InvoiceWorker.perform_async(order.id)
    return JsonResponse({"order": order.id}, status=201)
