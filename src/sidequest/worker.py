"""The Worker base class: what the recipe's ``include Sidekiq::Worker`` is for sidequest.

::

    class OrderConfirmationWorker(sidequest.Worker):
        sidequest_options = {"queue": "default", "retry": 5}

        def perform(self, order_id: int | None = None) -> None:
            ...

    OrderConfirmationWorker.perform_async(42)          # enqueue, run as soon as possible
    OrderConfirmationWorker.perform_in(420, 42)        # in 420 seconds
    OrderConfirmationWorker.perform_at(when, 42)       # at a datetime or epoch second
    OrderConfirmationWorker().perform(42)              # run now, synchronously (tests)

The enqueue methods are typed from the class's own ``perform`` (a ParamSpec): mypy and pyright reject
``OrderConfirmationWorker.perform_async("42")`` or a missing argument as they would a direct call.
Job arguments are positional (they travel as a JSON list, as in Sidekiq): a keyword argument is
refused at the call with :class:`~sidequest.errors.JobArgumentError`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Generic, ParamSpec, Protocol, cast

from sidequest.errors import JobArgumentError, WorkerDefinitionError
from sidequest.job import Payload
from sidequest.job_context import CancelCheck, RunContext
from sidequest.options import DEFAULT_OPTIONS, validate_options
from sidequest.retry import RetryHookResult

if TYPE_CHECKING:
    from sidequest.batch import Batch
    from sidequest.client import Client

When = float | int | datetime
Interval = float | int | timedelta

P = ParamSpec("P")


class Performs(Protocol[P]):
    """What the enqueue methods see of a worker: a ``perform`` taking ``P``. Annotating ``cls`` with
    ``type[Performs[P]]`` makes a type checker read ``P`` off the class's own ``perform``."""

    def perform(self, *args: P.args, **kwargs: P.kwargs) -> Any:
        """The job's code (its return value is ignored; an awaitable is awaited)."""


MISNAMED = (
    ("sidekiq_options", "sidequest_options"),
    ("sidekiq_option", "sidequest_options"),
    ("sidequest_option", "sidequest_options"),
    ("sidekiq_retry_in", "retry_in"),
    ("sidekiq_retries_exhausted", "retries_exhausted"),
)
"""Sidekiq's names (and near misses) that nothing would read on a Worker, and sidequest's names for
them: a class that defines one is refused at definition."""


def worker_name(cls: type) -> str:
    """The class name written in payloads: the import path, ``package.module.ClassName``."""
    return f"{cls.__module__}.{cls.__qualname__}"


