"""The worker's code path in one process, without Kafka, Faust or Redis: envelopes → decode/validate →
buyer records → facts → agent tables → snapshot exports (serialised as write_export would send them).

Batches are taken like the Faust agent takes them (`batch` records across all partitions, grouped per
partition; BATCH_MAX while a partition is catching up, as streams/worker/catch_up.py's longer wait fills
them), exports run like the exporter's timer (each shop/partition at most every
export_interval_s of run time, or every CATCH_UP_EXPORT_INTERVAL_S while more than CATCH_UP_RECORDS
records of its partition are still to come; settled first; live facts every 0.5 s and at most 10 % of
the CPU for all partitions together, as the exporter paces them). Used for profiling
(`python -m bench.offline --profile`) and for the cost-growth table (state size and throughput with
1×, 10×, 100× buyers and agents).
"""

from __future__ import annotations

import argparse
import gc
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import orjson

from streams.config import Config
from streams.core.processor import PartitionProcessor, SourceRecord, process_agent_events
from streams.core.shop_settings import DEFAULT_SETTINGS
from streams.core.snapshot import ShopExport, export_shop
from streams.core.topics import AGENT_EVENTS
from streams.tools.engine import StaticSettings
from streams.worker.catch_up import BATCH_MAX, catching_up, export_interval
from streams.worker.exporter import (
    SERIES_KEEP_MS,
    cpu_mark,
    export_cpu_since,
    next_live_export,
    pairs_with_live_facts,
)
from streams.worker.main import GC_THRESHOLDS

EXPORT_INTERVAL_S = Config().export_interval_s  # as the worker's exporter (counters; live facts every 0.5 s)


def export_bytes(export: ShopExport) -> int:
    """What write_export serialises for one (shop, partition) export."""
    size = sum(len(orjson.dumps(bucket)) for bucket in export.days.values())
    size += sum(len(orjson.dumps(bucket)) for bucket in export.minutes.values())
    if export.live is not None:
        size += len(orjson.dumps(export.live))
    return size + len(orjson.dumps(export.meta))


@dataclass
class OfflineResult:
    events: int
    seconds: float
    eps: float
    exports: int
    export_bytes: int
    export_seconds: float
    processors: dict[int, PartitionProcessor]
    agent_store: dict[str, bytes]


def run(records: list[tuple[str, int, bytes, bytes]], events: int, partitions: int, batch: int = 128,
        event_clock: bool = True) -> OfflineResult:
    """The worker's path over `records`, with the worker's garbage-collector settings."""
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        return _run(records, events, partitions, batch, event_clock)
    finally:
        gc.set_threshold(*thresholds)


