"""Snapshots: what a worker exports of its partitions' tables, and how readers merge partitions.

Pure (the Redis I/O is streams/readside/snapshots.py). A worker exports, per (shop, partition), only
what changed: the changed rows (agent, group, team) of day buckets, minute buckets, the live facts and
a meta document (watermark, processed count, agents). Readers merge the partitions: counters add up
exactly because a buyer lives in exactly one partition.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from streams.core.agent_tables import Bucket, ShopTables
from streams.core.clock import minute_of
from streams.core.figures import add_counters

AGED_MINUTES_KEEP_MS = 2 * 3600 * 1000  # alert windows are at most an hour (streams/alerts)


@dataclass(slots=True)
class ShopExport:
    # Per day the rows of its bucket that changed since the last export (all of them in the first
    # export and after mark_all_dirty): a reader keeps each partition's rows and replaces those sent.
    days: dict[str, Bucket]
    minutes: dict[int, Bucket]
    dropped_minutes: list[int]
    live: dict[str, Any] | None
    meta: dict[str, Any]
    # Days sent whole (first export, after mark_all_dirty: a rebuild, Redis lost): a reader drops the
    # rows it has of them first, as a rebuilt bucket may lack a row an earlier owner had sent.
    whole_days: set[str] = field(default_factory=set)


def export_shop(tables: ShopTables, now_ms: int, active_window_s: float, keep_minutes_ms: int,
                with_live: bool = True) -> ShopExport:
    """Take what changed since the last export (and forget what no reader can need any more).

    with_live=False leaves the live facts for a later export (they stay dirty): export_live() walks
    every live buyer of the partition, so the exporter sends them less often than the counters."""
    dropped = tables.prune_minutes(now_ms - keep_minutes_ms)
    days, whole_days = tables.take_dirty_days()
    minutes = {minute: tables.minutes[minute] for minute in tables.dirty_minutes}
    live = export_live(tables, now_ms, active_window_s) if tables.dirty_live and with_live else None
    tables.dirty_minutes = set()
    if live is not None:
        tables.dirty_live = False
    if not tables.dirty_live:  # everything is in this export or an earlier one
        tables.exported_processed, tables.exported_watermark = tables.processed, tables.watermark
    meta = {"watermark": tables.exported_watermark, "processed": tables.exported_processed,
            "agents": sorted(tables.agents), "days": sorted(tables.days)}
    return ShopExport(days, minutes, dropped, live, meta, whole_days)


def export_live(tables: ShopTables, now_ms: int, active_window_s: float) -> dict[str, Any]:
    """Live facts of the partition's buyers, reduced to what readers need at any later "now".

    Readers' "now" is never earlier than ours, so activity older than the window and SLA clocks that
    have already run out are settled here (dropped, respectively counted), keeping the export small.
    """
    oldest_active = now_ms - active_window_s * 1000
    agents: dict[str, dict[str, list[int]]] = defaultdict(lambda: {"activity": [], "pending": []})
    open_sla: list[list[Any]] = []
    aged: dict[tuple[str, str, str], int] = defaultdict(int)
    aged_minutes: dict[tuple[str, int], int] = defaultdict(int)  # for alert windows: (agent, minute ran out)
    queue: list[list[Any]] = []  # open queue waits: [start, day, window ms, already counted as abandoned]
    idle, settled = [], []
    for buyer, (activity, pending, open_sla_clocks, queue_wait) in tables.live.items():
        active = False
        for agent, ts in activity:
            if ts >= oldest_active:
                agents[agent]["activity"].append(ts)
                active = True
        for agent, since in pending:
            agents[agent]["pending"].append(since)
        for entry in open_sla_clocks:
            if now_ms - entry.first_message_ts > entry.sla_ms:
                aged[(entry.agent, entry.day, entry.group)] += 1
                ran_out = entry.first_message_ts + entry.sla_ms + 1
                if ran_out >= now_ms - AGED_MINUTES_KEEP_MS:
                    aged_minutes[(entry.agent, minute_of(ran_out))] += 1
            else:
                open_sla.append([entry.agent, entry.day, entry.group, entry.first_message_ts, entry.sla_ms])
        if queue_wait is not None:
            # Kept even once abandoned: the day's queue_abandoned_buyers counts it at read time.
            queue.append(list(queue_wait))
        if not active and activity:
            (idle if not pending and not open_sla_clocks and queue_wait is None else settled).append(buyer)
    # Nothing of theirs is live any more (their next event brings them back), or only what waits.
    for buyer in idle:
        del tables.live[buyer]
    for buyer in settled:
        tables.live[buyer] = ((), *tables.live[buyer][1:])
    return {
        "agents": dict(agents),
        "now": {"agents": {agent: dict(c) for agent, c in tables.now["agents"].items() if c},
                "team": dict(tables.now["team"])},
        "unpaid_orders": [list(entry) for entry in tables.unpaid_orders],
        "open_sla": open_sla,
        "aged_sla": [[agent, day, group, count] for (agent, day, group), count in aged.items()],
        "aged_minutes": [[agent, minute, count] for (agent, minute), count in aged_minutes.items()],
        "queue": queue,
    }



# ---- reading: merge partitions -------------------------------------------------------------------


@dataclass(slots=True)
class MergedLive:
    activity: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    pending: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    open_sla: list[list[Any]] = field(default_factory=list)
    aged_sla: list[list[Any]] = field(default_factory=list)
    aged_minutes: list[list[Any]] = field(default_factory=list)  # (agent, minute ran out, count): alert windows
    queue: list[list[Any]] = field(default_factory=list)  # open queue waits (queue.OpenQueueWait as lists)
    now: dict[str, Any] = field(default_factory=lambda: {"agents": {}, "team": {}})  # "now" counters, summed
    # (buyer, order id, order agent or "", created ts, amount fen, chased 0/1): the open unpaid orders
    unpaid_orders: list[list[Any]] = field(default_factory=list)


def merge_buckets(buckets: list[Bucket]) -> Bucket:
    merged: Bucket = {"agents": {}, "groups": {}, "team": {}}
    for bucket in buckets:
        for table in ("agents", "groups"):
            for name, counters in bucket.get(table, {}).items():
                add_counters(merged[table].setdefault(name, {}), counters)
        add_counters(merged["team"], bucket.get("team", {}))
    return merged


def merge_live(lives: list[dict[str, Any]]) -> MergedLive:
    merged = MergedLive()
    for live in lives:
        for agent, facts in live.get("agents", {}).items():
            merged.activity[agent].extend(facts["activity"])
            merged.pending[agent].extend(facts["pending"])
        merged.open_sla.extend(live.get("open_sla", []))
        merged.aged_sla.extend(live.get("aged_sla", []))
        merged.aged_minutes.extend(live.get("aged_minutes", []))
        merged.queue.extend(live.get("queue", []))
        now = live.get("now", {})
        for agent, counters in now.get("agents", {}).items():
            add_counters(merged.now["agents"].setdefault(agent, {}), counters)
        add_counters(merged.now["team"], now.get("team", {}))
        merged.unpaid_orders.extend(live.get("unpaid_orders", []))
    return merged


def merge_meta(metas: list[dict[str, Any]]) -> dict[str, Any]:
    agents: set[str] = set()
    days: set[str] = set()
    for meta in metas:
        agents.update(meta.get("agents", []))
        days.update(meta.get("days", []))
    return {
        "watermark": max((m.get("watermark", 0) for m in metas), default=0),
        "processed": sum(m.get("processed", 0) for m in metas),
        "agents": agents,
        "days": days,
    }
