"""The launcher: wires one sidequest process together, handles signals, shuts down in stages (the
stages themselves are in ``shutdown.py``).

Shutdown (TERM, or :meth:`Launcher.stop`):

1. quiet: stop fetching, stop promoting scheduled jobs;
2. wait until the deadline (``timeout``, Sidekiq's ``-t``) for running jobs to finish;
3. record every outcome already known, then push the jobs still held back to the FRONT of their queues,
   payload unchanged, so they run next somewhere else;
4. flush the stats with a last heartbeat and leave the process list; exit 0.

The whole stop ends within ``timeout`` + :data:`STOP_MARGIN` seconds whatever the store does: its
calls run in a thread the launcher stops waiting for at that deadline (a frozen Redis makes each call
wait its socket timeout).

It is worse to lose a job than to run it twice: a job cut off at the deadline is requeued even though
its thread may still finish it, and a job whose requeue fails stays under this process's lease, to be
rescued by another process when the lease expires.

While it runs, the launcher watches every thread it started: one that ended without being asked to
(a defect) is logged at CRITICAL and the process stops with exit code 1, so a supervisor or the
platform replaces it instead of it beating on as a zombie holding leases. A
:class:`~sidequest.errors.PermanentStoreError` (wrong password, not a database) stops it the same way.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from sidequest import __version__
from sidequest.client import Client
from sidequest.errors import PermanentStoreError, StoreError
from sidequest.job import Claimed, ProcessInfo
from sidequest.middleware import ServerMiddleware
from sidequest.registry import WorkerRegistry
from sidequest.runtime.acker import Acker
from sidequest.runtime.config import ProcessConfig
from sidequest.runtime.cron import CRON_INTERVAL, CronScheduler
from sidequest.runtime.executor import Executor
from sidequest.runtime.fetcher import Fetcher
from sidequest.runtime.heartbeat import Heartbeat
from sidequest.runtime.host import this_process
from sidequest.runtime.loop import ServiceLoop
from sidequest.runtime.monitor import MONITOR_INTERVAL, Monitor
from sidequest.runtime.processors import AsyncProcessor, ThreadProcessors
from sidequest.runtime.queues import QueueOrder
from sidequest.runtime.recycling import recycle_reason
from sidequest.runtime.rescuer import Rescuer
from sidequest.runtime.scheduler import Scheduler
from sidequest.runtime.shutdown import stop_in_stages
from sidequest.runtime.signals import dump_threads, install
from sidequest.runtime.tracker import Tracker
from sidequest.runtime.unique_locks import release_at_start
from sidequest.stores.base import Store

if TYPE_CHECKING:
    from sidequest.runtime.process_pool import ProcessPool

log = logging.getLogger("sidequest")

EXIT_OK = 0
EXIT_FAILED = 1
"""The exit code when held jobs could not be pushed back, a thread died, or the store refused the
configuration (:class:`~sidequest.errors.PermanentStoreError`)."""

STOP_MARGIN = 3.5
"""Seconds past the shutdown timeout for the stop's own store calls (requeue, last beat, unregister).
With a second for the interpreter to exit, a stop ends within ``-t`` + 5 s, inside a platform's
grace period, even when the store does not answer."""

WATCH_INTERVAL = 0.5
"""Seconds between two checks that every thread of the process is alive."""


def make_identity() -> str:
    """Sidekiq's process identity: ``hostname:pid:random hex``."""
    hostname = os.environ.get("DYNO") or socket.gethostname()
    return f"{hostname}:{os.getpid()}:{secrets.token_hex(6)}"


