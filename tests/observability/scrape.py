"""Reading Prometheus's text format from a real HTTP endpoint, for the observability tests."""

from __future__ import annotations

import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample at ``url`` as ``{(name, sorted labels): value}``."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def try_scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
    """:func:`scrape`, or None while nothing listens there yet."""
    try:
        return scrape(url)
    except (urllib.error.URLError, ConnectionError):
        return None


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """One sample's value (0 when absent, as a counter that never moved is)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def status(url: str) -> int | None:
    """The HTTP status of ``GET url``; None when nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, ConnectionError):
        return None
