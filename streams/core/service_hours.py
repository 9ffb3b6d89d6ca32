"""Service hours (metrics.md "Service hours"): the hours of the shop's day in which response clocks run.

Pure. With the `service_hours` setting ({"start": "HH:MM", "end": "HH:MM"} in the shop's timezone), a
clock start outside [start, end) moves to the next opening: the same day's start when it falls before
it, the next day's start when it falls at or after the end. Without the setting every instant is inside
and a clock starts where it falls.

Invariants:
- clock_start(ts) >= ts, and == ts exactly when ts is inside the hours (so "outside" = the start moved);
- the result depends only on ts and the settings of the event that starts the clock, so folding a
  buyer's timeline incrementally or from scratch gives the same starts (facts.advance stays exact).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from streams.core.shop_settings import ShopSettings, local_day


def clock_start(ts: int, settings: ShopSettings) -> int:
    """Where a response clock that would start at ts starts: ts inside the hours, else the next opening."""
    hours = settings.service_hours
    if hours is None:
        return ts
    opening, closing, next_opening = _day_hours(settings.timezone, hours, local_day(ts, settings.timezone))
    if ts < opening:
        return opening
    if ts >= closing:
        return next_opening
    return ts


def is_after_hours(ts: int, settings: ShopSettings) -> bool:
    return clock_start(ts, settings) != ts


@lru_cache(maxsize=16_384)
def _day_hours(timezone: str, hours: tuple[int, int], day: str) -> tuple[int, int, int]:
    """(opening, closing, next day's opening) of a local day, epoch ms; hours in minutes of the day."""
    zone = ZoneInfo(timezone)
    today = date.fromisoformat(day)

    def at(on: date, minutes: int) -> int:
        if minutes >= 24 * 60:  # "24:00": the end of the day
            on, minutes = on + timedelta(days=1), 0
        return int(datetime.combine(on, time(minutes // 60, minutes % 60), zone).timestamp() * 1000)

    start, end = hours
    return at(today, start), at(today, end), at(today + timedelta(days=1), start)
