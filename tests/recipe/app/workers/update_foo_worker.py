"""app/workers/update_foo_worker.py: the recipe's Idempotence examples.

``UpdateFooWorker`` carries the new value in its arguments, so running it twice writes the same value
twice. ``IncrementFooWorker`` computes the new value when it runs, so each extra run adds one more.
"""

from __future__ import annotations

from typing import Any

import sidequest
from recipe.app.models import current_shop


class UpdateFooWorker(sidequest.Worker):
    """Idempotent: ``UpdateFooWorker.perform_async(foo_id, {"count": count + 1})``."""

    def perform(self, foo_id: int, new_params: dict[str, Any]) -> None:
        current_shop().update_foo(foo_id, new_params)


class IncrementFooWorker(sidequest.Worker):
    """Not idempotent: ``IncrementFooWorker.perform_async(420)``."""

    def perform(self, foo_id: int) -> None:
        shop = current_shop()
        shop.update_foo(foo_id, {"count": shop.foo_count(foo_id) + 1})
