"""Store URLs as they may be shown: every password hidden, in every form the stores accept.

A password can sit in the userinfo (``redis://:pw@h``, ``postgresql://user:pw@h``, ``rediss://``,
``unix://:pw@/path``) or in the query string (``?password=pw``). Logs, error messages, ``repr`` and
dashboards show :func:`redact`'s form (``Store.safe_url``); :func:`secrets` lists what must never appear
in any text a store prints (an error from a driver could quote a part of the URL).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

HIDDEN = "***"
SECRET_PARAMS = frozenset({"password"})
"""Query-string parameters that hold a secret (redis-py and libpq read ``?password=``)."""


def redact(url: str) -> str:
    """The URL with every password replaced by ``***``, fit for logs and error messages.

    Edited as text, not parsed and rebuilt: ``unix:///path`` must keep its empty authority, and a
    URL Python's parser refuses (a bad port) must still be shown without its password.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = min((index for index in (rest.find(c) for c in "/?#") if index >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    userinfo, at, host = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.split(':', 1)[0]}:{HIDDEN}@{host}"
    path, question, query = tail.partition("?")
    if question:
        query, hash_sign, fragment = query.partition("#")
        pairs = query.split("&")
        for index, pair in enumerate(pairs):
            name, eq, _ = pair.partition("=")
            if eq and unquote(name).lower() in SECRET_PARAMS:
                pairs[index] = f"{name}={HIDDEN}"
        tail = f"{path}?{'&'.join(pairs)}{hash_sign}{fragment}"
    return f"{scheme}://{authority}{tail}"


def secrets(url: str) -> list[str]:
    """Every password the URL holds, as written and decoded (longest first), for scrubbing messages."""
    found: set[str] = set()
    try:
        parts = urlsplit(url)
        if parts.password:
            raw = parts.netloc.rsplit("@", 1)[0].partition(":")[2]
            found |= {raw, unquote(raw)}
        for name, value in parse_qsl(parts.query, keep_blank_values=False):
            if name.lower() in SECRET_PARAMS:
                found.add(value)
        for pair in parts.query.split("&"):
            name, eq, value = pair.partition("=")
            if eq and unquote(name).lower() in SECRET_PARAMS and value:
                found.add(value)
    except ValueError:
        pass
    return sorted((secret for secret in found if secret), key=len, reverse=True)


def scrub(text: str, hidden: list[str]) -> str:
    """``text`` with each of ``hidden`` replaced by ``***``."""
    for secret in hidden:
        text = text.replace(secret, HIDDEN)
    return text
