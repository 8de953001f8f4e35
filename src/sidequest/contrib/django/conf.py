"""The ``SIDEQUEST`` setting, read and checked once at startup.

::

    SIDEQUEST = {
        "URL": "redis://localhost:6379/0",     # default: $SIDEQUEST_URL, else sqlite:///sidequest.db
        "QUEUES": ["critical,3", "default,1"], # what manage.py sidequest run reads by default
        "OPTIONS": {"concurrency": 5},         # defaults for any other `sidequest run` option
        "DATABASE": "default",                 # the database whose atomic blocks enqueues follow
        "JOIN_TRANSACTION": True,              # PostgreSQL store on that database: write in its transaction
        "DEFER_UNTIL_COMMIT": True,            # any other store: push at transaction.on_commit
        "WORKERS": [],                         # more worker modules, beside each app's `workers`
        "DASHBOARD": {"AUTHORIZE": "myproject.auth.can_see_jobs", "READ_ONLY": False},
    }

A wrong key or value is an :class:`SettingsError` at startup, naming the key and what it takes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from sidequest.contrib.cli import check_run_options
from sidequest.defaults import DEFAULT_URL, URL_ENV
from sidequest.errors import ConfigurationError

KEYS = (
    "URL",
    "QUEUES",
    "OPTIONS",
    "DATABASE",
    "JOIN_TRANSACTION",
    "DEFER_UNTIL_COMMIT",
    "WORKERS",
    "DASHBOARD",
)
DASHBOARD_KEYS = ("AUTHORIZE", "READ_ONLY")

Authorize = Callable[[Any], bool]
"""``(django_request) -> bool``: may this request see the dashboard?"""


class SettingsError(ConfigurationError, ImproperlyConfigured):
    """A bad ``SIDEQUEST`` setting (Django's ImproperlyConfigured, and sidequest's ConfigurationError)."""


def staff_only(request: Any) -> bool:
    """The dashboard's default check: an active staff user (``django.contrib.auth``)."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.is_staff)


@dataclass(frozen=True)
class Settings:
    """The checked ``SIDEQUEST`` setting."""

    url: str
    url_given: bool
    queues: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    database: str = "default"
    join_transaction: bool = True
    defer_until_commit: bool = True
    workers: tuple[str, ...] = ()
    authorize: Authorize = staff_only
    read_only: bool = False

    def run_defaults(self) -> dict[str, Any]:
        """Defaults for ``manage.py sidequest run``: OPTIONS, and QUEUES when given."""
        found = dict(self.options)
        if self.queues:
            found["queues"] = list(self.queues)
        return found


def load(value: object, databases: Mapping[str, Any]) -> Settings:
    """Check ``settings.SIDEQUEST`` (``value``; None when unset) against ``settings.DATABASES``."""
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise SettingsError(
            f"SIDEQUEST must be a dict, e.g. {{'URL': 'redis://localhost:6379/0'}}; got {value!r}"
        )
    unknown = [key for key in value if key not in KEYS]
    if unknown:
        raise SettingsError(
            f"SIDEQUEST has unknown key(s) {', '.join(map(repr, unknown))}; it takes {', '.join(KEYS)}"
        )
    url = value.get("URL")
    if url is not None and (not isinstance(url, str) or not url):
        raise SettingsError(
            f"SIDEQUEST['URL'] must be a store URL string, e.g. 'sqlite:///jobs.db'; got {url!r}"
        )
    database = value.get("DATABASE", "default")
    if database not in databases:
        raise SettingsError(
            f"SIDEQUEST['DATABASE'] is {database!r}, which is not in DATABASES ({', '.join(databases)})"
        )
    try:
        options = check_run_options(value.get("OPTIONS", {}), "SIDEQUEST['OPTIONS']")
    except ConfigurationError as exc:
        raise SettingsError(str(exc)) from None
    dashboard = value.get("DASHBOARD", {})
    if not isinstance(dashboard, Mapping) or any(key not in DASHBOARD_KEYS for key in dashboard):
        raise SettingsError(f"SIDEQUEST['DASHBOARD'] must be a dict with keys {', '.join(DASHBOARD_KEYS)}")
    return Settings(
        url=url or os.environ.get(URL_ENV) or DEFAULT_URL,
        url_given=url is not None,
        queues=_names(value.get("QUEUES", ()), "QUEUES", "queue names, e.g. ['critical', 'default']"),
        options=options,
        database=str(database),
        join_transaction=_flag(value, "JOIN_TRANSACTION"),
        defer_until_commit=_flag(value, "DEFER_UNTIL_COMMIT"),
        workers=_names(value.get("WORKERS", ()), "WORKERS", "module names, e.g. ['shop.jobs']"),
        authorize=_authorize(dashboard.get("AUTHORIZE", staff_only)),
        read_only=_flag(dashboard, "READ_ONLY", default=False, where="SIDEQUEST['DASHBOARD']"),
    )


def _names(value: object, key: str, what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise SettingsError(f"SIDEQUEST[{key!r}] must be a list of {what}; got {value!r}")
    for item in value:
        if not isinstance(item, str) or not item:
            raise SettingsError(f"SIDEQUEST[{key!r}] must be a list of {what}; got the item {item!r}")
    return tuple(value)


def _flag(value: Mapping[str, Any], key: str, default: bool = True, where: str = "SIDEQUEST") -> bool:
    found = value.get(key, default)
    if not isinstance(found, bool):
        raise SettingsError(f"{where}[{key!r}] must be True or False; got {found!r}")
    return found


def _authorize(value: object) -> Authorize:
    if isinstance(value, str):
        from django.utils.module_loading import import_string

        try:
            value = import_string(value)
        except ImportError as exc:
            raise SettingsError(
                f"SIDEQUEST['DASHBOARD']['AUTHORIZE'] {value!r} cannot be imported: {exc}"
            ) from None
    if not callable(value):
        raise SettingsError(
            "SIDEQUEST['DASHBOARD']['AUTHORIZE'] must be a function (request) -> bool or its dotted path; "
            f"got {value!r}"
        )
    check: Authorize = value
    return check
