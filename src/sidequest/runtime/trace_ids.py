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
