"""The trace and span id of the current OpenTelemetry span, for ``--log-format json`` lines.

Looked up only when ``opentelemetry.trace`` has been imported by someone (the application, or
:mod:`sidequest.contrib.opentelemetry`): a process without tracing pays one dict lookup per JSON line
and never imports OpenTelemetry.
"""

from __future__ import annotations

import sys


def current_trace_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` in W3C hex (32 and 16 digits) of the span current in this thread or
    task, or None when tracing is off or no span is recording."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def flush_tracing(timeout_ms: int = 5000) -> None:
    """Export the spans a tracer provider still buffers (a ``BatchSpanProcessor``'s), when tracing is on:
    ``sidequest run`` ends with ``os._exit``, which runs no ``atexit`` hook, so the provider's own flush
    at exit would never happen and the last jobs' spans would be lost."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return
    force_flush = getattr(trace.get_tracer_provider(), "force_flush", None)
    if callable(force_flush):
        try:
            force_flush(timeout_ms)
        except Exception:  # an exporter that fails at exit: nothing is left to report it to
            return
