"""The benchmark's events: simulated Double-11 shop days (streams.tools.simulator), stamped like ingest does,
packed into envelopes exactly as the ingest API / the simulator's kafka sink pack them."""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from streams.tools.simulator.model import day_bounds, day_simulator
from streams.tools.simulator.sinks import _encode, group_envelopes

DAY = date(2026, 11, 11)  # a Double-11 day in the past (events may be at most 1 day ahead of now)
BATCH = 200  # events per ingest request (the simulator's default --batch)


@dataclass
class Dataset:
    events: list[dict[str, Any]]
    records: list[tuple[str, int, bytes, bytes]]  # (topic, partition, key, value) in send order
    shops: list[str]
    agents: int
    buyers: int

    @property
    def count(self) -> int:
        return len(self.events)


def day_start_ms(day: date) -> int:
    return day_bounds(day)[0]


def simulate(shops: int, agents: int, total: int, day: date = DAY, seed: int = 11,
             prefix: str = "bench") -> list[dict[str, Any]]:
    """`total` events of `shops` shops (each `agents` agents), the first hours of their Double-11 day
    (midnight surge first), merged in ts order; each stamped with settings_version 0 (the defaults),
    as the ingest API stamps them, so the worker counts them as processed."""
    per_shop = -(-total // shops)
    streams = []
    for i in range(shops):
        sim = day_simulator(shop_id=f"{prefix}-{i + 1}", agents=agents, seed=seed + i, day=day)
        # The day itself, from midnight: the simulator's presale history days before it (deposits) would
        # make the Quix peer's windows see days-old events, and the runs incomparable with earlier ones.
        start = day_start_ms(day)
        streams.append(itertools.islice((e for e in sim.events() if e["ts"] >= start), per_shop))
    merged = heapq.merge(*streams, key=lambda e: e["ts"])
    events = list(itertools.islice(merged, total))
    for event in events:
        event["settings_version"] = 0
    return events


def envelopes(events: list[dict[str, Any]], partitions: int, batch: int = BATCH) -> list[tuple[str, int, bytes, bytes]]:
    """One record per (topic, partition) of every `batch` events (what one ingest request produces)."""
    records = []
    for start in range(0, len(events), batch):
        for envelope in group_envelopes(events[start:start + batch], partitions):
            for key, value in _encode(envelope):
                records.append((envelope.topic, envelope.partition, key.encode(), value))
    return records


def build(shops: int, agents: int, total: int, partitions: int, prefix: str = "bench") -> Dataset:
    events = simulate(shops, agents, total, prefix=prefix)
    buyers = len({(e["shop_id"], e["buyer_id"]) for e in events if "buyer_id" in e})
    return Dataset(events, envelopes(events, partitions), sorted({e["shop_id"] for e in events}), agents * shops,
                   buyers)


def size_of(records: list[tuple[str, int, bytes, bytes]]) -> int:
    return sum(len(value) for _, _, _, value in records)


def dumps(events: list[dict[str, Any]]) -> bytes:
    return orjson.dumps(events)
