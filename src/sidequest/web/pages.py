"""The dashboard's pages (GET). Each reads through the Admin API, a page at a time, and renders."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from cronsim import CronSim, CronSimError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sidequest.admin import MAX_HISTORY_DAYS
from sidequest.admin_views import SCAN_CAP, JobFilter, error_groups, filter_jobs, find_job
from sidequest.limits import rule_text
from sidequest.options import QUEUE_NAME
from sidequest.web import metrics as views
from sidequest.web.dashboard import ERROR_WINDOWS, PAGE_SIZES, Dashboard, Paging, error_window, parse_int
from sidequest.web.sets import PAGE_OF_SET, SET_PAGES
from sidequest.web.store_panel import store_panel

HISTORY_CHOICES = (7, 30, 90, 180)


def home(request: Request) -> Response:
    """``/``: the counters, the real-time and history graphs, the store panel."""
    dashboard = Dashboard.of(request)
    days = _choice(request.query_params.get("days"), HISTORY_CHOICES, 7)
    admin = dashboard.admin
    overview = admin.overview()
    history = admin.history(min(days, MAX_HISTORY_DAYS))
    return dashboard.render(
        request,
        "dashboard.html",
        counts=overview.counts,
        expired=overview.expired,
        history=[[row.day.isoformat(), row.processed, row.failed] for row in reversed(history)],
        days=days,
        day_choices=HISTORY_CHOICES,
        panel=store_panel(admin),
    )


def busy(request: Request) -> Response:
    """``/busy``: processes with Quiet and Stop, and the jobs they run, each list paged."""
    dashboard = Dashboard.of(request)
    paging = Paging.of(request)
    job_paging = Paging(max(parse_int(request.query_params.get("jobs_page"), 1), 1), paging.count)
    processes = dashboard.admin.processes()
    work = sorted(dashboard.admin.busy(), key=lambda item: (item.run_at, item.identity, item.thread_id))
    return dashboard.render(
        request,
        "busy.html",
        processes=processes[paging.offset : paging.offset + paging.count],
        process_total=len(processes),
        work=work[job_paging.offset : job_paging.offset + job_paging.count],
        work_total=len(work),
        paging=paging,
        job_paging=job_paging,
        page_sizes=PAGE_SIZES,
        now=time.time(),
    )


def queues(request: Request) -> Response:
    """``/queues``: every queue with size and latency."""
    dashboard = Dashboard.of(request)
    return dashboard.render(request, "queues.html", queues=dashboard.admin.queues())


def queue(request: Request) -> Response:
    """``/queues/{name}``: a queue's jobs, paged, next job first (or newest first)."""
    dashboard = Dashboard.of(request)
    name = request.path_params["name"]
    if not QUEUE_NAME.match(name):
        raise HTTPException(404, f"no queue named {name!r}")
    paging = Paging.of(request)
    newest_first = request.query_params.get("direction") == "desc"
    total = dashboard.admin.size(f"queue:{name}")
    if newest_first:
        start = max(total - paging.offset - paging.count, 0)
        stop = max(total - paging.offset, 0)
        jobs = (
            list(reversed(dashboard.admin.jobs(f"queue:{name}", start, stop - start))) if stop > start else []
        )
    else:
        jobs = dashboard.admin.jobs(f"queue:{name}", paging.offset, paging.count)
    return dashboard.render(
        request,
        "queue.html",
        name=name,
        jobs=jobs,
        total=total,
        paging=paging,
        page_sizes=PAGE_SIZES,
        newest_first=newest_first,
    )


def job_set(request: Request) -> Response:
    """``/scheduled``, ``/retries``, ``/morgue``: a set, paged, or filtered with a capped scan."""
    dashboard = Dashboard.of(request)
    page = SET_PAGES[request.path_params["slug"]]
    paging = Paging.of(request)
    job_filter = JobFilter(
        worker=request.query_params.get("class", "").strip(),
        queue=request.query_params.get("queue", "").strip(),
        error_class=request.query_params.get("error_class", "").strip(),
        jid=request.query_params.get("jid", "").strip(),
        args=request.query_params.get("args", "").strip(),
    )
    total = dashboard.admin.size(page.where)
    result = None
    if job_filter.active:
        result = filter_jobs(dashboard.admin, page.where, job_filter, limit=paging.count)
        jobs = result.matches
    else:
        jobs = dashboard.admin.jobs(page.where, paging.offset, paging.count)
    return dashboard.render(
        request,
        "set.html",
        page=page,
        jobs=jobs,
        total=total,
        paging=paging,
        page_sizes=PAGE_SIZES,
        job_filter=job_filter,
        result=result,
        scan_cap=SCAN_CAP,
    )


