"""Agent time (metrics.md "Agent time"): an agent's status history and the seconds it spent per status and day.

Pure. The agent's record (streams/core/processor.process_agent_events) keeps its `agent.status` events as
a history of [ts, status] pairs; the read side derives the day figures from it at read time, because the
last status holds until "now" and so today's figures grow with the clock alone.

Invariants:
- the history is in `ts` order; equal `ts` keep arrival order (the later arrival holds from that ts on,
  as it is the agent's status: metrics.md, "the agent.status with the largest ts, equal ts the later
  arrival");
- each status holds from its ts until the next entry's ts, the last one until now; intervals are cut at
  the shop's midnights and at now;
- the history is bounded: entries at most HISTORY_KEEP_MS older than the agent's latest status, plus the
  newest older one (the status carried into the kept window). Days that begin inside the window are
  exact; older days are forgotten (docs/metric-rules.md, "Agent time").
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from streams.core.shop_settings import local_day

DAY_MS = 86_400_000
HISTORY_KEEP_MS = 8 * DAY_MS  # a week of days plus the one being cut into
ONLINE_STATUSES = frozenset({"online", "busy"})

History = list[list[Any]]  # [[ts, status], ...] in ts order (JSON-friendly: stored in the agent record)

AGENT_TIME_KEYS = ("online_s", "busy_s", "away_s", "first_online_ts", "last_offline_ts")


def add_status(history: History, ts: int, status: str) -> None:
    """Insert a status in ts order, after the entries of equal ts (arrival order), then bound the history."""
    position = bisect_right([entry[0] for entry in history], ts)
    history.insert(position, [ts, status])
    keep_from = history[-1][0] - HISTORY_KEEP_MS
    first_kept = bisect_right([entry[0] for entry in history], keep_from - 1)  # first entry with ts >= keep_from
    if first_kept > 1:  # keep one entry before the window: the status carried into it
        del history[:first_kept - 1]


@lru_cache(maxsize=4096)
def day_bounds(day: str, timezone: str) -> tuple[int, int]:
    """[start, end) of a shop-local calendar day, in epoch ms."""
    zone = ZoneInfo(timezone)
    start = date.fromisoformat(day)
    begin = datetime.combine(start, time(), zone)
    end = datetime.combine(start + timedelta(days=1), time(), zone)
    return int(begin.timestamp() * 1000), int(end.timestamp() * 1000)


def day_figures(history: Sequence[Sequence[Any]] | None, day: str, timezone: str, now_ms: int) -> dict[str, Any]:
    """online_s, busy_s, away_s (seconds), first_online_ts, last_offline_ts (epoch ms or None) of one day."""
    start, end = day_bounds(day, timezone)
    limit = min(end, now_ms)
    spent = {"online": 0, "busy": 0, "away": 0, "offline": 0}
    first_online: int | None = None
    last_offline: int | None = None
    entries = history or ()
    for index, (ts, status) in enumerate(entries):
        if start <= ts < end:
            if status in ONLINE_STATUSES and first_online is None:
                first_online = ts
            if status == "offline":
                last_offline = ts
        until = entries[index + 1][0] if index + 1 < len(entries) else limit
        held = min(until, limit) - max(ts, start)
        if held > 0:
            spent[status] += held
    return {
        "online_s": (spent["online"] + spent["busy"]) / 1000,
        "busy_s": spent["busy"] / 1000,
        "away_s": spent["away"] / 1000,
        "first_online_ts": first_online,
        "last_offline_ts": last_offline,
    }


def has_time_on(history: Sequence[Sequence[Any]] | None, day: str, timezone: str, now_ms: int) -> bool:
    """True when the agent spent time in some status on the day, or sent a status that day."""
    if not history:
        return False
    start, end = day_bounds(day, timezone)
    limit = min(end, now_ms)
    for index, (ts, _status) in enumerate(history):
        if start <= ts < end:
            return True
        until = history[index + 1][0] if index + 1 < len(history) else limit
        if min(until, limit) > max(ts, start):
            return True
    return False


def days_with_time(history: Sequence[Sequence[Any]] | None, timezone: str, now_ms: int) -> set[str]:
    """The shop-local days on which the agent has time in a status (or a status event), up to now."""
    if not history:
        return set()
    first = date.fromisoformat(local_day(history[0][0], timezone))
    last = date.fromisoformat(local_day(max(history[-1][0], now_ms), timezone))
    days = set()
    day = first
    while day <= last:
        if has_time_on(history, day.isoformat(), timezone, now_ms):
            days.add(day.isoformat())
        day += timedelta(days=1)
    return days
