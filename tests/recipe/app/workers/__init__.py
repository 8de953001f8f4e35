"""app/workers/: every worker of the recipe app (the recipe keeps them all in this directory)."""

from recipe.app.workers.atomic import order_confirmation_worker as atomic
from recipe.app.workers.my_worker import MyWorker
from recipe.app.workers.order_confirmation_worker import (
    OneByOneOrderConfirmationWorker,
    OrderConfirmationWorker,
)
from recipe.app.workers.rebuild_product_pages_worker import RebuildProductPagesWorker
from recipe.app.workers.update_foo_worker import IncrementFooWorker, UpdateFooWorker

ALL_WORKERS = (
    MyWorker,
    OrderConfirmationWorker,
    OneByOneOrderConfirmationWorker,
    atomic.OrderConfirmationWorker,
    UpdateFooWorker,
    IncrementFooWorker,
    RebuildProductPagesWorker,
)
"""What ``sidequest run -r recipe.app.workers`` would load."""

__all__ = [
    "ALL_WORKERS",
    "IncrementFooWorker",
    "MyWorker",
    "OneByOneOrderConfirmationWorker",
    "OrderConfirmationWorker",
    "RebuildProductPagesWorker",
    "UpdateFooWorker",
]
