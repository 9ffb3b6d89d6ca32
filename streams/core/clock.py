"""The one "now" and the time arithmetic every layer shares (metrics.md, "Live load").

"Now" is the wall clock in live operation; for replays and tests (KEFU_CLOCK=event) it is the shop's
event-time watermark, the largest `ts` seen, so results do not depend on when a test runs. The worker's
exporter, the read side (REST, WebSocket frames) and the alert runner all take it from `now_ms`.
Calendar days are the shop's local days (streams/core/shop_settings.local_day); minutes are UTC
epoch minutes, the buckets of the time series.
"""

from __future__ import annotations

import time
from typing import Literal

from streams.core.shop_settings import ShopSettings, local_day

MINUTE_MS = 60_000
ClockMode = Literal["wall", "event"]


def minute_of(ts: int) -> int:
    """The start of the minute bucket `ts` falls in."""
    return ts - ts % MINUTE_MS


def now_ms(mode: ClockMode, watermark: int) -> int:
    """Wall-clock epoch ms live; the event-time watermark with mode "event" (0 before any event)."""
    return watermark if mode == "event" else int(time.time() * 1000)


def today(now: int, settings: ShopSettings) -> str:
    """The shop's calendar day at `now`."""
    return local_day(now, settings.timezone)
