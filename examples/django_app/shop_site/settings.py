"""Settings of the example shop. The database and the store come from the environment:

* ``SHOP_DATABASE``: ``sqlite:///path/to/shop.db`` (default: shop.db here) or ``postgresql://user:pw@host:port/db``;
* ``SIDEQUEST_URL``: the sidequest store (default: jobs.db here, an SQLite store).
"""

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent


def database(url: str) -> dict[str, object]:
    """Django's DATABASES entry for a ``sqlite:///`` or ``postgresql://`` URL."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": url.removeprefix("sqlite:///")}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


SECRET_KEY = os.environ.get("SHOP_SECRET_KEY", "example-shop-not-a-secret")
DEBUG = os.environ.get("SHOP_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
USE_TZ = True
ROOT_URLCONF = "shop_site.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "sidequest.contrib.django",
    "orders",
    "billing",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
DATABASES = {"default": database(os.environ.get("SHOP_DATABASE", f"sqlite:///{BASE_DIR / 'shop.db'}"))}

SIDEQUEST = {
    "URL": os.environ.get("SIDEQUEST_URL", f"sqlite:///{BASE_DIR / 'jobs.db'}"),
    "QUEUES": ["default", "billing"],
    "OPTIONS": {"concurrency": 5},
}
