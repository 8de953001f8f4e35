"""app/workers/my_worker.py: the recipe's basic worker, its jobs in the default queue."""

from __future__ import annotations

import sidequest
from recipe.app.models import current_shop


class MyWorker(sidequest.Worker):
    sidequest_options = {"queue": "default"}

    def perform(self, name: str, city: str) -> None:
        current_shop().greet(name, city)
