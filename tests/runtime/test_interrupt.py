"""Cutting a running thread short with JobTimeoutError, on real threads."""

from __future__ import annotations

import contextlib
import threading
import time

from sidequest.errors import JobTimeoutError
from sidequest.runtime.interrupt import InterruptibleSpan


def spin(seconds: float) -> int:
    """Pure Python for ``seconds``: runs bytecode all the time, so an interrupt lands at once."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


def run_in_thread(span: InterruptibleSpan, work: float, outcome: list[str]) -> threading.Thread:
    def body() -> None:
        try:
            with span:
                spin(work)
            outcome.append("finished")
        except JobTimeoutError:
            outcome.append("timed out")

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread


def test_a_pure_python_loop_is_stopped_with_job_timeout_error() -> None:
    span = InterruptibleSpan()
    outcome: list[str] = []
    thread = run_in_thread(span, 30.0, outcome)
    time.sleep(0.2)
    assert span.open
    started = time.monotonic()
    assert span.interrupt()
    thread.join(5)
    assert outcome == ["timed out"]
    assert time.monotonic() - started < 1
    assert span.interrupted and not span.open


def test_an_interrupt_after_the_span_closed_does_nothing() -> None:
    span = InterruptibleSpan()
    outcome: list[str] = []
    thread = run_in_thread(span, 0.01, outcome)
    thread.join(5)
    assert outcome == ["finished"]
    assert not span.interrupt()


def test_a_thread_is_interrupted_at_most_once_per_span() -> None:
    span = InterruptibleSpan()
    outcome: list[str] = []
    thread = run_in_thread(span, 30.0, outcome)
    time.sleep(0.1)
    assert span.interrupt()
    assert not span.interrupt()
    thread.join(5)
    assert outcome == ["timed out"]


def test_interrupts_racing_the_end_of_the_span_are_always_caught_around_it() -> None:
    # Many short spans interrupted at random moments: the exception must never escape the try around
    # the with statement (it would kill the thread, as it once killed processor threads).
    span = InterruptibleSpan()
    escaped: list[BaseException] = []
    results: list[str] = []
    stop = threading.Event()

    def body() -> None:
        try:
            while not stop.is_set():
                try:
                    with span:
                        spin(0.0005)
                    results.append("finished")
                except JobTimeoutError:
                    results.append("timed out")
        except BaseException as exc:  # what must never happen
            escaped.append(exc)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        span.interrupt()
        time.sleep(0.0003)
    stop.set()
    thread.join(5)
    assert escaped == []
    assert "timed out" in results and "finished" in results


def test_a_thread_blocked_in_c_code_keeps_its_span_open_until_it_returns() -> None:
    span = InterruptibleSpan()
    outcome: list[str] = []

    def body() -> None:
        try:
            with span:
                time.sleep(1.0)  # C code: no bytecode runs, so the interrupt waits
                spin(5.0)
            outcome.append("finished")
        except JobTimeoutError:
            outcome.append("timed out")

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    time.sleep(0.1)
    assert span.interrupt()
    time.sleep(0.3)
    assert span.open and outcome == []  # still blocked: the caller's grace period is for this
    thread.join(5)
    assert outcome == ["timed out"]  # delivered as soon as the thread ran Python again


def test_a_job_that_swallows_the_timeout_still_fails_with_it() -> None:
    span = InterruptibleSpan()
    outcome: list[str] = []

    def body() -> None:
        try:
            with span, contextlib.suppress(Exception):  # a careless job's catch-all
                spin(30.0)
            outcome.append("finished")
        except JobTimeoutError:
            outcome.append("timed out")

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    time.sleep(0.1)
    assert span.interrupt()
    thread.join(5)
    assert outcome == ["timed out"]
