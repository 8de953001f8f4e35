"""What the framework tests share: the example apps' paths, a real process started through a
framework's command, and following every link of a dashboard page under its prefix."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from processes import FAST_TIMINGS, SRC, TESTS, SidequestProcess

EXAMPLES = TESTS.parent / "examples"
DJANGO_APP = EXAMPLES / "django_app"
FLASK_APP = EXAMPLES / "flask_app"
FASTAPI_APP = EXAMPLES / "fastapi_app"

FAST = FAST_TIMINGS
"""Quick timings for a test process (what tests/processes.py gives ``sidequest run``)."""

LINK = re.compile(r'(?:href|src|action)="([^"#]+)"')


def environment(*paths: Path, **extra: str) -> dict[str, str]:
    """This environment with sidequest's sources, the tests and ``paths`` importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), str(TESTS), *map(str, paths), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


class FrameworkProcess:
    """A ``manage.py sidequest run`` or ``flask sidequest run`` subprocess, its log in a file; the suite
    kills it if a test leaves it running (it is registered with :class:`SidequestProcess`)."""

    def __init__(self, command: Sequence[str], workdir: Path, env: dict[str, str]) -> None:
        self.log_path = workdir / f"framework-{time.monotonic_ns()}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in wait()
        self.process = subprocess.Popen(
            [sys.executable, *command], stdout=self._log, stderr=subprocess.STDOUT, env=env, cwd=workdir
        )
        SidequestProcess.running.add(self.process)

    def terminate(self, timeout: float = 40) -> int:
        self.process.terminate()
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()
            SidequestProcess.running.discard(self.process)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def links_under(html: str, prefix: str) -> list[str]:
    """The distinct GET-able links and asset URLs of a page (its forms' actions are POSTs: left out)."""
    found: list[str] = []
    for match in LINK.finditer(html):
        url = match.group(1).replace("&amp;", "&")
        if match.group(0).startswith("action"):
            assert url.startswith(prefix + "/"), f"a form posts outside the prefix {prefix}: {url}"
            continue
        if url.startswith("/") and url not in found:
            found.append(url)
    return found


def follow_links(get: Callable[[str], tuple[int, str]], prefix: str) -> list[str]:
    """Fetch the dashboard's home page under ``prefix`` and every link and asset on it; return the
    links. Each must stay under the prefix and answer 200."""
    status, html = get(prefix + "/")
    assert status == 200, html[:500]
    links = links_under(html, prefix)
    assert len(links) > 5, links
    for url in links:
        assert url.startswith(prefix + "/"), f"a link leaves the prefix {prefix}: {url}"
        status, body = get(url)
        assert status == 200, (url, body[:300])
    return links
