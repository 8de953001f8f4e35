"""The ``sidequest`` command run in-process with click's CliRunner, on a real SQLite store file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner, Result

from cli.states import Sidequest
from sidequest.cli import main
from sidequest.stores import open_store
from sidequest.stores.base import Store


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    """The store the commands act on, for arranging jobs and checking what the commands did."""
    opened = open_store(sqlite_url)
    yield opened
    opened.close()


@pytest.fixture
def sidequest(sqlite_url: str) -> Sidequest:
    """Run ``sidequest ARGS...`` against the test's store (found through $SIDEQUEST_URL)."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        environment = {"SIDEQUEST_URL": sqlite_url, **(env or {})}
        return runner.invoke(main, list(args), input=input, env=environment, catch_exceptions=False)

    return invoke
