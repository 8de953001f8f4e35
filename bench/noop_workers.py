"""The no-op worker every benchmark drains (one int argument, as Sidekiq's bin/sidekiqload)."""

from __future__ import annotations

import sidequest


class NoopWorker(sidequest.Worker):
    """Does nothing."""

    def perform(self, n: int) -> None:
        pass
