"""Make a failed job's payload something JSON can carry, when the store's encoder refuses it.

orjson refuses text holding a lone surrogate (an exception message built from a file name that is not
UTF-8, read by ``os.listdir`` with ``surrogateescape``) and nesting deeper than it writes (it reads
1,024 levels but writes 254). Such a payload cannot be recorded as it is; the acker first tries it
with every string escaped (``backslashreplace``: the odd character becomes the visible text
``\\udcff``), and when even that cannot be written, the job goes to the dead set as its raw text.
"""

from __future__ import annotations

from typing import Any

import orjson

from sidequest.job import Payload


def escaped(payload: Payload) -> Payload | None:
    """``payload`` with every string (keys too) escaped so it encodes, or None when it still cannot
    be encoded (nesting too deep, a value JSON has no form for)."""
    try:
        result = _escape(payload)
        orjson.dumps(result)
    except (TypeError, ValueError, RecursionError):  # orjson.JSONEncodeError is a TypeError
        return None
    return result if isinstance(result, dict) else None


def _escape(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_escape(key): _escape(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_escape(item) for item in value]
    return value
