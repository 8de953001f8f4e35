"""``sidequest check``: list the workers a process would load and flag what breaks the recipe's
conventions, with exit codes CI can use (0 fine, 1 flagged, 2 a module does not import)."""

from __future__ import annotations

import gc
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli.states import Sidequest
from sidequest.conventions import check_worker
from sidequest.worker import Worker

ORDER_WORKERS = """
    import sidequest

    class OrderConfirmationWorker(sidequest.Worker):
        sidequest_options = {"queue": "critical", "retry": 5}

        def perform(self, order_id=None):
            pass

    class ReportWorker(sidequest.Worker):
        async def perform(self):
            pass
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty application directory as the working directory; the modules a test imports from it
    are forgotten afterwards, so the next test can use the same package names."""
    modules, path = set(sys.modules), list(sys.path)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for name in set(sys.modules) - modules:
        del sys.modules[name]
    sys.path[:] = path
    gc.collect()  # drop the test's Worker classes, which Worker.__subclasses__() would still list


def write(project: Path, module: str, source: str) -> None:
    """Write ``source`` to ``module`` (a path such as app/workers/orders.py), making packages on the way."""
    path = project / module
    path.parent.mkdir(parents=True, exist_ok=True)
    for parent in path.relative_to(project).parents:
        if parent != Path(".") and path.suffix == ".py":
            (project / parent / "__init__.py").touch()
    path.write_text(textwrap.dedent(source))


def test_workers_that_follow_the_conventions_pass(sidequest: Sidequest, project: Path) -> None:
    write(project, "app/workers/orders.py", ORDER_WORKERS)

    result = sidequest("check")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["WORKER", "QUEUE", "RETRY", "PERFORM", "TIME", "LIMIT"]
    assert lines[1].split() == ["app.workers.orders.OrderConfirmationWorker", "critical", "5", "sync", "-"]
    assert lines[2].split() == ["app.workers.orders.ReportWorker", "default", "yes", "async", "-"]
    assert lines[-1] == "2 workers, no problems"


def test_check_flags_a_worker_whose_name_does_not_end_in_worker(sidequest: Sidequest, project: Path) -> None:
    write(
        project,
        "workers/cleanup.py",
        ORDER_WORKERS + "\n    class Cleanup(sidequest.Worker):\n"
        "        def perform(self):\n            pass\n",
    )

    result = sidequest("check")

    assert result.exit_code == 1
    assert (
        "workers.cleanup.Cleanup: class name 'Cleanup' does not end in 'Worker' "
        "(the recipe's naming convention): rename it, e.g. CleanupWorker"
    ) in result.output
    assert result.output.rstrip().endswith("3 workers, 1 problem")


def test_a_function_made_a_job_keeps_its_own_name_and_passes(sidequest: Sidequest, project: Path) -> None:
    write(
        project,
        "app/workers/receipts.py",
        """
        import sidequest

        @sidequest.job(queue="mailers")
        def send_receipt(order_id: int) -> None:
            pass
        """,
    )

    result = sidequest("check")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1].split()[:2] == ["app.workers.receipts.send_receipt", "mailers"]
    assert result.output.rstrip().endswith("1 worker, no problems")


def test_check_flags_a_worker_outside_a_workers_package(sidequest: Sidequest, project: Path) -> None:
    write(project, "app/jobs.py", ORDER_WORKERS)

    result = sidequest("check", "-r", "app.jobs")

    assert result.exit_code == 1
    assert "app.jobs.ReportWorker: module 'app.jobs' is not inside a 'workers' package" in result.output
    assert "e.g. to app/workers/jobs.py" in result.output
    assert result.output.rstrip().endswith("2 workers, 2 problems")


def test_check_loads_a_file_given_by_path(sidequest: Sidequest, project: Path) -> None:
    write(project, "scripts/tasks.py", ORDER_WORKERS)

    result = sidequest("check", "-r", "scripts/tasks.py")

    assert result.exit_code == 1
    assert "tasks.OrderConfirmationWorker: module 'tasks' is not inside a 'workers' package" in result.output


def test_a_workers_file_loaded_by_path_is_told_to_load_by_module_name(
    sidequest: Sidequest, project: Path
) -> None:
    write(project, "app/workers/orders.py", ORDER_WORKERS)

    result = sidequest("check", "-r", "app/workers/orders.py")

    assert result.exit_code == 1
    assert "module 'orders' was imported from a file path" in result.output
    assert "-r app.workers.orders" in result.output


def test_check_follows_the_modules_a_required_module_imports(sidequest: Sidequest, project: Path) -> None:
    write(project, "app/workers/orders.py", ORDER_WORKERS)
    write(project, "app/boot.py", "import app.workers.orders\n")

    result = sidequest("check", "-r", "app.boot")

    assert result.exit_code == 0, result.output
    assert "app.workers.orders.ReportWorker" in result.output


def test_a_module_that_fails_to_import_is_a_clear_error(sidequest: Sidequest, project: Path) -> None:
    write(project, "app/workers/broken.py", "raise RuntimeError('no database configured')\n")

    result = sidequest("check")

    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: could not import worker module 'app.workers.broken'")
    assert "RuntimeError: no database configured" in result.stderr


