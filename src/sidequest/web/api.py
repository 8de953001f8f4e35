"""JSON reads: ``GET /stats`` in the shape of Sidekiq's, ``HEAD /`` for health checks, and ``/api/...``
with the data of each page (documented in ``docs/dashboard.md``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from sidequest.admin import MAX_HISTORY_DAYS, MAX_METRICS_HOURS, AdminError, Location
from sidequest.admin_views import JobFilter, error_groups, filter_jobs, find_job
from sidequest.errors import SidequestError
from sidequest.job import METRIC_BUCKETS_MS
from sidequest.web.dashboard import Dashboard, Paging
from sidequest.web.store_panel import store_panel


def json_response(data: Any, status_code: int = 200) -> Response:
    """``data`` (dataclasses, dates and payloads included) as pretty-printed JSON."""
    body = orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
    return Response(body, status_code, media_type="application/json")


def health(request: Request) -> Response:
    """``HEAD /``: 200 when the store answers a cheap read, 503 (with the error) when it does not."""
    try:
        Dashboard.of(request).admin.size("dead")
    except (SidequestError, OSError) as exc:
        # A header must be one line of latin-1: keep the message printable ASCII.
        reason = " ".join(str(exc).split()).encode("ascii", "replace").decode()[:200]
        return Response(status_code=503, headers={"X-Sidequest-Error": reason})
    return Response(status_code=200)


def stats(request: Request) -> Response:
    """``GET /stats``: Sidekiq's ``{sidekiq: {...}, redis: {...}, server_utc_time}``, plus ``store``."""
    admin = Dashboard.of(request).admin
    overview = admin.overview()
    counts = overview.counts
    default = next((q for q in overview.queues if q.name == "default"), None)
    panel = store_panel(admin)
    return json_response(
        {
            "sidekiq": {
                "processed": counts.processed,
                "failed": counts.failed,
                "busy": counts.busy,
                "processes": counts.processes,
                "enqueued": counts.enqueued,
                "scheduled": counts.scheduled,
                "retries": counts.retry,
                "dead": counts.dead,
                "default_latency": round(default.latency, 3) if default else 0,
            },
            "redis": panel.as_dict() if panel.kind == "Redis" else {},
            "store": {"kind": panel.kind, **panel.as_dict()},
            "server_utc_time": datetime.now(UTC).strftime("%H:%M:%S UTC"),
        }
    )


def stats_queues(request: Request) -> Response:
    """``GET /stats/queues``: ``{queue: size}``."""
    return json_response({q.name: q.size for q in Dashboard.of(request).admin.queues()})


def api_overview(request: Request) -> Response:
    """``GET /api/overview``: counts, queues, processes and running jobs."""
    return json_response(Dashboard.of(request).admin.overview())


def api_history(request: Request) -> Response:
    """``GET /api/history?days=7``: processed and failed per UTC day, newest first."""
    try:
        days = int(request.query_params.get("days", "7"))
        return json_response(Dashboard.of(request).admin.history(days))
    except (ValueError, AdminError):
        return json_response({"error": f"days must be a whole number from 1 to {MAX_HISTORY_DAYS}"}, 400)


def api_metrics(request: Request) -> Response:
    """``GET /api/metrics?hours=1``: per-class metrics of the last hours (1 to 72), one item per class
    and period, oldest first, each with its histogram in Sidekiq 7's buckets (``buckets_ms``)."""
    try:
        hours = int(request.query_params.get("hours", "1"))
        items = Dashboard.of(request).admin.metrics(hours)
    except (ValueError, AdminError):
        return json_response({"error": f"hours must be a whole number from 1 to {MAX_METRICS_HOURS}"}, 400)
    buckets = [bound if bound != float("inf") else None for bound in METRIC_BUCKETS_MS]
    return json_response({"buckets_ms": buckets, "metrics": items})


def api_jobs(request: Request) -> Response:
    """``GET /api/jobs?where=dead&page=1&count=25`` (and the set filters ``class``, ``queue``,
    ``error_class``, ``jid``, ``args``): a page of a location, or the first matches of a filter."""
    admin = Dashboard.of(request).admin
    paging = Paging.of(request)
    where = request.query_params.get("where", "dead")
    try:
        location = Location.parse(where)
    except AdminError as exc:
        return json_response({"error": str(exc)}, 400)
    params = request.query_params
    job_filter = JobFilter(
        params.get("class", ""), params.get("queue", ""), params.get("error_class", ""),
        params.get("jid", ""), params.get("args", ""),
    )  # fmt: skip
    if job_filter.active:
        result = filter_jobs(admin, location, job_filter, paging.count)
        return json_response(
            {"where": where, "jobs": result.matches, "scanned": result.scanned, "capped": result.capped}
        )
    return json_response(
        {
            "where": where,
            "size": admin.size(location),
            "page": paging.page,
            "count": paging.count,
            "jobs": admin.jobs(location, paging.offset, paging.count),
        }
    )


def api_job(request: Request) -> Response:
    """``GET /api/jobs/{jid}``: where the job is and its payload; 404 when it is nowhere."""
    found = find_job(
        Dashboard.of(request).admin, request.path_params["jid"], request.query_params.get("in", "")
    )
    if found is None:
        return json_response({"error": "no such job (it may have finished or been deleted)"}, 404)
    return json_response(
        {"location": found.location, "payload": found.payload, "entry": found.entry, "work": found.work}
    )


def api_cron(request: Request) -> Response:
    """``GET /api/cron``: the periodic entries."""
    return json_response(Dashboard.of(request).cron.entries())


def api_errors(request: Request) -> Response:
    """``GET /api/errors``: failures grouped by set, class and error class."""
    groups, capped = error_groups(Dashboard.of(request).admin)
    return json_response({"groups": groups, "capped": capped, "time": time.time()})


def api_limiters(request: Request) -> Response:
    """``GET /api/limiters``: every rate limiter's stats."""
    return json_response(Dashboard.of(request).admin.limiters())
