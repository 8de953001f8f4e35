"""The dashboard's Cancel action on a job page: ``POST /jobs/{jid}/cancel`` (see
:mod:`sidequest.cancellation`): a waiting job is removed, a running one flagged to stop."""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from sidequest.web.actions import _act
from sidequest.web.dashboard import Dashboard

SAID = {
    "removed": "Cancelled job {jid}: it was waiting and will not run",
    "flagged": "Cancelled job {jid}: it is running and was asked to stop (an iterable job stops by itself)",
    "not_found": "Nothing done: job {jid} is no longer waiting or running",
}


async def cancel_action(request: Request) -> Response:
    """``POST /jobs/{jid}/cancel``: cancel the job, then back to the page it came from."""
    dashboard = Dashboard.of(request)
    jid = request.path_params["jid"]

    def work(_form: FormData) -> str:
        state = dashboard.admin.cancel(jid)
        dashboard.done(request, "cancel", jid, 0 if state == "not_found" else 1)
        return SAID[state].format(jid=jid)

    return await _act(request, "cancel", f"/jobs/{jid}", work)
