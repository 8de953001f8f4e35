"""The HTTP endpoints ``sidequest run`` starts beside a launcher: ``--metrics-port`` and
``--health-port``.

Under ``-p N`` every child is a ``sidequest run`` of its own, so each serves its own endpoints: the
supervisor gives child ``i`` (0 to N-1) the environment variable :data:`PROCESS_INDEX_ENV`, and the
child listens on ``PORT + i`` (a replacement child gets the index, so the port, of the one it replaces).
Prometheus scrapes each port as its own target, as it does for any multi-process server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from sidequest.errors import ConfigurationError
from sidequest.observability.health import HealthCheck, serve_health

if TYPE_CHECKING:
    from sidequest.runtime.launcher import Launcher

T = TypeVar("T")

PROCESS_INDEX_ENV = "SIDEQUEST_PROCESS_INDEX"
"""Set by the ``-p N`` supervisor for each child: 0 to N-1, added to ``--metrics-port``/``--health-port``."""


def process_port(port: int, environ: Mapping[str, str] = os.environ) -> int:
    """``port`` plus this child's index under ``-p N`` (``port`` itself for a lone process)."""
    index = environ.get(PROCESS_INDEX_ENV, "")
    return port + int(index) if index.isdigit() else port


@dataclass(slots=True)
class Endpoints:
    """The servers started for one launcher; :meth:`close` stops every one."""

    ports: dict[str, int] = field(default_factory=dict)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Stop every server (each stops on its own; the process exits soon after anyway)."""
        for close in reversed(self.closers):
            close()
        self.closers.clear()


def start_endpoints(
    launcher: Launcher,
    *,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
    health_port: int | None = None,
    health_host: str = "127.0.0.1",
) -> Endpoints:
    """Serve ``/metrics`` and the health check for ``launcher`` on the ports asked for (each plus the
    child's index under ``-p N``). A missing prometheus-client or a port that is taken is a
    :class:`ConfigurationError` naming the fix; whatever started before it is stopped."""
    endpoints = Endpoints()
    try:
        if metrics_port is not None:
            close, port = _serve_metrics(launcher, metrics_host, process_port(metrics_port))
            endpoints.closers.append(close)
            endpoints.ports["metrics"] = port
        if health_port is not None:
            port = process_port(health_port)
            service = _listen(
                "--health-port",
                health_host,
                port,
                lambda: serve_health(HealthCheck(launcher), port, health_host),
            )
            endpoints.closers.append(service.close)
            endpoints.ports["health"] = service.port
    except BaseException:
        endpoints.close()
        raise
    return endpoints


def _serve_metrics(launcher: Launcher, host: str, port: int) -> tuple[Callable[[], None], int]:
    try:
        from prometheus_client import start_http_server

        from sidequest.observability.process_metrics import process_registry
    except ImportError:
        raise ConfigurationError(
            "--metrics-port needs the prometheus-client package: pip install 'sidequest[metrics]'"
        ) from None
    registry = process_registry(launcher)
    server, _thread = _listen("--metrics-port", host, port, lambda: start_http_server(port, host, registry))

    def close() -> None:
        server.shutdown()
        server.server_close()

    return close, int(server.server_address[1])


def _listen(option: str, host: str, port: int, start: Callable[[], T]) -> T:
    try:
        return start()
    except OSError as exc:
        raise ConfigurationError(
            f"{option}: cannot listen on {host}:{port} ({exc.strerror or exc}); choose a free port "
            f"(under -p N, child i listens on PORT+i)"
        ) from None
