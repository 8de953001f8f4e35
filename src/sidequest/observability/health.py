"""``sidequest run --health-port``: an HTTP liveness check for Kubernetes and load balancers.

``GET /`` (any path) answers ``200 ok`` while every thread of the process is alive and the store
recorded a heartbeat within the last ``stale_after`` seconds (default: the lease TTL, after which
other processes would rescue this one's jobs anyway), and ``503`` with the reason otherwise: a thread
died, the store has not answered for that long, the process is stopping, or its first heartbeat has
not reached the store yet. The check reads what the process knows already; it makes no store call.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sidequest.runtime.launcher import Launcher


@dataclass(frozen=True, slots=True)
class Health:
    """The answer of one check: healthy or not, and why, in one line."""

    healthy: bool
    reason: str


class HealthCheck:
    """Judges one launcher's health from its threads and its last recorded heartbeat."""

    def __init__(self, launcher: Launcher, stale_after: float | None = None) -> None:
        self.launcher = launcher
        self.stale_after = launcher.config.lease_ttl if stale_after is None else stale_after

    def check(self) -> Health:
        """Whether the process is alive and in touch with its store, and why not."""
        launcher = self.launcher
        dead = launcher.dead_threads()
        if dead:
            return Health(False, f"thread {', '.join(dead)} died")
        if launcher.stopping:
            return Health(False, "stopping")
        last = launcher.heartbeat.last_success
        if last is None:
            return Health(False, "no heartbeat has reached the store yet")
        age = time.monotonic() - last
        if age > self.stale_after:
            return Health(False, f"the store has not recorded a heartbeat for {age:.0f} s")
        return Health(True, f"ok: last heartbeat {age:.1f} s ago")


class HTTPService:
    """An HTTP server on a daemon thread, stopped by :meth:`close`."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, name="sidequest-http", daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        """The port it listens on (useful when started on port 0)."""
        return int(self.server.server_address[1])

    def close(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()


def serve_health(check: HealthCheck, port: int, host: str = "127.0.0.1") -> HTTPService:
    """Answer ``check`` over HTTP on ``host:port`` from a daemon thread (``OSError`` if the port is
    taken)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer(body=True)

        def do_HEAD(self) -> None:
            self._answer(body=False)

        def _answer(self, body: bool) -> None:
            try:
                health = check.check()
            except Exception as exc:  # a check that fails is an unhealthy process, not a dead server
                health = Health(False, f"health check failed: {type(exc).__name__}: {exc}")
            data = (health.reason + "\n").encode()
            self.send_response(200 if health.healthy else 503)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass  # one line per probe every few seconds would drown the process's log

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return HTTPService(server)
