"""The Django app: configures sidequest from ``settings.SIDEQUEST`` when Django starts."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings as django_settings

from sidequest.contrib.django.binder import AtomicBinder
from sidequest.contrib.django.conf import Settings, load
from sidequest.contrib.django.discovery import import_workers


class SidequestConfig(AppConfig):
    """``"sidequest.contrib.django"`` in ``INSTALLED_APPS``."""

    name = "sidequest.contrib.django"
    label = "sidequest"
    verbose_name = "sidequest"
    default_auto_field = "django.db.models.AutoField"

    settings: Settings
    worker_modules: list[str]
    binder: AtomicBinder

    def ready(self) -> None:
        """Check SIDEQUEST, configure the default client, import every app's workers, bind to atomic."""
        from sidequest.defaults import DEFAULT
        from sidequest.transaction import add_binder

        self.settings = load(getattr(django_settings, "SIDEQUEST", None), django_settings.DATABASES)
        self._dashboard: Any = None
        DEFAULT.configure_lazily(self.settings.url)  # opened at the first enqueue, not at every manage.py
        names = [config.name for config in apps.get_app_configs() if config.name != self.name]
        self.worker_modules = import_workers(names, self.settings.workers)
        self.binder = AtomicBinder(
            self.settings.database, self.settings.join_transaction, self.settings.defer_until_commit
        )
        add_binder(self.binder)

    def dashboard(self) -> Any:
        """The dashboard as a WSGI app (made at the first request, then kept)."""
        if self._dashboard is None:
            from a2wsgi import ASGIMiddleware

            from sidequest.web import create_app

            app = create_app(url=self.settings.url, read_only=self.settings.read_only)
            self._dashboard = ASGIMiddleware(app)  # type: ignore[arg-type]
        return self._dashboard


def sidequest_config() -> SidequestConfig:
    """The installed app's config (ConfigurationError-like LookupError when it is not installed)."""
    config = apps.get_app_config("sidequest")
    assert isinstance(config, SidequestConfig)
    return config
