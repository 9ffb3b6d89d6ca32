"""Recovery after a kill -9 with 1,000,000 buyer records in one partition (issue 16, `recovery_1m_s`).

Method (no Kafka: producing a million buyers through the pipeline takes far longer than the bench):
1. Buyer records of a simulated Double-11 day (the shop simulator through a PartitionProcessor) are
   the templates; `buyers` records are written straight into a RocksDB partition store (the worker's
   own PartitionStore over rocksdict, same options), record i = template i mod T under its own key.
2. The agent tables of exactly those records (each template derived once, its counters multiplied by
   its copies, one live entry per copy) are checkpointed as the worker does (JournaledStore.checkpoint).
3. Then `changed` records are rewritten through the journalled store: what a crash leaves to fix up.
   The worker checkpoints every 10 s or at 20,000 journalled keys (streams/worker/recovery.py), so
   a crash leaves at most about 22,000 (checked after each batch of ≤ 2,000 records).
4. "kill -9": the DB is dropped without a checkpoint and opened again; the measured time is the
   worker's `recover()` on it (checkpoint load + journal fix-up + the new checkpoint): figures are
   live again once it returns and the exporter runs.
Not in the number: Faust's changelog re-read, which with the persisted offsets of app.py covers only
what was written after the last acknowledged changelog write (about one batch), and the 10 s the
consumer group waits for a killed member's session to expire before a restarted worker joins.
For comparison, the old path (derive every record) is timed on `sample` records and given per buyer.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import time
from datetime import date
from types import SimpleNamespace
from typing import Any

import orjson
from rocksdict import Options, Rdict, WriteBatch

from streams.core.checkpoint import JournaledStore
from streams.core.processor import PartitionProcessor, SourceRecord
from streams.core.shop_settings import ShopSettings
from streams.core.topics import topic_for_type
from streams.tools.engine import StaticSettings
from streams.tools.simulator import day_simulator
from streams.worker.recovery import FINGERPRINT, recover
from streams.worker.state_store import PartitionStore

SHOP = "bench"


def _templates(events: int) -> dict[str, bytes]:
    processor = PartitionProcessor(0, 1, {}, StaticSettings(ShopSettings()), clock=lambda: 2**62)
    simulated = day_simulator(shop_id=SHOP, agents=50, seed=11, day=date(2026, 11, 11)).events()
    batch = [e for e in itertools.islice(simulated, events) if e["type"] != "agent.status"]
    records = [SourceRecord(topic_for_type(e["type"]), 0, offset, orjson.dumps(e)) for offset, e in enumerate(batch)]
    for start in range(0, len(records), 2000):
        processor.process(records[start:start + 2000])
    return {key: raw for key, raw in processor.store.items() if not key.startswith("\x00")}


def _open(path: str) -> tuple[Rdict, PartitionStore]:
    db = Rdict(path, options=Options(raw_mode=True))
    return db, PartitionStore(SimpleNamespace(data=SimpleNamespace(_db_for_partition=lambda p: db)), 0)


def run_recovery(buyers: int = 1_000_000, changed: int = 20_000, sample: int = 20_000,
                 template_events: int = 40_000) -> dict[str, Any]:
    settings = StaticSettings(ShopSettings())
    templates = list(_templates(template_events).values())
    path = tempfile.mkdtemp(prefix="kefu-bench-recovery-")
    try:
        db, store = _open(path)
        started = time.perf_counter()
        for start in range(0, buyers, 50_000):
            batch = WriteBatch(raw_mode=True)
            for i in range(start, min(buyers, start + 50_000)):
                batch.put(f"{SHOP}|b{i:07d}".encode(), templates[i % len(templates)])
            db.write(batch)
        load_s = time.perf_counter() - started

        # The old path, on a sample: derive every record (PartitionProcessor.rebuild's work per record).
        sample_db_path = tempfile.mkdtemp(prefix="kefu-bench-recovery-sample-")
        sample_db, sample_store = _open(sample_db_path)
        for i in range(sample):
            sample_store[f"{SHOP}|b{i:07d}"] = templates[i % len(templates)]
        old = PartitionProcessor(0, 1, sample_store, settings, cache_size=1000)
        started = time.perf_counter()
        old.rebuild()
        rebuild_per_buyer_us = (time.perf_counter() - started) / sample * 1e6
        sample_db.close()
        shutil.rmtree(sample_db_path, ignore_errors=True)

        # The tables of exactly these records, checkpointed.
        processor = PartitionProcessor(0, 1, store, settings)
        copies = [buyers // len(templates) + (1 if t < buyers % len(templates) else 0) for t in range(len(templates))]
        from streams.core.agent_tables import live_entry
        from streams.core.checkpoint import buyer_contribution
        shop = processor.tables.shop(SHOP)
        for t, raw in enumerate(templates):
            deltas, live, max_ts, ingest, _ = buyer_contribution(SHOP, raw, lambda s: lambda v: ShopSettings())
            shop.add(f"template-{t}", [(scope, name, change * copies[t]) for scope, name, change in deltas])
            entry = live_entry(live)
            if entry is not None:
                for i in range(t, buyers, len(templates)):
                    shop.live[f"b{i:07d}"] = entry
            shop.agents |= live.agents
            shop.watermark = max(shop.watermark, max_ts)
            shop.processed += ingest * copies[t]
        journaled = JournaledStore(store)
        started = time.perf_counter()
        checkpoint_bytes = journaled.checkpoint(processor.tables, FINGERPRINT)
        checkpoint_s = time.perf_counter() - started

        # Changes since the checkpoint, through the journal (as the worker's processor writes them).
        for i in range(changed):
            journaled[f"{SHOP}|b{i * (buyers // changed):07d}"] = templates[(i + 1) % len(templates)]
        db.close()  # kill -9: nothing else is written

        db, store = _open(path)
        restarted = PartitionProcessor(0, 1, JournaledStore(store), settings)
        started = time.perf_counter()
        how = recover(restarted, restarted.store)  # type: ignore[arg-type]
        recovery_s = time.perf_counter() - started
        db.close()
        return {"buyers": buyers, "changed_since_checkpoint": changed, "templates": len(templates),
                "recovery_1m_s": round(recovery_s, 2), "how": how,
                "checkpoint_write_s": round(checkpoint_s, 2), "checkpoint_bytes": checkpoint_bytes,
                "rebuild_per_buyer_us": round(rebuild_per_buyer_us, 1),
                "rebuild_1m_estimate_s": round(rebuild_per_buyer_us * buyers / 1e6, 1),
                "load_records_s": round(load_s, 1)}
    finally:
        shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    import sys

    print(orjson.dumps(run_recovery(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000),
                       option=orjson.OPT_INDENT_2).decode())
