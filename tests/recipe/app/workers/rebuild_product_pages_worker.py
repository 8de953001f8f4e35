"""app/workers/rebuild_product_pages_worker.py: a periodic job that reads its table in batches."""

from __future__ import annotations

import sidequest
from recipe.app.models import current_shop


class RebuildProductPagesWorker(sidequest.Worker):
    """``Product.find_each(conditions: "deleted_at is null") { |p| p.rebuild_product_detail_page! }``"""

    def perform(self) -> None:
        shop = current_shop()
        for product in shop.find_each("products", "deleted_at IS NULL"):
            shop.rebuild_product_detail_page(product["id"], product["name"])
