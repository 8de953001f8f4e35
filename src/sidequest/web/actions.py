"""The dashboard's actions (POST). Each is authorized, done through the Admin API, logged, and
answered with a redirect back to the page it came from, with a notice saying what was done.

An action that cannot be done as asked (an AdminError: the process is gone, the queue is unknown)
comes back as that notice, never as a 500: the dashboard keeps serving.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sidequest.admin import ALL, AdminError, ProcessSelection, Selection
from sidequest.admin_views import JobFilter, filter_jobs, group_jids
from sidequest.options import QUEUE_NAME
from sidequest.web.dashboard import Dashboard, back_to, error_window
from sidequest.web.sets import PAGE_OF_SET, SET_PAGES

ALL_MATCHING_CAP = 1000
"""With a filter, "all" acts on at most this many matches (Oban's cap), found by a capped scan."""


def _plural(count: int) -> str:
    return f"{count} job" if count == 1 else f"{count} jobs"


async def _act(request: Request, action: str, fallback: str, work: Callable[[FormData], str]) -> Response:
    """Authorize ``action``, run ``work`` (blocking, in a thread) with the form, redirect back."""
    dashboard = Dashboard.of(request)
    if not dashboard.allowed(request, action):
        raise HTTPException(403, f"not allowed to {action}")
    form = await request.form()
    try:
        notice = await run_in_threadpool(work, form)
    except AdminError as exc:
        notice = f"Nothing done: {exc}"
    back = form.get("back")
    return back_to(request, fallback, notice, back if isinstance(back, str) else None)


def _texts(form: FormData, name: str) -> list[str]:
    return [value for value in form.getlist(name) if isinstance(value, str) and value]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def set_action(request: Request) -> Response:
    """``POST /retries`` (and ``/scheduled``, ``/morgue``): ``action`` on the checked ``jid`` fields,
    or with ``all=1`` on every job of the set (every match, up to a cap, when filter fields are sent).
    ``POST /retries/all/retry`` is the same with ``all`` implied, as in Sidekiq."""
    dashboard = Dashboard.of(request)
    page = SET_PAGES[request.path_params["slug"]]
    form = await request.form()
    name = request.path_params.get("action") or _text(form, "action")
    action = page.action(name)
    if action is None:
        choices = ", ".join(a.name for a in page.actions)
        return back_to(
            request, f"/{page.slug}", f"Nothing done: {page.title} has no action {name!r} ({choices})"
        )
    everything = "action" in request.path_params or _text(form, "all") == "1"
    job_filter = JobFilter(
        worker=_text(form, "class"),
        queue=_text(form, "queue"),
        error_class=_text(form, "error_class"),
        jid=_text(form, "filter_jid"),
        args=_text(form, "args"),
    )

    def work(form: FormData) -> str:
        jobs: Selection
        if everything and job_filter.active:
            found = filter_jobs(dashboard.admin, page.where, job_filter, limit=ALL_MATCHING_CAP)
            jobs = [entry.jid for entry in found.matches]
        elif everything:
            jobs = ALL
        else:
            jobs = _texts(form, "jid")
            if not jobs:
                return "Nothing done: no job was selected"
        result = action.run(dashboard.admin, page.where, jobs)
        dashboard.done(request, action.name, page.where, result.done, result.missing)
        missing = f"; {len(result.missing)} had already moved" if result.missing else ""
        return f"{action.verb} {_plural(result.done)}{missing}"

    return await _act(request, action.name, f"/{page.slug}", lambda _form: work(form))


QUEUE_ACTIONS = {"clear": "clear", "delete": "delete", "pause": "queue.pause", "resume": "queue.resume"}
"""Each ``POST /queues/{name}/{action}`` and the action name ``authorize`` is asked about."""


async def queue_action(request: Request) -> Response:
    """``POST /queues/{name}/clear`` (every job, and the queue's name), ``/queues/{name}/delete``
    (the ``jid`` fields), ``/queues/{name}/pause`` or ``/resume`` (Sidekiq Pro's pause)."""
    dashboard = Dashboard.of(request)
    name = request.path_params["name"]
    verb = request.path_params["action"]
    if not QUEUE_NAME.match(name) or verb not in QUEUE_ACTIONS:
        raise HTTPException(404, "no such queue action")

    def work(form: FormData) -> str:
        if verb in ("pause", "resume"):
            (dashboard.admin.pause_queue if verb == "pause" else dashboard.admin.resume_queue)(name)
            dashboard.done(request, QUEUE_ACTIONS[verb], f"queue:{name}", 1)
            return f"{'Paused' if verb == 'pause' else 'Resumed'} queue {name}"
        if verb == "clear":
            count = dashboard.admin.clear_queue(name)
            dashboard.done(request, "clear", f"queue:{name}", count)
            return f"Cleared queue {name}: {_plural(count)} deleted"
        jids = _texts(form, "jid")
        result = dashboard.admin.delete(f"queue:{name}", jids)
        dashboard.done(request, "delete", f"queue:{name}", result.done, result.missing)
        return f"Deleted {_plural(result.done)} from {name}"

    fallback = f"/queues/{name}" if verb == "delete" else "/queues"
    return await _act(request, QUEUE_ACTIONS[verb], fallback, work)


async def busy_action(request: Request) -> Response:
    """``POST /busy`` with ``action`` quiet or stop and an ``identity`` (none: every process)."""
    dashboard = Dashboard.of(request)
    form = await request.form()
    verb = _text(form, "action")
    if verb not in ("quiet", "stop"):
        return back_to(request, "/busy", f"Nothing done: unknown action {verb!r} (quiet or stop)")
    identity = _text(form, "identity")

    def work(_form: FormData) -> str:
        target: ProcessSelection = identity or ALL
        signal = dashboard.admin.quiet if verb == "quiet" else dashboard.admin.stop
        sent = signal(target)
        dashboard.done(request, verb, identity or "all processes", len(sent))
        what = "Quieting" if verb == "quiet" else "Stopping"
        return f"{what} {len(sent)} process{'es' if len(sent) != 1 else ''}"

    return await _act(request, verb, "/busy", work)


async def cron_action(request: Request) -> Response:
    """``POST /cron/{name}/pause``, ``/resume`` or ``/enqueue``."""
    dashboard = Dashboard.of(request)
    name = request.path_params["name"]
    verb = request.path_params["action"]
    if verb not in ("pause", "resume", "enqueue"):
        raise HTTPException(404, "no such cron action")

    def work(_form: FormData) -> str:
        if verb == "enqueue":
            jid = dashboard.cron.enqueue(name)
            dashboard.done(request, "cron.enqueue", name, 1)
            return f"Enqueued {name} now (job {jid})"
        (dashboard.cron.pause if verb == "pause" else dashboard.cron.resume)(name)
        dashboard.done(request, f"cron.{verb}", name, 1)
        return f"{'Paused' if verb == 'pause' else 'Resumed'} {name}"

    return await _act(request, f"cron.{verb}", "/cron", work)


async def error_group_action(request: Request) -> Response:
    """``POST /errors``: ``action`` retry or delete on one group (``where``, ``class``,
    ``error_class``), as :func:`sidequest.admin_views.error_groups` lists it."""
    dashboard = Dashboard.of(request)
    form = await request.form()
    verb = _text(form, "action")
    where = _text(form, "where")
    page = next((p for p in PAGE_OF_SET.values() if p.where == where), None)
    if verb not in ("retry", "delete") or page is None or where not in ("retry", "dead"):
        return back_to(
            request, "/errors", "Nothing done: the group action must be retry or delete on retry or dead"
        )
    action = page.action(verb)
    assert action is not None  # both sets have retry and delete

    def work(_form: FormData) -> str:
        _, since = error_window(_text(form, "window"))
        jids = group_jids(
            dashboard.admin, page.where, _text(form, "class"), _text(form, "error_class"), since
        )
        if not jids:
            return "Nothing done: that group has no jobs any more"
        result = action.run(dashboard.admin, page.where, jids)
        dashboard.done(
            request, verb, f"{where} group {_text(form, 'class')}/{_text(form, 'error_class')}", result.done
        )
        return f"{action.verb} {_plural(result.done)}"

    return await _act(request, verb, "/errors", work)
