"""Day buckets are exported row by row: an export carries only the agent, group and team rows that
changed since the last one, and a reader holding every row sent so far (the Redis hash of
streams/readside/snapshots.py) has exactly the worker's bucket. So a 1,200-agent shop's export costs
what changed, not the whole bucket."""

from __future__ import annotations

from collections import defaultdict

from bench.dataset import build
from streams.core.processor import PartitionProcessor, SourceRecord
from streams.core.shop_settings import DEFAULT_SETTINGS
from streams.core.snapshot import export_shop
from streams.core.topics import AGENT_EVENTS
from streams.readside.snapshots import bucket_from_fields, day_fields
from streams.tools.engine import StaticSettings

PARTITIONS = 4
DAY_MS = 86_400_000


def test_exports_carry_changed_rows_and_readers_rebuild_the_buckets() -> None:
    data = build(1, 40, 4000, PARTITIONS, prefix="rows")
    processors = [PartitionProcessor(p, PARTITIONS, {}, StaticSettings(DEFAULT_SETTINGS), clock=lambda: 2**62)
                  for p in range(PARTITIONS)]
    hashes: dict[tuple[int, str], dict[str, bytes]] = defaultdict(dict)  # (partition, day) → the day's hash
    offsets: dict[tuple[str, int], int] = defaultdict(int)
    partial_exports = 0
    for start in range(0, len(data.records), 16):
        for topic, partition, _, value in data.records[start:start + 16]:
            if topic == AGENT_EVENTS:
                continue
            offset = offsets[(topic, partition)]
            offsets[(topic, partition)] += 1
            processors[partition].process([SourceRecord(topic, partition, offset, value)])
        for processor in processors:
            for tables in processor.tables.shops.values():
                export = export_shop(tables, tables.watermark, 600, DAY_MS)
                for day, rows in export.days.items():
                    bucket = tables.days[day]
                    if day in export.whole_days:
                        hashes[(processor.partition, day)].clear()
                    if len(rows["agents"]) < len(bucket["agents"]):
                        partial_exports += 1
                    # Only changed rows, each as the worker has it now.
                    for table in ("agents", "groups"):
                        assert all(rows[table][name] is bucket[table][name] for name in rows[table])
                    hashes[(processor.partition, day)].update(day_fields(rows))
    assert partial_exports > 0, "every export sent whole buckets"
    checked = 0
    for processor in processors:
        for tables in processor.tables.shops.values():
            for day, bucket in tables.days.items():
                rebuilt = bucket_from_fields(hashes[(processor.partition, day)])
                assert rebuilt == bucket
                checked += 1
    assert checked


def test_mark_all_dirty_sends_whole_buckets() -> None:
    data = build(1, 12, 600, PARTITIONS, prefix="whole")
    processor = PartitionProcessor(0, PARTITIONS, {}, StaticSettings(DEFAULT_SETTINGS), clock=lambda: 2**62)
    records = [SourceRecord(t, p, i, v) for i, (t, p, _, v) in enumerate(data.records) if p == 0 and t != AGENT_EVENTS]
    processor.process(records)
    tables = next(iter(processor.tables.shops.values()))
    export_shop(tables, tables.watermark, 600, DAY_MS)
    assert export_shop(tables, tables.watermark, 600, DAY_MS).days == {}
    tables.mark_all_dirty()
    whole = export_shop(tables, tables.watermark, 600, DAY_MS)
    assert whole.days == tables.days
    assert whole.whole_days == set(tables.days)  # the reader replaces these days' rows
    tables.mark_all_dirty()
    export_shop(tables, tables.watermark, 600, DAY_MS)
    assert not export_shop(tables, tables.watermark, 600, DAY_MS).whole_days


def test_a_pruned_minute_comes_back_fresh_and_dirty() -> None:
    """The tables resolve each scope's counters once; a minute dropped by prune_minutes must not keep
    its old counters (a late event for it starts a new bucket, and the export sends it)."""
    from streams.core.agent_tables import ShopTables
    from streams.core.facts import BuyerLive
    from streams.core.scopes import SCOPE_AGENT_DAY, SCOPE_AGENT_MINUTE

    tables = ShopTables()
    minute = 1_795_000_020_000
    deltas = [((SCOPE_AGENT_MINUTE, minute, "A"), "buyer_messages", 2), ((SCOPE_AGENT_DAY, "2026-11-11", "A"),
                                                                          "buyer_messages", 2)]
    tables.apply("b1", deltas, BuyerLive(), minute)
    export_shop(tables, minute, 600, DAY_MS)
    assert tables.prune_minutes(minute + 1) == [minute]
    tables.apply("b1", [((SCOPE_AGENT_MINUTE, minute, "A"), "buyer_messages", 1)], BuyerLive(), minute)
    assert tables.minutes[minute]["agents"]["A"] == {"buyer_messages": 1}
    assert minute in tables.dirty_minutes
    # A day scope resolved before keeps marking its row.
    tables.apply("b1", [((SCOPE_AGENT_DAY, "2026-11-11", "A"), "buyer_messages", 1)], BuyerLive(), minute)
    assert export_shop(tables, minute, 600, 10**12).days == {"2026-11-11": {
        "agents": {"A": {"buyer_messages": 3}}, "groups": {}}}
