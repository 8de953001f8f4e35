"""``sidequest run``: start a process (or ``-p N`` supervised processes) that performs jobs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sidequest.defaults import DEFAULT_URL, URL_ENV
from sidequest.errors import ConfigurationError

if TYPE_CHECKING:
    from sidequest.runtime import Launcher


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
    help="Jobs claimed ahead of the processors while jobs run under 5 ms. Default: the concurrency.",
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
@click.option("--log-level", default="INFO", show_default=True)
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
    from sidequest.runtime.logs import setup_logging

    setup_logging(options["log_format"], options["log_level"])
    if options["reload"]:
        sys.exit(_reload(options))
    if options["processes"] > 1:
        from sidequest.runtime.supervisor import Supervisor

        command = [sys.executable, "-m", "sidequest", *_child_argv(sys.argv[1:])]
        sys.exit(Supervisor(command, options["processes"], options["timeout"]).run())
    try:
        launcher = _build(options)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None
    sys.exit(launcher.run())


def _build(options: dict[str, Any]) -> Launcher:
    from sidequest.client import Client
    from sidequest.defaults import DEFAULT
    from sidequest.loader import load_object, load_worker_modules
    from sidequest.registry import WorkerRegistry
    from sidequest.runtime import Launcher, ProcessConfig, QueueSpec
    from sidequest.stores import open_store

    load_worker_modules(list(options["requires"]), Path.cwd())
    registry = WorkerRegistry.from_loaded()
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
    )
    store = open_store(options["url"])
    client = Client(store, [load_object(spec) for spec in options["client_middleware"]])
    DEFAULT.configure(client)
    server_chain = [load_object(spec) for spec in options["middleware"]]
    return Launcher(store, registry, config, client=client, middleware=server_chain)


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
    command = child_command(sys.argv[1:])
    return Reloader(command, watched_paths(modules, cwd), options["timeout"]).run()


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
