"""Plain functions as jobs: ``@sidequest.job``, for those who come from Celery, RQ or Dramatiq.

::

    @sidequest.job(queue="mailers", retry=5)
    def send_welcome(user_id: int) -> None:
        ...

    send_welcome.perform_async(42)                      # enqueue, typed from send_welcome's signature
    send_welcome.set(queue="critical").perform_in(60, 42)
    send_welcome(42)                                    # still a plain call, run now

The decorator builds a :class:`~sidequest.Worker` subclass named after the function (the payload's
``class`` is ``module.send_welcome``), whose ``perform`` calls the function. Everything a Worker has
follows: option validation, retries, the dead set, the testing modes, ``sidequest run -r module``
(which finds the class like any other Worker of the module). Classes stay the primary API: a
function has no ``retry_in``/``retries_exhausted`` hooks and no ``self.jid``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, ParamSpec, TypeVar, overload

from sidequest.errors import JobArgumentError, WorkerDefinitionError
from sidequest.options import validate_options
from sidequest.worker import Interval, JobSetter, When, Worker

P = ParamSpec("P")
R = TypeVar("R")

FUNCTION_ATTRIBUTE = "__sidequest_function__"
"""The attribute of a generated Worker class holding the function it performs."""


class FunctionWorker(Worker, abstract=True):
    """Base of the Worker classes :func:`job` makes: ``perform`` calls ``__sidequest_function__``."""

    __sidequest_function__: ClassVar[Callable[..., Any]]

    @classmethod
    def check_arguments(cls, args: Sequence[Any], where: str) -> None:
        """Raise :class:`JobArgumentError` if ``args`` cannot be passed to the function, naming it."""
        least, most = cls.__sidequest_arity__
        if least <= len(args) <= most:
            return
        func = cls.__sidequest_function__
        signature = inspect.signature(func)
        try:
            signature.bind(*args)
        except TypeError as exc:
            shown = signature.replace(
                parameters=[p.replace(annotation=p.empty) for p in signature.parameters.values()],
                return_annotation=signature.empty,
            )
            raise JobArgumentError(
                f"{where}: {len(args)} argument(s) do not fit {func.__name__}{shown}: {exc}."
            ) from None


class JobFunction(Generic[P, R]):
    """A module-level function made a job by :func:`job`: callable as before, plus the enqueue
    methods of a Worker class, typed from the function's own parameters.

    ``worker`` is the generated :class:`~sidequest.Worker` subclass; pass it (or this object) wherever
    a Worker class is expected.
    """

    def __init__(self, func: Callable[P, R], worker: type[Worker]) -> None:
        self.func = func
        self.worker = worker
        functools.update_wrapper(self, func)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the function directly, now, in this thread (no job is enqueued)."""
        return self.func(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<sidequest job {self.sidequest_name()}>"

    def sidequest_name(self) -> str:
        """The name written in the payload's ``class`` field: ``module.function``."""
        return self.worker.sidequest_name()

    def get_sidequest_options(self) -> dict[str, Any]:
        """The job's options merged over the defaults (a copy)."""
        return self.worker.get_sidequest_options()

    def set(self, **options: Any) -> JobSetter[P]:
        """Override options for one call: ``send_welcome.set(queue="critical").perform_async(1)``."""
        where = f"{self.func.__qualname__}.set()"
        return JobSetter(self.worker, validate_options(options, where))

    def perform_async(self, *args: P.args, **kwargs: P.kwargs) -> str | None:
        """Enqueue a job to run as soon as possible. Returns its jid (None if a middleware dropped it)."""
        setter: JobSetter[P] = JobSetter(self.worker, {})
        return setter.perform_async(*args, **kwargs)

    def perform_in(self, interval: Interval, *args: P.args, **kwargs: P.kwargs) -> str | None:
        """Enqueue a job to run after ``interval`` (seconds or a timedelta)."""
        setter: JobSetter[P] = JobSetter(self.worker, {})
        return setter.perform_in(interval, *args, **kwargs)

    def perform_at(self, when: When, *args: P.args, **kwargs: P.kwargs) -> str | None:
        """Enqueue a job to run at ``when``: a datetime, or epoch seconds."""
        setter: JobSetter[P] = JobSetter(self.worker, {})
        return setter.perform_at(when, *args, **kwargs)

    def perform_bulk(self, args_list: Sequence[Sequence[Any]], batch_size: int = 1000) -> list[str | None]:
        """Enqueue one job per argument list, ``batch_size`` jobs per round trip. Returns the jids."""
        return self.worker.perform_bulk(args_list, batch_size=batch_size)


WorkerLike = type[Worker] | JobFunction[..., Any]
"""What the APIs that take a worker accept: a Worker class, or a function made a job."""


def as_worker(worker: WorkerLike) -> type[Worker]:
    """The Worker class of ``worker``: itself, or the class a :func:`job` function performs through."""
    return worker.worker if isinstance(worker, JobFunction) else worker


@overload
def job(func: Callable[P, R], /) -> JobFunction[P, R]: ...


@overload
def job(**options: Any) -> Callable[[Callable[P, R]], JobFunction[P, R]]: ...


def job(func: Callable[P, R] | None = None, /, **options: Any) -> Any:
    """Make a module-level function a job: ``@sidequest.job`` or ``@sidequest.job(queue=..., retry=...)``.

    The options are a Worker's ``sidequest_options`` (queue, retry, dead, backtrace, tags, time_limit,
    isolation, unique_for, ...), checked now. ``async def`` functions run on the process's event loop.
    Raises :class:`~sidequest.errors.WorkerDefinitionError` for a bad option, or a function a
    ``sidequest run`` process could not import by name (a lambda, a nested function, a method).
    """
    if func is not None:
        if options:  # unreachable through the overloads; kept for untyped callers
            raise WorkerDefinitionError(
                "write @sidequest.job(queue=...), not @sidequest.job(func, queue=...)"
            )
        return _make(func, {})

    def decorate(target: Callable[P, R]) -> JobFunction[P, R]:
        return _make(target, options)

    return decorate


def _make(func: Callable[P, R], options: dict[str, Any]) -> JobFunction[P, R]:
    _refuse_unimportable(func)
    where = f"@sidequest.job on {func.__module__}.{func.__qualname__}"
    checked = validate_options(options, where)
    signature = inspect.signature(func)
    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    perform = _perform_for(func)
    perform.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[self_param, *signature.parameters.values()]
    )
    namespace: dict[str, Any] = {
        "__module__": func.__module__,
        "__qualname__": func.__qualname__,
        "__doc__": func.__doc__,
        "sidequest_options": checked,
        "perform": perform,
        FUNCTION_ATTRIBUTE: staticmethod(func),
    }
    worker = type(func.__name__, (FunctionWorker,), namespace)
    return JobFunction(func, worker)


