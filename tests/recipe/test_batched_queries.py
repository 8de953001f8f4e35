"""The recipe's "Batch Your Queries": ``find_each`` reads a table in batches, then yields row by row."""

from __future__ import annotations

from collections.abc import Callable

from recipe.app.models import Shop
from recipe.app.workers import RebuildProductPagesWorker
from sidequest.stores.base import Store
from sidequest.testing import FakeClient


def test_find_in_batches_reads_live_products_one_batch_at_a_time(shop: Shop) -> None:
    live = shop.add_products(120)
    shop.add_products(30, deleted=True)
    live += shop.add_products(110)

    batches = list(shop.find_in_batches("products", "deleted_at IS NULL", batch_size=100))

    assert [len(batch) for batch in batches] == [100, 100, 30]
    assert [row["id"] for batch in batches for row in batch] == live


def test_find_each_yields_the_same_rows_one_at_a_time(shop: Shop) -> None:
    live = shop.add_products(7)
    shop.add_products(2, deleted=True)

    assert [row["id"] for row in shop.find_each("products", "deleted_at IS NULL", batch_size=3)] == live


def test_the_periodic_rebuild_job_rebuilds_every_live_product_page(
    job_store: Store, work_off: Callable[..., None], shop: Shop
) -> None:
    live = shop.add_products(150)
    deleted = shop.add_products(10, deleted=True)

    RebuildProductPagesWorker.perform_async()  # a periodic job: no parameters
    work_off()

    pages = shop.product_pages()
    assert all(pages[product] == f"<h1>product {n}</h1>" for n, product in enumerate(live))
    assert all(pages[product] is None for product in deleted)


def test_the_rebuild_job_runs_with_no_parameters_in_fake_mode_too(
    sidequest_fake: FakeClient, shop: Shop
) -> None:
    [product] = shop.add_products(1)

    RebuildProductPagesWorker.perform_async()
    assert [job.args for job in sidequest_fake.jobs] == [[]]
    sidequest_fake.drain()

    assert shop.product_pages() == {product: "<h1>product 0</h1>"}
