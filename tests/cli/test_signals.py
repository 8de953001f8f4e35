"""``sidequest quiet`` and ``sidequest stop``: remote signals delivered with a process's next beat."""

from __future__ import annotations

import json

from cli.states import Sidequest, beat, process
from sidequest.stores.base import Store


def test_quieting_one_process_reaches_it_at_its_next_beat(sidequest: Sidequest, store: Store) -> None:
    web, other = process("web-1:7:aa"), process("web-2:8:bb")
    beat(store, web)
    beat(store, other)

    result = sidequest("quiet", "web-1:7:aa")

    assert result.exit_code == 0 and result.stdout == "quiet: web-1:7:aa\n"
    assert beat(store, web) == ["TSTP"]
    assert beat(store, other) == []


def test_stopping_every_process(sidequest: Sidequest, store: Store) -> None:
    web, other = process("web-1:7:aa"), process("web-2:8:bb")
    beat(store, web)
    beat(store, other)

    result = sidequest("stop", "--all", "--json")

    assert json.loads(result.stdout) == {"signalled": ["web-1:7:aa", "web-2:8:bb"]}
    assert beat(store, web) == ["TERM"] and beat(store, other) == ["TERM"]


def test_stopping_all_with_no_process_alive_says_so(sidequest: Sidequest) -> None:
    result = sidequest("stop", "--all")
    assert result.exit_code == 0 and result.stdout == "no live processes\n"


def test_a_process_that_is_not_alive_is_one_clear_line(sidequest: Sidequest, store: Store) -> None:
    beat(store, process("web-1:7:aa"))

    result = sidequest("quiet", "web-9:1:zz")

    assert result.exit_code == 1
    assert result.stderr == "Error: no live process 'web-9:1:zz'; live processes: web-1:7:aa\n"


def test_a_signal_needs_an_identity_or_all(sidequest: Sidequest) -> None:
    result = sidequest("stop")
    assert result.exit_code == 2 and "give a process IDENTITY" in result.stderr
