"""``sidequest limiters``: every rate limiter used on the store, with its rule, its use now and its
allowed/refused counts, as a table or as JSON."""

from __future__ import annotations

import json

from cli.states import Sidequest
from sidequest.limits import Limit
from sidequest.stores.base import Store


def test_a_store_without_limiters_says_so(sidequest: Sidequest) -> None:
    result = sidequest("limiters")
    assert result.exit_code == 0, result.output
    assert "no rate limiter has been used" in result.stdout


def test_the_table_shows_each_limiter_rule_use_and_refusals(sidequest: Sidequest, store: Store) -> None:
    email = Limit("concurrent", "email-service", 3, 30.0)
    store.limiter_acquire(email, "a")
    store.limiter_acquire(email, "b")
    api = Limit("bucket", "stripe", 1, 1.0)
    store.limiter_acquire(api, "a")
    store.limiter_acquire(api, "b", final=True)  # refused, given up
    result = sidequest("limiters")
    assert result.exit_code == 0, result.output
    header, bucket, concurrent = result.stdout.splitlines()
    assert header.split() == ["NAME", "KIND", "RULE", "IN", "USE", "ALLOWED", "REFUSED", "LAST", "USED"]
    assert bucket.split()[:5] == ["stripe", "bucket", "1", "per", "second"]
    assert bucket.split()[-4:] == ["1/1", "1", "1", "now"]  # in use, allowed, refused, last used
    assert concurrent.split()[:8] == [
        "email-service",
        "concurrent",
        "3",
        "at",
        "once",
        "(lock",
        "30s)",
        "2/3",
    ]
    assert concurrent.split()[-3:] == ["2", "0", "now"]


def test_json_gives_every_field(sidequest: Sidequest, store: Store) -> None:
    store.limiter_acquire(Limit("window", "search", 5, 60.0), "a")
    (found,) = json.loads(sidequest("limiters", "--json").stdout)
    assert {
        key: found[key] for key in ("kind", "name", "size", "period", "in_use", "allowed", "refused")
    } == {
        "kind": "window",
        "name": "search",
        "size": 5,
        "period": 60.0,
        "in_use": 1.0,
        "allowed": 1,
        "refused": 0,
    }
    assert isinstance(found["last_used"], float)
