"""Queue order for each fetch, as Sidekiq does it (``-q NAME[,WEIGHT]``).

Strict when no queue has a weight: always the order given, so an earlier queue can starve later ones.
Weighted otherwise: each fetch shuffles a list holding each queue ``max(weight, 1)`` times and keeps
the first occurrence of each, so a queue of weight 3 comes first three times as often as weight 1.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from sidequest.runtime.config import QueueSpec


class QueueOrder:
    """Gives the queue order for the next fetch."""

    def __init__(self, specs: Sequence[QueueSpec], rng: random.Random | None = None) -> None:
        self.strict = all(spec.weight == 0 for spec in specs)
        self._names = list(dict.fromkeys(spec.name for spec in specs))
        self._weighted = [spec.name for spec in specs for _ in range(max(spec.weight, 1))]
        self._rng = rng or random.Random()

    def next(self) -> list[str]:
        """The queues to try, in order, for one fetch."""
        if self.strict:
            return list(self._names)
        pool = list(self._weighted)
        self._rng.shuffle(pool)
        return list(dict.fromkeys(pool))