class Launcher:
    """One sidequest process's machinery. Several may live in one Python process (tests do that)."""

    def __init__(
        self,
        store: Store,
        registry: WorkerRegistry,
        config: ProcessConfig | None = None,
        *,
        client: Client | None = None,
        middleware: Sequence[ServerMiddleware] = (),
        identity: str | None = None,
        store_url: str | None = None,
    ) -> None:
        self.store = store
        self.config = config or ProcessConfig()
        self.registry = registry
        self.identity = identity or make_identity()
        self.client = client or Client(store)
        cfg = self.config
        self.tracker = Tracker(self.identity, cfg.concurrency, cfg.prefetch_size, cfg.prefetch is None)
        self.executor = Executor(
            registry,
            self.client,
            middleware,
            cfg.max_retries,
            time_limit=cfg.time_limit,
            at_start=release_at_start(store),
        )
        self.pool = self._process_pool(store_url or store.url)
        self.executor.pool = self.pool
        self._exit_code = EXIT_OK
        self._fatal: PermanentStoreError | None = None
        self._state_lock = threading.Lock()
        self.acker = Acker(store, self.tracker, self.identity, self._on_fatal)
        self.threads = ThreadProcessors(self.executor, self.tracker, self.acker.submit, cfg.concurrency)
        self.async_processor: AsyncProcessor | None = None
        if any(worker.is_async() for worker in registry):
            self.async_processor = AsyncProcessor(self.executor, self.tracker, self.acker.submit)
        self.fetcher = Fetcher(
            store,
            self.tracker,
            QueueOrder(cfg.queues),
            self.identity,
            self._dispatch,
            self._requeue,
            batch=min(cfg.claim_batch, self.tracker.max_capacity),
            timeout=cfg.fetch_timeout,
            on_fatal=self._on_fatal,
        )
        self._quiet = threading.Event()
        self.executor.run_context.stopping = self._quiet.is_set  # iterable jobs stop between iterations
        self._stop_requested = threading.Event()
        self._stopped = threading.Event()
        self._stopping = False
        self._started = False
        self._threads_started = False
        host = this_process()
        info = ProcessInfo(
            identity=self.identity,
            hostname=self.identity.split(":", 1)[0],
            pid=os.getpid(),
            started_at=time.time(),
            concurrency=cfg.concurrency,
            queues=cfg.queue_names,
            tag=cfg.tag,
            labels=list(cfg.labels),
            version=__version__,
            boot_id=host.boot_id,
            pid_namespace=host.pid_namespace,
            pid_started=host.pid_started,
            process_pool=self.pool.size if self.pool is not None else 0,
            weights={spec.name: spec.weight for spec in cfg.queues},
        )
        self.heartbeat = Heartbeat(store, self.tracker, info, cfg.lease_ttl, self._quiet.is_set, self.signal)
        self.scheduler = Scheduler(store)
        self.rescuer = Rescuer(
            store,
            cfg.max_orphaned,
            self.identity,
            heartbeat_interval=cfg.heartbeat_interval,
            renew=self.heartbeat.run_once,
            facts=host,
            settle_first=True,
        )
        self.monitor = Monitor(self.tracker, cfg.timeout, cfg.time_limit, cfg.stuck_grace, self._on_stuck)
        fatal = self._on_fatal
        self._loops = [
            ServiceLoop(
                self.heartbeat,
                cfg.heartbeat_interval,
                jitter=0.1,
                initial_delay=cfg.heartbeat_interval,
                on_fatal=fatal,
            ),
            ServiceLoop(self.scheduler, cfg.scheduler_interval, on_fatal=fatal),
            ServiceLoop(
                self.rescuer, cfg.rescue_interval, initial_delay=min(1.0, cfg.rescue_interval), on_fatal=fatal
            ),
            ServiceLoop(self.monitor, MONITOR_INTERVAL, jitter=0.0, on_fatal=fatal),
        ]
        # Only processes whose workers registered periodic entries run the cron loop.
        self.cron = CronScheduler(store, self.client, registry.periodic_entries())
        if self.cron.entries:
            self._loops.append(ServiceLoop(self.cron, CRON_INTERVAL, jitter=0.25, on_fatal=fatal))

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Beat once (so our lease exists before we hold any job), then start every thread."""
        if self._started:
            return
        self._started = True
        cfg = self.config
        queues = ", ".join(f"{q.name}{',' + str(q.weight) if q.weight else ''}" for q in cfg.queues)
        log.info(
            "sidequest %s starting: %s, identity %s, concurrency %d, queues [%s], %d workers",
            __version__,
            self.store.safe_url,
            self.identity,
            cfg.concurrency,
            queues,
            len(self.registry),
        )
        self._warn_about_store()
        if self.pool is not None:
            self.pool.start()  # before any thread: the children are forked from a clean server
        self._first_beat()
        if self._stop_requested.is_set():
            return
        self._threads_started = True
        self.acker.start()
        self.threads.start()
        if self.async_processor is not None:
            self.async_processor.start()
        for loop in self._loops:
            loop.start()
        self.fetcher.start()

    def _warn_about_store(self) -> None:
        try:
            warnings = self.store.startup_warnings()
        except PermanentStoreError:
            raise
        except StoreError as exc:
            log.warning("could not check the store's settings (%s)", exc)
            return
        for warning in warnings:
            log.warning("%s", warning)

    def _first_beat(self) -> None:
        delay = 0.1
        while not self._beat_once():
            if self._stop_requested.wait(delay):
                return
            delay = min(delay * 2, 5.0)

    def _beat_once(self) -> bool:
        try:
            return self.heartbeat.run_once(time.time())
        except PermanentStoreError:
            raise
        except Exception:
            log.exception("the first heartbeat failed unexpectedly; trying again")
            return False

    def quiet(self) -> None:
        """Stop taking new jobs; running jobs finish (TSTP)."""
        if self._quiet.is_set():
            return
        log.info("quiet: no longer accepting new work")
        self._quiet.set()
        self.fetcher.quiet.set()

    def signal(self, name: str) -> None:
        """Act on a signal name, from the OS or from the store (remote control)."""
        if name in ("TERM", "INT"):
            self._stop_requested.set()
        elif name == "TSTP":
            self.quiet()
        elif name == "TTIN":
            dump_threads()
        else:
            log.info("no handler for signal %s, ignoring", name)

    @property
    def stopping(self) -> bool:
        """True once a stop was asked for (TERM, a remote stop, a fatal error) or is under way."""
        return self._stop_requested.is_set() or self._stopping or self._stopped.is_set()

    def request_stop(self) -> None:
        """Ask :meth:`run` to shut down (thread-safe)."""
        self._stop_requested.set()

    def stop(self, timeout: float | None = None) -> int:
        """Shut down in stages within ``timeout`` (default: the configured ``timeout``) plus
        :data:`STOP_MARGIN`, whatever the store does. Returns the exit code (see :meth:`run`)."""
        with self._state_lock:
            if self._stopped.is_set() or self._stopping:
                return self._exit_code
            self._stopping = True
        grace = self.config.timeout if timeout is None else timeout
        start = time.monotonic()
        self.quiet()
        if self._threads_started:
            stages = threading.Thread(
                target=stop_in_stages,
                args=(self, start + grace, start + grace + STOP_MARGIN),
                name="sidequest-stop",
                daemon=True,
            )
            stages.start()
            stages.join(max(0.0, start + grace + STOP_MARGIN - time.monotonic()))
            held = len(self.tracker.held())
            if stages.is_alive() and held:
                log.error(
                    "shutdown ran out of time: the store did not answer within %.1f s; %d held jobs were "
                    "not pushed back: they stay leased to this process and another process rescues them "
                    "when the lease (%.0f s) runs out",
                    grace + STOP_MARGIN,
                    held,
                    self.config.lease_ttl,
                )
                self._fail()
            elif stages.is_alive():
                log.error(
                    "shutdown ran out of time: the store did not answer within %.1f s; no job was held, "
                    "this process leaves the process list when its heartbeat expires",
                    grace + STOP_MARGIN,
                )
        self._stopped.set()
        log.info("bye (exit code %d)", self._exit_code)
        return self._exit_code

    def run(self, install_signals: bool = True) -> int:
        """Start, serve until TERM/INT (or a remote stop), then shut down. Returns the exit code:

        * 0: a clean stop, every held job recorded or pushed back to its queue;
        * 1: held jobs could not be pushed back (the store did not answer; they stay leased and are
          rescued when the lease runs out), a thread of the process died (logged at CRITICAL), or the
          store refused the configuration (a :class:`~sidequest.errors.PermanentStoreError`, logged).
        """
        restore: Callable[[], None] | None = install(self.signal) if install_signals else None
        try:
            try:
                self.start()
            except PermanentStoreError as exc:
                self._on_fatal(exc)
            while not self._stop_requested.wait(WATCH_INTERVAL):
                if self._watch():
                    break
            self.stop()
        finally:
            if restore is not None:
                restore()
        return self._exit_code

    def dead_threads(self) -> list[str]:
        """Names of this process's threads that ended without being asked to stop (a defect)."""
        dead = [*self.threads.dead_threads(), *self.acker.dead_threads(), *self.fetcher.dead_threads()]
        if self.async_processor is not None:
            dead.extend(self.async_processor.dead_threads())
        for loop in self._loops:
            dead.extend(loop.dead_threads())
        return dead

    def _process_pool(self, store_url: str) -> ProcessPool | None:
        """A pool of child processes when a loaded worker asks for ``isolation="process"``."""
        if not any(worker.get_sidequest_options().get("isolation") == "process" for worker in self.registry):
            return None
        from pathlib import Path

        from sidequest.runtime.process_pool import ProcessPool

        cfg = self.config
        return ProcessPool(
            cfg.process_pool or os.cpu_count() or 1,
            cfg.requires,
            cwd=Path(cfg.cwd) if cfg.cwd else None,
            max_child_memory_mb=cfg.max_child_memory_mb,
            store_url=store_url,
        )

    def _on_stuck(self, job: Claimed) -> None:
        """A thread is stuck past its job's time limit: fail the job now, give the slot a new thread."""
        outcome = self.executor.timed_out(job)
        if self.tracker.abandon(job):
            self.threads.replace_stuck()
            self.acker.submit(outcome)

    def _watch(self) -> bool:
        """True when the process must stop: a thread died (logged at CRITICAL; exit non-zero), or it is
        due to be recycled (``--max-memory``, ``--max-jobs``: a clean stop, exit 0, to be replaced)."""
        recycle = recycle_reason(self.config, self.tracker)
        if recycle is not None and not self._stop_requested.is_set():
            log.warning(
                "recycling: %s; stopping gracefully (running jobs finish or go back to their queues) "
                "so that the supervisor (-p) or the platform starts a fresh process",
                recycle,
            )
            return True
        dead = self.dead_threads()
        if not dead or self._stop_requested.is_set():
            return False
        log.critical(
            "thread %s died (a sidequest defect; its error is above): stopping this process with exit "
            "code %d so that its supervisor or the platform replaces it",
            ", ".join(dead),
            EXIT_FAILED,
        )
        self._fail()
        return True

    def _on_fatal(self, exc: PermanentStoreError) -> None:
        """A configuration error from the store: log it once, stop, exit non-zero. Never retried."""
        with self._state_lock:
            first = self._fatal is None
            self._fatal = exc
        if first:
            log.error("stopping: the store refused this process: %s", exc)
        self._fail()
        self._stop_requested.set()

    def _fail(self) -> None:
        self._exit_code = EXIT_FAILED

    # -- burst mode for tests and scripts ----------------------------------------------------------------

    def run_until(self, done: Callable[[], bool], timeout: float = 60.0, poll: float = 0.02) -> bool:
        """Start, process until ``done()`` is true (or ``timeout``), then stop. True if ``done()`` held."""
        self.start()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if done():
                    return True
                time.sleep(poll)
            return bool(done())
        finally:
            self.stop()

    def drain(self, timeout: float = 60.0) -> bool:
        """Process until this process's queues are empty and every outcome is recorded, then stop."""
        names = set(self.config.queue_names)

        def empty() -> bool:
            # Idle first: while a job runs it may push another (to a queue read a moment ago as
            # empty). Then in this order: a job is always in a queue, in the store under our lease, or
            # in the tracker until its outcome is recorded, so no moment between claim and hold slips.
            # And no job was claimed meanwhile: one claimed after the queues were read and finished
            # before the last look may have pushed a job into a queue already read as empty.
            holds = self.tracker.total_held
            if not self.tracker.idle():
                return False
            if sum(q.size for q in self.store.queues() if q.name in names):
                return False
            if self.store.owned(self.identity) or not self.tracker.idle():
                return False
            return self.tracker.total_held == holds

        return self.run_until(empty, timeout)

    # -- internals -------------------------------------------------------------------------------------

    def _dispatch(self, job: Claimed) -> None:
        if self.async_processor is not None and self.executor.is_async(job):
            self.async_processor.submit(job)
        else:
            self.threads.submit(job)

    def _requeue(self, jobs: list[Claimed]) -> None:
        for job in jobs:
            self.tracker.release_slot(job)
        try:
            moved = self.store.requeue(self.identity, jobs)
        except PermanentStoreError as exc:
            self._on_fatal(exc)
            return
        except StoreError as exc:
            log.error(
                "could not push %d jobs back (%s); they stay leased to this process and will be "
                "rescued by another process when the lease expires",
                len(jobs),
                exc,
            )
            return
        self.tracker.settle(jobs)
        log.info("pushed %d jobs back to their queues", moved)
