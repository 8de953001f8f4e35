"""The dashboard's reads built on the Admin API (``sidequest.admin_views``), on every store: a filter
that caps what it scans and says so, a job found wherever it is, failures grouped."""

from __future__ import annotations

import time

from cli.states import beat, enqueue, failed, process, running, schedule
from sidequest.admin import Admin
from sidequest.admin_views import JobFilter, error_groups, filter_jobs, find_job, group_jids, walk
from sidequest.stores.base import Store


def test_a_filter_stops_at_its_scan_cap_and_says_it_did(store: Store) -> None:
    admin = Admin(store, chunk=3)
    jids = [schedule(store, 60 + n, "app.workers.ReportWorker", [n, f"acct-{n % 2}"]) for n in range(10)]

    capped = filter_jobs(admin, "scheduled", JobFilter(args="acct-1"), limit=25, cap=6)
    assert [e.jid for e in capped.matches] == [jids[1], jids[3], jids[5]]
    assert (capped.scanned, capped.capped) == (6, True)

    whole = filter_jobs(admin, "scheduled", JobFilter(args="acct-1"), limit=25)
    assert len(whole.matches) == 5 and (whole.scanned, whole.capped) == (10, False)

    first_two = filter_jobs(admin, "scheduled", JobFilter(worker="APP.WORKERS.REPORTWORKER"), limit=2)
    assert [e.jid for e in first_two.matches] == jids[:2] and first_two.capped
    assert len(list(walk(admin, "scheduled", cap=7))) == 7


def test_a_job_is_found_wherever_it_is(store: Store) -> None:
    admin = Admin(store, chunk=2)
    dead = failed(store, "dead")
    retry = failed(store, "retry")
    waiting = enqueue(store, queue="mail")
    later = schedule(store, 600)
    info = process()
    [work] = running(info.identity, 1)
    beat(store, info, [work])

    found = {jid: find_job(admin, jid) for jid in (dead, retry, waiting, later)}
    locations = {jid: job.location for jid, job in found.items() if job is not None}
    assert locations == {dead: "dead", retry: "retry", waiting: "queue:mail", later: "scheduled"}
    assert find_job(admin, dead, hint="dead") is not None
    running_job = find_job(admin, "run0")
    assert running_job is not None and running_job.location == "running" and running_job.work is not None
    assert find_job(admin, "0" * 24) is None


def test_failures_are_grouped_by_set_class_and_error(store: Store) -> None:
    admin = Admin(store, chunk=2)
    declined = [
        failed(store, "dead", "app.workers.BillingWorker", [n], error=f"declined {n}") for n in range(3)
    ]
    failed(store, "retry", "app.workers.BillingWorker", [9])
    failed(store, "dead", "app.workers.MailWorker", [1])

    groups, capped = error_groups(admin)
    assert [(g.where, g.worker, g.error_class, g.count) for g in groups] == [
        ("dead", "app.workers.BillingWorker", "RuntimeError", 3),
        ("dead", "app.workers.MailWorker", "RuntimeError", 1),
        ("retry", "app.workers.BillingWorker", "RuntimeError", 1),
    ]
    assert groups[0].latest_message.startswith("declined") and capped == {"retry": False, "dead": False}
    assert sorted(group_jids(admin, "dead", "app.workers.BillingWorker", "RuntimeError")) == sorted(declined)
    assert group_jids(admin, "dead", "app.workers.Nobody", "RuntimeError") == []
    # A window that starts after every failure holds no group.
    assert error_groups(admin, since=time.time() + 60)[0] == []
    assert (
        group_jids(admin, "dead", "app.workers.BillingWorker", "RuntimeError", since=time.time() + 60) == []
    )
