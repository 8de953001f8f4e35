"""The sidequest process: fetch jobs, run them on threads or an event loop, record their outcome.

Launcher -> Fetcher -> processors (Executor) -> Acker, plus the background services Heartbeat,
Scheduler, Rescuer and Monitor, each a ``run_once(now)`` loop.
"""

from sidequest.runtime.config import ProcessConfig, QueueSpec
from sidequest.runtime.launcher import Launcher

__all__ = ["Launcher", "ProcessConfig", "QueueSpec"]
