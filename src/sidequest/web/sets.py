"""The three set pages (Scheduled, Retries, Dead) and the actions each offers, as Sidekiq has them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from sidequest.admin import ActionResult, Admin, Selection
from sidequest.job import SetName


@dataclass(frozen=True, slots=True)
class JobAction:
    """One button: its form value, its label, and the Admin call it makes."""

    name: str
    label: str
    verb: str
    """Past tense for the notice ("Retried 3 jobs")."""
    bulk: str
    """The label before "all" ("Retry all")."""
    run: Callable[[Admin, str, Selection], ActionResult]


RETRY_NOW = JobAction(
    "retry", "Retry now", "Retried", "Retry", lambda admin, where, jobs: admin.retry(where, jobs)
)
ADD_TO_QUEUE = JobAction(
    "add_to_queue",
    "Add to queue",
    "Added to their queues",
    "Add to queue",
    lambda admin, where, jobs: admin.retry(where, jobs),
)
DELETE = JobAction(
    "delete", "Delete", "Deleted", "Delete", lambda admin, where, jobs: admin.delete(where, jobs)
)
KILL = JobAction("kill", "Kill", "Killed", "Kill", lambda admin, where, jobs: admin.kill(where, jobs))


@dataclass(frozen=True, slots=True)
class SetPage:
    """A set's page: its URL name (Sidekiq's), its store name, its title and its actions."""

    slug: str
    where: SetName
    title: str
    actions: tuple[JobAction, ...]
    time_label: str

    def action(self, name: str) -> JobAction | None:
        """The action called ``name``, or None when this set has no such action."""
        return next((action for action in self.actions if action.name == name), None)


SET_PAGES = MappingProxyType(
    {
        "scheduled": SetPage("scheduled", "scheduled", "Scheduled", (ADD_TO_QUEUE, DELETE, KILL), "due"),
        "retries": SetPage("retries", "retry", "Retries", (RETRY_NOW, DELETE, KILL), "next retry"),
        "morgue": SetPage("morgue", "dead", "Dead", (RETRY_NOW, DELETE), "died"),
    }
)
"""Set pages by URL name."""

PAGE_OF_SET = MappingProxyType({page.where: page for page in SET_PAGES.values()})
"""Set pages by store name (``"dead"`` -> the morgue)."""
