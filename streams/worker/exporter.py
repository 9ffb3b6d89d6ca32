"""Exporting the worker's agent tables to Redis: changed figures only, per shop at most every
`export_interval_s`, each (shop, partition) in one transaction followed by a pub/sub notice."""

from __future__ import annotations

import gc
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

import orjson
from redis.exceptions import RedisError

from streams.config import Config
from streams.core.buyer_state import KEY_INGEST_EVENTS
from streams.core.clock import now_ms, today
from streams.core.curves import minute_of_day, sample
from streams.core.processor import KEY_STATUS_HISTORY, PartitionProcessor, agent_state
from streams.core.snapshot import export_shop
from streams.readside.keys import agent_meta_key, exported_marker_key, status_key
from streams.readside.settings_store import SettingsCache
from streams.readside.snapshots import announce_export, write_export
from streams.worker.catch_up import export_interval

log = logging.getLogger(__name__)
SERIES_KEEP_MS = 25 * 3600 * 1000  # the series shows 24 h; keep an hour more for late events
# Live facts (activity, pending clocks, open SLA clocks) at most this often per shop and partition:
# building them walks every live buyer of the partition, and no screen shows them more often (the
# API's frames are at most every 0.5 s). Counters and meta go every config.export_interval_s.
LIVE_EXPORT_INTERVAL_S = 0.5
# ... and never more than this share of the worker's time, all its shops and partitions together: with
# very many buyers inside the active window the walk grows, and the live gauges then refresh less often
# rather than the pipeline falling behind.
LIVE_EXPORT_CPU_SHARE = 0.1
# ... but a pair's live facts (and with them its processed count: the meta's count waits for them) are
# never held back longer than this, whatever one export measured.
LIVE_EXPORT_MAX_WAIT_S = 5.0


def next_live_export(now: float, cost: float, live_pairs: int) -> float:
    """When a (shop, partition)'s live facts may be exported again after an export that took `cost` s of
    CPU: not before LIVE_EXPORT_INTERVAL_S, and each of the worker's `live_pairs` (shop, partition) pairs
    with live facts waits cost × live_pairs ÷ LIVE_EXPORT_CPU_SHARE, so that together (the sum of
    cost ÷ wait over the pairs) they spend at most the share. Paced per pair alone, a worker owning the 8
    partitions of one large shop could spend 8 × the share. Never later than LIVE_EXPORT_MAX_WAIT_S."""
    wait = max(LIVE_EXPORT_INTERVAL_S, cost * max(1, live_pairs) / LIVE_EXPORT_CPU_SHARE)
    return now + min(LIVE_EXPORT_MAX_WAIT_S, wait)


class _GcPauses:
    """Seconds the garbage collector has spent in this process so far (a gc callback). A collection that
    starts inside an export is no cost of the export: with a large heap one takes 0.3–0.5 s, which
    multiplied by a worker's 32 pairs ÷ 10 % once held a pair's live facts back for minutes."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = perf_counter()
        else:
            self.seconds += perf_counter() - self._started


GC_PAUSES = _GcPauses()
gc.callbacks.append(GC_PAUSES)


def cpu_mark() -> tuple[float, float]:
    """Now, for export_cpu_since: this thread's CPU time and the collector's pauses so far."""
    return time.thread_time(), GC_PAUSES.seconds


def export_cpu_since(mark: tuple[float, float]) -> float:
    """The CPU time this thread spent since `mark`, the collector's pauses left out."""
    cpu, pauses = mark
    return max(0.0, time.thread_time() - cpu - (GC_PAUSES.seconds - pauses))


def pairs_with_live_facts(processors: Iterable[PartitionProcessor]) -> int:
    """The worker's (shop, partition) pairs that have live facts: next_live_export's `live_pairs`."""
    return sum(1 for processor in processors for tables in processor.tables_as_derived().shops.values()
               if tables.live)


@dataclass(slots=True)
class AgentPartition:
    """Agent statuses of one agent-events partition (from the agents table)."""

    states: dict[str, dict[str, Any]] = field(default_factory=dict)  # "shop|agent" → state
    dirty_shops: set[str] = field(default_factory=set)
    # The agents whose status entry must be written again: each carries its status history, so an
    # export writes only the changed ones.
    dirty_agents: set[str] = field(default_factory=set)  # "shop|agent"

    def update(self, key: str, raw: bytes) -> None:
        self.states[key] = agent_state(raw)
        self.dirty_shops.add(key.partition("|")[0])
        self.dirty_agents.add(key)

    def mark_all_dirty(self) -> None:
        self.dirty_shops |= {key.partition("|")[0] for key in self.states}
        self.dirty_agents |= set(self.states)

    def shop_states(self, shop: str) -> dict[str, dict[str, Any]]:
        prefix = f"{shop}|"
        return {k[len(prefix):]: s for k, s in self.states.items() if k.startswith(prefix)}


