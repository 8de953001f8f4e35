"""Client and server middleware chains.

* A **client middleware** is a callable ``(payload) -> payload | None`` run on every job before it is
  pushed; it may change the payload or return None to drop the job (the enqueue then returns None).
* A **server middleware** is a callable ``(worker, payload) -> context manager`` entered around every
  ``perform``. Write it with :func:`contextlib.contextmanager`; the same middleware wraps sync and
  ``async def perform`` jobs, and sees the job's exception at its ``yield``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, ExitStack, nullcontext
from functools import partial
from typing import TYPE_CHECKING, Any

from sidequest.job import Payload

if TYPE_CHECKING:
    from sidequest.worker import Worker

ClientMiddleware = Callable[[Payload], Payload | None]
ServerMiddleware = Callable[["Worker", Payload], AbstractContextManager[Any]]


def run_client_chain(chain: Iterable[ClientMiddleware], payload: Payload) -> Payload | None:
    """Pass ``payload`` through each client middleware in order; None as soon as one drops it."""
    current = payload
    for middleware in chain:
        result = middleware(current)
        if result is None:
            return None
        current = result
    return current


def enter_server_chain(chain: Iterable[ServerMiddleware], worker: Worker, payload: Payload) -> ExitStack:
    """Enter each server middleware around a job; the caller runs ``perform`` inside the returned stack."""
    stack = ExitStack()
    try:
        for middleware in chain:
            stack.enter_context(middleware(worker, payload))
    except BaseException:
        stack.close()
        raise
    return stack


def _no_middleware(worker: Worker, payload: Payload) -> AbstractContextManager[Any]:
    return nullcontext()


def server_chain(chain: Sequence[ServerMiddleware]) -> ServerMiddleware:
    """One server middleware that enters each of ``chain`` in order: the executor builds it once, and
    enters it around every job. With none or one middleware (the usual cases) it adds nothing per job
    to what the middleware itself costs; with more, it is :func:`enter_server_chain`."""
    if not chain:
        return _no_middleware
    if len(chain) == 1:
        return chain[0]
    return partial(enter_server_chain, tuple(chain))
