"""``@sidequest.job``: a module-level function made a worker, its checks at decoration and at enqueue,
and keyword arguments refused at enqueue for functions and Worker classes alike."""

from __future__ import annotations

import gc
import inspect
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import sidequest
from sidequest.client import Client
from sidequest.errors import JobArgumentError, WorkerDefinitionError
from sidequest.job import Payload
from sidequest.loader import load_workers
from sidequest.periodic import entries_of, periodic
from sidequest.registry import WorkerRegistry
from sidequest.testing import FakeClient


@sidequest.job(queue="mailers", retry=5, tags=["email"])
def send_welcome(user_id: int, locale: str = "en") -> str:
    """Welcome a new user."""
    return f"welcome {user_id} ({locale})"


@sidequest.job
def cleanup() -> None:
    pass


@sidequest.job()
async def refresh_feed(feed_id: int) -> int:
    return feed_id * 2


class OrderWorker(sidequest.Worker):
    def perform(self, order_id: int, note: str = "") -> None:
        pass


def test_a_decorated_function_stays_the_function_with_its_signature_name_and_result() -> None:
    assert send_welcome(7, locale="fr") == "welcome 7 (fr)"
    assert send_welcome.__name__ == "send_welcome" and send_welcome.__doc__ == "Welcome a new user."
    assert inspect.signature(send_welcome) == inspect.signature(send_welcome.func)
    assert inspect.iscoroutinefunction(send_welcome.func) is False
    coroutine = refresh_feed(21)
    assert inspect.iscoroutine(coroutine)
    coroutine.close()


def test_the_function_is_a_worker_named_by_its_dotted_path_with_the_decorator_options(
    sidequest_fake: FakeClient,
) -> None:
    worker = send_welcome.worker
    assert issubclass(worker, sidequest.Worker) and not worker.__sidequest_abstract__
    assert send_welcome.sidequest_name() == f"{__name__}.send_welcome" == worker.sidequest_name()
    assert send_welcome.get_sidequest_options() == {"retry": 5, "queue": "mailers", "tags": ["email"]}
    assert cleanup.get_sidequest_options() == {"retry": True, "queue": "default"}
    assert refresh_feed.worker.is_async() and not send_welcome.worker.is_async()
    jid = send_welcome.perform_async(1)
    [job] = sidequest_fake.for_worker(send_welcome)
    assert job.jid == jid and job.class_name == f"{__name__}.send_welcome"
    assert (job.args, job.queue, job.payload["retry"], job.payload["tags"]) == ([1], "mailers", 5, ["email"])


def test_perform_in_at_set_and_bulk_enqueue_like_a_worker_class(sidequest_fake: FakeClient) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    send_welcome.perform_in(timedelta(minutes=5), 1)
    send_welcome.perform_at(later, 2, "de")
    send_welcome.set(queue="critical", retry=1).perform_async(3)
    send_welcome.perform_bulk([[4], [5, "it"]])
    jobs = sidequest_fake.for_worker(send_welcome)
    assert [job.args for job in jobs] == [[1], [2, "de"], [3], [4], [5, "it"]]
    assert jobs[1].at == pytest.approx(later.timestamp())
    assert (jobs[2].queue, jobs[2].payload["retry"]) == ("critical", 1)
    assert jobs[0].at is not None and jobs[3].at is None


def test_client_push_and_a_registry_accept_a_decorated_function(sidequest_fake: FakeClient) -> None:
    jid = Client.push({"class": send_welcome, "args": [9]})
    assert [job.jid for job in sidequest_fake.for_worker(send_welcome)] == [jid]
    registry = WorkerRegistry.of(send_welcome, OrderWorker)
    assert registry.get(f"{__name__}.send_welcome") is send_welcome.worker


def nested_function_holder() -> Callable[[], None]:
    def nested() -> None:
        pass

    return nested


class Holder:
    def method(self) -> None:
        pass


def _already_a_job() -> object:
    return send_welcome


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (lambda: lambda x: x, "cannot make a lambda a job"),
        (nested_function_holder, "cannot make the nested function"),
        (lambda: Holder.method, "cannot make the method"),
        (lambda: OrderWorker, "it already is one: drop the decorator"),
        (lambda: Holder, "subclass sidequest.Worker"),
        (lambda: print, "decorates a function defined with def at module level"),
        (_already_a_job, "is already a job; apply @sidequest.job once"),
    ],
    ids=["lambda", "nested", "method", "worker-class", "class", "builtin", "twice"],
)
def test_what_a_process_could_not_find_by_name_is_refused_at_decoration(
    target: Callable[[], Any], message: str
) -> None:
    with pytest.raises(WorkerDefinitionError, match=message):
        sidequest.job(target())


