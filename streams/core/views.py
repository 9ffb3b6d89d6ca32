"""API payloads (shared/spec/api.md) from merged snapshots: /agents, /summary, /live, /series.

Pure functions of (merged counters, live facts, statuses, settings, now), used by the API replicas,
the WebSocket frames and the batch engine alike, so every screen shows identical figures.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from streams.core.agent_tables import Bucket
from streams.core.agent_time import has_time_on
from streams.core.figures import count_aged, figures, series, state_now, team_live
from streams.core.frame_memo import NO_COUNTERS, NO_STATUS, NO_TIMES, FrameMemo, agent_row, live_row
from streams.core.shop_settings import ShopSettings
from streams.core.snapshot import MergedLive
from streams.core.staffing import group_nowcasts


def aged_open_sla(live: MergedLive, day: str, now_ms: int) -> tuple[dict[str, int], dict[str, int], int]:
    """Open SLA clocks of `day` that have run out at now: per agent, per group and for the team."""
    per_agent: dict[str, int] = defaultdict(int)
    per_group: dict[str, int] = defaultdict(int)
    for agent, entry_day, group, count in live.aged_sla:
        if entry_day == day:
            per_agent[agent] += count
            per_group[group] += count
    for agent, entry_day, group, first_ts, sla_ms in live.open_sla:
        if entry_day == day and count_aged([(first_ts, sla_ms)], now_ms):
            per_agent[agent] += 1
            per_group[group] += 1
    return per_agent, per_group, sum(per_agent.values())


def agents_view(
    shop_id: str, day: str, bucket: Bucket, live: MergedLive, known_agents: set[str],
    settings: ShopSettings, now_ms: int, statuses: dict[str, dict[str, Any]] | None = None,
    memo: FrameMemo | None = None,
) -> dict[str, Any]:
    """The day's agent rows: the counters' figures, then the agent's time in status that day (from the
    status history in `statuses`: agent → {status, ts, history}). `memo` (the hub's, per shop) reuses
    rows whose inputs did not change (streams/core/frame_memo.py); the rows are the same either way."""
    aged, _, _ = aged_open_sla(live, day, now_ms)
    statuses = statuses or {}
    tz = settings.timezone
    with_time = {agent for agent, s in statuses.items() if has_time_on(s.get("history"), day, tz, now_ms)}
    names = sorted(known_agents | set(bucket["agents"]) | set(aged) | with_time)
    row = agent_row if memo is None else memo.agent_row
    counters = bucket["agents"]
    return {
        "shop_id": shop_id,
        "day": day,
        "agents": [row(agent, counters.get(agent, NO_COUNTERS), aged.get(agent, 0),
                       statuses.get(agent, NO_STATUS).get("history"), settings, day, now_ms)
                   for agent in names],
    }


def queued_starts(live: MergedLive, now_ms: int) -> list[int]:
    """Starts of the queue waits open at now (not abandoned: now − start ≤ window)."""
    return [start for start, _day, window_ms, _counted in live.queue if now_ms - start <= window_ms]


def abandoned_open_waits(live: MergedLive, day: str, now_ms: int) -> int:
    """Buyers whose open queue wait begun on `day` is abandoned at now and not yet counted that day."""
    return sum(1 for start, start_day, window_ms, counted in live.queue
               if start_day == day and not counted and now_ms - start > window_ms)


def summary_view(shop_id: str, day: str, bucket: Bucket, live: MergedLive, now_ms: int) -> dict[str, Any]:
    _, aged_groups, aged_team = aged_open_sla(live, day, now_ms)
    groups = set(bucket["groups"]) | set(aged_groups)
    return {
        "shop_id": shop_id,
        "day": day,
        "team": figures(bucket["team"], aged_team, team=True,
                        abandoned_open_waits=abandoned_open_waits(live, day, now_ms)),
        "groups": {g: figures(bucket["groups"].get(g, {}), aged_groups.get(g, 0)) for g in sorted(groups)},
    }


def live_view(
    shop_id: str, live: MergedLive, statuses: dict[str, dict[str, Any]], known_agents: set[str],
    settings: ShopSettings, now_ms: int, minute_buckets: dict[int, Bucket] | None = None,
    memo: FrameMemo | None = None,
) -> dict[str, Any]:
    """Live load per agent and for the team, and the staffing now-cast per group (a model: from the
    last 15 minutes' `minute_buckets`, streams/core/staffing.py). `memo`: as in agents_view."""
    names = sorted(known_agents | set(statuses) | set(live.activity) | set(live.pending)
                   | set(live.now["agents"]))
    row = live_row if memo is None else memo.live_row
    activity, pending, now_counters = live.activity, live.pending, live.now["agents"]
    agents = [row(agent, activity.get(agent, NO_TIMES), pending.get(agent, NO_TIMES),
                  statuses.get(agent, NO_STATUS), now_counters.get(agent, NO_COUNTERS), settings, now_ms)
              for agent in names]
    groups = group_nowcasts(minute_buckets or {}, agents, settings.group_of, now_ms, settings.sla_s,
                            settings.active_window_s, settings.max_concurrent)
    return {"shop_id": shop_id, "now": now_ms, "agents": agents,
            "team": {**team_live(agents, queued_starts(live, now_ms), now_ms), **state_now(live.now["team"])},
            "groups": groups}


UNPAID_ORDER_SORTS = ("age", "amount")


def unpaid_orders_view(shop_id: str, live: MergedLive, now_ms: int, sort: str = "age",
                       limit: int = 200) -> dict[str, Any]:
    """The 待催付 list: open unpaid orders (created, no deposit, no payment, no close, as they stand now;
    buyers in filter_buyers never), oldest first (sort="age", the larger first at one age) or largest first
    (sort="amount", the older first at one amount); `total` and `total_amount` are over all of them."""
    if sort not in UNPAID_ORDER_SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    entries = live.unpaid_orders
    if sort == "age":
        ordered = sorted(entries, key=lambda e: (e[3], -e[4], e[1], e[0]))
    else:
        ordered = sorted(entries, key=lambda e: (-e[4], e[3], e[1], e[0]))
    rows = [{"order_id": order_id, "buyer_id": buyer, "order_agent": agent or None, "created_ts": created_ts,
             "age_s": max(0, now_ms - created_ts) / 1000, "amount": amount_fen / 100, "chased": bool(chased)}
            for buyer, order_id, agent, created_ts, amount_fen, chased in ordered[:limit]]
    return {"shop_id": shop_id, "now": now_ms, "total": len(entries),
            "total_amount": sum(e[4] for e in entries) / 100, "orders": rows}


WAIT_REFRESH_MS = 1000  # a waiting buyer's wait grows continuously: screens see it once a second


def next_clock_change_ms(live: MergedLive, day: str, settings: ShopSettings, now_ms: int) -> int:
    """The earliest wall time after now_ms at which the clock alone, with no new event, changes a
    figure of agents_view, summary_view or live_view of `day` (the shop's day at now_ms):

    - while any buyer waits: WAIT_REFRESH_MS later (longest_wait_s grows all the time);
    - an open SLA clock of `day` runs out (sla_buyers, sla_rate): count_aged counts it from
      first_ts + sla_ms + 1;
    - a conversation leaves the active window (active_conversations): live_load counts activity ts
      while 0 <= now - ts <= window, so from ts (a ts ahead of now) until ts + window;
    - while a buyer is queued: WAIT_REFRESH_MS later (longest_queue_wait_s grows); a queue wait is
      abandoned at start + window + 1 (queued_now, queue_abandoned_buyers);
    - at the latest when the shop's day ends: the figures then start from the new day.
    """
    changes = [_day_end_ms(day, settings.timezone)]
    if any(live.pending.values()) or queued_starts(live, now_ms):
        changes.append(now_ms + WAIT_REFRESH_MS)
    for start, _day, window_ms, _counted in live.queue:
        changes.append(start + window_ms + 1)  # the wait is abandoned: queued_now, abandoned buyers change
    for _agent, entry_day, _group, first_ts, sla_ms in live.open_sla:
        if entry_day == day:
            changes.append(first_ts + sla_ms + 1)
    window_ms = settings.active_window_s * 1000
    for activity in live.activity.values():
        for ts in activity:
            changes.extend((ts, math.floor(ts + window_ms) + 1))
    return min((change for change in changes if change > now_ms), default=now_ms + WAIT_REFRESH_MS)


def _day_end_ms(day: str, timezone: str) -> int:
    start_of_next = datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(), ZoneInfo(timezone))
    return int(start_of_next.timestamp() * 1000)


def series_view(
    shop_id: str, agent_id: str | None, buckets: dict[int, Bucket], now_ms: int, minutes: int
) -> dict[str, Any]:
    if agent_id:
        counters = {m: b["agents"].get(agent_id, {}) for m, b in buckets.items()}
    else:
        counters = {m: b["team"] for m, b in buckets.items()}
    return {"shop_id": shop_id, "agent_id": agent_id, "now": now_ms, **series(counters, now_ms, minutes)}
