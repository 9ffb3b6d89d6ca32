"""Processing one batch of Kafka records of one partition: decode → validate → buyer records → facts.

No Faust and no I/O here: the Faust agent (streams/app.py) feeds batches and writes the changed
records to the table changelog; the batch engine (streams/engine.py) and replays use it directly.
Costs are paid per batch: each buyer touched is derived once per batch, whatever its event count.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from streams.agent_tables import PartitionTables
from streams.buyer_state import BuyerRecord, Outcome, apply
from streams.events import InvalidEvent, parse_event
from streams.facts import BuyerFacts, derive
from streams.shop_settings import ShopSettings
from streams.topics import partition_for, topic_for_type


class SettingsSource(Protocol):
    def latest_version(self, shop_id: str) -> int: ...
    def get(self, shop_id: str, version: int) -> ShopSettings: ...


@dataclass(frozen=True, slots=True)
class SourceRecord:
    topic: str
    partition: int
    offset: int
    value: bytes | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    index: int | None  # the event's index inside an envelope (None: the whole record)
    reason: str
    value: bytes | None

    def to_json(self) -> bytes:
        return orjson.dumps({
            "topic": self.topic, "partition": self.partition, "offset": self.offset, "index": self.index,
            "reason": self.reason, "value": (self.value or b"").decode("utf-8", "backslashreplace"),
        })


@dataclass(slots=True)
class BatchResult:
    changed: dict[str, bytes] = field(default_factory=dict)  # store key → new record bytes
    dead_letters: list[DeadLetter] = field(default_factory=list)
    applied: int = 0
    duplicates: int = 0
    replayed: int = 0


def decode_record(record: SourceRecord, partitions: int, now_ms: int | None = None,
                  ) -> tuple[list[tuple[int, Any]], list[DeadLetter]]:
    """The valid events of a record (single event or envelope) with their index, and the bad ones."""
    def dead(index: int | None, reason: str) -> DeadLetter:
        return DeadLetter(record.topic, record.partition, record.offset, index, reason, record.value)

    try:
        decoded = orjson.loads(record.value or b"")
    except orjson.JSONDecodeError as exc:
        return [], [dead(None, f"not valid JSON: {exc}")]
    items = decoded if isinstance(decoded, list) else [decoded]
    if not items:
        return [], [dead(None, "empty envelope")]
    events, bad = [], []
    for index, item in enumerate(items):
        try:
            event = parse_event(item, now_ms)
        except InvalidEvent as exc:
            bad.append(dead(index, f"{exc.field}: {exc.error}"))
            continue
        if topic_for_type(event.type) != record.topic:
            bad.append(dead(index, f"type: {event.type} does not belong on topic {record.topic}"))
            continue
        expected = partition_for(event.key, partitions)
        if expected != record.partition:
            bad.append(dead(index, f"key {event.key!r} belongs to partition {expected}, "
                                   f"not {record.partition}"))
            continue
        events.append((index, event))
    return events, bad


class PartitionProcessor:
    """Buyer records and agent tables of one partition of chat-events/order-events."""

    def __init__(self, partition: int, partitions: int, store: MutableMapping[str, bytes],
                 settings: SettingsSource, facts_cache_size: int = 50_000,
                 clock: Callable[[], int | None] = lambda: None) -> None:
        self.partition = partition
        self.partitions = partitions
        self.store = store
        self.settings = settings
        self.tables = PartitionTables()
        self.clock = clock  # validation's "now" (None: wall clock)
        self._facts: OrderedDict[str, BuyerFacts] = OrderedDict()
        self._facts_cache_size = facts_cache_size

    def _settings_for(self, shop_id: str) -> Callable[[int], ShopSettings]:
        return lambda version: self.settings.get(shop_id, version)

    def _old_facts(self, key: str, shop_id: str, record: BuyerRecord | None) -> BuyerFacts | None:
        facts = self._facts.pop(key, None)
        if facts is None and record is not None:
            facts = derive(record.timeline, self._settings_for(shop_id))
        return facts

    def _remember(self, key: str, facts: BuyerFacts) -> None:
        self._facts[key] = facts
        if len(self._facts) > self._facts_cache_size:
            self._facts.popitem(last=False)

    def process(self, records: list[SourceRecord]) -> BatchResult:
        result = BatchResult()
        touched: dict[str, tuple[str, str, BuyerRecord, BuyerRecord | None]] = {}
        now_ms = self.clock()
        for source in records:
            events, bad = decode_record(source, self.partitions, now_ms)
            result.dead_letters.extend(bad)
            for index, event in events:
                key = event.key
                entry = touched.get(key)
                if entry is None:
                    raw = self.store.get(key)
                    before = BuyerRecord.from_bytes(raw) if raw is not None else None
                    record = BuyerRecord.from_bytes(raw) if raw is not None else BuyerRecord()
                    entry = touched[key] = (event.shop_id, event.buyer_id or "", record, before)
                version = event.settings_version
                if version is None:  # straight to Kafka, not through ingest: the newest settings known
                    version = self.settings.latest_version(event.shop_id)
                outcome = apply(entry[2], event, version, self.settings.get(event.shop_id, version),
                                source.topic, (source.offset, index))
                if outcome is Outcome.APPLIED:
                    result.applied += 1
                elif outcome is Outcome.DUPLICATE:
                    result.duplicates += 1
                else:
                    result.replayed += 1
        for shop_id, _, record, _ in touched.values():
            for version in {event.settings_version for event in record.timeline}:
                self.settings.get(shop_id, version)  # a settings read that fails, fails before any change
        for key, (shop_id, buyer_id, record, before) in touched.items():
            if before is not None and record.applied_through == before.applied_through:
                continue  # every event was a replay: nothing changed
            tables = self.tables.shop(shop_id)
            tables.processed += record.ingest_events - (before.ingest_events if before else 0)
            if before is None or len(record.timeline) != len(before.timeline):
                new_facts = derive(record.timeline, self._settings_for(shop_id))
                tables.replace(buyer_id, self._old_facts(key, shop_id, before), new_facts)
                self._remember(key, new_facts)
            tables.dirty_live = True  # processed count changed at least
            data = record.to_bytes()
            self.store[key] = data
            result.changed[key] = data
        return result

    def rebuild(self) -> None:
        """Rebuild the agent tables from the buyer records (after recovery or a rebalance)."""
        self.tables = PartitionTables()
        self._facts.clear()
        for key, raw in list(self.store.items()):
            if partition_for(key, self.partitions) != self.partition:
                continue
            shop_id, _, buyer_id = key.partition("|")
            record = BuyerRecord.from_bytes(raw)
            facts = derive(record.timeline, self._settings_for(shop_id))
            tables = self.tables.shop(shop_id)
            tables.replace(buyer_id, None, facts)
            tables.processed += record.ingest_events
        for tables in self.tables.shops.values():
            tables.mark_all_dirty()


@dataclass(slots=True)
class AgentStatusResult:
    changed: dict[str, bytes] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)


def agent_state(raw: bytes | None) -> dict[str, Any]:
    """An agent's record: last status by ts, ids applied, last Kafka position, ingest events seen."""
    return orjson.loads(raw) if raw else {"status": None, "ts": 0, "ids": [], "at": None, "n": 0}


def process_agent_events(records: list[SourceRecord], partitions: int, store: MutableMapping[str, bytes],
                         now_ms: int | None = None) -> AgentStatusResult:
    """agent.status events: the agent's last status by ts, deduplicated by event id."""
    result = AgentStatusResult()
    for source in records:
        events, bad = decode_record(source, partitions, now_ms)
        result.dead_letters.extend(bad)
        for index, event in events:
            key = event.key
            state = agent_state(result.changed.get(key) or store.get(key))
            position = [source.offset, index]
            if state["at"] is not None and position <= state["at"]:
                continue  # a replay of a record applied before
            state["at"] = position
            state["n"] += event.settings_version is not None
            if event.event_id not in state["ids"]:
                state["ids"] = [*state["ids"][-999:], event.event_id]
                if event.ts >= state["ts"]:
                    state["status"], state["ts"] = event.status, event.ts
            data = orjson.dumps(state)
            store[key] = data
            result.changed[key] = data
    return result