class Worker:
    """Base class of every worker. Subclasses must define a public ``perform`` method.

    ``perform`` may be a plain method (run on a thread) or ``async def`` (run on the process's event
    loop). Set per-class options with ``sidequest_options``; they are merged with the parents' options
    and checked when the class is defined.
    """

    sidequest_options: ClassVar[dict[str, Any]] = {}
    """Per-class options: queue, retry, dead, retry_queue, backtrace, tags, time_limit, isolation,
    unique_for, unique_until, expires_in, max_iteration_runtime (iterable jobs)."""

    jid: str | None = None
    """The id of the job being performed (None when ``perform`` is called directly)."""

    _sidequest_run: RunContext | None = None
    """Set by the executor before ``perform``: the process's side of the run (see job_context.py)."""
    _sidequest_payload: Payload | None = None
    """Set by the executor before ``perform``: the job's payload."""
    _sidequest_cancel: CancelCheck | None = None

    __sidequest_resolved__: ClassVar[dict[str, Any]] = dict(DEFAULT_OPTIONS)
    __sidequest_abstract__: ClassVar[bool] = True
    __sidequest_signature__: ClassVar[inspect.Signature | None] = None
    __sidequest_arity__: ClassVar[tuple[int, float]] = (0, 0)

    if TYPE_CHECKING:
        # For type checkers only (a class without perform must stay refused at definition): a
        # ``type[Worker]`` of unknown class still enqueues, with arguments checked at run time.
        def perform(self, *args: Any, **kwargs: Any) -> Any:
            """The job's code, defined by every concrete subclass."""

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Concrete only once every check passed: a class whose definition raised stays in
        # Worker.__subclasses__() while referenced, and must never be registered.
        cls.__sidequest_abstract__ = True
        for wrong, right in MISNAMED:
            if wrong in cls.__dict__:
                # Sidekiq's name, or a near miss, would otherwise be an ordinary class attribute that
                # nothing reads: the worker runs with the default queue and retries, without a word.
                raise WorkerDefinitionError(
                    f"{cls.__qualname__} sets {wrong}: did you mean {right}? sidequest does not read "
                    f"{wrong}; rename it to {right}."
                )
        merged: dict[str, Any] = dict(DEFAULT_OPTIONS)
        for base in reversed(cls.__mro__):
            own = base.__dict__.get("sidequest_options")
            if own:
                if not isinstance(own, dict):
                    raise WorkerDefinitionError(
                        f"{cls.__qualname__}.sidequest_options must be a dict, e.g. {{'queue': 'critical'}}."
                    )
                merged.update(own)
        cls.__sidequest_resolved__ = validate_options(merged, f"{cls.__qualname__}.sidequest_options")
        if abstract:
            return
        perform = getattr(cls, "perform", None)
        if perform is None or not callable(perform):
            hint = ""
            if callable(getattr(cls, "process", None)):
                hint = " It defines process(): rename it to perform."
            raise WorkerDefinitionError(
                f"{cls.__qualname__} has no perform method. A Worker must define a public "
                f"perform(self, ...) that sidequest calls with the job's arguments.{hint} "
                f"(For a base class meant to be subclassed, write "
                f"class {cls.__name__}(Worker, abstract=True).)"
            )
        cls.__sidequest_signature__ = inspect.signature(perform)
        cls.__sidequest_arity__ = _arity(cls.__sidequest_signature__)
        cls.__sidequest_abstract__ = False

    @classmethod
    def check_arguments(cls, args: Sequence[Any], where: str) -> None:
        """Raise :class:`JobArgumentError` if ``args`` cannot be passed to ``perform``."""
        signature = cls.__sidequest_signature__
        if signature is None:
            raise JobArgumentError(f"{where}: {cls.__qualname__} is abstract and has no perform to call")
        least, most = cls.__sidequest_arity__
        if least <= len(args) <= most:
            return  # the common case, without Signature.bind's cost (it dominated bulk enqueues)
        try:
            signature.bind(None, *args)
        except TypeError as exc:
            raise JobArgumentError(
                f"{where}: {len(args)} argument(s) do not fit perform{signature}: {exc}."
            ) from None

    # -- options and identity ----------------------------------------------------------------------

    @classmethod
    def get_sidequest_options(cls) -> dict[str, Any]:
        """This class's options merged over its parents' and the defaults (a copy)."""
        return dict(cls.__sidequest_resolved__)

    @classmethod
    def sidequest_name(cls) -> str:
        """The name written in the payload's ``class`` field: the import path of the class."""
        return worker_name(cls)

    @classmethod
    def is_async(cls) -> bool:
        """True when ``perform`` is ``async def`` (run on the process's event loop), also behind
        decorators that keep ``__wrapped__`` (``functools.wraps``) or mark the wrapper as a coroutine
        function (``inspect.markcoroutinefunction``)."""
        perform = getattr(cls, "perform", None)
        if perform is None:
            return False
        if inspect.iscoroutinefunction(perform):
            return True
        try:
            inner = inspect.unwrap(perform)
        except ValueError:  # a __wrapped__ cycle: treat the method as it presents itself
            return False
        return inspect.iscoroutinefunction(inner)

    def cancelled(self) -> bool:
        """True once someone cancelled this job (``sidequest.cancel(jid)``, ``sidequest jobs cancel``,
        the dashboard): a long ``perform`` should check it now and then and return early. The store
        is asked at most every 0.25 s; False outside a sidequest process (a direct call, the testing
        modes)."""
        run = self._sidequest_run
        if run is None or run.store is None or not self.jid:
            return False
        check = self._sidequest_cancel
        if check is None:
            check = self._sidequest_cancel = CancelCheck()
        return check.cancelled(run.store, self.jid)

    @property
    def logger(self) -> logging.LoggerAdapter[logging.Logger]:
        """A logger named after this worker's class (``app.workers.x.HardWorker``) whose records carry
        the job's class and jid, so ``self.logger.info(...)`` inside ``perform`` lands in the process's
        log with ``class=... jid=...`` like sidequest's own lines."""
        name = worker_name(type(self))
        return logging.LoggerAdapter(logging.getLogger(name), {"job_class": name, "jid": self.jid})

    @property
    def batch(self) -> Batch | None:
        """The batch of the job being performed (its payload's ``bid``), or None: ``with
        self.batch.jobs(): ...`` adds jobs to it (see :mod:`sidequest.batch`)."""
        from sidequest.batch import Batch
        from sidequest.defaults import DEFAULT

        bid = DEFAULT.batches.running_bid()
        return None if bid is None else Batch.reopen(bid)

    # -- enqueueing (the recipe's class methods) -----------------------------------------------------

    @classmethod
    def set(cls: type[Performs[P]], **options: Any) -> JobSetter[P]:
        """Override options for one call: ``MyWorker.set(queue="critical").perform_async(1)``."""
        worker = cast("type[Worker]", cls)
        return JobSetter(worker, validate_options(options, f"{worker.__qualname__}.set()"))

    @classmethod
    def perform_async(cls: type[Performs[P]], *args: P.args, **kwargs: P.kwargs) -> str | None:
        """Enqueue a job to run as soon as possible. Returns its jid (None if a middleware dropped it)."""
        setter: JobSetter[P] = JobSetter(cast("type[Worker]", cls), {})
        return setter.perform_async(*args, **kwargs)

    @classmethod
    def perform_in(
        cls: type[Performs[P]], interval: Interval, *args: P.args, **kwargs: P.kwargs
    ) -> str | None:
        """Enqueue a job to run after ``interval`` (seconds or a timedelta)."""
        setter: JobSetter[P] = JobSetter(cast("type[Worker]", cls), {})
        return setter.perform_in(interval, *args, **kwargs)

    @classmethod
    def perform_at(cls: type[Performs[P]], when: When, *args: P.args, **kwargs: P.kwargs) -> str | None:
        """Enqueue a job to run at ``when``: a datetime, or epoch seconds (as in Sidekiq, a number below
        1e9 is taken as seconds from now)."""
        setter: JobSetter[P] = JobSetter(cast("type[Worker]", cls), {})
        return setter.perform_at(when, *args, **kwargs)

    @classmethod
    def perform_bulk(cls, args_list: Sequence[Sequence[Any]], batch_size: int = 1000) -> list[str | None]:
        """Enqueue one job per argument list, ``batch_size`` jobs per round trip. Returns the jids.

        Each list is checked against ``perform`` at run time only: no type checker can relate the
        elements of a list of argument lists to a signature."""
        setter: JobSetter[...] = JobSetter(cls, {})
        return setter.perform_bulk(args_list, batch_size=batch_size)

    # -- hooks a worker may override ---------------------------------------------------------------

    def retry_in(self, count: int, exc: BaseException) -> RetryHookResult:
        """Seconds to wait before retry number ``count`` (0-based), ``"kill"`` to send the job to the
        dead set now, ``"discard"`` to drop it, or None for the default backoff (Sidekiq's
        ``sidekiq_retry_in``)."""
        return None

    def retries_exhausted(self, job: Payload, exc: BaseException) -> None:
        """Called once when a job has used up its retries, before it goes to the dead set (Sidekiq's
        ``sidekiq_retries_exhausted``)."""


