"""A compressed-time soak of retention (issue 16): many simulated days through one worker partition.

`python -m bench.retention_soak [days] [events per day]`: each simulated day of one shop (new buyer
ids every day, the shop simulator's Double-11 shape) goes through a PartitionProcessor over a real
RocksDB partition store, with the worker's upkeep (streams/worker/recovery.py: journal, checkpoints,
retention's sweep) on the event clock; at the end of each day the sweep completes a pass, as it does
within hours in a worker. Printed per day, with retention and without (the same days, no sweep):
buyer records kept, RocksDB's live data size, the checkpoint (the derived tables a worker holds in
memory) and the process's RSS (each variant in its own process).
"""

from __future__ import annotations

import itertools
import shutil
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
from rocksdict import Options, Rdict

from streams.core.checkpoint import CHECKPOINT_KEY, JournaledStore
from streams.core.processor import PartitionProcessor, SourceRecord
from streams.core.shop_settings import ShopSettings
from streams.core.topics import topic_for_type
from streams.tools.engine import StaticSettings
from streams.tools.simulator import day_simulator
from streams.worker.exporter import SERIES_KEEP_MS
from streams.worker.recovery import PartitionUpkeep, recover, sweep_chunk
from streams.worker.state_store import PartitionStore

SHOP = "soak"


def _day(number: int, events: int) -> list[dict[str, Any]]:
    simulated = day_simulator(shop_id=SHOP, agents=20, seed=number, day=date(2026, 10, 1) + timedelta(days=number),
                              rate=events / 86_400)
    return [{**e, "buyer_id": f"{e['buyer_id']}-{number}"} for e in itertools.islice(simulated.events(), events)
            if e["type"] != "agent.status"]


def _rss_mb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def soak(days: int = 10, events_per_day: int = 30_000, retention: bool = True) -> list[dict[str, Any]]:
    path = tempfile.mkdtemp(prefix="kefu-retention-soak-")
    db = Rdict(path, options=Options(raw_mode=True))
    store = JournaledStore(PartitionStore(SimpleNamespace(data=SimpleNamespace(_db_for_partition=lambda p: db)), 0))
    processor = PartitionProcessor(0, 1, store, StaticSettings(ShopSettings()), cache_size=5_000, clock=lambda: 2**62)
    recover(processor, store)
    state = PartitionUpkeep(store)
    rows, offset = [], 0
    try:
        for number in range(days):
            events = _day(number, events_per_day)
            records = [SourceRecord(topic_for_type(e["type"]), 0, offset + i, orjson.dumps(e))
                       for i, e in enumerate(events)]
            offset += len(records)
            for start in range(0, len(records), 2000):
                processor.process(records[start:start + 2000])
            if retention:  # a whole pass at the end of the day
                while True:
                    sweep_chunk(processor, state, "event", chunk=5_000)
                    if state.sweep_from == "":
                        break
            for tables in processor.tables.shops.values():  # what the exporter prunes
                tables.prune_minutes(tables.watermark - SERIES_KEEP_MS)
            store.checkpoint(processor.tables, "soak")
            db.flush()
            rows.append({
                "day": number + 1,
                "records": sum(1 for key, _ in store.items() if processor.belongs(key)),
                "expired": state.expired,
                "live_data_mb": round((db.property_int_value("rocksdb.estimate-live-data-size") or 0) / 2**20, 1),
                "checkpoint_kb": round(len(store.get(CHECKPOINT_KEY) or b"") / 1024),
                "rss_mb": _rss_mb(),
            })
    finally:
        db.close()
        shutil.rmtree(path, ignore_errors=True)
    return rows


if __name__ == "__main__":
    days = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    per_day = int(sys.argv[2]) if len(sys.argv) > 2 else 30_000
    if len(sys.argv) > 3:  # one variant, in its own process (RSS)
        for row in soak(days, per_day, sys.argv[3] == "with"):
            print(orjson.dumps(row).decode(), flush=True)
    else:
        for variant in ("with", "without"):
            print(f"{variant} retention", flush=True)
            subprocess.run([sys.executable, "-m", "bench.retention_soak", str(days), str(per_day), variant], check=True)
