"""Versioned shop settings in Redis (streams/readside/documents.py).

Versions are immutable. The API writes a new
version and answers the PUT after it is stored, and stamps every event it accepts with the version
it read, so the new settings are in force for every event accepted after the answer. Workers cache
versions forever; events that came straight to Kafka use the newest version the worker knows.
"""

from __future__ import annotations

import time
from typing import Any

from streams.core.shop_settings import DEFAULT_SETTINGS, ShopSettings, parse_settings
from streams.readside.documents import VersionedDocuments
from streams.readside.keys import SETTINGS

LATEST_TTL_S = 1.0
SETTINGS_DOCUMENTS = VersionedDocuments(SETTINGS, parse_settings, DEFAULT_SETTINGS)


async def put_settings(client: Any, shop: str, settings: ShopSettings) -> int:
    return await SETTINGS_DOCUMENTS.put(client, shop, settings.to_json())


async def current_version(client: Any, shop: str) -> int:
    return await SETTINGS_DOCUMENTS.current_version(client, shop)


async def load_settings(client: Any, shop: str, version: int) -> ShopSettings:
    return await SETTINGS_DOCUMENTS.load(client, shop, version)


class SettingsCache:
    """The workers' view (a synchronous client: a miss happens once per shop and version)."""

    def __init__(self, client: Any) -> None:
        """`client`: a synchronous Redis client (streams/readside/client.py `sync_redis`)."""
        self._client = client
        self._versions: dict[tuple[str, int], ShopSettings] = {}
        self._latest: dict[str, tuple[int, float]] = {}

    def latest_version(self, shop_id: str) -> int:
        cached = self._latest.get(shop_id)
        now = time.monotonic()
        if cached is None or now - cached[1] > LATEST_TTL_S:
            raw = self._client.get(SETTINGS_DOCUMENTS.version_key(shop_id))
            cached = (int(raw) if raw else 0, now)
            self._latest[shop_id] = cached
        return cached[0]

    def get(self, shop_id: str, version: int) -> ShopSettings:
        settings = self._versions.get((shop_id, version))
        if settings is None:
            if version == 0:
                settings = DEFAULT_SETTINGS
            else:
                key = SETTINGS_DOCUMENTS.document_key(shop_id, version)
                settings = SETTINGS_DOCUMENTS.decode(self._client.get(key))
            self._versions[(shop_id, version)] = settings
        return settings

    def close(self) -> None:
        self._client.close()
