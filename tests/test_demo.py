"""`make demo` end to end: the orders example seeds its shop, enqueues, runs a real `sidequest run` until
every order is notified, stops it with SIGTERM, and checks its own result. This test runs it the way
`make demo` does (the virtualenv's python on examples/orders/demo.py) and checks the result again from
the files it leaves behind."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "examples" / "orders" / "demo.py"


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_demo_notifies_every_eligible_order_once_and_never_emails_twice(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, str(DEMO), "--workdir", str(workdir), "--timeout", "100"],
        capture_output=True,
        text=True,
        timeout=140,
    )
    assert result.returncode == 0, f"demo failed:\n{result.stdout}\n{result.stderr}"
    assert "Summary" in result.stdout and "OK." in result.stdout

    summary = json.loads((workdir / "summary.json").read_text())
    assert summary["problems"] == []
    assert summary["orders_to_notify"] == summary["seeded"]["eligible"] > 0
    assert summary["orders_notified"] == summary["orders_to_notify"]
    assert summary["emails_sent"] == summary["orders_to_notify"]
    assert summary["emails_sent_twice"] == 0
    assert summary["recent_left_alone"] == summary["seeded"]["recent"] > 0
    assert summary["retries"] > 0, "the flaky email service should have caused retries"
    assert summary["email_already_sent"] == summary["email_timeouts"] > 0
    assert summary["dead"] == 0
    assert summary["exit_code"] == 0
    assert summary["report"] is not None and summary["report"]["ran_after"] >= summary["report"]["due_after"]
    assert summary["seconds_total"] < 60

    # The same facts, read straight from the shop's and the email provider's files.
    with closing(sqlite3.connect(workdir / "emails.db")) as emails:
        sent, distinct = emails.execute("SELECT count(*), count(DISTINCT key) FROM sent").fetchone()
    assert sent == distinct == summary["orders_to_notify"]
    with closing(sqlite3.connect(workdir / "orders.db")) as orders:
        orders.execute("ATTACH DATABASE ? AS emails", (str(workdir / "emails.db"),))
        unnotified = orders.execute(
            "SELECT count(*) FROM orders WHERE status = 'confirmed' AND notified_at IS NULL"
        ).fetchone()[0]
        emailed_and_notified = orders.execute(
            "SELECT count(*) FROM emails.sent JOIN orders ON orders.id = sent.order_id "
            "WHERE orders.status = 'confirmed' AND orders.notified_at IS NOT NULL"
        ).fetchone()[0]
    assert unnotified == summary["seeded"]["recent"]
    assert emailed_and_notified == summary["orders_to_notify"]
