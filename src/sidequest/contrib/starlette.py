"""sidequest in a Starlette or FastAPI application: a lifespan that configures it, and the dashboard.

::

    from fastapi import FastAPI
    from sidequest.contrib.starlette import dashboard, lifespan

    app = FastAPI(lifespan=lifespan("redis://localhost:6379/0"))
    app.mount("/sidequest", dashboard("redis://localhost:6379/0"))

Enqueueing blocks on the store for a moment: call ``perform_async`` from a plain ``def`` route (run in
the threadpool), or through ``starlette.concurrency.run_in_threadpool`` from an ``async def`` one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from sidequest.client import Client
from sidequest.defaults import DEFAULT
from sidequest.web import Authorize, create_app


def lifespan(
    url: str | None = None,
    *,
    then: Callable[[Any], contextlib.AbstractAsyncContextManager[Any]] | None = None,
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """A lifespan that makes ``url``'s store the default client while the app runs (``perform_async``
    in every route uses it), then closes it and puts back the previous default. ``then`` is the app's
    own lifespan, entered inside this one."""

    @contextlib.asynccontextmanager
    async def run(app: Any) -> AsyncIterator[None]:
        client = Client(url) if url is not None else None
        previous = DEFAULT.configure(client) if client is not None else None
        try:
            if then is None:
                yield
            else:
                async with then(app):
                    yield
        finally:
            if client is not None:
                DEFAULT.configure(previous)
                client.close()

    return run


def dashboard(url: str, *, authorize: Authorize | None = None, read_only: bool = False) -> Any:
    """The dashboard for ``app.mount(prefix, ...)``: every link it writes honours the prefix."""
    return create_app(url=url, authorize=authorize, read_only=read_only)
