"""Fixtures of the contract suite. Every scenario takes ``store``, parametrized over every store kind by
``tests/conftest.py``: select one kind with ``-k sqlite`` or ``-k redis``."""

from __future__ import annotations

import pytest

from contract.support import JobMaker, beat
from sidequest.stores.base import Store

OWNER = "contract-host:1001:aaaaaaaaaaaa"
OTHER = "contract-host:1002:bbbbbbbbbbbb"


@pytest.fixture
def jobs(store: Store) -> JobMaker:
    """Pushes real payloads to the store under test."""
    return JobMaker(store)


@pytest.fixture
def owner(store: Store) -> str:
    """A live process (it has beaten, with a long lease) that claims jobs."""
    beat(store, OWNER)
    return OWNER


@pytest.fixture
def other(store: Store) -> str:
    """A second live process."""
    beat(store, OTHER)
    return OTHER
