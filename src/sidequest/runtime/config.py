"""Settings of one sidequest process, parsed by the CLI or built in code and tests."""

from __future__ import annotations

from dataclasses import dataclass

from sidequest.errors import ConfigurationError
from sidequest.options import QUEUE_NAME


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """A queue to fetch from and its weight (0 = strict order)."""

    name: str
    weight: int = 0

    @classmethod
    def parse(cls, text: str) -> QueueSpec:
        """Parse ``-q`` syntax: ``NAME`` or ``NAME,WEIGHT``."""
        name, _, weight = text.partition(",")
        name = name.strip()
        if not QUEUE_NAME.match(name):
            raise ConfigurationError(
                f"bad queue {text!r}: a queue name is letters, digits, '_', ':', '.' or '-', "
                f"optionally followed by ,WEIGHT (e.g. -q critical,3)"
            )
        if not weight:
            return cls(name, 0)
        try:
            value = int(weight)
        except ValueError:
            raise ConfigurationError(f"bad queue weight in {text!r}: the weight must be an integer") from None
        if value < 0:
            raise ConfigurationError(f"bad queue weight in {text!r}: the weight must be >= 0")
        return cls(name, value)


@dataclass(frozen=True, slots=True)
class ProcessConfig:
    """Everything a :class:`~sidequest.runtime.Launcher` needs besides the store and the workers.

    ``timeout`` is the shutdown grace period (Sidekiq's ``-t``, 25 s so a platform that kills 30 s after
    TERM never catches a job mid-flight). ``lease_ttl`` is how long this process's claims survive
    without a heartbeat before another process rescues them.
    """

    queues: tuple[QueueSpec, ...] = (QueueSpec("default"),)
    concurrency: int = 10
    timeout: float = 25.0
    tag: str = ""
    labels: tuple[str, ...] = ()
    heartbeat_interval: float = 5.0
    lease_ttl: float = 60.0
    scheduler_interval: float = 0.5
    rescue_interval: float = 15.0
    max_orphaned: int = 3
    fetch_timeout: float = 2.0
    claim_batch: int = 400
    prefetch: int | None = None
    """Extra jobs claimed ahead while jobs are short (< 5 ms); default: the concurrency."""
    max_retries: int = 25
    time_limit: float | None = None
    """Seconds a job may run before it is stopped (``--time-limit``), for jobs whose payload sets no
    ``time_limit`` of its own; None: no limit, only a warning past the shutdown timeout."""
    stuck_grace: float = 2.0
    """Seconds a thread stopped at its time limit gets to unwind before its slot goes to a new thread
    (a thread blocked in C code never sees the interrupt)."""
    process_pool: int | None = None
    """Child processes for ``isolation="process"`` workers (``--process-pool``); default: the CPUs."""
    max_child_memory_mb: float | None = None
    """A child whose RSS passes this after a job is replaced (``--max-child-memory``)."""
    max_memory_mb: float | None = None
    """RSS past which the process stops taking jobs and exits to be replaced (``--max-memory``)."""
    max_jobs: int | None = None
    """Jobs after which the process stops taking jobs and exits to be replaced (``--max-jobs``)."""
    requires: tuple[str, ...] = ()
    """The ``-r`` worker modules, which child processes import."""
    cwd: str | None = None
    """The directory the worker modules were found from (child processes import from it)."""

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ConfigurationError(f"concurrency must be >= 1, got {self.concurrency}")
        if self.timeout < 0:
            raise ConfigurationError(f"timeout must be >= 0 seconds, got {self.timeout}")
        if not self.queues:
            raise ConfigurationError("at least one queue is needed (-q NAME)")
        for name in ("time_limit", "max_child_memory_mb", "max_memory_mb"):
            value = getattr(self, name)
            if value is not None and not 0 < value < float("inf"):
                raise ConfigurationError(f"{name} must be a finite number > 0, got {value}")
        for name in ("process_pool", "max_jobs"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigurationError(f"{name} must be >= 1, got {value}")
        if self.lease_ttl <= self.heartbeat_interval:
            raise ConfigurationError(
                f"lease_ttl ({self.lease_ttl}s) must be longer than heartbeat_interval "
                f"({self.heartbeat_interval}s), or live processes would lose their jobs"
            )

    @property
    def prefetch_size(self) -> int:
        """The prefetch buffer: ``prefetch``, or, when unset, at least the concurrency (the tracker grows
        it to about 10 ms of work while jobs are that short)."""
        return self.concurrency if self.prefetch is None else max(0, self.prefetch)

    @property
    def queue_names(self) -> list[str]:
        """Queue names without duplicates, in the order given."""
        return list(dict.fromkeys(spec.name for spec in self.queues))
