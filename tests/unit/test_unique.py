"""The unique lock's name and lifetime (pure functions, no store)."""

from __future__ import annotations

from sidequest.unique import held_lock, lock_key, lock_ttl, releases_at_start, unique_for


def payload(**fields: object) -> dict[str, object]:
    return {"class": "app.ReportWorker", "queue": "default", "args": [1], "jid": "j" * 24, **fields}


def test_only_a_positive_number_of_seconds_makes_a_job_unique() -> None:
    assert unique_for(payload(unique_for=60)) == 60.0
    assert unique_for(payload(unique_for=0.5)) == 0.5
    for value in (None, 0, -1, True, "60"):
        assert unique_for(payload(unique_for=value)) is None
    assert unique_for(payload()) is None


def test_the_key_depends_on_class_queue_and_args_only() -> None:
    key = lock_key(payload())
    assert len(key) == 64
    assert lock_key(payload(jid="k" * 24, retry=3, unique_for=9)) == key
    assert lock_key(payload(args=[2])) != key
    assert lock_key(payload(queue="other")) != key
    assert lock_key(payload(**{"class": "app.OtherWorker"})) != key
    # A payload without a queue goes to "default", so it is the same job.
    assert lock_key({k: v for k, v in payload().items() if k != "queue"}) == key


def test_the_key_ignores_the_order_of_dict_keys_at_any_depth() -> None:
    one = payload(args=[{"a": 1, "b": {"x": 1, "y": 2}}])
    other = payload(args=[{"b": {"y": 2, "x": 1}, "a": 1}])
    assert lock_key(one) == lock_key(other)


def test_a_scheduled_job_holds_its_lock_for_its_wait_plus_unique_for() -> None:
    assert lock_ttl(60, None, 1000.0) == 60
    assert lock_ttl(60, 1300.0, 1000.0) == 360
    assert lock_ttl(60, 900.0, 1000.0) == 60  # already due


def test_the_held_lock_is_the_key_and_the_jid() -> None:
    assert held_lock(payload(unique_key="k" * 64)) == ("k" * 64, "j" * 24)
    assert held_lock(payload()) is None
    assert held_lock(None) is None
    assert releases_at_start(payload(unique_until="start"))
    assert not releases_at_start(payload(unique_until="success"))
    assert not releases_at_start(payload())