def test_a_missing_module_is_a_clear_error(sidequest: Sidequest, project: Path) -> None:
    result = sidequest("check", "-r", "app.nowhere")

    assert result.exit_code == 2
    assert "could not import worker module 'app.nowhere'" in result.stderr


def test_a_directory_without_workers_says_how_to_point_at_them(sidequest: Sidequest, project: Path) -> None:
    result = sidequest("check")

    assert result.exit_code == 2
    assert "pass -r MODULE" in result.stderr


def test_modules_without_any_worker_are_flagged(sidequest: Sidequest, project: Path) -> None:
    write(project, "workers/__init__.py", "X = 1\n")

    result = sidequest("check")

    assert result.exit_code == 1
    assert "no Worker classes found in workers" in result.output


def test_check_as_json_for_ci(sidequest: Sidequest, project: Path) -> None:
    write(project, "app/workers/orders.py", ORDER_WORKERS)

    result = sidequest("check", "--json")

    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert data["modules"] == ["app.workers", "app.workers.orders"]
    report = data["workers"][0]
    assert report == {
        "name": "app.workers.orders.OrderConfirmationWorker",
        "queue": "critical",
        "retry": 5,
        "is_async": False,
        "problems": [],
        "isolation": "thread",
        "time_limit": None,
    }


@pytest.fixture
def script_worker() -> Iterator[type[Worker]]:
    """A worker defined in a script run as ``__main__``, garbage-collected after the test."""
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec("import sidequest\nclass ScriptWorker(sidequest.Worker):\n    def perform(self): pass\n", namespace)
    worker = namespace["ScriptWorker"]
    assert isinstance(worker, type) and issubclass(worker, Worker)
    yield worker
    namespace.clear()
    del worker
    gc.collect()


def test_a_worker_defined_in_main_is_flagged(script_worker: type[Worker]) -> None:
    [problem] = check_worker(script_worker).problems
    assert problem.startswith("defined in __main__ (a script)")


def test_a_worker_defined_inside_a_function_is_flagged() -> None:
    def define() -> type[Worker]:
        class LocalWorker(Worker):
            def perform(self) -> None:
                pass

        return LocalWorker

    [problem] = check_worker(define()).problems[-1:]
    assert problem.startswith("defined inside a function")
    gc.collect()


MAILER_WORKERS = """
    import sidequest

    class WelcomeMailWorker(sidequest.Worker):
        sidequest_options = {"queue": "mailers"}

        def perform(self, user_id=None):
            pass

    class OrderConfirmationWorker(sidequest.Worker):
        def perform(self, order_id=None):
            pass

    sidequest.periodic("0 3 * * *", OrderConfirmationWorker, name="nightly", queue="nightly")
"""


def test_queues_the_workers_use_that_run_would_not_read_are_warned_about(
    sidequest: Sidequest, project: Path
) -> None:
    write(project, "app/workers/mail.py", MAILER_WORKERS)

    result = sidequest("check")

    assert result.exit_code == 0, result.output  # a warning: another process may read the queue
    out = result.stdout
    assert "warning: queue 'mailers' is used by app.workers.mail.WelcomeMailWorker" in out
    assert "Add -q mailers (e.g. sidequest run -q default -q mailers)" in out
    assert "warning: queue 'nightly' is used by periodic entry 'nightly'" in out


def test_check_with_the_queues_run_reads_warns_about_none(sidequest: Sidequest, project: Path) -> None:
    write(project, "app/workers/mail.py", MAILER_WORKERS)

    result = sidequest("check", "-q", "mailers,2", "-q", "default", "-q", "nightly", "--json")

    assert json.loads(result.stdout)["unread_queues"] == []


def test_unread_queues_are_listed_in_json(sidequest: Sidequest, project: Path) -> None:
    write(project, "app/workers/mail.py", MAILER_WORKERS)

    data = json.loads(sidequest("check", "--json").stdout)

    assert data["unread_queues"] == [
        {"queue": "mailers", "used_by": ["app.workers.mail.WelcomeMailWorker"]},
        {"queue": "nightly", "used_by": ["periodic entry 'nightly'"]},
    ]


def test_an_async_perform_behind_a_decorator_is_shown_as_async(sidequest: Sidequest, project: Path) -> None:
    write(
        project,
        "app/workers/feeds.py",
        """
        import functools

        import sidequest


        def traced(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                return func(*args, **kwargs)

            return wrapper


        class FetchFeedWorker(sidequest.Worker):
            @traced
            async def perform(self, feed_id):
                pass
        """,
    )

    [worker] = json.loads(sidequest("check", "--json").stdout)["workers"]

    assert (worker["name"], worker["is_async"]) == ("app.workers.feeds.FetchFeedWorker", True)


def test_check_shows_where_each_worker_runs_and_its_time_limit(sidequest: Sidequest, project: Path) -> None:
    write(
        project,
        "app/workers/crunch_worker.py",
        """
        import sidequest


        class CrunchWorker(sidequest.Worker):
            sidequest_options = {"isolation": "process", "time_limit": 30}

            def perform(self, n: int) -> None:
                pass
        """,
    )
    result = sidequest("check")
    row = next(line for line in result.output.splitlines() if "CrunchWorker" in line)
    assert "sync, process pool" in row and "30 s" in row
