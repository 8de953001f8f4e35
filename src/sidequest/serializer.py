"""JSON in and out of the store, and the check that keeps job arguments JSON-native.

Nothing is pickled: a job is a JSON object in Sidekiq's format, readable by Ruby and by people.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import orjson

from sidequest.errors import JobArgumentError, MalformedJobError

JSON_NATIVE = "str, int, float, bool, None, list, or dict with str keys"
INT_MIN = -(2**63)
INT_LIMIT = 2**64
"""The integers orjson (and Ruby's and most JSON readers' 64-bit integers) can carry."""


def dumps(value: Any) -> str:
    """Serialize a JSON-native value to a compact JSON string."""
    return orjson.dumps(value).decode()


def loads(text: str | bytes) -> Any:
    """Parse JSON text (str or bytes)."""
    return orjson.loads(text)


def load_payload(raw: str | bytes) -> dict[str, Any]:
    """Parse a stored job; raise :class:`MalformedJobError` unless it is an object with class and args."""
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedJobError(f"job payload is not valid JSON ({exc}): {_clip(raw)}") from None
    if not isinstance(payload, dict):
        raise MalformedJobError(f"job payload is not a JSON object: {_clip(raw)}")
    if not isinstance(payload.get("class"), str) or not payload["class"]:
        raise MalformedJobError(f"job payload has no 'class' string: {_clip(raw)}")
    if not isinstance(payload.get("args"), list):
        raise MalformedJobError(f"job payload has no 'args' array: {_clip(raw)}")
    return payload


def _clip(raw: str | bytes, limit: int = 200) -> str:
    text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
    return text if len(text) <= limit else text[:limit] + "..."


def check_args(args: Sequence[Any], where: str) -> list[Any]:
    """Return ``args`` as a list if every value is JSON-native, else raise :class:`JobArgumentError`.

    ``where`` names the call in the message (``"OrderWorker.perform_async"``).
    """
    checked = list(args)
    for value in checked:
        kind = type(value)
        if kind is str or kind is bool or value is None or (kind is int and INT_MIN <= value < INT_LIMIT):
            continue  # the common flat case, without the recursive walk (bulk enqueues are hot)
        break
    else:
        return checked
    for position, value in enumerate(checked):
        problem = _find_problem(value, f"argument {position + 1}")
        if problem is not None:
            raise JobArgumentError(f"{where}: {problem}")
    return checked


def _find_problem(value: Any, path: str) -> str | None:
    if value is None or isinstance(value, (str, bool)):
        return None
    if isinstance(value, int):
        if INT_MIN <= value < INT_LIMIT:
            return None
        return f"{path} is an integer outside the 64-bit range JSON readers accept; pass it as a str."
    if type(value) is float:
        if math.isfinite(value):
            return None
        return f"{path} is {value!r}, which JSON cannot represent; pass a finite number or None."
    if isinstance(value, float):
        return f"{path} is a {_type_name(value)}, not a plain float; pass float(value)."
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = _find_problem(item, f"{path}[{index}]")
            if problem:
                return problem
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return (
                    f"{path} has a dict key {key!r} of type {type(key).__name__}; JSON object keys must be "
                    f"str. Convert the keys with str() before enqueueing."
                )
            problem = _find_problem(item, f"{path}[{key!r}]")
            if problem:
                return problem
        return None
    return f"{path} is a {_type_name(value)}, which is not JSON-native. {_advice(value)}"


def _type_name(value: Any) -> str:
    cls = type(value)
    return cls.__name__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _advice(value: Any) -> str:
    import datetime
    import decimal

    base = f"Job arguments must be {JSON_NATIVE}; "
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return base + "pass an ISO 8601 string (value.isoformat()) or epoch seconds instead."
    if isinstance(value, decimal.Decimal):
        return base + "pass str(value) and rebuild the Decimal inside perform."
    if isinstance(value, (set, frozenset, tuple)):
        return base + "pass a list instead (it comes back as a list)."
    if isinstance(value, bytes):
        return base + "pass text (value.decode()) or base64 instead."
    return (
        base + "pass the object's id (or a plain value) instead and load the object inside perform, "
        "so the job sees current data when it runs."
    )
