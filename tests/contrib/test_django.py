"""Django: the example shop (``examples/django_app``) on a real database, SQLite or the suite's
PostgreSQL, with every store. Each scenario runs in a process of its own (Django's settings belong to
a process; see ``django_scenarios.py``); jobs are performed by a real ``manage.py sidequest run``."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pg_servers import Databases
from processes import wait_for
from sidequest.stores import open_store

from .support import DJANGO_APP, FAST, FrameworkProcess, environment

SCENARIOS = Path(__file__).resolve().parent / "django_scenarios.py"
MANAGE = str(DJANGO_APP / "manage.py")


class Shop:
    """The example project on one database and one store."""

    def __init__(self, database: str, store_url: str, workdir: Path) -> None:
        self.env = environment(DJANGO_APP, SHOP_DATABASE=database, SIDEQUEST_URL=store_url)
        self.env["DJANGO_SETTINGS_MODULE"] = "shop_site.settings"
        self.store_url = store_url
        self.workdir = workdir

    def scenario(self, name: str, *args: str, code: int = 0) -> Any:
        done = subprocess.run(
            [sys.executable, str(SCENARIOS), name, *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == code, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1]) if code == 0 else None

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, MANAGE, *args],
            env=self.env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def run_process(self, *args: str) -> FrameworkProcess:
        return FrameworkProcess([MANAGE, "sidequest", "run", *FAST, *args], self.workdir, self.env)

    def orders(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.scenario("state")["orders"]
        return found


@pytest.fixture
def shop(store_url: str, tmp_path: Path) -> Shop:
    """The shop on an SQLite database of its own, or, for the PostgreSQL store, on the store's very
    database (so its atomic blocks are joined, not deferred)."""
    database = store_url if store_url.startswith("postgres") else f"sqlite:///{tmp_path / 'shop.db'}"
    return Shop(database, store_url, tmp_path)


@pytest.fixture
def other_database(pg_databases: Databases) -> Iterator[str]:
    url = pg_databases.fresh()
    yield url
    pg_databases.drop(url)


def test_a_rolled_back_atomic_block_leaves_no_job_and_a_committed_one_runs_in_manage_py_sidequest_run(
    shop: Shop,
) -> None:
    seen = shop.scenario("atomic")
    joined = shop.store_url.startswith("postgres")
    # Not pushed before the commit: no process can see a job for a row that may yet roll back.
    assert seen["inside_lost"] == 0 and seen["inside_kept"] == 0
    # On the PostgreSQL store in Django's own database, the jobs are written in Django's transaction.
    assert seen["django_sees_lost"] == (2 if joined else None)
    assert seen["django_sees_kept"] == (2 if joined else None)
    assert seen["after_rollback"] == 0
    assert seen["after_commit"] == 2  # the kept order's two jobs; the rolled-back savepoint's are gone
    assert seen["after_autocommit"] == 4  # outside any atomic block: pushed at once
    with open_store(shop.store_url) as store:
        args = sorted(
            entry.payload["args"][0] for q in ("default", "billing") for entry in store.list_queue(q)
        )
    assert args == sorted([seen["kept"], seen["kept"], seen["autocommit"], seen["autocommit"]])

    worker = shop.run_process()
    wait_for(lambda: _all_done(shop, ["kept", "autocommit"]), 30, "both orders confirmed and invoiced")
    assert worker.terminate() == 0, worker.output()
    with open_store(shop.store_url) as store:
        counts = store.counts()
    assert (counts.processed, counts.failed, counts.retry, counts.enqueued) == (4, 0, 0, 0)


def test_a_process_killed_inside_an_atomic_block_leaves_neither_its_order_nor_its_jobs(shop: Shop) -> None:
    shop.scenario("killed_inside", code=-9)
    assert shop.orders() == []
    with open_store(shop.store_url) as store:
        counts = store.counts()
    assert (counts.enqueued, counts.scheduled) == (0, 0)


def _all_done(shop: Shop, items: list[str]) -> bool:
    orders = shop.orders()
    assert [order["item"] for order in orders] == items  # "lost" and "savepoint" were rolled back
    return all(order["confirmed"] and order["invoiced"] for order in orders)


def test_on_postgres_a_django_database_other_than_the_stores_defers_to_on_commit(
    postgres_url: str, other_database: str, tmp_path: Path
) -> None:
    shop = Shop(other_database, postgres_url, tmp_path)
    seen = shop.scenario("atomic")
    assert (seen["inside_lost"], seen["after_rollback"], seen["inside_kept"]) == (0, 0, 0)
    # Django's database holds a sidequest schema of its own (a copy), but not this store's jobs.
    assert seen["django_sees_lost"] == 0 and seen["django_sees_kept"] == 0
    assert (seen["after_commit"], seen["after_autocommit"]) == (2, 4)


def test_workers_of_two_installed_apps_are_discovered(tmp_path: Path) -> None:
    shop = Shop(f"sqlite:///{tmp_path / 'shop.db'}", f"sqlite:///{tmp_path / 'jobs.db'}", tmp_path)
    seen = shop.scenario("discovered")
    assert seen["modules"] == ["orders.workers", "orders.workers.confirmation", "billing.workers"]
    checked = shop.manage("sidequest", "check")  # the same modules, for `check` as for `run`
    assert checked.returncode == 0, checked.stderr
    assert "billing.workers.InvoiceWorker" in checked.stdout and "OrderConfirmationWorker" in checked.stdout
    assert seen["workers"] == [
        "billing.workers.InvoiceWorker",
        "orders.workers.confirmation.OrderConfirmationWorker",
    ]


def test_manage_py_sidequest_run_with_two_processes_drains_and_the_admin_commands_report(
    tmp_path: Path,
) -> None:
    shop = Shop(f"sqlite:///{tmp_path / 'shop.db'}", f"sqlite:///{tmp_path / 'jobs.db'}", tmp_path)
    placed = shop.scenario("orders", "25")
    assert placed["pending"] == 50
    queues = shop.manage("sidequest", "queues", "--json")
    assert queues.returncode == 0, queues.stderr
    assert {row["name"]: row["size"] for row in json.loads(queues.stdout)} == {"default": 25, "billing": 25}

    worker = shop.run_process("-p", "2", "-c", "4")
    loaded = "loaded 2 workers from orders.workers"
    wait_for(lambda: worker.output().count(loaded) == 2, 60, "both children started through manage.py")
    wait_for(lambda: all(o["confirmed"] and o["invoiced"] for o in shop.orders()), 60, "every order done")
    assert worker.terminate() == 0, worker.output()
    stats = shop.manage("sidequest", "stats", "--json")
    assert stats.returncode == 0, stats.stderr
    totals = json.loads(stats.stdout)["counts"]
    assert (totals["processed"], totals["failed"], totals["enqueued"]) == (50, 0, 0), totals


def test_the_dashboard_refuses_an_anonymous_user_and_a_non_staff_one_and_serves_staff(tmp_path: Path) -> None:
    shop = Shop(f"sqlite:///{tmp_path / 'shop.db'}", f"sqlite:///{tmp_path / 'jobs.db'}", tmp_path)
    seen = shop.scenario("dashboard")
    status, location = seen["anonymous"]
    assert status == 302 and location.startswith("/accounts/login/?next=/sidequest/queues")
    assert seen["clerk"] == 403
    # A path beyond ASCII reaches the dashboard decoded (its answer: no such queue, by that name).
    assert seen["unicode_path"][0] == 404 and "no queue named 'mäil'" in seen["unicode_path"][1]
    assert seen["asgi"] == [200, True, 302]  # and under ASGI (AsyncClient): served, under the prefix
    assert "/sidequest/queues" in seen["links"] and any(
        link.startswith("/sidequest/static/") for link in seen["links"]
    )
    status, location = seen["post"]
    assert status == 303 or status == 302, seen["post"]
    assert location.startswith("/sidequest/retries")


def test_bad_sidequest_settings_fail_at_startup_naming_the_key() -> None:
    from sidequest.contrib.django.conf import SettingsError, load

    with pytest.raises(SettingsError, match="SIDEQUEST\\['OPTIONS'\\] has an unknown option 'concurency'"):
        load({"OPTIONS": {"concurency": 5}}, {"default": {}})
    with pytest.raises(SettingsError, match="unknown key\\(s\\) 'QUEUE'"):
        load({"QUEUE": ["default"]}, {"default": {}})
    with pytest.raises(SettingsError, match="'DATABASE'\\] is 'jobs', which is not in DATABASES"):
        load({"DATABASE": "jobs"}, {"default": {}})
    with pytest.raises(SettingsError, match="'QUEUES'\\] must be a list"):
        load({"QUEUES": "default"}, {"default": {}})
    with pytest.raises(SettingsError, match=r"AUTHORIZE'\] 'shop\.nowhere' cannot be imported"):
        load({"DASHBOARD": {"AUTHORIZE": "shop.nowhere"}}, {"default": {}})
    with pytest.raises(SettingsError, match="DEFER_UNTIL_COMMIT'\\] must be True or False"):
        load({"DEFER_UNTIL_COMMIT": "yes"}, {"default": {}})
    custom = load({"DASHBOARD": {"AUTHORIZE": "sidequest.contrib.django.conf.staff_only"}}, {"default": {}})
    assert custom.authorize.__name__ == "staff_only"
    assert load({"QUEUES": ["a"], "OPTIONS": {"concurrency": 3}}, {"default": {}}).run_defaults() == {
        "concurrency": 3,
        "queues": ["a"],
    }


def test_django_starts_without_reaching_the_store_so_manage_py_commands_work_while_it_is_down(
    tmp_path: Path,
) -> None:
    shop = Shop(f"sqlite:///{tmp_path / 'shop.db'}", "redis://127.0.0.1:1/0", tmp_path)
    checked = shop.manage("check")
    assert checked.returncode == 0, checked.stderr
    migrated = shop.manage("migrate", "-v0")
    assert migrated.returncode == 0, migrated.stderr
