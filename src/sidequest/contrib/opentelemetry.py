"""OpenTelemetry tracing for sidequest: a producer span at enqueue, a consumer span around ``perform``.

Install ``sidequest[opentelemetry]`` and configure a tracer provider as usual, then::

    from sidequest import Client
    from sidequest.contrib.opentelemetry import client_middleware, server_middleware

    client = Client(store, [client_middleware])            # where jobs are enqueued
    # sidequest run --client-middleware sidequest.contrib.opentelemetry:client_middleware \\
    #               --middleware sidequest.contrib.opentelemetry:server_middleware

The client middleware starts a ``PRODUCER`` span named ``send QUEUE`` and injects its trace context
into the payload with the configured propagator (W3C ``traceparent``/``tracestate`` keys at the top
level of the job, where Sidekiq's OpenTelemetry instrumentation puts them, so a Ruby process sees the
same trace). The server middleware extracts it and runs ``perform`` inside a ``CONSUMER`` span named
``process QUEUE``: a child of the producer span (``propagation="child"``, the default), or a new trace
with a link to it (``propagation="link"``, for jobs that run long after they were enqueued). A job
that raises ends its span with status ERROR and the exception recorded. Scheduled jobs and retries
keep the context of the enqueue that made them.

Attributes follow OpenTelemetry's messaging semantic conventions: ``messaging.system`` ("sidequest"),
``messaging.destination.name`` (the queue), ``messaging.message.id`` (the jid),
``messaging.operation.type`` ("send" / "process") and ``messaging.operation.name``; sidequest adds
``sidequest.job.class`` and, for a retried job, ``sidequest.job.retry_count``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Literal

from opentelemetry import context, propagate, trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, Tracer, TracerProvider

from sidequest import __version__
from sidequest.job import Payload, display_class

if TYPE_CHECKING:
    from sidequest.worker import Worker

SYSTEM = "sidequest"
"""The ``messaging.system`` of every span."""

INSTRUMENTATION = "sidequest.contrib.opentelemetry"
"""The instrumentation scope name spans are made under."""

Propagation = Literal["child", "link", "none"]


def _tracer(provider: TracerProvider | None) -> Tracer:
    # Looked up per call (a dict lookup in the SDK), so a provider configured after import is used.
    return trace.get_tracer(INSTRUMENTATION, __version__, tracer_provider=provider)


def _attributes(payload: Payload, operation: str, name: str) -> dict[str, str | int]:
    attributes: dict[str, str | int] = {
        "messaging.system": SYSTEM,
        "messaging.destination.name": str(payload.get("queue", "default")),
        "messaging.operation.type": operation,
        "messaging.operation.name": name,
        "sidequest.job.class": display_class(payload),
    }
    jid = payload.get("jid")
    if isinstance(jid, str):
        attributes["messaging.message.id"] = jid
    return attributes


class TracingClientMiddleware:
    """Client middleware: a ``PRODUCER`` span per enqueued job, its context injected into the payload.

    ``tracer_provider``: the provider to use (default: the global one)."""

    def __init__(self, tracer_provider: TracerProvider | None = None) -> None:
        self.tracer_provider = tracer_provider

    def __call__(self, payload: Payload) -> Payload:
        queue = str(payload.get("queue", "default"))
        attributes = _attributes(payload, "send", "send")
        with _tracer(self.tracer_provider).start_as_current_span(
            f"send {queue}", kind=SpanKind.PRODUCER, attributes=attributes
        ):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
        # A new dict: the caller's payload (a bulk enqueue reuses its template) stays as it was.
        return {**payload, **carrier}


class TracingServerMiddleware:
    """Server middleware: a ``CONSUMER`` span around each ``perform``, a child of (or linked to) the
    producer span whose context the payload carries.

    ``propagation``: ``"child"`` (default) continues the producer's trace; ``"link"`` starts a new
    trace linked to it; ``"none"`` ignores it. ``tracer_provider``: default the global one."""

    def __init__(
        self, propagation: Propagation = "child", tracer_provider: TracerProvider | None = None
    ) -> None:
        if propagation not in ("child", "link", "none"):
            raise ValueError(f"propagation must be 'child', 'link' or 'none', got {propagation!r}")
        self.propagation = propagation
        self.tracer_provider = tracer_provider

    def __call__(self, worker: Worker, payload: Payload) -> AbstractContextManager[None]:
        return self._span(payload)

    @contextmanager
    def _span(self, payload: Payload) -> Iterator[None]:
        carrier = {key: value for key, value in payload.items() if isinstance(value, str)}
        extracted = propagate.extract(carrier) if self.propagation != "none" else None
        parent: context.Context | None = None
        links: list[Link] = []
        if extracted is not None:
            remote = trace.get_current_span(extracted).get_span_context()
            if remote.is_valid:
                if self.propagation == "child":
                    parent = extracted
                else:
                    links.append(Link(remote))
        queue = str(payload.get("queue", "default"))
        attributes = _attributes(payload, "process", "process")
        retry_count = payload.get("retry_count")
        if isinstance(retry_count, int):
            attributes["sidequest.job.retry_count"] = retry_count
        tracer = _tracer(self.tracer_provider)
        # The job's exception is recorded and sets the status ERROR, then goes on to sidequest's
        # retry policy; no other exception starts here.
        with tracer.start_as_current_span(
            f"process {queue}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes=attributes,
            links=links,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield
            except BaseException as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                raise


client_middleware = TracingClientMiddleware()
"""The client middleware with the global tracer provider (for ``--client-middleware``)."""

server_middleware = TracingServerMiddleware()
"""The server middleware with the global tracer provider, consumer spans as children of the producer
span (for ``--middleware``)."""
