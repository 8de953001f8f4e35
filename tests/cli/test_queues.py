"""``sidequest queues`` and ``sidequest queues clear NAME``."""

from __future__ import annotations

import json

from cli.states import Sidequest, enqueue
from sidequest.admin import Admin
from sidequest.stores.base import Store


def test_queues_lists_each_queue_with_size_and_latency(sidequest: Sidequest, store: Store) -> None:
    enqueue(store, queue="mail")
    enqueue(store, queue="default")

    lines = sidequest("queues").output.splitlines()

    assert lines[0].split() == ["QUEUE", "SIZE", "LATENCY"]
    assert [line.split()[:2] for line in lines[1:]] == [["default", "1"], ["mail", "1"]]


def test_queues_as_json(sidequest: Sidequest, store: Store) -> None:
    enqueue(store, queue="mail")

    [queue] = json.loads(sidequest("queues", "--json").output)

    assert queue["name"] == "mail" and queue["size"] == 1 and queue["latency"] >= 0


def test_clearing_a_queue_asks_for_confirmation(sidequest: Sidequest, store: Store) -> None:
    enqueue(store, queue="mail")

    result = sidequest("queues", "clear", "mail", input="n\n")

    assert result.exit_code == 1
    assert "Delete all 1 jobs in queue 'mail'?" in result.stderr
    assert Admin(store).size("queue:mail") == 1


def test_clearing_a_queue_with_yes_empties_and_forgets_it(sidequest: Sidequest, store: Store) -> None:
    enqueue(store, queue="mail")
    enqueue(store, queue="mail")
    enqueue(store, queue="default")

    result = sidequest("queues", "clear", "mail", "--yes")

    assert result.exit_code == 0 and result.stdout.strip() == "deleted 2 jobs"
    assert [q.name for q in Admin(store).queues()] == ["default"]


def test_clearing_an_unknown_queue_names_the_known_ones(sidequest: Sidequest, store: Store) -> None:
    enqueue(store, queue="mail")

    result = sidequest("queues", "clear", "mial", "--yes")

    assert result.exit_code == 1
    assert result.stderr == "Error: no queue named 'mial'; known queues: mail\n"
