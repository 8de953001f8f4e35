"""Ruby Sidekiq 6.4.1 and a real ``sidequest run`` process sharing one Redis.

Ruby enqueues for a Python worker and the sidequest process performs it; Sidekiq's own API (what its
Web UI runs on) sees the sidequest process and the job it is running, and can quiet and stop it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from processes import SidequestProcess, runs, wait_for
from ruby_sidekiq import RubySidekiq
from sidequest.client import Client
from sidequest.stores import open_store
from testapp.workers import ActionWorker

pytestmark = pytest.mark.ruby

PY_CLASS = "testapp.workers.ActionWorker"


def test_jobs_ruby_enqueues_run_in_a_sidequest_process_with_the_same_arguments(
    ruby: RubySidekiq, redis_url: str, tmp_path: Path
) -> None:
    record = tmp_path / "record.txt"
    ruby.run(
        f"""
        Sidekiq::Client.push("class" => "{PY_CLASS}", "queue" => "default", "args" => ["ok", "ruby-async"])
        Sidekiq::Client.push("class" => "{PY_CLASS}", "queue" => "default", "args" => ["ok", "ruby-in"],
                             "at" => Time.now.to_f + 1)
        Sidekiq::Client.push_bulk("class" => "{PY_CLASS}", "queue" => "default",
                                  "args" => [["ok", "bulk-1"], ["ok", "bulk-2"], ["ok", {{"k" => [1, 2.5]}}]])
        true
        """
    )
    proc = SidequestProcess(redis_url, tmp_path, [], record)
    try:
        wait_for(lambda: len(runs(record)) == 5, 20, "the five Ruby jobs to run")
    finally:
        assert proc.terminate() == 0
    assert set(runs(record)) == {"ruby-async", "ruby-in", "bulk-1", "bulk-2", "{'k': [1, 2.5]}"}


def test_sidekiq_api_sees_the_sidequest_process_and_its_busy_job_and_can_quiet_and_stop_it(
    ruby: RubySidekiq, redis_url: str, tmp_path: Path
) -> None:
    store = open_store(redis_url)
    jid = Client(store).enqueue(ActionWorker, ["sleep", "busy", 30])
    proc = SidequestProcess(redis_url, tmp_path, ["-c", "3", "-g", "pytag", "-t", "1"], tmp_path / "r.txt")
    try:
        wait_for(lambda: store.counts().busy == 1, 20, "the job to start")
        seen = ruby.run(
            """
            procs = Sidekiq::ProcessSet.new.to_a
            work = []
            Sidekiq::Workers.new.each { |process_id, thread_id, w| work << [process_id, w["payload"]] }
            {
              "processes" => procs.map { |p|
                [p["identity"], p["tag"], p["concurrency"], p["busy"], p["queues"]] },
              "work" => work.map { |pid, payload|
                [pid, payload.is_a?(String) ? JSON.parse(payload) : payload] },
              "stats" => [Sidekiq::Stats.new.processes_size, Sidekiq::Stats.new.workers_size],
            }
            """
        )
        [(identity, tag, concurrency, busy, queues)] = seen["processes"]
        assert (tag, concurrency, busy, queues) == ("pytag", 3, 1, ["default"])
        assert str(proc.pid) in identity
        [(work_identity, payload)] = seen["work"]
        assert work_identity == identity
        assert (payload["jid"], payload["class"], payload["args"]) == (jid, PY_CLASS, ["sleep", "busy", 30])
        assert seen["stats"] == [1, 1]

        ruby.run(f'Sidekiq::ProcessSet.new.find {{ |p| p["identity"] == "{identity}" }}.quiet!; true')
        wait_for(
            lambda: ruby.run(
                f'Sidekiq::ProcessSet.new.find {{ |p| p["identity"] == "{identity}" }}.stopping?'
            ),
            20,
            "Sidekiq to see the process quiet",
            poll=0.5,
        )
        ruby.run(f'Sidekiq::ProcessSet.new.find {{ |p| p["identity"] == "{identity}" }}.stop!; true')
        assert proc.wait(30) == 0
    finally:
        if proc.process.poll() is None:
            proc.terminate()
    # The job cut off by the stop is back in its queue, where Sidekiq's API finds it.
    assert ruby.run('Sidekiq::Queue.new("default").map(&:jid)') == [jid]
    store.close()
