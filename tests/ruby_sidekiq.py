"""Run real Ruby Sidekiq 6.4.1 (Debian's ruby-sidekiq) against a Redis URL, to check sidequest's Redis
store against the real thing rather than against our reading of it.

* :meth:`RubySidekiq.run` runs a short Ruby snippet with the Sidekiq client and API loaded and returns
  what the snippet's last expression evaluates to, passed back as JSON.
* :meth:`RubySidekiq.server` starts a real ``sidekiq`` process that performs ``HardJob`` (defined in
  ``JOBS_RB``): each run appends its args, as JSON, to the Redis list ``ruby:performed``.

Skipped when Ruby or the gem is missing, failed instead under ``CI=true`` (see ``servers.in_ci``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from servers import in_ci, require_binary

PERFORMED = "ruby:performed"
"""The Redis list ``HardJob#perform`` appends its args to."""

JOBS_RB = """
require "sidekiq"
require "json"

# A Ruby worker for jobs sidequest pushes: it records its args so the test can compare them.
class HardJob
  include Sidekiq::Worker
  sidekiq_options queue: "ruby"

  def perform(*args)
    Sidekiq.redis { |conn| conn.rpush("ruby:performed", JSON.generate(args)) }
  end
end

# A Ruby class whose jobs sidequest claims (it never runs in Ruby).
class RubyPushed
  include Sidekiq::Worker
  sidekiq_options queue: "py", retry: 3, tags: ["from-ruby"]
end
"""

PRELUDE = """
require "sidekiq"
require "sidekiq/api"
require "json"
require "logger"
Sidekiq.logger.level = Logger::WARN
Sidekiq.configure_client { |config| config.redis = { url: ENV.fetch("REDIS_URL") } }
require ENV.fetch("SIDEQUEST_JOBS_RB")
"""

MARK = "=====SIDEQUEST-RESULT====="


def require_ruby_sidekiq() -> None:
    """Skip (fail under CI) unless ``ruby`` with the sidekiq gem and the ``sidekiq`` command exist."""
    ruby = require_binary("ruby", "ruby-sidekiq")
    require_binary("sidekiq", "ruby-sidekiq")
    probe = subprocess.run([ruby, "-e", 'require "sidekiq"'], capture_output=True, timeout=30, check=False)
    if probe.returncode != 0:
        message = f"the sidekiq gem does not load: install the Debian package ruby-sidekiq ({probe.stderr!r})"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


class RubySidekiq:
    """Ruby Sidekiq 6.4.1 pointed at one Redis URL."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.url = url
        self.jobs_rb = workdir / "sidequest_jobs.rb"
        self.jobs_rb.write_text(JOBS_RB)
        self.env = {**os.environ, "REDIS_URL": url, "SIDEQUEST_JOBS_RB": str(self.jobs_rb)}

    def run(self, snippet: str, timeout: float = 20.0) -> Any:
        """Run ``snippet`` (Ruby) and return its value, which must be JSON-serialisable.

        Raises AssertionError with Ruby's stderr when the snippet fails.
        """
        program = (
            f"{PRELUDE}\n__result = begin\n{snippet}\nend\nputs {MARK!r}\nputs JSON.generate(__result)\n"
        )
        done = subprocess.run(
            ["ruby", "-e", program],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0 or MARK not in done.stdout:
            raise AssertionError(
                f"Ruby failed ({done.returncode}):\n{done.stderr[-4000:]}\n{done.stdout[-2000:]}"
            )
        return json.loads(done.stdout.split(MARK, 1)[1])

    @contextmanager
    def server(self, queues: tuple[str, ...] = ("ruby",), concurrency: int = 2) -> Iterator[Path]:
        """A real ``sidekiq`` process requiring ``JOBS_RB``, logging to the file it yields; stopped with
        TERM (then KILL) on exit."""
        command = [shutil.which("sidekiq") or "sidekiq", "-r", str(self.jobs_rb), "-c", str(concurrency)]
        command += ["-t", "1"]
        for queue in queues:
            command += ["-q", queue]
        log = self.jobs_rb.with_name("sidekiq.log")
        with log.open("w") as output:
            process = subprocess.Popen(command, env=self.env, stdout=output, stderr=subprocess.STDOUT)
        try:
            yield log
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
