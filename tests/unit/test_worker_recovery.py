"""The worker's restart and retention on a real RocksDB partition store (streams/worker/recovery.py):
first start rebuilds and checkpoints, a restart after a kill restores from checkpoint + journal with
the figures of a full rebuild, and the sweep expires old buyers through the RocksDB seek."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
from rocksdict import Options, Rdict

from streams.core.checkpoint import JournaledStore
from streams.core.processor import PartitionProcessor, SourceRecord
from streams.core.retention import sweep
from streams.core.topics import topic_for_type
from streams.tools.engine import StaticSettings, figures_of
from streams.worker.recovery import PartitionUpkeep, recover, sweep_chunk, upkeep
from streams.worker.state_store import PartitionStore
from tests.partition_shop import SETTINGS, SHOP, simulated_days
from tests.scenarios import assert_matches


def open_store(path: Path) -> tuple[Rdict, JournaledStore]:
    db = Rdict(str(path), options=Options(raw_mode=True))
    return db, JournaledStore(PartitionStore(SimpleNamespace(data=SimpleNamespace(_db_for_partition=lambda p: db)), 0))


def processor_on(store: JournaledStore) -> PartitionProcessor:
    return PartitionProcessor(0, 1, store, StaticSettings(SETTINGS), cache_size=100, clock=lambda: 2**62)


def feed(processor: PartitionProcessor, events: list[dict[str, Any]], first_offset: int) -> int:
    records = [SourceRecord(topic_for_type(e["type"]), 0, first_offset + i, orjson.dumps(e))
               for i, e in enumerate(events) if e["type"] != "agent.status"]
    for start in range(0, len(records), 300):
        processor.process(records[start:start + 300])
    return first_offset + len(events)


def figures(processor: PartitionProcessor, now: int) -> dict[str, Any]:
    return figures_of([processor], {}, SHOP, SETTINGS, now)


def test_kill_and_restart_restores_from_checkpoint_with_the_figures_of_a_rebuild(tmp_path: Path) -> None:
    first, second = simulated_days(date(2025, 11, 10), 2, rate=0.01)
    second = second[:len(second) // 4]  # a few hours after the checkpoint: a journal well under the records
    db, store = open_store(tmp_path / "p0")
    processor = processor_on(store)
    assert recover(processor, store).startswith("rebuilt")  # a fresh store: nothing to restore
    offset = feed(processor, first, 0)
    state = PartitionUpkeep(store, last_checkpoint=0.0, last_sweep=1e18)  # checkpoint due, sweep not
    upkeep(processor, state, "event")
    assert not store.journaled
    feed(processor, second, offset)  # after the checkpoint: journalled
    assert len(store.journaled) > 20
    db.close()  # kill -9

    db, store = open_store(tmp_path / "p0")
    restarted = processor_on(store)
    how = recover(restarted, store)
    assert how.startswith("restored from checkpoint"), how
    assert not store.journaled  # and checkpointed again
    rebuilt = processor_on(store)
    rebuilt.rebuild()
    now = max(e["ts"] for e in first + second)
    got, want = figures(restarted, now), figures(rebuilt, now)
    for part in ("agents", "team", "groups", "live"):
        assert_matches(got[part], want[part], part)
        assert_matches(want[part], got[part], part)
    db.close()


def test_the_sweep_walks_the_partition_in_chunks_and_expires_old_buyers(tmp_path: Path) -> None:
    days = simulated_days(date(2025, 11, 1), 5, rate=0.01)
    db, store = open_store(tmp_path / "p0")
    processor = processor_on(store)
    recover(processor, store)
    offset = 0
    for events in days:
        offset = feed(processor, events, offset)
    before = sum(1 for key, _ in store.items() if processor.belongs(key))
    state = PartitionUpkeep(store)
    expired_by_pass = []
    for _ in range(2):  # two passes of 50-record chunks round the partition
        while True:
            sweep_chunk(processor, state, "event", chunk=50)
            if state.sweep_from == "":
                break
        expired_by_pass.append(state.expired)
    after = sum(1 for key, _ in store.items() if processor.belongs(key))
    assert before - after == state.expired == expired_by_pass[0] > 20  # the second pass finds nothing new
    assert expired_by_pass[1] == expired_by_pass[0]
    rebuilt = processor_on(store)
    rebuilt.rebuild()
    now = max(e["ts"] for e in days[-1])
    got, want = figures(processor, now), figures(rebuilt, now)
    for part in ("agents", "team", "groups"):
        assert_matches(got[part], want[part], part)
        assert_matches(want[part], got[part], part)
    db.close()


def test_the_sweep_expires_what_a_sweep_of_every_record_on_settled_tables_expires(tmp_path: Path) -> None:
    """sweep_chunk reads the records first (retention.may_expire) and settles and derives only for the old
    ones: with buyers still waiting to be derived, it leaves the store as sweep() over every record, on
    tables settled first, leaves it."""
    days = simulated_days(date(2025, 11, 1), 5, rate=0.01)
    stores = []
    for how in ("sweep_chunk", "every record"):
        db, store = open_store(tmp_path / how.replace(" ", "_"))
        processor = processor_on(store)
        recover(processor, store)
        offset = 0
        for events in days:
            offset = feed(processor, events, offset)
        assert processor.waiting_shops()
        if how == "sweep_chunk":
            state = PartitionUpkeep(store)
            sweep_chunk(processor, state, "event", chunk=1 << 30)
            assert state.expired > 20
        else:
            tables = processor.tables
            keys = [(key, raw) for key, raw in store.items() if processor.belongs(key)]
            sweep(tables, store, keys, processor.settings, lambda shop, tables=tables: tables.shop(shop).watermark,
                  processor.cached)
        stores.append(dict(store.items()))
        db.close()
    assert stores[0] == stores[1]
