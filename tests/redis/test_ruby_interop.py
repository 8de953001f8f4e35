"""Scenarios with real Ruby Sidekiq 6.4.1 sharing one Redis with sidequest: Ruby's jobs are claimed by
sidequest, sidequest's jobs are performed by a real ``sidekiq`` process, and ``Sidekiq::API`` (what the
Web UI runs on) reads and acts on what sidequest wrote."""

from __future__ import annotations

import json
import time

import pytest
from redis.client import Redis
from redis_helpers import OWNER, beat

from ruby_sidekiq import PERFORMED, RubySidekiq
from sidequest.client import Client
from sidequest.retry import record_failure
from sidequest.stores.redis import RedisStore

pytestmark = pytest.mark.ruby


def test_jobs_ruby_pushes_are_claimed_by_sidequest_with_the_same_args(
    ruby: RubySidekiq, store: RedisStore, raw: Redis
) -> None:
    pushed = ruby.run(
        """
        {
          "async" => RubyPushed.perform_async(1, "two", {"k" => [3]}, [], 2.5),
          "in" => RubyPushed.perform_in(60, "later", {}),
          "bulk" => Sidekiq::Client.push_bulk("class" => RubyPushed, "args" => [[10], [11], [12]]),
        }
        """
    )
    beat(store, OWNER)
    claimed = store.claim(["py"], 10, OWNER, 0)
    assert [job.jid for job in claimed] == [pushed["async"], *pushed["bulk"]]
    assert [job.payload["args"] for job in claimed if job.payload] == [
        [1, "two", {"k": [3]}, [], 2.5],
        [10],
        [11],
        [12],
    ]
    first = claimed[0].payload
    assert first is not None
    assert (first["class"], first["retry"], first["tags"]) == ("RubyPushed", 3, ["from-ruby"])

    [ruby_scheduled] = raw.zrange("schedule", 0, -1)
    assert store.promote_due(time.time() + 120) == 1
    [job] = store.claim(["py"], 10, OWNER, 0)
    assert (job.jid, job.payload and job.payload["args"]) == (pushed["in"], ["later", {}])
    assert job.raw.startswith(ruby_scheduled[:-1])  # Ruby's bytes untouched; enqueued_at appended
    assert store.ack(OWNER, [*claimed, job]) == 5


def test_jobs_sidequest_pushes_are_performed_by_a_real_sidekiq_process(
    ruby: RubySidekiq, store: RedisStore, client: Client, raw: Redis
) -> None:
    client.push({"class": "HardJob", "queue": "ruby", "args": [1, "two", {"k": [3]}, []]})
    client.push_bulk({"class": "HardJob", "queue": "ruby", "args": [[2], [3]]})
    client.push({"class": "HardJob", "queue": "ruby", "args": ["scheduled"], "at": time.time() + 3600})
    assert store.promote_due(time.time() + 7200) == 1
    # A job that failed once in sidequest and is retried by Ruby, from sidequest's retry set.
    client.push({"class": "HardJob", "queue": "ruby", "args": ["retried"]})
    beat(store, OWNER)
    [failing] = store.claim(["ruby"], 1, OWNER, 0)
    assert failing.payload is not None
    failed = record_failure(failing.payload, RuntimeError("first try"), time.time())
    assert store.retry(OWNER, failing, failed, time.time() - 1)
    assert store.promote_due(time.time()) == 1
    raw.delete(PERFORMED)

    with ruby.server(queues=("ruby",)) as log:
        performed = []
        deadline = time.monotonic() + 20
        while len(performed) < 5 and time.monotonic() < deadline:
            popped = raw.blpop([PERFORMED], timeout=1)
            if popped:
                performed.append(json.loads(popped[1]))
        assert len(performed) == 5, log.read_text()[-3000:]
    assert sorted(map(json.dumps, performed)) == sorted(
        map(json.dumps, [[1, "two", {"k": [3]}, []], [2], [3], ["scheduled"], ["retried"]])
    )
    assert raw.llen("queue:ruby") == raw.zcard("retry") == 0


