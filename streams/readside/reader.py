"""The read model: current settings, "now" and "today", and the payloads of api.md from Redis snapshots.

Used by the REST routes and the WebSocket hub; the alert runner shares its "now" (streams/core/clock).
"""

from __future__ import annotations

from typing import Any

from streams.config import Config
from streams.core.clock import MINUTE_MS, minute_of, now_ms, today
from streams.core.shop_settings import ShopSettings
from streams.core.staffing import ARRIVAL_WINDOW_MS
from streams.core.views import (
    agents_view,
    live_view,
    next_clock_change_ms,
    series_view,
    summary_view,
    unpaid_orders_view,
)
from streams.readside.frame_cache import FrameCache, read_day_cached
from streams.readside.keys import accepted_key
from streams.readside.settings_store import current_version, load_settings
from streams.readside.snapshots import (
    read_day,
    read_live,
    read_live_and_meta,
    read_meta,
    read_minutes,
    read_minutes_at,
    read_statuses,
)


class ReadModel:
    def __init__(self, redis: Any, config: Config) -> None:
        self.redis = redis
        self.config = config

    async def settings(self, shop: str) -> ShopSettings:
        return await load_settings(self.redis, shop, await current_version(self.redis, shop))

    async def now_ms(self, shop: str, meta: dict[str, Any] | None = None) -> int:
        """Wall clock live; the shop's event-time watermark with KEFU_CLOCK=event."""
        if self.config.clock == "event" and meta is None:
            meta = await read_meta(self.redis, shop, self.config.partitions)
        return now_ms(self.config.clock, meta["watermark"] if meta else 0)

    async def context(self, shop: str) -> tuple[ShopSettings, dict[str, Any], int]:
        settings = await self.settings(shop)
        meta = await read_meta(self.redis, shop, self.config.partitions)
        return settings, meta, await self.now_ms(shop, meta)

    async def agents(self, shop: str, day: str | None) -> dict[str, Any]:
        settings, meta, now = await self.context(shop)
        day = day or today(now, settings)
        bucket = await read_day(self.redis, shop, self.config.partitions, day)
        live = await read_live(self.redis, shop, self.config.partitions)
        statuses = await read_statuses(self.redis, shop)
        return agents_view(shop, day, bucket, live, meta["agents"], settings, now, statuses)

    async def summary(self, shop: str, day: str | None) -> dict[str, Any]:
        settings, _, now = await self.context(shop)
        day = day or today(now, settings)
        bucket = await read_day(self.redis, shop, self.config.partitions, day)
        live = await read_live(self.redis, shop, self.config.partitions)
        return summary_view(shop, day, bucket, live, now)

    async def live(self, shop: str) -> dict[str, Any]:
        settings, meta, now = await self.context(shop)
        live = await read_live(self.redis, shop, self.config.partitions)
        statuses = await read_statuses(self.redis, shop)
        return live_view(shop, live, statuses, meta["agents"], settings, now, await self._arrivals(shop, now))

    async def _arrivals(self, shop: str, now: int) -> dict[int, Any]:
        """The minute buckets of the staffing now-cast's window (the last 15 minutes)."""
        minutes = [minute_of(now) - k * MINUTE_MS for k in range(ARRIVAL_WINDOW_MS // MINUTE_MS)]
        return await read_minutes_at(self.redis, shop, self.config.partitions, minutes)

    async def unpaid_orders(self, shop: str, sort: str, limit: int) -> dict[str, Any]:
        _, _, now = await self.context(shop)
        live = await read_live(self.redis, shop, self.config.partitions)
        return unpaid_orders_view(shop, live, now, sort, limit)

    async def series(self, shop: str, agent_id: str | None, minutes: int) -> dict[str, Any]:
        _, _, now = await self.context(shop)
        buckets = await read_minutes(self.redis, shop, self.config.partitions, now - (minutes + 60) * MINUTE_MS)
        return series_view(shop, agent_id, buckets, now, minutes)

    async def lag(self, shop: str) -> dict[str, Any]:
        meta = await read_meta(self.redis, shop, self.config.partitions)
        accepted = int(await self.redis.get(accepted_key(shop)) or 0)
        return {
            "shop_id": shop,
            "pending_events": max(0, accepted - meta["processed"]),
            "accepted_events": accepted,
            "processed_events": meta["processed"],
            "watermark": meta["watermark"],
        }

    async def snapshot(self, shop: str) -> dict[str, Any]:
        """Everything a screen needs in one frame: today's summary, agents and live load."""
        return (await self.snapshot_until(shop))[0]

    async def snapshot_until(self, shop: str, cache: FrameCache | None = None) -> tuple[dict[str, Any], int | None]:
        """The snapshot, and the wall time (epoch ms) until which it holds: when the clock alone next
        changes it (a wait grows, an SLA clock runs out, ...). None with KEFU_CLOCK=event: "now" is
        the watermark, which moves only with events, and events bring their own update frames.
        `cache` (the hub's, per shop: streams/readside/frame_cache.py) makes the build cost what changed
        since the shop's previous build; the snapshot is the same with or without it."""
        settings = await self.settings(shop)
        live, meta = await read_live_and_meta(self.redis, shop, self.config.partitions)  # one round trip
        now = await self.now_ms(shop, meta)
        day = today(now, settings)
        if cache is None:
            bucket, memo = await read_day(self.redis, shop, self.config.partitions, day), None
        else:
            bucket, memo = await read_day_cached(self.redis, shop, self.config.partitions, day, cache.days), cache.rows
        statuses = await read_statuses(self.redis, shop)
        arrivals = await self._arrivals(shop, now)
        if memo is not None:
            memo.begin(day, settings)  # (no await from here to the last row: a frame's rows are one build's)
        summary = summary_view(shop, day, bucket, live, now)
        snapshot = {
            **summary,
            "agents": agents_view(shop, day, bucket, live, meta["agents"], settings, now, statuses, memo)["agents"],
            "live": live_view(shop, live, statuses, meta["agents"], settings, now, arrivals, memo),
        }
        if self.config.clock == "event":
            return snapshot, None
        return snapshot, next_clock_change_ms(live, day, settings, now)
