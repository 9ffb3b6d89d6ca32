"""Versioned documents in Redis: shop settings and alert rules are both stored this way.

`kefu:{shop}:{kind}:version` is the version in force (absent: 0, the defaults) and
`kefu:{shop}:{kind}:{v}` each version's document; versions are immutable, so a reader may cache a
version for good. A PUT stores the next version, makes it current and (optionally) publishes
"changed" on a channel, atomically, and answers only after it is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import orjson

from streams.readside.keys import document_prefix, version_key

T = TypeVar("T")

# KEYS[1]: version key. ARGV: document JSON, document key prefix, channel ("" for none).
PUT_SCRIPT = """
local version = redis.call('INCR', KEYS[1])
redis.call('SET', ARGV[2] .. version, ARGV[1])
if ARGV[3] ~= '' then redis.call('PUBLISH', ARGV[3], 'changed') end
return version
"""


class VersionedDocuments(Generic[T]):
    """One kind of versioned document (`kind`: a keys.py name) with its parser and default."""

    def __init__(self, kind: str, parse: Callable[[Any], T], default: T,
                 channel: Callable[[str], str] | None = None) -> None:
        self.kind = kind
        self.parse = parse
        self.default = default
        self.channel = channel

    def version_key(self, shop: str) -> str:
        return version_key(shop, self.kind)

    def document_key(self, shop: str, version: int) -> str:
        return f"{document_prefix(shop, self.kind)}{version}"

    async def put(self, client: Any, shop: str, document: Any) -> int:
        """Store `document` (JSON-able) as the next version and make it current; returns the version."""
        channel = self.channel(shop) if self.channel else ""
        return int(await client.eval(PUT_SCRIPT, 1, self.version_key(shop), orjson.dumps(document),
                                     document_prefix(shop, self.kind), channel))

    async def current_version(self, client: Any, shop: str) -> int:
        raw = await client.get(self.version_key(shop))
        return int(raw) if raw else 0

    async def load(self, client: Any, shop: str, version: int) -> T:
        if version == 0:
            return self.default
        return self.decode(await client.get(self.document_key(shop, version)))

    def decode(self, raw: bytes | None) -> T:
        """A stored version's document (the default when it is missing)."""
        return self.parse(orjson.loads(raw)) if raw else self.default
