"""pytest fixtures shipped with sidequest, registered as the ``sidequest`` pytest11 plugin.

::

    def test_confirmation_jobs_are_enqueued(sidequest_fake):
        OrderConfirmationWorker.perform_async()
        assert len(sidequest_fake.for_worker(OrderConfirmationWorker)) == 1

This module only defines fixtures; it imports sidequest lazily so that merely having sidequest
installed costs other test suites nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sidequest.testing import FakeClient, InlineClient


@pytest.fixture
def sidequest_fake() -> Iterator[FakeClient]:
    """A :class:`~sidequest.testing.FakeClient` installed as the default client for the test:
    ``perform_async`` collects jobs in it; ``sidequest_fake.drain()`` performs them."""
    from sidequest.testing import fake

    with fake() as jobs:
        yield jobs


@pytest.fixture
def sidequest_inline() -> Iterator[InlineClient]:
    """An :class:`~sidequest.testing.InlineClient` installed as the default client for the test:
    ``perform_async`` runs ``perform`` at once and raises what it raises."""
    from sidequest.testing import inline

    with inline() as client:
        yield client
