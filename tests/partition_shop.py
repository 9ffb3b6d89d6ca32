"""A shop's partitions processed as the worker does it, in memory (tests of retention and checkpoints)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import orjson

from streams.core.checkpoint import JournaledStore
from streams.core.processor import PartitionProcessor, SourceRecord, process_agent_events
from streams.core.retention import Expiry, sweep
from streams.core.shop_settings import ShopSettings
from streams.core.topics import partition_for, topic_for_type
from streams.tools.engine import StaticSettings, figures_of
from streams.tools.simulator import day_simulator

PARTITIONS = 4
SHOP = "s"
SETTINGS = ShopSettings()  # inquiry_valid_days 2: a buyer silent for 3 days expires


class Shop:
    """One shop's partitions processed like the worker does it: journalled stores, agent records."""

    def __init__(self) -> None:
        self.settings = StaticSettings(SETTINGS)
        self.stores = [JournaledStore({}) for _ in range(PARTITIONS)]
        self.processors = [self.processor(p) for p in range(PARTITIONS)]
        self.agent_store: dict[str, bytes] = {}
        self.offsets: dict[tuple[str, int], int] = {}
        self.expired = 0

    def processor(self, partition: int) -> PartitionProcessor:
        return PartitionProcessor(partition, PARTITIONS, self.stores[partition], self.settings,
                                  cache_size=200, clock=lambda: 2**62)

    def process(self, events: list[dict[str, Any]]) -> None:
        batches: dict[int, list[SourceRecord]] = {p: [] for p in range(PARTITIONS)}
        for event in events:
            owner = event["agent_id"] if event["type"] == "agent.status" else event["buyer_id"]
            partition = partition_for(f"{SHOP}|{owner}", PARTITIONS)
            topic = topic_for_type(event["type"])
            offset = self.offsets.get((topic, partition), 0)
            self.offsets[(topic, partition)] = offset + 1
            if event["type"] == "agent.status":
                record = SourceRecord(topic, partition, offset, orjson.dumps(event))
                process_agent_events([record], PARTITIONS, self.agent_store, now_ms=2**62)
                continue
            batches[partition].append(SourceRecord(topic, partition, offset, orjson.dumps(event)))
        for partition, records in batches.items():
            for start in range(0, len(records), 200):
                self.processors[partition].process(records[start:start + 200])

    def expire(self, now: int) -> None:
        for processor, store in zip(self.processors, self.stores, strict=True):
            keys = [(key, raw) for key, raw in list(store.items()) if processor.belongs(key)]
            expiry: Expiry = sweep(processor.tables, store, keys, self.settings, lambda shop: now,
                                   processor.cached)
            for key, value in expiry.changed.items():
                if value is None:
                    processor.evict(key)
            self.expired += expiry.expired

    def records(self) -> int:
        return sum(1 for store in self.stores for key in store if not key.startswith("\x00"))

    def figures(self, processors: list[PartitionProcessor], now: int) -> dict[str, Any]:
        return figures_of(processors, self.agent_store, SHOP, SETTINGS, now)


def simulated_days(first: date, count: int, rate: float = 0.015) -> list[list[dict[str, Any]]]:
    """`count` consecutive simulated days of one shop; the same buyer ids come back on later days.
    Each day is its own simulator run, so event ids get the day's number (runs may reuse ids).
    Without agent.status: agent time comes from the agent records, which retention does not touch and
    which keep a bounded status history of their own (streams/core/agent_time.HISTORY_KEEP_MS), so the
    oracle's agent time of days long past is not theirs."""
    return [[{**event, "event_id": f"d{day}-{event['event_id']}"}
             for event in day_simulator(shop_id=SHOP, agents=5, seed=day, day=first + timedelta(days=day),
                                        rate=rate).events() if event["type"] != "agent.status"]
            for day in range(count)]
