"""``sidequest jobs list|retry|kill|delete WHERE``: look at jobs and act on them by jid or all at once."""

from __future__ import annotations

import json

from cli.states import Sidequest, enqueue, failed, schedule
from sidequest.admin import Admin
from sidequest.stores.base import Store


def test_listing_the_retry_set_shows_each_jobs_error(sidequest: Sidequest, store: Store) -> None:
    jid = failed(store, "retry", cls="app.workers.ChargeWorker", args=[7, "eur"], error="card declined")

    result = sidequest("jobs", "list", "retry")

    assert result.exit_code == 0, result.output
    header, line = result.output.splitlines()[:2]
    assert header.split()[:3] == ["JID", "CLASS", "ARGS"] and "ERROR" in header
    assert jid in line and "app.workers.ChargeWorker" in line and '[7,"eur"]' in line
    assert "RuntimeError: card declined" in line and "in 59m" in line


def test_listing_a_queue_pages_and_says_where_the_next_page_is(sidequest: Sidequest, store: Store) -> None:
    queued = [enqueue(store, args=[n]) for n in range(5)]

    output = sidequest("jobs", "list", "queue:default", "--limit", "2", "--offset", "2").output

    assert queued[2] in output and queued[3] in output
    assert queued[1] not in output and queued[4] not in output
    assert "3-4 of 5 in queue:default (next page: --offset 4)" in output


def test_listing_jobs_as_json(sidequest: Sidequest, store: Store) -> None:
    jid = failed(store, "dead")

    data = json.loads(sidequest("jobs", "list", "dead", "--json").output)

    assert data["total"] == 1
    [job] = data["jobs"]
    assert job["jid"] == jid and job["state"] == "dead"
    assert job["payload"]["error_message"] == "boom"


def test_an_empty_location_says_so(sidequest: Sidequest) -> None:
    assert sidequest("jobs", "list", "scheduled").output.strip() == "no jobs in scheduled"


def test_an_unknown_location_is_one_clear_line(sidequest: Sidequest) -> None:
    result = sidequest("jobs", "list", "morgue")

    assert result.exit_code == 2
    expected = "Error: unknown location 'morgue': expected queue:NAME, scheduled, retry or dead\n"
    assert result.stderr == expected


def test_retrying_a_dead_job_by_jid_puts_it_back_in_its_queue(sidequest: Sidequest, store: Store) -> None:
    jid = failed(store, "dead", queue="mail")
    other = failed(store, "dead", queue="mail")

    result = sidequest("jobs", "retry", "dead", jid)

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "retried 1 job in dead"
    admin = Admin(store)
    assert [e.jid for e in admin.jobs("queue:mail")] == [jid]
    assert [e.jid for e in admin.jobs("dead")] == [other]


def test_a_jid_that_is_not_there_is_reported_and_fails(sidequest: Sidequest, store: Store) -> None:
    jid = failed(store, "dead")

    result = sidequest("jobs", "retry", "dead", jid, "feedface")

    assert result.exit_code == 1
    assert "retried 1 job in dead" in result.stdout
    assert result.stderr == "Error: not found in dead: feedface\n"


def test_killing_every_retry_job(sidequest: Sidequest, store: Store) -> None:
    for n in range(3):
        failed(store, "retry", args=[n])

    result = sidequest("jobs", "kill", "retry", "--all", "--json")

    assert json.loads(result.stdout) == {"done": 3, "missing": []}
    assert Admin(store).size("dead") == 3


def test_killing_a_queued_job_is_refused(sidequest: Sidequest, store: Store) -> None:
    jid = enqueue(store)

    result = sidequest("jobs", "kill", "queue:default", jid)

    assert result.exit_code == 1
    assert result.stderr == "Error: kill applies to scheduled and retry jobs, not to queue:default\n"


def test_deleting_every_scheduled_job_asks_first(sidequest: Sidequest, store: Store) -> None:
    schedule(store, 60)
    schedule(store, 60)

    declined = sidequest("jobs", "delete", "scheduled", "--all", input="n\n")
    assert declined.exit_code == 1 and "Delete all 2 jobs in scheduled?" in declined.stderr
    assert Admin(store).size("scheduled") == 2

    accepted = sidequest("jobs", "delete", "scheduled", "--all", input="y\n")
    assert accepted.exit_code == 0 and "deleted 2 jobs in scheduled" in accepted.stdout
    assert Admin(store).size("scheduled") == 0


def test_deleting_one_job_needs_no_confirmation(sidequest: Sidequest, store: Store) -> None:
    gone, kept = enqueue(store), enqueue(store)

    assert sidequest("jobs", "delete", "queue:default", gone).exit_code == 0
    assert [e.jid for e in Admin(store).jobs("queue:default")] == [kept]


def test_an_action_needs_jids_or_all_but_not_both(sidequest: Sidequest) -> None:
    neither = sidequest("jobs", "retry", "dead")
    both = sidequest("jobs", "retry", "dead", "abc", "--all")

    assert neither.exit_code == both.exit_code == 2
    assert "give one or more JIDs, or --all" in neither.stderr
