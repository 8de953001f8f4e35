"""The dashboard's batch pages: ``/batches`` (newest first, paged) and ``/batches/{bid}`` (one batch
with its counters, fired callbacks and failed jobs), and their JSON (``/api/batches``,
``/api/batches/{bid}``), read through :class:`sidequest.admin_batches.BatchAdmin`."""

from __future__ import annotations

import time

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sidequest.admin_batches import BatchAdmin, state_of
from sidequest.web.api import json_response
from sidequest.web.dashboard import Dashboard, Paging


def batches(request: Request) -> Response:
    """``/batches``: a page of batches, newest first."""
    dashboard = Dashboard.of(request)
    paging = Paging.of(request)
    found = BatchAdmin(dashboard.admin.store).page(paging.offset, paging.count + 1)
    return dashboard.render(
        request,
        "batches.html",
        batches=found[: paging.count],
        more=len(found) > paging.count,
        paging=paging,
        state_of=state_of,
        now=time.time(),
    )


def batch(request: Request) -> Response:
    """``/batches/{bid}``: one batch; 404 when unknown, lingered out or expired."""
    dashboard = Dashboard.of(request)
    bid = request.path_params["bid"]
    status = BatchAdmin(dashboard.admin.store).get(bid)
    if status is None:
        raise HTTPException(404, f"no batch {bid!r}: unknown, or it succeeded and its linger passed")
    return dashboard.render(request, "batch.html", batch=status, state=state_of(status), now=time.time())


def api_batches(request: Request) -> Response:
    """``GET /api/batches?page=&count=``: a page of batches, newest first."""
    paging = Paging.of(request)
    found = BatchAdmin(Dashboard.of(request).admin.store).page(paging.offset, paging.count)
    return json_response([status.to_dict() | {"state": state_of(status)} for status in found])


def api_batch(request: Request) -> Response:
    """``GET /api/batches/{bid}``: one batch with its failed jids; 404 when it is unknown."""
    status = BatchAdmin(Dashboard.of(request).admin.store).get(request.path_params["bid"])
    if status is None:
        return json_response(
            {"error": "no such batch (unknown, lingered out after success, or expired)"}, 404
        )
    return json_response(status.to_dict() | {"state": state_of(status)})
