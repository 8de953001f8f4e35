"""A worker module that chooses the garbage collector's thresholds itself, at import."""

from __future__ import annotations

import gc

import sidequest

gc.set_threshold(5000, 10, 10)


class GcChoiceWorker(sidequest.Worker):
    """Nothing to do: the module is here for its import."""

    def perform(self) -> None:
        pass
