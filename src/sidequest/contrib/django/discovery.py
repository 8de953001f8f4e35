"""Worker modules of a Django project: each installed app's ``workers`` module or package (the recipe's
``app/workers/`` convention), with every module below it, plus ``SIDEQUEST['WORKERS']``."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Sequence

from sidequest.loader import load_worker_modules


def workers_modules(app_names: Iterable[str]) -> list[str]:
    """``<app>.workers`` for each app (a dotted module name) that has one, in ``INSTALLED_APPS`` order."""
    found = []
    for app in app_names:
        name = f"{app}.workers"
        try:
            spec = importlib.util.find_spec(name)
        except ModuleNotFoundError:
            spec = None
        if spec is not None:
            found.append(name)
    return found


def import_workers(app_names: Iterable[str], extra: Sequence[str] = ()) -> list[str]:
    """Import the project's worker modules (each package with every module below it) and return their
    names. A module that fails to import is a ConfigurationError naming it and its error."""
    requires = [*workers_modules(app_names), *extra]
    if not requires:
        return []
    return load_worker_modules(requires)