class Exporter:
    def __init__(self, redis: Any, config: Config, settings: SettingsCache) -> None:
        self.redis = redis
        self.config = config
        self.settings = settings
        self._last_export: dict[tuple[int, str], float] = {}
        self._next_live: dict[tuple[int, str], float] = {}
        self._curve_minutes: dict[tuple[int, str], tuple[str, int]] = {}  # last curve sample's (day, minute)
        self._marker = exported_marker_key(uuid.uuid4().hex)
        self._marker_checked = 0.0
        self._registered: set[str] = set()  # shops this exporter put in the set of shops (SHOPS_KEY)

    async def _redis_kept_our_exports(self) -> bool:
        """False when Redis lost what we wrote (restarted empty, flushed): then export everything again.

        A marker key is written with our first export; its absence later means the data went with it.
        Checked about once a second."""
        now = time.monotonic()
        if now - self._marker_checked < 1.0:
            return True
        self._marker_checked = now
        kept = bool(await self.redis.exists(self._marker))
        if not kept:
            self._registered.clear()  # the set of shops went with the rest
            await self.redis.set(self._marker, b"1", ex=7 * 86_400)
        return kept

    def _now_ms(self, watermark: int) -> int:
        return now_ms(self.config.clock, watermark)

    async def export(
        self, processors: dict[int, PartitionProcessor], agents: dict[int, AgentPartition],
        records_waiting: dict[int, int] | None = None,
    ) -> int:
        """Export what changed; returns the number of (shop, partition) exports written.
        `records_waiting`: per buyer partition, its backlog (kafka_positions.backlog_by_partition)."""
        written = 0
        waiting = records_waiting or {}
        if not await self._redis_kept_our_exports():
            for processor in processors.values():
                for tables in processor.tables_as_derived().shops.values():
                    tables.mark_all_dirty()
            for agent_partition in agents.values():
                agent_partition.mark_all_dirty()
        now = time.monotonic()
        live_pairs = pairs_with_live_facts(processors.values())
        for partition, processor in list(processors.items()):
            interval = export_interval(self.config.export_interval_s, waiting.get(partition, 0))
            # process() makes a shop's tables before any of its buyers waits, so every shop to settle is here
            # (tests/unit/test_settle.py checks it).
            for shop in list(processor.tables_as_derived().shops):
                if now - self._last_export.get((partition, shop), 0) < interval:
                    continue
                processor.settle(shop)
                tables = processor.tables_as_derived().shop(shop)
                if not tables.dirty:
                    continue
                live_due = now >= self._next_live.get((partition, shop), 0)
                if not (tables.dirty_days or tables.dirty_minutes or live_due):
                    continue  # only live facts changed, and they are not due yet
                settings = self.settings.get(shop, self.settings.latest_version(shop))
                started = cpu_mark()  # CPU time: other processes on the machine must not count
                export_now = self._now_ms(tables.watermark)
                export = export_shop(tables, export_now, settings.active_window_s,
                                     SERIES_KEEP_MS, with_live=live_due)
                day = today(export_now, settings)  # the headline curve samples the current day only
                curve = None
                if day in export.days:
                    minute = minute_of_day(export_now, settings.timezone)
                    renew = self._curve_minutes.get((partition, shop)) != (day, minute)
                    self._curve_minutes[(partition, shop)] = (day, minute)
                    curve = (day, minute, sample(export.days[day]["team"]), renew)
                cost = export_cpu_since(started)
                try:
                    await write_export(self.redis, shop, partition, export, curve,
                                       register=shop not in self._registered)
                    self._registered.add(shop)
                except RedisError:
                    tables.mark_all_dirty()  # Redis lost it or never got it: send everything again
                    raise
                self._last_export[(partition, shop)] = now
                if export.live is not None:
                    self._next_live[(partition, shop)] = next_live_export(now, cost, live_pairs)
                written += 1
        for partition, agent_partition in list(agents.items()):
            for shop in list(agent_partition.dirty_shops):
                # Not dirty from here on: a status applied while this export awaits Redis marks it again
                # (discarding after the await lost such changes until the shop's next status event).
                agent_partition.dirty_shops.discard(shop)
                states = agent_partition.shop_states(shop)
                changed = {agent for agent in states if f"{shop}|{agent}" in agent_partition.dirty_agents}
                agent_partition.dirty_agents -= {f"{shop}|{agent}" for agent in changed}
                pipe = self.redis.pipeline(transaction=True)
                statuses = {agent: orjson.dumps({"status": s["status"], "ts": s["ts"],
                                                 "history": s[KEY_STATUS_HISTORY]})
                            for agent, s in states.items() if s["status"] is not None and agent in changed}
                if statuses:
                    pipe.hset(status_key(shop), mapping=statuses)
                pipe.set(agent_meta_key(shop, partition), orjson.dumps({
                    "processed": sum(s[KEY_INGEST_EVENTS] for s in states.values()),
                    "watermark": max((s["ts"] for s in states.values()), default=0),
                    "agents": sorted(states),
                }))
                try:
                    await pipe.execute()
                    await announce_export(self.redis, shop, register=shop not in self._registered)
                    self._registered.add(shop)
                except RedisError:
                    agent_partition.dirty_shops.add(shop)
                    agent_partition.dirty_agents |= {f"{shop}|{agent}" for agent in changed}
                    raise
                written += 1
        return written