def test_a_function_decorated_inside_a_class_body_is_refused_as_a_method() -> None:
    with pytest.raises(WorkerDefinitionError, match=r"cannot make the method .*Mailer.send a job"):

        class Mailer:
            @sidequest.job
            def send(self) -> None:
                pass


def test_a_bad_option_is_refused_at_decoration_naming_the_function_and_the_option() -> None:
    def standalone() -> None:
        pass

    standalone.__qualname__ = "standalone"  # as if defined at module level
    with pytest.raises(
        WorkerDefinitionError, match=r"@sidequest.job on .*\.standalone: option retry='often'"
    ):
        sidequest.job(retry="often")(standalone)
    with pytest.raises(WorkerDefinitionError, match="unknown option 'queues'"):
        sidequest.job(queues=["a"])(standalone)


def test_a_function_of_a_script_is_refused_at_enqueue_as_a_worker_class_of_one_is(tmp_path: Path) -> None:
    def script_job() -> None:
        pass

    script_job.__module__, script_job.__qualname__ = "__main__", "script_job"
    made = sidequest.job(script_job)
    client = Client(f"sqlite:///{tmp_path / 'jobs.db'}")
    try:
        with pytest.raises(JobArgumentError, match="defined in __main__"):
            client.enqueue(made.worker, [])
    finally:
        client.close()
        del made  # a Worker class of __main__ would be seen by every later load_workers of this process
        gc.collect()


def test_arguments_that_do_not_fit_are_refused_at_enqueue_naming_the_function(
    sidequest_fake: FakeClient,
) -> None:
    with pytest.raises(
        JobArgumentError, match=r"0 argument\(s\) do not fit send_welcome\(user_id, locale='en'\): missing"
    ):
        send_welcome.perform_async()  # type: ignore[call-arg]
    with pytest.raises(JobArgumentError, match="not JSON"):
        send_welcome.perform_async(object())  # type: ignore[arg-type]
    assert len(sidequest_fake) == 0


@pytest.mark.parametrize(
    "enqueue",
    [
        lambda: send_welcome.perform_async(user_id=1),
        lambda: send_welcome.perform_in(5, 1, locale="fr"),
        lambda: send_welcome.set(queue="x").perform_at(0, user_id=1),
        lambda: OrderWorker.perform_async(order_id=1),
        lambda: OrderWorker.set(queue="x").perform_in(5, 1, note="n"),
    ],
    ids=["function", "function-in", "function-set-at", "worker", "worker-set-in"],
)
def test_keyword_arguments_are_refused_at_enqueue_with_the_positional_order_to_use(
    enqueue: Callable[[], object], sidequest_fake: FakeClient
) -> None:
    with pytest.raises(JobArgumentError, match=r"keyword arguments \(.*=\) cannot be enqueued") as raised:
        enqueue()
    assert "Pass them by position in the order of" in str(raised.value)
    assert ("send_welcome(user_id, locale)" in str(raised.value)) or (
        "perform(order_id, note)" in str(raised.value)
    )
    assert len(sidequest_fake) == 0


def test_sidequest_run_minus_r_finds_the_decorated_functions_of_a_module(tmp_path: Path) -> None:
    package = tmp_path / "fnjobs_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mail.py").write_text(
        "import sidequest\n\n@sidequest.job(queue='mailers')\ndef notify(user_id: int) -> None:\n    pass\n"
    )
    modules, registry = load_workers(["fnjobs_pkg"], cwd=tmp_path)
    assert modules == ["fnjobs_pkg", "fnjobs_pkg.mail"]
    assert registry.names() == ["fnjobs_pkg.mail.notify"]
    assert registry.get("fnjobs_pkg.mail.notify").get_sidequest_options()["queue"] == "mailers"


def test_periodic_takes_a_decorated_function_and_refuses_one_that_needs_arguments() -> None:
    entry = periodic("0 * * * *", cleanup, name="hourly-cleanup-fn")
    assert entry.worker is cleanup.worker and entries_of(cleanup.worker) == (entry,)
    with pytest.raises(WorkerDefinitionError, match="user_id"):
        periodic("0 * * * *", send_welcome, name="welcome-fn")


def test_the_payload_module_stays_importable_beside_the_decorator() -> None:
    # sidequest.job is the decorator; the module of the same name still serves its imports.
    import importlib

    assert sidequest.job is importlib.import_module("sidequest.job_function").job
    assert importlib.import_module("sidequest.job").Payload is Payload
