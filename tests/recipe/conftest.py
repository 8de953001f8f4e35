"""The recipe app's fixtures: its shop database, and a real SQLite job store worked off in-process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import sidequest
from recipe.app.models import SHOP_ENV, Shop
from recipe.app.workers import ALL_WORKERS
from sidequest.defaults import DEFAULT
from sidequest.registry import WorkerRegistry
from sidequest.runtime import Launcher, ProcessConfig
from sidequest.stores import open_store
from sidequest.stores.base import Store

FAST = ProcessConfig(
    heartbeat_interval=0.2, lease_ttl=2.0, scheduler_interval=0.1, rescue_interval=0.5, fetch_timeout=0.1
)

WorkOff = Callable[..., None]


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Shop:
    """An empty shop database, the one the app's workers use in this test."""
    path = tmp_path / "shop.db"
    monkeypatch.setenv(SHOP_ENV, str(path))
    created = Shop(path)
    created.create_schema()
    return created


@pytest.fixture
def job_store(sqlite_url: str) -> Iterator[Store]:
    """A real SQLite job store, the default client's store for this test (``perform_async`` goes there)."""
    store = open_store(sqlite_url)
    with DEFAULT.override(sidequest.Client(store)):
        yield store
    store.close()


@pytest.fixture
def work_off(job_store: Store) -> WorkOff:
    """Run a sidequest process in this Python process until the queues are empty (burst mode).

    It loads the app's workers, as ``sidequest run -r recipe.app.workers`` would, plus any given.
    """

    def run(*more_workers: type[sidequest.Worker]) -> None:
        registry = WorkerRegistry.of(*ALL_WORKERS, *more_workers)
        assert Launcher(job_store, registry, FAST).drain(timeout=30), "jobs were still waiting after 30 s"

    return run
