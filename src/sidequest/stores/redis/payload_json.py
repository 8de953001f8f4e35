"""Re-serialize a changed payload while keeping the original text of every field that did not change.

A job pushed by Ruby (or any other client) may carry fields sidequest does not know, written in ways
a Python round trip would change: ``1.0e+20`` becomes ``1e20``, ``"\\u00e9"`` becomes ``"é"``, a
20-digit integer cannot even be read by orjson. When a job fails, the runtime hands the store the new
payload as a dict; :func:`patch_payload` writes the fields that changed (``error_message``,
``retry_count``...) and copies every other field's bytes from the stored text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import orjson

from sidequest.job import Payload

_SPACE = re.compile(r"[ \t\n\r]*")
scanstring: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_DECODER = json.JSONDecoder()
"""Stateless; used only for its C scanner, which reports where each value ends."""

Member = tuple[str, int, int, int]
"""A top-level field: its key, where its key starts, where its value starts, where its value ends."""


def split_members(raw: str) -> list[Member] | None:
    """The top-level fields of a JSON object's text, in order; None when ``raw`` is not an object."""
    try:
        index = _SPACE.match(raw, 0).end()  # type: ignore[union-attr]
        if raw[index : index + 1] != "{":
            return None
        index = _SPACE.match(raw, index + 1).end()  # type: ignore[union-attr]
        members: list[Member] = []
        if raw[index : index + 1] == "}":
            return members
        while True:
            if raw[index : index + 1] != '"':
                return None
            key_start = index
            key, index = scanstring(raw, index + 1)
            index = _SPACE.match(raw, index).end()  # type: ignore[union-attr]
            if raw[index : index + 1] != ":":
                return None
            value_start = _SPACE.match(raw, index + 1).end()  # type: ignore[union-attr]
            _, value_end = _DECODER.raw_decode(raw, value_start)
            members.append((key, key_start, value_start, value_end))
            index = _SPACE.match(raw, value_end).end()  # type: ignore[union-attr]
            char = raw[index : index + 1]
            if char == "}":
                return members
            if char != ",":
                return None
            index = _SPACE.match(raw, index + 1).end()  # type: ignore[union-attr]
    except ValueError:
        return None


def _same(new: Any, old: Any) -> bool:
    if new is old:
        return True
    # 1 == 1.0 == True in Python; compare the JSON text so a type change still counts as a change.
    try:
        return orjson.dumps(new) == orjson.dumps(old)
    except TypeError:
        return False


def patch_payload(raw: str, original: Payload | None, updated: Payload) -> str:
    """The JSON text of ``updated``, reusing ``raw``'s text for each field equal to ``original``'s.

    ``original`` is ``raw`` parsed (the payload the job was claimed with). Fields are written in
    ``updated``'s order; fields missing from ``updated`` are dropped. Falls back to a plain
    serialization when ``raw`` is not a JSON object.
    """
    members = split_members(raw) if original is not None else None
    if members is None or original is None:
        return orjson.dumps(updated).decode()
    by_key = {member[0]: member for member in members}
    parts: list[str] = []
    for key, value in updated.items():
        member = by_key.get(key)
        if member is None:
            parts.append(orjson.dumps(key).decode() + ":" + orjson.dumps(value).decode())
        elif key in original and _same(value, original[key]):
            parts.append(raw[member[1] : member[3]])
        else:
            parts.append(raw[member[1] : member[2]] + orjson.dumps(value).decode())
    return "{" + ",".join(parts) + "}"
