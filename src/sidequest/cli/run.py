"""``sidequest run``: start a process (or ``-p N`` supervised processes) that performs jobs."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sidequest.defaults import DEFAULT_URL, URL_ENV
from sidequest.errors import ConfigurationError, PermanentStoreError, StoreDataError, StoreError
from sidequest.runtime.logs import LEVELS, flush_logging
from sidequest.runtime.signals import install
from sidequest.runtime.trace_ids import flush_tracing

if TYPE_CHECKING:
    from sidequest.registry import WorkerRegistry
    from sidequest.runtime import Launcher
    from sidequest.stores.base import Store

log = logging.getLogger("sidequest.run")


@click.command()
@click.option(
    "-r",
    "--require",
    "requires",
    multiple=True,
    metavar="MODULE",
    help="Module (or .py file) defining workers; repeatable. Default: app.workers or workers.",
)
@click.option(
    "-q",
    "--queue",
    "queues",
    multiple=True,
    metavar="NAME[,WEIGHT]",
    help="Queue to process; repeatable. Strict order without weights, weighted random with them.",
)
@click.option("-c", "--concurrency", default=10, show_default=True, help="Jobs run at once (threads).")
@click.option(
    "--prefetch",
    type=int,
    default=None,
    help="Jobs claimed ahead of the processors while jobs run under 5 ms. Default: ~10 ms of work, 10-100.",
)
@click.option("-p", "--processes", default=1, show_default=True, help="OS processes, supervised.")
@click.option(
    "--reload",
    is_flag=True,
    help="Development: restart when a worker module's .py file changes (needs sidequest[reload]).",
)
@click.option(
    "-t",
    "--timeout",
    default=25.0,
    show_default=True,
    help="Shutdown grace period in seconds: running jobs get this long, then are requeued.",
)
@click.option(
    "--time-limit",
    type=float,
    default=None,
    help="Seconds a job may run before it is stopped with JobTimeoutError and retried, for jobs "
    "whose worker sets no time_limit. Default: no limit.",
)
@click.option(
    "--process-pool",
    type=int,
    default=None,
    metavar="N",
    help='Child processes for workers with isolation="process". Default: the number of CPUs.',
)
@click.option(
    "--max-child-memory",
    type=float,
    default=None,
    metavar="MB",
    help="Replace a pool child whose memory passes this after a job.",
)
@click.option(
    "--max-memory",
    type=float,
    default=None,
    metavar="MB",
    help="Stop gracefully (to be replaced by -p or the platform) once this process's memory passes this.",
)
@click.option(
    "--max-jobs",
    type=int,
    default=None,
    metavar="N",
    help="Stop gracefully (to be replaced by -p or the platform) after performing N jobs.",
)
@click.option("--url", envvar=URL_ENV, default=DEFAULT_URL, show_default=True, help="Store URL.")
@click.option("-g", "--tag", default="", help="Tag shown for this process in stats and dashboards.")
@click.option(
    "--middleware",
    "middleware",
    multiple=True,
    metavar="MODULE:ATTR",
    help="Server middleware wrapped around every perform; repeatable, outermost first.",
)
@click.option(
    "--client-middleware",
    "client_middleware",
    multiple=True,
    metavar="MODULE:ATTR",
    help="Client middleware for jobs enqueued by jobs in this process; repeatable.",
)
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--log-level", type=click.Choice(LEVELS, case_sensitive=False), default="INFO", show_default=True
)
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    metavar="PORT",
    help="Serve Prometheus metrics on http://HOST:PORT/metrics (needs sidequest[metrics]); "
    "under -p N, child i serves PORT+i.",
)
@click.option(
    "--metrics-host",
    default="127.0.0.1",
    show_default=True,
    help="Address --metrics-port listens on (0.0.0.0 in a container scraped from outside).",
)
@click.option(
    "--health-port",
    type=click.IntRange(0, 65535),
    default=None,
    metavar="PORT",
    help="Serve a liveness check on http://HOST:PORT/: 200 while threads live and the store took a "
    "heartbeat within the lease TTL, else 503; under -p N, child i serves PORT+i.",
)
@click.option(
    "--health-host",
    default="127.0.0.1",
    show_default=True,
    help="Address --health-port listens on (0.0.0.0 for a Kubernetes httpGet probe).",
)
@click.option("--heartbeat-interval", default=5.0, show_default=True, help="Seconds between heartbeats.")
@click.option(
    "--lease-ttl",
    default=60.0,
    show_default=True,
    help="Seconds without heartbeat after which another process rescues this one's jobs.",
)
@click.option("--rescue-interval", default=15.0, show_default=True, help="Seconds between orphan checks.")
@click.option(
    "--max-orphaned",
    default=3,
    show_default=True,
    help="Rescues after which a job that keeps crashing its process goes to the dead set.",
)
@click.option(
    "--scheduler-interval",
    default=0.5,
    show_default=True,
    help="Average seconds between checks for due scheduled and retry jobs.",
)
def run(**options: Any) -> None:
    """Perform jobs until TERM (graceful stop), TSTP quiets, TTIN dumps thread stacks."""
    from sidequest.runtime.gc_tuning import tune_gc
    from sidequest.runtime.logs import flush_logging, setup_logging

    setup_logging(options["log_format"], options["log_level"])
    if options["reload"]:
        sys.exit(_reload(options))
    if options["processes"] > 1:
        from sidequest.runtime.supervisor import Supervisor

        prefix, given = _relaunch()
        command = [*prefix, *_child_argv(list(given))]
        sys.exit(Supervisor(command, options["processes"], options["timeout"]).run())
    # A mistake in the command or a store that cannot be used (a garbage file, a wrong URL, a server
    # that refuses us) is one line for the person who typed it, not a traceback.
    try:
        launcher = _build(options)
        _serve_endpoints(launcher, options)
    except ConfigurationError as exc:
        flush_logging()
        raise click.ClickException(str(exc)) from None
    except StoreError as exc:
        flush_logging()
        raise click.ClickException(f"{exc} (the store named by --url or ${URL_ENV}: check it)") from None
    tune_gc()  # after the worker modules were imported: an application's own choice is kept
    try:
        code = launcher.run()
    except (ConfigurationError, StoreError) as exc:
        flush_logging()
        raise click.ClickException(str(exc)) from None
    flush_tracing()
    flush_logging()
    sys.stdout.flush()
    sys.stderr.flush()
    # os._exit, not sys.exit: a job may leave a non-daemon thread or a pool task behind, which would keep
    # the interpreter waiting in threading._shutdown long after the process said it stopped, until a
    # platform's SIGKILL. Every outcome is recorded and every log line flushed by now.
    os._exit(code)


def _build(options: dict[str, Any]) -> Launcher:
    from sidequest.client import Client
    from sidequest.defaults import DEFAULT
    from sidequest.loader import load_object
    from sidequest.runtime import Launcher, ProcessConfig, QueueSpec
    from sidequest.stores import open_store

    registry = _load(list(options["requires"]))
    specs = tuple(QueueSpec.parse(text) for text in options["queues"]) or (QueueSpec("default"),)
    config = ProcessConfig(
        queues=specs,
        concurrency=options["concurrency"],
        prefetch=options["prefetch"],
        timeout=options["timeout"],
        tag=options["tag"],
        heartbeat_interval=options["heartbeat_interval"],
        lease_ttl=options["lease_ttl"],
        rescue_interval=options["rescue_interval"],
        max_orphaned=options["max_orphaned"],
        scheduler_interval=options["scheduler_interval"],
        time_limit=options["time_limit"],
        process_pool=options["process_pool"],
        max_child_memory_mb=options["max_child_memory"],
        max_memory_mb=options["max_memory"],
        max_jobs=options["max_jobs"],
        requires=tuple(options["requires"]),
        cwd=str(Path.cwd()),
    )
    _warn_unread_queues(registry, [spec.name for spec in specs])
    client_chain = [load_object(spec) for spec in options["client_middleware"]]
    server_chain = [load_object(spec) for spec in options["middleware"]]
    store = open_store(options["url"])
    try:
        _first_contact(store)
    except BaseException:
        store.close()
        raise
    client = Client(store, client_chain)
    DEFAULT.configure(client)
    return Launcher(store, registry, config, client=client, middleware=server_chain, store_url=options["url"])


def _serve_endpoints(launcher: Launcher, options: dict[str, Any]) -> None:
    """Start ``--metrics-port`` and ``--health-port`` (when given); they live as long as the process."""
    if options["metrics_port"] is None and options["health_port"] is None:
        return
    from sidequest.observability.serving import start_endpoints

    try:
        endpoints = start_endpoints(
            launcher,
            metrics_port=options["metrics_port"],
            metrics_host=options["metrics_host"],
            health_port=options["health_port"],
            health_host=options["health_host"],
        )
    except BaseException:
        launcher.store.close()
        raise
    for name, port in endpoints.ports.items():
        host = options[f"{name}_host"]
        log.info("serving %s on http://%s:%d/%s", name, host, port, "metrics" if name == "metrics" else "")


def _reload(options: dict[str, Any]) -> int:
    try:
        import watchfiles  # noqa: F401
    except ImportError:
        raise click.ClickException(
            "--reload needs the watchfiles package: pip install 'sidequest[reload]'"
        ) from None
    from sidequest.runtime.reloader import Reloader, child_command, watched_paths

    cwd = Path.cwd()
    if str(cwd) not in sys.path:
        sys.path.insert(0, str(cwd))
    modules = list(options["requires"]) or ["app.workers", "workers"]
    prefix, given = _relaunch()
    command = child_command(given, prefix)
    return Reloader(command, watched_paths(modules, cwd), options["timeout"]).run()


def _load(requires: list[str]) -> WorkerRegistry:
    """Import the worker modules and say what they define; no worker at all is a ConfigurationError,
    since every job would then fail with UnknownWorkerError."""
    from sidequest.loader import load_workers

    modules, registry = load_workers(requires, Path.cwd())
    if not len(registry):
        raise ConfigurationError(
            f"no Worker classes found in {', '.join(modules)}: every job would fail as unknown. Define "
            f"sidequest.Worker subclasses in those modules, or pass -r with the package or module that "
            f"defines them (a package is imported with every module below it)."
        )
    count = f"{len(registry)} worker{'' if len(registry) == 1 else 's'}"
    log.info("loaded %s from %s: %s", count, ", ".join(modules), ", ".join(registry.names()))
    return registry


def _warn_unread_queues(registry: WorkerRegistry, read: list[str]) -> None:
    from sidequest.conventions import unread_queues

    for item in unread_queues(registry, read):
        log.warning("%s", item.warning(read))


def _first_contact(store: Store) -> None:
    """Reach the store once before starting and say which database this is (the launcher logs the
    store's own warnings). An outage (a server not up yet during a deploy) is waited out, one line per
    attempt; a configuration error (:class:`PermanentStoreError`) ends the command with one line."""
    from sidequest.stores.sqlite import SQLiteStore

    if isinstance(store, SQLiteStore):
        # A relative sqlite:/// path resolves against the working directory: print the file really used.
        log.info("SQLite store: %s", Path(store.path).resolve())
    delay = 0.5
    restore = install(_give_up_waiting, ("TERM", "INT"))
    try:
        while True:
            try:
                store.queues()
                break
            except StoreDataError as exc:
                # The store answered: one bad key is that key's problem, said here and where it is used.
                log.error("%s", exc)
                break
            except PermanentStoreError:
                raise
            except StoreError as exc:
                log.error("cannot reach the store yet (%s); trying again in %.1f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, 10.0)
    finally:
        restore()


def _give_up_waiting(name: str) -> None:
    # Nothing is held yet: stopping while the store is still unreachable loses nothing.
    log.info("received %s while waiting for the store; exiting", name)
    flush_logging()
    os._exit(0)


def _relaunch() -> tuple[Sequence[str], Sequence[str]]:
    """The command that runs this ``sidequest`` group again, and the arguments given after it:
    ``python -m sidequest`` and sys.argv, unless a framework's group (``manage.py sidequest``) said."""
    from sidequest.contrib.cli import RELAUNCH

    ctx = click.get_current_context(silent=True)
    given = ctx.meta.get(RELAUNCH) if ctx is not None else None
    if given is not None:
        prefix, args = given
        return list(prefix), list(args)
    return [sys.executable, "-m", "sidequest"], sys.argv[1:]


def _child_argv(argv: list[str]) -> list[str]:
    """The parent's arguments without -p/--processes, for its children."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("-p", "--processes"):
            skip = True
            continue
        if arg.startswith("--processes=") or (arg.startswith("-p") and arg[2:].isdigit()):
            continue
        out.append(arg)
    return out
