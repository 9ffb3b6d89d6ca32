"""The worker's buffered RocksDB writes (streams/worker/state_store.BufferedStore): one WriteBatch per batch,
and nothing a reader, the checkpoint or a restart sees differs from writing each record at once."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
from rocksdict import Options, Rdict

from streams.core.checkpoint import JOURNAL_PREFIX, JournaledStore
from streams.core.processor import PartitionProcessor, SourceRecord
from streams.core.topics import topic_for_type
from streams.tools.engine import StaticSettings, figures_of
from streams.worker.recovery import PartitionUpkeep, recover, upkeep
from streams.worker.state_store import BufferedStore, PartitionStore
from tests.partition_shop import SETTINGS, SHOP, simulated_days
from tests.scenarios import assert_matches


class CountingDb:
    """A RocksDB that counts its single puts and its batch writes."""

    def __init__(self, db: Rdict) -> None:
        self.db, self.puts, self.batches = db, 0, 0

    def put(self, key: bytes, value: bytes) -> None:
        self.puts += 1
        self.db.put(key, value)

    def write(self, batch: Any) -> None:
        self.batches += 1
        self.db.write(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


def open_buffered(path: Path) -> tuple[Rdict, CountingDb, BufferedStore]:
    db = Rdict(str(path), options=Options(raw_mode=True))
    counting = CountingDb(db)
    table = SimpleNamespace(data=SimpleNamespace(_db_for_partition=lambda p: counting))
    return db, counting, BufferedStore(PartitionStore(table, 0))


def test_reads_see_buffered_writes_and_a_flush_is_one_batch(tmp_path: Path) -> None:
    db, counting, store = open_buffered(tmp_path / "p0")
    store["a"], store["b"] = b"1", b"2"
    store["a"] = b"3"
    assert (store["a"], store.get("b"), store.get("c")) == (b"3", b"2", None)
    assert db.get(b"a") is None  # not written yet
    del store["b"]
    assert store.get("b") is None and "b" not in store
    store.flush()
    assert (counting.puts, counting.batches) == (0, 1)
    assert (db.get(b"a"), db.get(b"b")) == (b"3", None)
    store["c"] = b"4"
    assert dict(store.items()) == {"a": b"3", "c": b"4"}  # a scan flushes first
    db.close()


def test_the_checkpoint_writes_the_buffer_first_in_the_same_batch(tmp_path: Path) -> None:
    db, counting, store = open_buffered(tmp_path / "p0")
    store[JOURNAL_PREFIX + "k"], store["k"] = b"old", b"new"  # a journal entry, then the change it saves
    store.write_batch({"checkpoint": b"tables"}, [JOURNAL_PREFIX + "k"])  # the checkpoint drops the journal
    assert counting.batches == 1 and not store.pending
    assert (db.get(b"k"), db.get(b"checkpoint"), db.get(JOURNAL_PREFIX.encode() + b"k")) == (b"new", b"tables", None)
    db.close()


def feed(processor: PartitionProcessor, store: BufferedStore, events: list[dict[str, Any]], offset: int) -> int:
    records = [SourceRecord(topic_for_type(e["type"]), 0, offset + i, orjson.dumps(e))
               for i, e in enumerate(events) if e["type"] != "agent.status"]
    for start in range(0, len(records), 300):
        processor.process(records[start:start + 300])
        store.flush()  # as the worker does after each batch
    return offset + len(events)


def test_kill_and_restart_with_buffered_writes_restores_the_figures_of_a_rebuild(tmp_path: Path) -> None:
    first, second = simulated_days(date(2025, 11, 10), 2, rate=0.01)
    second = second[:len(second) // 4]
    db, counting, buffered = open_buffered(tmp_path / "p0")
    store = JournaledStore(buffered)
    processor = PartitionProcessor(0, 1, store, StaticSettings(SETTINGS), cache_size=100, clock=lambda: 2**62)
    recover(processor, store)
    offset = feed(processor, buffered, first, 0)
    upkeep(processor, PartitionUpkeep(store, last_checkpoint=0.0, last_sweep=1e18), "event")
    feed(processor, buffered, second, offset)
    assert len(store.journaled) > 20
    assert counting.puts == 0  # every record and journal entry went in a batch
    db.close()  # kill -9

    db, _, buffered = open_buffered(tmp_path / "p0")
    store = JournaledStore(buffered)
    restarted = PartitionProcessor(0, 1, store, StaticSettings(SETTINGS), cache_size=100, clock=lambda: 2**62)
    assert recover(restarted, store).startswith("restored from checkpoint")
    rebuilt = PartitionProcessor(0, 1, store, StaticSettings(SETTINGS), cache_size=100, clock=lambda: 2**62)
    rebuilt.rebuild()
    now = max(e["ts"] for e in first + second)
    got, want = (figures_of([p], {}, SHOP, SETTINGS, now) for p in (restarted, rebuilt))
    for part in ("agents", "team", "groups", "live"):
        assert_matches(got[part], want[part], part)
        assert_matches(want[part], got[part], part)
    db.close()