def job(request: Request) -> Response:
    """``/jobs/{jid}``: one job wherever it is, with the actions that apply there."""
    dashboard = Dashboard.of(request)
    jid = request.path_params["jid"]
    found = find_job(dashboard.admin, jid, request.query_params.get("in", ""))
    if found is None:
        return dashboard.render(request, "job_missing.html", status_code=404, jid=jid)
    set_page = next((page for page in PAGE_OF_SET.values() if page.where == found.location), None)
    return dashboard.render(
        request,
        "job.html",
        jid=jid,
        found=found,
        payload=found.payload,
        set_page=set_page,
        timestamps=_stamps(found.payload),
    )


def _stamps(payload: dict[str, Any]) -> list[tuple[str, Any]]:
    names = ("created_at", "enqueued_at", "failed_at", "retried_at", "run_at", "cron_at")
    return [(name, payload[name]) for name in names if name in payload]


def cron(request: Request) -> Response:
    """``/cron``: periodic entries with the schedule in words, next and last run, paused or not."""
    dashboard = Dashboard.of(request)
    entries = dashboard.cron.entries()
    return dashboard.render(request, "cron.html", entries=entries, explain=_explain, now=time.time())


def _explain(expression: str) -> str:
    """A cron expression in words ("At 03:30 every day"), from cronsim; the expression itself when
    cronsim cannot say it."""
    fields = expression.split()
    minutes = " ".join(fields[-5:])
    try:
        words = CronSim(minutes, datetime(2000, 1, 1)).explain()
    except (CronSimError, ValueError, AttributeError):
        return expression
    if len(fields) == 6 and fields[0] != "0":
        return f"{words}, at seconds {fields[0]}"
    return str(words)


def errors(request: Request) -> Response:
    """``/errors``: retry and dead jobs grouped by class and error class, over a window."""
    dashboard = Dashboard.of(request)
    window, since = error_window(request.query_params.get("window"))
    groups, capped = error_groups(dashboard.admin, since=since)
    return dashboard.render(
        request,
        "errors.html",
        groups=groups,
        capped=capped,
        scan_cap=SCAN_CAP,
        window=window,
        windows=list(ERROR_WINDOWS),
    )


def metrics(request: Request) -> Response:
    """``/metrics?period=1h&substr=``: per class over the period, processed, failed, total and average
    time, and a chart of the execution time of the busiest classes."""
    dashboard = Dashboard.of(request)
    period = _period(request, views.PERIODS, "1h")
    substring = request.query_params.get("substr", "").strip()
    hours = views.PERIODS[period]
    items = dashboard.admin.metrics(hours)
    rows = views.summaries(items, substring)
    top = [row.name for row in rows[: views.TOP_CLASSES]]
    return dashboard.render(
        request,
        "metrics.html",
        rows=rows,
        chart=views.time_chart(items, top, time.time(), hours),
        period=period,
        periods=list(views.PERIODS),
        substr=substring,
    )


def metric_class(request: Request) -> Response:
    """``/metrics/{name}?period=1h``: one class's totals, its runs per period and its histogram."""
    dashboard = Dashboard.of(request)
    name = request.path_params["name"]
    period = _period(request, views.HISTOGRAM_PERIODS, "1h")
    hours = views.HISTOGRAM_PERIODS[period]
    items = [item for item in dashboard.admin.metrics(hours) if item.name == name]
    summary = next(iter(views.summaries(items)), None)
    return dashboard.render(
        request,
        "metric_class.html",
        name=name,
        summary=summary,
        buckets=views.histogram(items, name),
        bounds=views.bucket_bounds(),
        chart=views.time_chart(items, [name], time.time(), hours),
        period=period,
        periods=list(views.HISTOGRAM_PERIODS),
    )


def _period(request: Request, choices: dict[str, int], default: str) -> str:
    wanted = request.query_params.get("period", default)
    return wanted if wanted in choices else default


def _choice(text: str | None, choices: tuple[int, ...], default: int) -> int:
    value = parse_int(text, default)
    return value if value in choices else default


def limiters(request: Request) -> Response:
    """``/limiters``: every rate limiter used on the store, its rule, use now, allowed and refused."""
    dashboard = Dashboard.of(request)
    found = dashboard.admin.limiters()
    return dashboard.render(request, "limiters.html", limiters=found, rule=rule_text, now=time.time())