def _run(records: list[tuple[str, int, bytes, bytes]], events: int, partitions: int, batch: int,
         event_clock: bool) -> OfflineResult:
    source = StaticSettings(DEFAULT_SETTINGS)
    processors = {p: PartitionProcessor(p, partitions, {}, source, clock=lambda: 2**62) for p in range(partitions)}
    agent_store: dict[str, bytes] = {}
    offsets: dict[tuple[str, int], int] = defaultdict(int)
    last_export: dict[tuple[int, str], float] = {}
    next_live: dict[tuple[int, str], float] = {}
    exports = size = 0
    export_s = 0.0
    # Records of each buyer partition still to come after the current batch (what waits in Kafka).
    still_to_come: dict[int, int] = defaultdict(int)
    for topic, partition, _, _ in records:
        if topic != AGENT_EVENTS:
            still_to_come[partition] += 1
    gc.collect()
    t0 = time.perf_counter()
    start = 0
    while start < len(records):
        # As the worker's batches: up to BATCH_MAX records while a partition catches up (batch_window's
        # longer wait fills them: docs/performance-journal.md), else `batch`.
        size = BATCH_MAX if any(catching_up(waiting) for waiting in still_to_come.values()) else batch
        by_partition: dict[int, list[SourceRecord]] = defaultdict(list)
        agent_records: dict[int, list[SourceRecord]] = defaultdict(list)
        for topic, partition, _, value in records[start:start + size]:
            offset = offsets[(topic, partition)]
            offsets[(topic, partition)] = offset + 1
            target = agent_records if topic == AGENT_EVENTS else by_partition
            target[partition].append(SourceRecord(topic, partition, offset, value))
            if target is by_partition:
                still_to_come[partition] -= 1
        start += size
        for partition, batch_records in by_partition.items():
            batch_records.sort(key=lambda r: (r.offset, r.topic))
            processors[partition].process(batch_records)
        for batch_records in agent_records.values():
            process_agent_events(batch_records, partitions, agent_store, now_ms=2**62)
        now = time.perf_counter()
        live_pairs = pairs_with_live_facts(processors.values())
        for partition, processor in processors.items():
            interval = export_interval(EXPORT_INTERVAL_S, still_to_come[partition])
            for shop in list(processor.tables_as_derived().shops):
                if now - last_export.get((partition, shop), 0) < interval:
                    continue
                processor.settle(shop)
                tables = processor.tables_as_derived().shop(shop)
                if tables.dirty:
                    live_due = now >= next_live.get((partition, shop), 0)
                    if not (tables.dirty_days or tables.dirty_minutes or live_due):
                        continue
                    t = time.perf_counter()
                    now_ms = tables.watermark if event_clock else int(time.time() * 1000)
                    cpu = cpu_mark()
                    export = export_shop(tables, now_ms, DEFAULT_SETTINGS.active_window_s, SERIES_KEEP_MS,
                                         with_live=live_due)
                    if export.live is not None:
                        # As the exporter paces them (streams/worker/exporter.py).
                        next_live[(partition, shop)] = next_live_export(now, export_cpu_since(cpu), live_pairs)
                    size += export_bytes(export)
                    export_s += time.perf_counter() - t
                    exports += 1
                    last_export[(partition, shop)] = now
    for processor in processors.values():  # the final export
        for tables in processor.tables.shops.values():
            if tables.dirty:
                export = export_shop(tables, tables.watermark, DEFAULT_SETTINGS.active_window_s, SERIES_KEEP_MS)
                size += export_bytes(export)
                exports += 1
    elapsed = time.perf_counter() - t0
    return OfflineResult(events, elapsed, events / elapsed, exports, size, export_s, processors, agent_store)


def state_bytes(result: OfflineResult) -> dict[str, Any]:
    """Serialised state: buyer records (what the changelog/table holds per buyer) and agent records."""
    records = [raw for p in result.processors.values() for raw in p.store.values()]
    buyers = len(records)
    record_bytes = sum(len(r) for r in records)
    keys = sum(len(k) for p in result.processors.values() for k in p.store)
    agent_bytes = sum(len(k) + len(v) for k, v in result.agent_store.items())
    tables_bytes = 0
    for processor in result.processors.values():
        for tables in processor.tables.shops.values():
            tables_bytes += sum(len(orjson.dumps(b)) for b in tables.days.values())
            tables_bytes += sum(len(orjson.dumps(b)) for b in tables.minutes.values())
    return {
        "buyers": buyers,
        "agents": len(result.agent_store),
        "buyer_record_bytes_avg": round(record_bytes / max(buyers, 1)),
        "buyer_key_bytes_avg": round(keys / max(buyers, 1)),
        "agent_record_bytes_avg": round(agent_bytes / max(len(result.agent_store), 1)),
        "agent_tables_bytes": tables_bytes,
        "bytes_per_active_buyer": round((record_bytes + keys + agent_bytes + tables_bytes) / max(buyers, 1)),
    }


def main() -> None:
    from bench.dataset import build

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--shops", type=int, default=4)
    parser.add_argument("--agents", type=int, default=12)
    parser.add_argument("--batch", type=int, default=128, help="records per batch (all partitions)")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--profile", action="store_true", help="cProfile the run, top 30 by own time")
    args = parser.parse_args()
    data = build(args.shops, args.agents, args.events, args.partitions)
    print(f"{data.count:,} events, {len(data.records):,} records, {data.buyers:,} buyers")
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    result = run(data.records, data.count, args.partitions, args.batch)
    if args.profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    print(f"{result.eps:,.0f} events/s ({result.seconds / data.count * 1e6:.1f} µs/event), "
          f"{result.exports} exports ({result.export_bytes / max(result.exports, 1):,.0f} bytes each, "
          f"{result.export_seconds:.2f}s)")
    print(state_bytes(result))


if __name__ == "__main__":
    main()
