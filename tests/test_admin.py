"""The admin API on every store (the ``store`` fixture): what the CLI and the dashboard read and do."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from cli.states import beat, enqueue, failed, process, schedule
from sidequest.admin import ALL, Admin, AdminError, Location
from sidequest.job import JobEntry, WorkInfo
from sidequest.stores.base import Store


@pytest.fixture
def admin(store: Store) -> Admin:
    return Admin(store, chunk=2)


def jids(entries: Sequence[JobEntry]) -> list[str]:
    return [entry.jid for entry in entries]


# -- reads -----------------------------------------------------------------------------------------


def test_overview_counts_jobs_in_every_state_and_lists_queues(store: Store, admin: Admin) -> None:
    failed(store, "dead")
    failed(store, "retry")
    enqueue(store, queue="critical")
    enqueue(store)
    schedule(store, 600)

    overview = admin.overview()

    assert (overview.counts.enqueued, overview.counts.scheduled) == (2, 1)
    assert (overview.counts.retry, overview.counts.dead) == (1, 1)
    assert [(q.name, q.size) for q in overview.queues] == [("critical", 1), ("default", 1)]
    assert overview.processes == [] and overview.busy == []


def test_overview_shows_live_processes_and_the_jobs_they_run(store: Store, admin: Admin) -> None:
    info = process("web-1:7:aa")
    work = WorkInfo("web-1:7:aa", "t1", "default", {"jid": "j1", "class": "A", "args": []}, "{}", time.time())
    beat(store, info, busy=[work])

    overview = admin.overview()

    assert [p.identity for p in overview.processes] == ["web-1:7:aa"]
    assert [w.thread_id for w in overview.busy] == ["t1"]


def test_jobs_of_a_queue_are_listed_next_job_first_a_page_at_a_time(store: Store, admin: Admin) -> None:
    queued = [enqueue(store, args=[n]) for n in range(5)]

    assert jids(admin.jobs("queue:default", 0, 3)) == queued[:3]
    assert jids(admin.jobs("queue:default", 3, 3)) == queued[3:]
    assert admin.jobs("queue:default", 5, 3) == []
    assert admin.size("queue:default") == 5
    assert admin.size("queue:nobody") == 0


def test_scheduled_jobs_are_listed_soonest_first(store: Store, admin: Admin) -> None:
    later = schedule(store, 900)
    sooner = schedule(store, 60)

    assert jids(admin.jobs("scheduled")) == [sooner, later]


@pytest.mark.parametrize("text", ["queues", "queue:", "queue:bad name", "morgue", "Dead", ""])
def test_an_unknown_location_is_refused_with_the_forms_it_accepts(admin: Admin, text: str) -> None:
    with pytest.raises(AdminError, match="queue:"):
        admin.jobs(text)


def test_locations_read_and_print_the_same_way() -> None:
    assert str(Location.parse("queue:mail.low")) == "queue:mail.low"
    assert Location.parse("retry") == Location("retry")


def test_finding_jobs_by_jid_pages_through_a_long_queue(store: Store, admin: Admin) -> None:
    queued = [enqueue(store, args=[n]) for n in range(9)]

    found = admin.find("queue:default", [queued[8], queued[1], "nope"])

    assert jids(found) == [queued[1], queued[8]]


def test_history_shows_processed_and_failed_per_day_newest_first(store: Store) -> None:
    beat(store, process(), processed=3, failed_jobs=1)
    today = datetime.now(UTC).date()

    days = Admin(store).history(3)

    assert [(d.day, d.processed, d.failed) for d in days] == [
        (today, 3, 1),
        (today - timedelta(days=1), 0, 0),
        (today - timedelta(days=2), 0, 0),
    ]


def test_history_is_limited_to_180_days(admin: Admin) -> None:
    with pytest.raises(AdminError, match="180"):
        admin.history(181)


# -- actions on jobs -------------------------------------------------------------------------------


def test_retrying_a_dead_job_by_jid_puts_it_back_in_its_queue(store: Store, admin: Admin) -> None:
    dead = failed(store, "dead", queue="mail")
    kept = failed(store, "dead", queue="mail")

    result = admin.retry("dead", [dead])

    assert (result.done, result.missing) == (1, [])
    assert jids(admin.jobs("queue:mail")) == [dead]
    assert jids(admin.jobs("dead")) == [kept]


def test_retrying_every_dead_job_pages_through_the_set(store: Store, admin: Admin) -> None:
    dead = [failed(store, "dead", args=[n]) for n in range(5)]

    result = admin.retry("dead", ALL)

    assert result.done == 5
    assert admin.jobs("dead") == []
    assert sorted(jids(admin.jobs("queue:default", 0, 10))) == sorted(dead)


def test_retrying_a_scheduled_job_runs_it_now(store: Store, admin: Admin) -> None:
    jid = schedule(store, 3600, queue="reports")

    assert admin.retry("scheduled", [jid]).done == 1
    assert jids(admin.jobs("queue:reports")) == [jid]


def test_jids_that_are_not_there_are_reported_missing(store: Store, admin: Admin) -> None:
    dead = failed(store, "dead")

    result = admin.retry("dead", [dead, "0" * 24, dead])

    assert result.done == 1
    assert result.missing == ["0" * 24]


def test_retry_refuses_jobs_that_already_wait_in_a_queue(store: Store, admin: Admin) -> None:
    jid = enqueue(store)
    with pytest.raises(AdminError, match="already waiting"):
        admin.retry("queue:default", [jid])


def test_killing_a_retry_job_moves_it_to_the_dead_set(store: Store, admin: Admin) -> None:
    jid = failed(store, "retry")

    assert admin.kill("retry", [jid]).done == 1
    assert admin.jobs("retry") == []
    assert jids(admin.jobs("dead")) == [jid]


def test_killing_every_scheduled_job_moves_them_all(store: Store, admin: Admin) -> None:
    for n in range(5):
        schedule(store, 60 + n)

    assert admin.kill("scheduled", ALL).done == 5
    assert admin.size("dead") == 5 and admin.size("scheduled") == 0


@pytest.mark.parametrize("where", ["queue:default", "dead"])
def test_kill_applies_only_to_scheduled_and_retry_jobs(store: Store, admin: Admin, where: str) -> None:
    with pytest.raises(AdminError, match="kill applies to scheduled and retry"):
        admin.kill(where, ALL)


def test_deleting_a_scheduled_job_by_jid_leaves_the_others(store: Store, admin: Admin) -> None:
    gone, kept = schedule(store, 60), schedule(store, 120)

    assert admin.delete("scheduled", [gone]).done == 1
    assert jids(admin.jobs("scheduled")) == [kept]


def test_deleting_every_retry_job_empties_the_set(store: Store, admin: Admin) -> None:
    for n in range(3):
        failed(store, "retry", args=[n])

    assert admin.delete("retry", ALL).done == 3
    assert admin.size("retry") == 0


def test_deleting_every_job_of_a_queue_keeps_the_queue_known(store: Store, admin: Admin) -> None:
    for n in range(5):
        enqueue(store, args=[n], queue="bulk")

    assert admin.delete("queue:bulk", ALL).done == 5
    assert [(q.name, q.size) for q in admin.queues()] == [("bulk", 0)]


def test_clearing_a_queue_removes_its_jobs_and_its_name(store: Store, admin: Admin) -> None:
    enqueue(store, queue="bulk")
    enqueue(store, queue="bulk")
    enqueue(store, queue="default")

    assert admin.clear_queue("bulk") == 2
    assert [q.name for q in admin.queues()] == ["default"]


def test_clearing_an_unknown_queue_names_the_known_ones(store: Store, admin: Admin) -> None:
    enqueue(store, queue="default")
    with pytest.raises(AdminError, match="no queue named 'defualt'; known queues: default"):
        admin.clear_queue("defualt")


# -- actions on processes --------------------------------------------------------------------------


def test_quieting_a_process_reaches_it_at_its_next_beat(store: Store, admin: Admin) -> None:
    info = process("web-1:7:aa")
    beat(store, info)

    assert admin.quiet("web-1:7:aa") == ["web-1:7:aa"]
    assert beat(store, info) == ["TSTP"]


def test_stopping_every_process_signals_each_live_one(store: Store, admin: Admin) -> None:
    first, second = process("web-1:7:aa"), process("web-2:8:bb")
    beat(store, first)
    beat(store, second)

    assert admin.stop(ALL) == ["web-1:7:aa", "web-2:8:bb"]
    assert beat(store, first) == ["TERM"]
    assert beat(store, second) == ["TERM"]


def test_signalling_a_process_that_is_not_alive_names_the_live_ones(store: Store, admin: Admin) -> None:
    beat(store, process("web-1:7:aa"))
    with pytest.raises(AdminError, match="no live process 'web-9'; live processes: web-1:7:aa"):
        admin.stop("web-9")


def test_deleting_or_killing_a_unique_job_frees_its_lock_for_the_next_enqueue(
    store: Store, admin: Admin
) -> None:
    from sidequest.client import Client

    client = Client(store)
    options = {"unique_for": 3600}
    first = client.enqueue("app.workers.ReportWorker", [7], options=options, at=time.time() + 600)
    assert first is not None
    assert client.enqueue("app.workers.ReportWorker", [7], options=options) is None  # locked
    assert admin.delete("scheduled", [first]).done == 1
    second = client.enqueue("app.workers.ReportWorker", [7], options=options, at=time.time() + 600)
    assert second is not None
    assert admin.kill("scheduled", [second]).done == 1
    assert client.enqueue("app.workers.ReportWorker", [7], options=options) is not None
