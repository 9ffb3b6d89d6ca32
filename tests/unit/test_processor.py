"""The partition processor: settings versions, dead letters, replays of whole batches."""

from __future__ import annotations

import itertools
import tracemalloc
from datetime import date

import orjson

from streams.core.processor import PartitionProcessor, SourceRecord, process_agent_events
from streams.core.shop_settings import ShopSettings
from streams.core.topics import partition_for, topic_for_type
from streams.tools.simulator import day_simulator

T = 1_794_362_400_000
PARTITIONS = 4
KEY = "s|b1"
P = partition_for(KEY, PARTITIONS)


class Versions:
    """Version 0: defaults; version 1 (the newest): "在吗" is a filter phrase."""

    settings = {0: ShopSettings(), 1: ShopSettings(filter_phrases=frozenset({"在吗"}))}

    def latest_version(self, shop_id: str) -> int:
        return 1

    def get(self, shop_id: str, version: int) -> ShopSettings:
        return self.settings[version]


def record(offset: int, *events: dict, partition: int = P) -> SourceRecord:
    return SourceRecord("chat-events", partition, offset, orjson.dumps(list(events)))


def hello(event_id: str, version: int | None) -> dict:
    event = {"event_id": event_id, "shop_id": "s", "type": "chat.message", "ts": T, "buyer_id": "b1",
             "agent_id": "A", "sender": "buyer", "text": "在吗"}
    return event if version is None else {**event, "settings_version": version}


def counters(processor: PartitionProcessor) -> dict:
    return processor.tables.shop("s").days["2026-11-11"]["agents"]["A"]


def test_version_zero_is_a_version_not_a_missing_one() -> None:
    processor = PartitionProcessor(P, PARTITIONS, {}, Versions(), clock=lambda: T)
    processor.process([record(0, hello("e1", 0))])
    assert counters(processor).get("received") == 1  # defaults: not a filter phrase
    other = PartitionProcessor(P, PARTITIONS, {}, Versions(), clock=lambda: T)
    other.process([record(0, hello("e1", None))])  # straight to Kafka: the newest settings
    assert counters(other).get("received") is None


def test_bad_events_become_dead_letters_and_the_rest_is_processed() -> None:
    processor = PartitionProcessor(P, PARTITIONS, {}, Versions(), clock=lambda: T)
    result = processor.process([
        SourceRecord("chat-events", P, 0, b"{oops"),
        record(1, hello("e1", 0), {**hello("e2", 0), "sender": "boss"}),
        record(2, hello("e3", 0), partition=(P + 1) % PARTITIONS),
    ])
    assert [(d.offset, d.index) for d in result.dead_letters] == [(0, None), (1, 1), (2, 0)]
    assert "belongs to partition" in result.dead_letters[2].reason
    assert result.applied == 1


def test_a_replayed_batch_changes_nothing() -> None:
    store: dict[str, bytes] = {}
    processor = PartitionProcessor(P, PARTITIONS, store, Versions(), clock=lambda: T)
    batch = [record(0, hello("e1", 0)), record(1, {**hello("e2", 0), "sender": "agent", "ts": T + 5000})]
    processor.process(batch)
    before = (dict(store), repr(processor.tables.shop("s").days))
    result = processor.process(batch)
    # Nothing changes; the record is sent to the changelog again as it is (the store may be ahead of it).
    assert result.replayed == 2 and result.changed == {KEY: store[KEY]}
    assert (dict(store), repr(processor.tables.shop("s").days)) == before
    rebuilt = PartitionProcessor(P, PARTITIONS, store, Versions(), clock=lambda: T)
    rebuilt.rebuild()
    assert rebuilt.tables.shop("s").days == processor.tables.shop("s").days


