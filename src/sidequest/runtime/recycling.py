"""When a healthy process should still stop to be replaced: ``--max-memory`` and ``--max-jobs``.

The launcher asks twice a second; a process due for recycling stops gracefully (running jobs finish or
go back to their queues) and exits 0, so the supervisor (``-p``) or the platform starts a fresh one.
"""

from __future__ import annotations

from sidequest.runtime.config import ProcessConfig
from sidequest.runtime.heartbeat import rss_kb
from sidequest.runtime.tracker import Tracker


def recycle_reason(config: ProcessConfig, tracker: Tracker) -> str | None:
    """Why this process should stop and be replaced, or None."""
    if config.max_jobs is not None and tracker.total_processed >= config.max_jobs:
        return f"it performed {tracker.total_processed} jobs (--max-jobs {config.max_jobs})"
    if config.max_memory_mb is not None:
        rss_mb = rss_kb() / 1024
        if rss_mb > config.max_memory_mb:
            return f"its memory reached {rss_mb:.0f} MB (--max-memory {config.max_memory_mb:g})"
    return None