def _perform_for(func: Callable[..., Any]) -> Callable[..., Any]:
    """A ``perform`` method calling ``func``: ``async def`` when ``func`` is, so the process runs it on
    its event loop."""
    if inspect.iscoroutinefunction(func):

        async def perform_coroutine(self: Worker, *args: Any) -> Any:
            return await func(*args)

        return perform_coroutine

    def perform(self: Worker, *args: Any) -> Any:
        return func(*args)

    return perform


def _refuse_unimportable(func: object) -> None:
    """Refuse what a ``sidequest run`` process could not find by ``module.name``."""
    if isinstance(func, JobFunction):
        raise WorkerDefinitionError(f"{func.sidequest_name()} is already a job; apply @sidequest.job once.")
    if isinstance(func, type):
        hint = " (it already is one: drop the decorator)" if issubclass(func, Worker) else ""
        raise WorkerDefinitionError(
            f"@sidequest.job decorates functions; for the class {func.__qualname__}, subclass "
            f"sidequest.Worker and set sidequest_options instead{hint}."
        )
    if not inspect.isfunction(func):
        raise WorkerDefinitionError(
            f"@sidequest.job decorates a function defined with def at module level, not {func!r}."
        )
    name = worker_name_of(func)
    if func.__name__ == "<lambda>":
        raise WorkerDefinitionError(
            f"@sidequest.job cannot make a lambda a job ({name}): a sidequest process finds a job's "
            f"code by its module and name. Define it with def at the top level of a module."
        )
    parent, _, _ = func.__qualname__.rpartition(".")
    if parent.endswith("<locals>"):
        raise WorkerDefinitionError(
            f"@sidequest.job cannot make the nested function {name} a job: a sidequest process finds "
            f"a job's code by its module and name, and a function defined inside another one has no "
            f"such name. Move it to the top level of its module."
        )
    if parent:
        raise WorkerDefinitionError(
            f"@sidequest.job cannot make the method {name} a job. Move it to the top level of its "
            f"module as a function, or make its class a sidequest.Worker with a perform method."
        )


def worker_name_of(func: Callable[..., Any]) -> str:
    """``module.qualname`` of a function: the name its job's payloads carry."""
    return f"{func.__module__}.{func.__qualname__}"
