"""``sidequest check``: list the workers a process would load and flag what breaks the conventions.

Exit codes, for CI: 0 when every worker follows the recipe's conventions, 1 when something is
flagged (or no worker was found), 2 when a worker module cannot be imported. A queue the workers use
that ``sidequest run`` with the same ``-q`` flags would not read is printed as a warning (it may be read
by another process) and does not change the exit code.
"""

from __future__ import annotations

import click

from sidequest.cli.format import table, to_json
from sidequest.cli.options import EXIT_PROBLEM, ArgumentProblem, json_option, require_option
from sidequest.conventions import CheckResult, WorkerReport, load_and_check
from sidequest.errors import ConfigurationError


@click.command()
@require_option
@click.option(
    "-q",
    "--queue",
    "queues",
    multiple=True,
    metavar="NAME[,WEIGHT]",
    help="The queues 'sidequest run' would read (as its -q); default: default.",
)
@json_option
def check(requires: tuple[str, ...], queues: tuple[str, ...], as_json: bool) -> None:
    """Load the workers (as 'sidequest run' does) and check them against the naming conventions, and
    that the queues they use are read."""
    from sidequest.runtime.config import QueueSpec

    try:
        read = [QueueSpec.parse(text).name for text in queues] or ["default"]
        result = load_and_check(requires, queues=read)
    except ConfigurationError as exc:
        raise ArgumentProblem(str(exc)) from None
    if as_json:
        unread = [{"queue": item.queue, "used_by": item.users} for item in result.unread]
        data = {"ok": result.ok, "modules": result.modules, "workers": result.workers}
        click.echo(to_json({**data, "unread_queues": unread}))
    else:
        click.echo(render(result))
    if not result.ok:
        raise SystemExit(EXIT_PROBLEM)


def _runs_in(report: WorkerReport) -> str:
    """``sync``/``async`` in a thread of the process, or ``process`` for the pool of child processes."""
    kind = "async" if report.is_async else "sync"
    return f"{kind}, process pool" if report.isolation == "process" else kind


def render(result: CheckResult) -> str:
    """The workers as a table, then every problem on its own line, then a one-line verdict."""
    modules = ", ".join(result.modules)
    if not result.workers:
        return f"no Worker classes found in {modules}: define classes that subclass sidequest.Worker"
    rows = [
        [w.name, w.queue, w.retry, _runs_in(w), "-" if w.time_limit is None else f"{w.time_limit:g} s"]
        for w in result.workers
    ]
    lines = [table(["WORKER", "QUEUE", "RETRY", "PERFORM", "TIME LIMIT"], rows), ""]
    for report in result.workers:
        lines += [f"{report.name}: {problem}" for problem in report.problems]
    lines += [f"warning: {item.warning(result.read)}" for item in result.unread]
    count = len(result.workers)
    summary = f"{count} worker{'' if count == 1 else 's'}"
    if result.problems:
        lines.append(f"\n{summary}, {result.problems} problem{'' if result.problems == 1 else 's'}")
    else:
        lines.append(f"{summary}, no problems")
    return "\n".join(lines)
