"""OpenTelemetry: the client middleware makes a PRODUCER span at enqueue and carries its context in the
payload; the server middleware runs perform inside a CONSUMER span that is its child, in this process
(the SDK's in-memory exporter) and across processes (a real ``sidequest run`` exporting to a file, its
batch of spans flushed when it exits), and
``--log-format json`` lines written inside that span carry its trace and span ids."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import orjson
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from processes import SidequestProcess, runs, wait_for
from sidequest.client import Client
from sidequest.contrib.opentelemetry import TracingClientMiddleware, TracingServerMiddleware
from sidequest.registry import WorkerRegistry
from sidequest.runtime import Launcher, ProcessConfig, QueueSpec
from sidequest.runtime.log_format import JSONFormatter, TextFormatter
from sidequest.stores import open_store
from testapp.traced_workers import TracedWorker

TRACED = "testapp.traced_workers.TracedWorker"


@pytest.fixture
def spans() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_the_consumer_span_is_a_child_of_the_producer_span_on_every_store(
    store_url: str, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    store = open_store(store_url)
    client = Client(store, [TracingClientMiddleware(provider)])
    ok = client.enqueue(TracedWorker, ["fine"], options={"queue": "traced"})
    failing = client.enqueue(TracedWorker, ["broken", True], options={"queue": "traced"})
    registry = WorkerRegistry.of(TracedWorker)
    config = ProcessConfig(queues=(QueueSpec("traced"),), concurrency=2)
    launcher = Launcher(
        store, registry, config, client=client, middleware=[TracingServerMiddleware(tracer_provider=provider)]
    )
    assert launcher.drain(timeout=30)
    store.close()

    finished = exporter.get_finished_spans()
    producers = {
        span.attributes["messaging.message.id"]: span for span in finished if span.kind == SpanKind.PRODUCER
    }
    consumers = {
        span.attributes["messaging.message.id"]: span for span in finished if span.kind == SpanKind.CONSUMER
    }
    assert set(producers) == set(consumers) == {ok, failing}
    for jid in (ok, failing):
        producer, consumer = producers[jid], consumers[jid]
        assert producer.name == "send traced" and consumer.name == "process traced"
        assert consumer.parent is not None
        assert consumer.parent.span_id == producer.context.span_id
        assert consumer.context.trace_id == producer.context.trace_id
        for span, operation in ((producer, "send"), (consumer, "process")):
            assert span.attributes["messaging.system"] == "sidequest"
            assert span.attributes["messaging.destination.name"] == "traced"
            assert span.attributes["messaging.operation.type"] == operation
            assert span.attributes["sidequest.job.class"] == TRACED
    assert consumers[ok].status.status_code == StatusCode.UNSET
    assert consumers[failing].status.status_code == StatusCode.ERROR
    assert [event.name for event in consumers[failing].events] == ["exception"]


def test_with_link_propagation_the_consumer_starts_a_trace_linked_to_the_producer(
    sqlite_url: str, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    store = open_store(sqlite_url)
    client = Client(store, [TracingClientMiddleware(provider)])
    client.enqueue(TracedWorker, ["linked"])
    registry = WorkerRegistry.of(TracedWorker)
    middleware = [TracingServerMiddleware("link", tracer_provider=provider)]
    assert Launcher(store, registry, client=client, middleware=middleware).drain(timeout=30)
    store.close()
    [producer] = [span for span in exporter.get_finished_spans() if span.kind == SpanKind.PRODUCER]
    [consumer] = [span for span in exporter.get_finished_spans() if span.kind == SpanKind.CONSUMER]
    assert consumer.parent is None
    assert consumer.context.trace_id != producer.context.trace_id
    assert [link.context.span_id for link in consumer.links] == [producer.context.span_id]


def test_a_bad_propagation_is_refused_where_the_middleware_is_made() -> None:
    with pytest.raises(ValueError, match="propagation must be 'child', 'link' or 'none'"):
        TracingServerMiddleware("sibling")  # type: ignore[arg-type]


def test_the_consumer_span_in_another_process_is_a_child_of_the_producer_span_and_its_logs_carry_its_ids(
    store_url: str, tmp_path: Path, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    provider, exporter = spans
    store = open_store(store_url)
    client = Client(store, [TracingClientMiddleware(provider)])
    jid = client.enqueue(TracedWorker, ["across"])
    store.close()
    spans_file = tmp_path / "spans.jsonl"
    record = tmp_path / "runs.txt"
    process = SidequestProcess(
        store_url,
        tmp_path,
        [
            *("-r", "testapp.traced_workers", "--log-format", "json"),
            *("--middleware", "sidequest.contrib.opentelemetry:server_middleware"),
        ],
        record,
        env={"SIDEQUEST_TEST_SPANS": str(spans_file)},
    )
    wait_for(lambda: runs(record) == {"across": 1}, 30, "the job to run")
    assert not spans_file.exists()  # a BatchSpanProcessor holds the span until the process flushes it
    assert process.terminate() == 0, process.output()  # sidequest run flushes the provider at exit

    [producer] = exporter.get_finished_spans()
    [consumer] = [json.loads(line) for line in spans_file.read_text().splitlines()]
    assert consumer["kind"] == "CONSUMER" and producer.kind == SpanKind.PRODUCER
    assert consumer["trace_id"] == format(producer.context.trace_id, "032x")
    assert consumer["parent_span_id"] == format(producer.context.span_id, "016x")
    assert consumer["attributes"]["messaging.message.id"] == jid
    assert runs(record) == {"across": 1}

    lines = [orjson.loads(line) for line in process.output().splitlines() if line.startswith("{")]
    [inside] = [line for line in lines if line["msg"] == "performing across"]
    assert inside["trace_id"] == consumer["trace_id"]
    assert inside["span_id"] == consumer["span_id"]
    assert inside["jid"] == jid
    assert not any("trace_id" in line for line in lines if line["msg"].startswith("sidequest "))


def test_json_lines_carry_trace_ids_only_inside_a_span_and_text_lines_never(
    spans: tuple[TracerProvider, InMemorySpanExporter],
) -> None:
    provider, _ = spans
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "hello", None, None)
    assert "trace_id" not in JSONFormatter().format(record)
    with provider.get_tracer("test").start_as_current_span("request") as span:
        inside = orjson.loads(JSONFormatter().format(record))
        text = TextFormatter().format(record)
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert inside["span_id"] == format(span.get_span_context().span_id, "016x")
    assert "trace" not in text
    assert trace.get_current_span() is trace.INVALID_SPAN


@pytest.mark.parametrize("mode", ["fake", "inline"])
def test_the_testing_modes_trace_an_enqueue_and_its_perform_as_a_process_would(
    mode: str, spans: tuple[TracerProvider, InMemorySpanExporter]
) -> None:
    from sidequest import testing

    provider, exporter = spans
    client_side = [TracingClientMiddleware(provider)]
    server_side = [TracingServerMiddleware(tracer_provider=provider)]
    if mode == "fake":
        with testing.fake(middleware=client_side, server_middleware=server_side) as fake:
            jid = TracedWorker.perform_async("in-a-test")
            assert fake.drain() == 1
    else:
        with testing.inline(middleware=client_side, server_middleware=server_side):
            jid = TracedWorker.perform_async("in-a-test")
    [producer, consumer] = sorted(
        exporter.get_finished_spans(), key=lambda span: span.kind != SpanKind.PRODUCER
    )
    assert producer.kind == SpanKind.PRODUCER and consumer.kind == SpanKind.CONSUMER
    assert consumer.attributes["messaging.message.id"] == jid
    assert consumer.parent is not None and consumer.parent.span_id == producer.context.span_id
