"""The web dashboard: Sidekiq's Web UI pages over :class:`sidequest.admin.Admin`, as one ASGI app.

::

    from sidequest.web import create_app
    app = create_app(url="redis://localhost:6379/0")   # serve with uvicorn, or mount it

Needs the ``web`` extra (``pip install sidequest[web]``): Starlette, Jinja2, uvicorn, a2wsgi.
"""

from __future__ import annotations

from sidequest.web.app import create_app
from sidequest.web.dashboard import Authorize

__all__ = ["Authorize", "create_app"]
