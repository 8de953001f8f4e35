"""Jobs that do what real jobs sometimes do to the process running them, for the robustness scenarios.

Loaded with an extra ``-r testapp.hostile_workers`` (and ``--middleware
testapp.hostile_workers:explosive_middleware`` where a scenario needs it). Every run is recorded like
:class:`~testapp.workers.ActionWorker`'s (``<jid> <key>`` in ``$SIDEQUEST_TEST_RECORD``).
"""

from __future__ import annotations

import asyncio
import functools
import math
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sidequest
from testapp.workers import record


class UnprintableError(Exception):
    """An exception whose ``__str__`` and ``__repr__`` raise."""

    def __str__(self) -> str:
        raise KeyboardInterrupt("__str__ raised")

    def __repr__(self) -> str:
        raise ValueError("__repr__ raised")


class _NamelessMeta(type):
    def __getattribute__(cls, name: str) -> Any:
        if name in ("__qualname__", "__module__", "__name__"):
            raise RuntimeError("this class has no name")
        return super().__getattribute__(name)


class NamelessError(Exception, metaclass=_NamelessMeta):
    """An exception whose class name cannot even be read."""


class HookSays(Exception):
    """Raised with what the retry hook is to answer (``retry_in``)."""

    def __init__(self, answer: str) -> None:
        super().__init__(f"the hook is to answer {answer}")
        self.answer = answer


HOOK_ANSWERS: dict[str, Any] = {
    "inf": math.inf,
    "nan": math.nan,
    "huge": 10**400,
    "negative": -5,
    "text": "soon",
}


def raise_kind(kind: str) -> None:
    """Raise what ``kind`` names (a BaseException, a hostile exception, or a hook instruction)."""
    if kind == "keyboard-interrupt":
        raise KeyboardInterrupt("the job pressed Ctrl-C")
    if kind == "generator-exit":
        raise GeneratorExit("the job closed a generator")
    if kind == "system-exit":
        raise SystemExit(3)
    if kind == "cancelled":
        raise asyncio.CancelledError("the job cancelled something")
    if kind == "unprintable":
        raise UnprintableError()
    if kind == "nameless":
        raise NamelessError("nameless")
    if kind == "surrogate":
        name = os.fsdecode(b"report-\xff.csv")  # what os.listdir gives for a file name that is not UTF-8
        raise RuntimeError(f"cannot import {name}")
    if kind.startswith("hook-"):
        raise HookSays(kind[len("hook-") :])
    raise RuntimeError(f"told to fail ({kind})")


class HostileWorker(sidequest.Worker):
    """Records its run, then raises what its first argument names."""

    sidequest_options = {"retry": 3}

    def perform(self, kind: str, key: str, *rest: Any) -> None:
        record(self.jid, key)
        if kind != "ok":
            raise_kind(kind)

    def retry_in(self, count: int, exc: BaseException) -> Any:
        if isinstance(exc, HookSays):
            if exc.answer == "raise":
                raise KeyboardInterrupt("the retry hook pressed Ctrl-C")
            return HOOK_ANSWERS[exc.answer]
        return None


class AsyncHostileWorker(sidequest.Worker):
    """The async twin of HostileWorker."""

    sidequest_options = {"retry": 3}

    async def perform(self, kind: str, key: str) -> None:
        await asyncio.sleep(0)
        record(self.jid, key)
        if kind == "child-keyboard-interrupt":
            # A task of the job's own raising KeyboardInterrupt: asyncio lets it out of the event loop.
            await asyncio.gather(asyncio.ensure_future(_raise_soon()))
        if kind != "ok":
            raise_kind(kind)

    def retry_in(self, count: int, exc: BaseException) -> Any:
        if isinstance(exc, HookSays) and exc.answer == "raise":
            raise SystemExit("the retry hook exited")
        return None


async def _raise_soon() -> None:
    raise KeyboardInterrupt("a child task pressed Ctrl-C")


class ExhaustedHookRaisesWorker(sidequest.Worker):
    """No retries, and a ``retries_exhausted`` hook that raises a BaseException."""

    sidequest_options = {"retry": 0}

    def perform(self, key: str) -> None:
        record(self.jid, key)
        raise RuntimeError("out of retries at once")

    def retries_exhausted(self, job: dict[str, Any], exc: BaseException) -> None:
        raise SystemExit("retries_exhausted exited")


def logged(func: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """A decorator that hides ``async def`` from ``inspect.iscoroutinefunction``."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Awaitable[None]:
        return func(*args, **kwargs)

    return wrapper


class DecoratedAsyncWorker(sidequest.Worker):
    """``async def perform`` under a ``functools.wraps`` decorator: it must be awaited all the same."""

    @logged
    async def perform(self, key: str, seconds: float = 0.0) -> None:
        await asyncio.sleep(seconds)
        record(self.jid, key)


@contextmanager
def explosive_middleware(worker: sidequest.Worker, payload: dict[str, Any]) -> Iterator[None]:
    """A server middleware that raises KeyboardInterrupt around jobs whose key starts with ``mw-``."""
    args = payload.get("args") or []
    if len(args) > 1 and str(args[1]).startswith("mw-"):
        raise KeyboardInterrupt("the middleware pressed Ctrl-C")
    yield