def _arity(signature: inspect.Signature) -> tuple[int, float]:
    """How many positional arguments (after self) ``perform`` accepts: (least, most).

    (1, 0) - an impossible range - when a keyword-only parameter is required, so every call goes
    through ``Signature.bind`` and gets its error message.
    """
    kinds = inspect.Parameter
    params = list(signature.parameters.values())[1:]
    if any(p.kind is kinds.KEYWORD_ONLY and p.default is kinds.empty for p in params):
        return (1, 0)
    positional = [p for p in params if p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)]
    least = sum(1 for p in positional if p.default is kinds.empty)
    most = float("inf") if any(p.kind is kinds.VAR_POSITIONAL for p in params) else len(positional)
    return (least, most)


class JobSetter(Generic[P]):
    """Enqueue methods with per-call options; made by :meth:`Worker.set`. Generic in the parameters of
    the worker's ``perform``, so its enqueue methods are typed like the worker's own."""

    def __init__(self, worker: type[Worker], options: dict[str, Any], client: Client | None = None):
        self._worker = worker
        self._options = options
        self._client = client

    def set(self, **options: Any) -> JobSetter[P]:
        """Add more per-call options."""
        more = validate_options(options, f"{self._worker.__qualname__}.set()")
        return JobSetter(self._worker, {**self._options, **more}, self._client)

    def _resolve_client(self) -> Client:
        if self._client is not None:
            return self._client
        from sidequest.defaults import default_client

        return default_client()

    def perform_async(self, *args: P.args, **kwargs: P.kwargs) -> str | None:
        """Enqueue a job to run as soon as possible."""
        if kwargs:
            raise keyword_arguments_error(self._worker, "perform_async", kwargs)
        return self._resolve_client().enqueue(self._worker, args, options=self._options)

    def perform_in(self, interval: Interval, *args: P.args, **kwargs: P.kwargs) -> str | None:
        """Enqueue a job to run after ``interval`` seconds (or a timedelta)."""
        if kwargs:
            raise keyword_arguments_error(self._worker, "perform_in", kwargs)
        from sidequest.client import resolve_at

        at = resolve_at(interval, relative=True)
        return self._resolve_client().enqueue(self._worker, args, options=self._options, at=at)

    def perform_at(self, when: When, *args: P.args, **kwargs: P.kwargs) -> str | None:
        """Enqueue a job to run at ``when`` (datetime or epoch seconds)."""
        if kwargs:
            raise keyword_arguments_error(self._worker, "perform_at", kwargs)
        from sidequest.client import resolve_at

        at = resolve_at(when, relative=True)
        return self._resolve_client().enqueue(self._worker, args, options=self._options, at=at)

    def perform_bulk(self, args_list: Sequence[Sequence[Any]], batch_size: int = 1000) -> list[str | None]:
        """Enqueue one job per argument list, ``batch_size`` jobs per round trip."""
        return self._resolve_client().enqueue_bulk(
            self._worker, args_list, options=self._options, batch_size=batch_size
        )


def keyword_arguments_error(worker: type[Worker], method: str, kwargs: Mapping[str, Any]) -> JobArgumentError:
    """The error for an enqueue given keyword arguments: a job's arguments are a JSON list (Sidekiq's
    ``args``), so they must be passed by position, in ``perform``'s order."""
    names = ", ".join(f"{name}=" for name in kwargs)
    signature = worker.__sidequest_signature__
    order = ""
    if signature is not None:
        params = ", ".join(list(signature.parameters)[1:])
        function = getattr(worker, "__sidequest_function__", None)  # a @sidequest.job function's
        order = f" in the order of {function.__name__ if function else 'perform'}({params})"
    return JobArgumentError(
        f"{worker.__qualname__}.{method}: keyword arguments ({names}) cannot be enqueued; a job's "
        f"arguments travel as a JSON list, as in Sidekiq. Pass them by position{order}."
    )
