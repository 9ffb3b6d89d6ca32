"""Versioned shop settings in Redis.

`kefu:{shop}:settings:version` is the version in force (absent: 0, the defaults) and
`kefu:{shop}:settings:{v}` each version's document; versions are immutable. The API writes a new
version and answers the PUT after it is stored, and stamps every event it accepts with the version
it read, so the new settings are in force for every event accepted after the answer. Workers cache
versions forever; events that came straight to Kafka use the newest version the worker knows.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import redis

from streams.shop_settings import DEFAULT_SETTINGS, ShopSettings, parse_settings

LATEST_TTL_S = 1.0


def version_key(shop: str) -> str:
    return f"kefu:{shop}:settings:version"


def document_key(shop: str, version: int) -> str:
    return f"kefu:{shop}:settings:{version}"


# The PUT: store the document under the next version and make it current, atomically.
PUT_SCRIPT = """
local version = redis.call('INCR', KEYS[1])
redis.call('SET', KEYS[2] .. version, ARGV[1])
return version
"""


async def put_settings(client: Any, shop: str, settings: ShopSettings) -> int:
    return int(await client.eval(PUT_SCRIPT, 2, version_key(shop), f"kefu:{shop}:settings:",
                                 orjson.dumps(settings.to_json())))


async def current_version(client: Any, shop: str) -> int:
    raw = await client.get(version_key(shop))
    return int(raw) if raw else 0


async def load_settings(client: Any, shop: str, version: int) -> ShopSettings:
    if version == 0:
        return DEFAULT_SETTINGS
    raw = await client.get(document_key(shop, version))
    return parse_settings(orjson.loads(raw)) if raw else DEFAULT_SETTINGS


class SettingsCache:
    """The workers' view (a synchronous client: a miss happens once per shop and version)."""

    def __init__(self, redis_url: str) -> None:
        self._client = redis.Redis.from_url(redis_url, socket_timeout=5)
        self._versions: dict[tuple[str, int], ShopSettings] = {}
        self._latest: dict[str, tuple[int, float]] = {}

    def latest_version(self, shop_id: str) -> int:
        cached = self._latest.get(shop_id)
        now = time.monotonic()
        if cached is None or now - cached[1] > LATEST_TTL_S:
            raw = self._client.get(version_key(shop_id))
            cached = (int(raw) if raw else 0, now)
            self._latest[shop_id] = cached
        return cached[0]

    def get(self, shop_id: str, version: int) -> ShopSettings:
        settings = self._versions.get((shop_id, version))
        if settings is None:
            if version == 0:
                settings = DEFAULT_SETTINGS
            else:
                raw = self._client.get(document_key(shop_id, version))
                settings = parse_settings(orjson.loads(raw)) if raw else DEFAULT_SETTINGS
            self._versions[(shop_id, version)] = settings
        return settings

    def close(self) -> None:
        self._client.close()