def test_sidekiq_api_reads_the_queues_sets_processes_and_counters_sidequest_writes(
    ruby: RubySidekiq, store: RedisStore, client: Client
) -> None:
    now = time.time()
    queued = client.push_bulk({"class": "HardJob", "args": [[1], [2]]})
    client.push({"class": "HardJob", "queue": "critical", "args": ["c"]})
    scheduled = client.push({"class": "HardJob", "args": ["s"], "at": now + 600})
    client.push_bulk({"class": "HardJob", "queue": "work", "args": [["retry"], ["dead"], ["busy"]]})
    beat(store, OWNER)
    retrying, dying, running = store.claim(["work"], 3, OWNER, 0)
    assert retrying.payload and dying.payload
    assert store.retry(OWNER, retrying, record_failure(retrying.payload, ValueError("r"), now), now + 300)
    assert store.kill(OWNER, dying, record_failure(dying.payload, KeyError("d"), now), now)
    beat(store, OWNER, busy=[running], processed=7, failed=3)

    seen = ruby.run(
        """
        stats = Sidekiq::Stats.new
        {
          "stats" => [stats.processed, stats.failed, stats.enqueued, stats.scheduled_size, stats.retry_size,
                      stats.dead_size, stats.processes_size, stats.workers_size],
          "queues" => Sidekiq::Queue.all.map { |q| [q.name, q.size, q.latency >= 0] },
          "default" => Sidekiq::Queue.new("default").map { |j| [j.jid, j.klass, j.args, j.enqueued_at.to_f] },
          "scheduled" => Sidekiq::ScheduledSet.new.map { |e| [e.jid, e.at.to_f] },
          "retries" => Sidekiq::RetrySet.new.map { |e|
            [e.jid, e["error_class"], e["retry_count"], e.at.to_f]
          },
          "dead" => Sidekiq::DeadSet.new.map { |e| [e.jid, e["error_class"]] },
          "processes" => Sidekiq::ProcessSet.new.map { |p|
            [p.identity, p["hostname"], p["busy"], p["quiet"], p["tag"], p["queues"], p["concurrency"]]
          },
          "workers" => Sidekiq::Workers.new.map { |process, thread, work|
            [process, thread, work["queue"], work["payload"]["jid"], work["run_at"]]
          },
          "history" => Sidekiq::Stats::History.new(1).processed.values,
        }
        """
    )
    assert seen["stats"] == [7, 3, 3, 1, 1, 1, 1, 1]
    assert seen["queues"] == [["critical", 1, True], ["default", 2, True], ["work", 0, True]]
    # Sidekiq::Queue lists from the left end: the newest job first.
    assert [row[:3] for row in seen["default"]] == [[queued[1], "HardJob", [2]], [queued[0], "HardJob", [1]]]
    assert seen["default"][0][3] == pytest.approx(now, abs=5)
    assert seen["scheduled"] == [[scheduled, pytest.approx(now + 600)]]
    assert seen["retries"] == [[retrying.jid, "ValueError", 0, pytest.approx(now + 300)]]
    assert seen["dead"] == [[dying.jid, "KeyError"]]
    assert seen["processes"] == [[OWNER, "test-host", 1, "false", "mytag", ["default"], 3]]
    [[process, thread, queue, jid, run_at]] = seen["workers"]
    assert (process, thread, queue, jid) == (OWNER, "tid-0", "work", running.jid)
    assert run_at == pytest.approx(now, abs=5)
    assert seen["history"] == [7]


def test_sidekiq_api_actions_work_on_sidequest_data(
    ruby: RubySidekiq, store: RedisStore, client: Client, raw: Redis
) -> None:
    now = time.time()
    client.push_bulk({"class": "HardJob", "queue": "work", "args": [["retry-now"], ["kill"], ["dead"]]})
    client.push({"class": "HardJob", "queue": "critical", "args": ["cleared"]})
    deleted = client.push({"class": "HardJob", "args": ["deleted"], "at": now + 600})
    beat(store, OWNER)
    to_retry, to_kill, dead = store.claim(["work"], 3, OWNER, 0)
    for job, at in ((to_retry, now + 300), (to_kill, now + 400)):
        assert job.payload and store.retry(OWNER, job, record_failure(job.payload, ValueError("x"), now), at)
    assert dead.payload and store.kill(OWNER, dead, record_failure(dead.payload, ValueError("x"), now), now)

    ruby.run(
        f"""
        Sidekiq::RetrySet.new.find_job({to_retry.jid!r}).retry
        Sidekiq::RetrySet.new.find_job({to_kill.jid!r}).kill
        Sidekiq::DeadSet.new.find_job({dead.jid!r}).retry
        Sidekiq::ScheduledSet.new.find_job({deleted!r}).delete
        Sidekiq::Queue.new("critical").clear
        process = Sidekiq::ProcessSet.new.first
        process.quiet!
        process.stop!
        true
        """
    )
    assert store.counts().retry == 0
    assert [entry.jid for entry in store.list_set("dead")] == [to_kill.jid]
    assert store.list_set("scheduled") == []
    assert [queue.name for queue in store.queues()] == ["work"]
    back = store.claim(["work"], 5, OWNER, 0)
    assert sorted(job.jid or "" for job in back) == sorted([to_retry.jid or "", dead.jid or ""])
    # "Retry Now" lowers retry_count so the next failure counts the same (0 - 1 = -1, as in Ruby).
    assert {job.payload["retry_count"] for job in back if job.payload} == {-1}
    assert beat(store, OWNER) == ["TSTP", "TERM"]
    assert raw.exists(f"{OWNER}-signals") == 0