def _partition_of_simulated_day(partition: int, events: int) -> list[SourceRecord]:
    """Records (one event each) of one partition of a deterministic simulated Double-11 start."""
    simulated = day_simulator(shop_id="s", agents=12, seed=3, day=date(2025, 11, 11)).events()
    mine = [e for e in itertools.islice(simulated, events)
            if e["type"] != "agent.status" and partition_for(f"s|{e['buyer_id']}", PARTITIONS) == partition]
    return [SourceRecord(topic_for_type(e["type"]), partition, offset, orjson.dumps(e))
            for offset, e in enumerate(mine)]


def test_a_small_buyer_cache_bounds_memory_and_changes_no_figure() -> None:
    """Buyers evicted from the decoded cache are taken back from their stored record: same figures."""
    records = _partition_of_simulated_day(P, 24_000)  # the simulator also sends chat.queued
    settings = Versions()
    roomy = PartitionProcessor(P, PARTITIONS, {}, settings, clock=lambda: 2**62)
    tight_store: dict[str, bytes] = {}
    tight = PartitionProcessor(P, PARTITIONS, tight_store, settings, cache_size=20, clock=lambda: 2**62)
    for start in range(0, len(records), 50):
        roomy.process(records[start:start + 50])
        tight.process(records[start:start + 50])
    assert len(tight_store) > 500  # many more buyers than the cache holds
    assert len(tight._buyers) <= 20
    assert tight.tables.shop("s").days == roomy.tables.shop("s").days
    assert tight.tables.shop("s").minutes == roomy.tables.shop("s").minutes


def test_the_buyer_cache_forgets_the_least_recently_touched_first() -> None:
    """A buyer touched again counts as new: when the cache overflows, the buyers touched longest ago go."""
    keys = [f"s|b{n}" for n in range(200)]
    mine = [key for key in keys if partition_for(key, PARTITIONS) == P][:17]
    processor = PartitionProcessor(P, PARTITIONS, {}, Versions(), cache_size=16, clock=lambda: 2**62)

    def touch(offset: int, key: str) -> None:
        event = {**hello(f"e{offset}", 0), "buyer_id": key.partition("|")[2]}
        processor.process([record(offset, event)])

    for offset, key in enumerate(mine[:16]):
        touch(offset, key)
    touch(16, mine[0])  # the oldest becomes the newest
    touch(17, mine[16])  # one too many: evicts down to 15, oldest first
    kept = [key for key in mine if processor.cached(key) is not None]
    assert kept == [mine[0], *mine[3:]]
    assert list(processor._buyers) == [*mine[3:16], mine[0], mine[16]]


def test_stored_records_own_only_their_bytes() -> None:
    """orjson ≥ 3.12 returns bytes keeping a 4 KB+ buffer; kept per buyer, that was most of the worker's
    memory (10-minute soak: 130 → 834 MB). Stored records must be right-sized."""
    records = _partition_of_simulated_day(P, 3_000)
    tracemalloc.start()
    try:
        store: dict[str, bytes] = {}
        PartitionProcessor(P, PARTITIONS, store, Versions(), clock=lambda: 2**62).process(records)
        snapshot = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, "*buyer_state.py")])
    finally:
        tracemalloc.stop()
    kept = sum(stat.size for stat in snapshot.statistics("filename"))
    assert len(store) > 50
    assert kept < 2 * sum(len(value) + 64 for value in store.values())


def test_a_replayed_agent_status_is_sent_again_unchanged() -> None:
    """The local store (RocksDB) can be ahead of the changelog after a crash: a replay re-sends the record."""
    key = "s|A"
    partition = partition_for(key, PARTITIONS)
    status = {"event_id": "st1", "shop_id": "s", "type": "agent.status", "ts": T, "agent_id": "A", "status": "busy"}
    batch = [SourceRecord("agent-events", partition, 0, orjson.dumps(status))]
    store: dict[str, bytes] = {}
    first = process_agent_events(batch, PARTITIONS, store, now_ms=T)
    before = dict(store)
    again = process_agent_events(batch, PARTITIONS, store, now_ms=T)
    assert again.changed == first.changed == before
    assert store == before and orjson.loads(store[key])["n"] == 0
