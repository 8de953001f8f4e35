"""The Redis store's Lua scripts (``lua/*.lua``), loaded from the package once per store instance.

Each script is run with EVALSHA and loaded again when Redis answers NOSCRIPT (after a restart or a
``SCRIPT FLUSH``); see :meth:`RedisConnection.run <sidequest.stores.redis.conn.RedisConnection.run>`.
Every ``.lua`` file starts with the keys and arguments it touches.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

LIBRARY = "json_fields.lua"
"""Lua helpers prepended to the scripts that edit payload text (Redis scripts cannot import)."""

KEY_TYPES = "key_types.lua"
"""Lua helpers prepended to the scripts that check the types of the keys they write."""


@dataclass(frozen=True)
class Script:
    """A Lua script's source and its SHA1 (what EVALSHA names it by)."""

    name: str
    source: str
    sha: str


def load_script(name: str) -> Script:
    """Read ``lua/<name>.lua``, with the JSON-editing library in front when the script uses it."""
    folder = resources.files("sidequest.stores.redis").joinpath("lua")
    source = folder.joinpath(f"{name}.lua").read_text(encoding="utf-8")
    if "json_" in source:
        source = folder.joinpath(LIBRARY).read_text(encoding="utf-8") + "\n" + source
    if "key_type" in source or "bad_key(" in source:
        source = folder.joinpath(KEY_TYPES).read_text(encoding="utf-8") + "\n" + source
    return Script(name, source, hashlib.sha1(source.encode()).hexdigest())


class Scripts:
    """One store's scripts. Not shared between stores: each instance loads its own (no module state)."""

    def __init__(self) -> None:
        self.claim = load_script("claim")
        self.ack = load_script("ack")
        self.retry = load_script("retry")
        self.kill = load_script("kill")
        self.requeue = load_script("requeue")
        self.promote_due = load_script("promote_due")
        self.rescue = load_script("rescue")
        self.set_to_queue = load_script("set_to_queue")
        self.set_to_dead = load_script("set_to_dead")
