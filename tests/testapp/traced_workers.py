"""Workers for the tracing scenarios (loaded with an extra ``-r testapp.traced_workers``).

Importing this module installs a global OpenTelemetry tracer provider whose spans are written to the
file named by ``SIDEQUEST_TEST_SPANS`` (one JSON object per line), so a test in another process reads
the consumer spans this process made. They go through a ``BatchSpanProcessor`` that exports only
every minute: the spans reach the file when ``sidequest run`` flushes the provider at its exit.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

import sidequest
from testapp.workers import record

log = logging.getLogger("testapp.traced")


class FileSpanExporter(SpanExporter):
    """Appends each finished span as one JSON line: name, kind, ids, parent, links, attributes, status."""

    def __init__(self, path: str) -> None:
        self.path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with open(self.path, "a") as out:
            for span in spans:
                context = span.get_span_context()
                assert context is not None
                out.write(
                    json.dumps(
                        {
                            "name": span.name,
                            "kind": span.kind.name,
                            "trace_id": format(context.trace_id, "032x"),
                            "span_id": format(context.span_id, "016x"),
                            "parent_span_id": format(span.parent.span_id, "016x") if span.parent else None,
                            "links": [format(link.context.span_id, "016x") for link in span.links],
                            "attributes": dict(span.attributes or {}),
                            "status": span.status.status_code.name,
                        }
                    )
                    + "\n"
                )
        return SpanExportResult.SUCCESS


if os.environ.get("SIDEQUEST_TEST_SPANS"):
    provider = TracerProvider()
    exporter = FileSpanExporter(os.environ["SIDEQUEST_TEST_SPANS"])
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=60_000))
    trace.set_tracer_provider(provider)


class TracedWorker(sidequest.Worker):
    """Logs one line from inside ``perform`` (the JSON log carries the span's ids), then records the run;
    ``fail`` raises instead."""

    sidequest_options = {"retry": 0}

    def perform(self, key: str, fail: bool = False) -> None:
        log.info("performing %s", key)
        record(self.jid, key)
        if fail:
            raise RuntimeError(f"told to fail ({key})")
