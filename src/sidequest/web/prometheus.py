"""``GET /prometheus``: the store-wide gauges of :mod:`sidequest.observability.store_metrics` for a
Prometheus scrape, under the dashboard's own read authorization."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from sidequest.web.dashboard import Dashboard

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus's text exposition format."""


def prometheus(request: Request) -> Response:
    """The store's metrics; 501 naming the extra to install when prometheus-client is missing."""
    try:
        from sidequest.observability.store_metrics import exposition
    except ImportError:
        return PlainTextResponse(
            "Prometheus metrics need the prometheus-client package: pip install 'sidequest[metrics]'", 501
        )
    return Response(exposition(Dashboard.of(request).admin), media_type=CONTENT_TYPE)
