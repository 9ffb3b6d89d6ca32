"""The streaming engine run as a batch: events → partition processors → snapshots → views.

Exactly the code path of the workers and the API, minus Kafka, Faust and Redis: each event is a
one-event record of its buyer's partition, each partition exports its snapshot, and the views merge
them. Used by `kefu-pulse replay`, and by the tests against the independent oracle.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson

from streams.core.agent_time import days_with_time
from streams.core.catalogue import LIVE, scope_keys
from streams.core.events import AGENT_TYPES
from streams.core.figures import series_point
from streams.core.processor import (
    KEY_STATUS_HISTORY,
    PartitionProcessor,
    SourceRecord,
    agent_state,
    process_agent_events,
)
from streams.core.shop_settings import ShopSettings, parse_settings
from streams.core.snapshot import export_shop, merge_buckets, merge_live, merge_meta
from streams.core.topics import partition_for, topic_for_type
from streams.core.views import agents_view, live_view, summary_view, unpaid_orders_view

DAY_MS = 86_400_000


class StaticSettings:
    """One settings version for every shop (replays and tests)."""

    def __init__(self, settings: ShopSettings) -> None:
        self.settings = settings

    def latest_version(self, shop_id: str) -> int:
        return 1

    def get(self, shop_id: str, version: int) -> ShopSettings:
        return self.settings


def compute_batch(events: list[dict[str, Any]], settings: dict[str, Any] | None = None,
                  now_ms: int | None = None, partitions: int = 4) -> dict[str, Any]:
    """Every figure of one shop's events (arrival order). Same shape as tests/oracle.compute."""
    shop_settings = parse_settings(settings or {})
    source = StaticSettings(shop_settings)
    # Validation's "now" is far ahead: a replay validates recorded events, not live ones.
    processors = [PartitionProcessor(p, partitions, {}, source, clock=lambda: 2**62)
                  for p in range(partitions)]
    agent_store: dict[str, bytes] = {}
    offsets: dict[tuple[str, int], int] = defaultdict(int)
    shops = {e["shop_id"] for e in events}
    if len(shops) > 1:
        raise ValueError("compute_batch takes the events of one shop")
    shop_id = shops.pop() if shops else "shop"
    for event in events:
        owner = event.get("agent_id") if event["type"] in AGENT_TYPES else event["buyer_id"]
        key = f"{event['shop_id']}|{owner}"
        partition = partition_for(key, partitions)
        topic = topic_for_type(event["type"])
        record = SourceRecord(topic, partition, offsets[(topic, partition)], orjson.dumps(event))
        offsets[(topic, partition)] += 1
        if event["type"] in AGENT_TYPES:
            process_agent_events([record], partitions, agent_store, now_ms=2**62)
        else:
            result = processors[partition].process([record])
            if result.dead_letters:
                raise ValueError(f"invalid event: {result.dead_letters[0].reason}")
    watermark = max([e["ts"] for e in events], default=0)
    return figures_of(processors, agent_store, shop_id, shop_settings, watermark if now_ms is None else now_ms)


def figures_of(processors: list[PartitionProcessor], agent_store: dict[str, bytes], shop_id: str,
               shop_settings: ShopSettings, now: int) -> dict[str, Any]:
    """Every figure of one shop from its partitions' processors and agent records, at `now`."""
    agent_states = {key.partition("|")[2]: agent_state(raw) for key, raw in agent_store.items()}
    statuses = {agent: {"status": s["status"], "ts": s["ts"], "history": s[KEY_STATUS_HISTORY]}
                for agent, s in agent_states.items()}
    exports = [export_shop(p.tables.shop(shop_id), now, shop_settings.active_window_s, 2 * DAY_MS)
               for p in processors]
    live = merge_live([e.live for e in exports if e.live is not None])
    meta = merge_meta([e.meta for e in exports])
    known = meta["agents"] | set(statuses)

    result: dict[str, Any] = {"agents": {}, "team": {}, "groups": {}}
    status_days = {day for s in statuses.values()
                   for day in days_with_time(s["history"], shop_settings.timezone, now)}
    for day in sorted(meta["days"] | status_days):
        bucket = merge_buckets([e.days[day] for e in exports if day in e.days])
        agents = agents_view(shop_id, day, bucket, live, set(), shop_settings, now, statuses)["agents"]
        result["agents"][day] = {row.pop("agent_id"): row for row in agents}
        for row in result["agents"][day].values():
            row.pop("group")
        summary = summary_view(shop_id, day, bucket, live, now)
        result["team"][day] = summary["team"]
        result["groups"][day] = summary["groups"]
    live_payload = live_view(shop_id, live, statuses, known, shop_settings, now)
    result["live"] = {
        "agents": {row["agent_id"]: {k: row[k] for k in scope_keys(LIVE)} for row in live_payload["agents"]},
        "team": live_payload["team"],
    }
    # The 待催付 list, oldest first, without the clock-made age (the oracle's shape).
    result["unpaid_orders"] = [{k: v for k, v in row.items() if k != "age_s"}
                               for row in unpaid_orders_view(shop_id, live, now, "age", 10**9)["orders"]]
    minutes: dict[int, Any] = defaultdict(list)
    for export in exports:
        for minute, bucket in export.minutes.items():
            minutes[minute].append(bucket)
    merged_minutes = {m: merge_buckets(b) for m, b in minutes.items()}
    series_agents = {a for b in merged_minutes.values() for a in b["agents"]}
    result["series"] = {
        "team": _points(merged_minutes, None),
        "agents": {agent: _points(merged_minutes, agent) for agent in series_agents},
    }
    return result


def _points(buckets: dict[int, Any], agent: str | None) -> dict[int, dict[str, Any]]:
    """Series points of the minutes that have figures (the oracle's shape)."""
    points = {}
    for minute in sorted(buckets):
        counters = buckets[minute]["agents"].get(agent, {}) if agent else buckets[minute]["team"]
        if counters:
            point = series_point(minute, counters)
            del point["minute"]
            points[minute] = point
    return points
