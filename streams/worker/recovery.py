"""The worker's side of fast restarts and retention (streams/core/checkpoint.py, streams/core/retention.py).

Per buyer partition the worker owns:
- the processor's store is a JournaledStore over the RocksDB partition;
- after a batch, at most every CHECKPOINT_INTERVAL_S (or when the journal holds JOURNAL_MAX keys), the
  agent tables are checkpointed into the same RocksDB (one atomic write that also drops the journal);
- after a batch, at most every SWEEP_INTERVAL_S, retention examines the next SWEEP_CHUNK records (a
  cursor walks the partition round and round) and expires what may expire; its deletes and final
  records go to the changelog with the batch's records (same partition, same order as the local writes).
On (re)assignment a partition is restored from checkpoint + journal; without a usable one it is rebuilt
from every record once and checkpointed at once.

The changelog side (app.py): the offset of the changelog's last acknowledged write is saved as Faust's
persisted offset of the partition's DB, so Faust's recovery re-reads only what came after it; records
that recovery writes into the DB are journalled first (`journal_restored`), as they change the records
the checkpoint was taken against (another worker may have owned the partition meanwhile).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import streams.core
from streams.core.checkpoint import JournaledStore, restore
from streams.core.clock import ClockMode, now_ms
from streams.core.processor import PartitionProcessor
from streams.core.retention import may_expire, scan_from, sweep

log = logging.getLogger("kefu.worker.recovery")
CHECKPOINT_INTERVAL_S = 10.0
JOURNAL_MAX = 20_000  # keys changed since the checkpoint: bounds the fix-up after a crash (~6 s)
# ... the timer's checkpoints take at most this share of the worker's time (large tables pickle slowly).
CHECKPOINT_CPU_SHARE = 0.05
SWEEP_INTERVAL_S = 5.0
# Records examined per sweep (read; decoded whole and derived only when old enough to expire, see
# retention.may_expire): ~200 a second per partition, a pass over 250,000 records in about 20 minutes,
# well inside the day retention works in.
SWEEP_CHUNK = 1_000


def code_fingerprint() -> str:
    """Of the pure core's source: a checkpoint derived by other code is not used (rebuilt once)."""
    digest = hashlib.sha256()
    for path in sorted(Path(streams.core.__file__).parent.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


FINGERPRINT = code_fingerprint()


@dataclass(slots=True)
class PartitionUpkeep:
    store: JournaledStore
    last_checkpoint: float = field(default_factory=time.monotonic)
    checkpoint_cost_s: float = 0.0  # CPU time the last checkpoint took
    last_sweep: float = 0.0
    sweep_from: str = ""  # where the next sweep starts (a key; "" the start)
    expired: int = 0


def recover(processor: PartitionProcessor, store: JournaledStore, fingerprint: str = FINGERPRINT) -> str:
    """Tables for a partition just (re)assigned: from checkpoint + journal, else rebuilt in full and
    checkpointed. Returns how, for the log."""
    started = time.perf_counter()

    def settings_for(shop_id: str) -> Callable[[int], Any]:
        return lambda version: processor.settings.get(shop_id, version)

    restored = restore(store, processor.belongs, settings_for, fingerprint)
    if restored is not None:
        tables, fixed = restored
        processor.restored(tables)
        store.checkpoint(processor.tables, fingerprint)
        return f"restored from checkpoint, {fixed} changed keys re-derived, {time.perf_counter() - started:.2f} s"
    store.discard_checkpoint()
    processor.rebuild()
    store.checkpoint(processor.tables, fingerprint)
    return f"rebuilt from every record, {time.perf_counter() - started:.2f} s"


def upkeep(processor: PartitionProcessor, state: PartitionUpkeep, clock: ClockMode,
           fingerprint: str = FINGERPRINT, retention: bool = True) -> dict[str, bytes | None]:
    """After a batch: retention's sweep (if `retention`) and the checkpoint, when due; both read
    `processor.tables` (the sweep only when a record is old enough to expire), which first derives the
    buyers waiting (so the tables equal what the records derive to). Returns the sweep's changes for the
    changelog."""
    changed: dict[str, bytes | None] = {}
    now = time.monotonic()
    if retention and now - state.last_sweep >= SWEEP_INTERVAL_S:
        state.last_sweep = now
        changed = sweep_chunk(processor, state, clock)
    since = now - state.last_checkpoint
    # The journal bound always holds (it bounds a restart's work); the timer yields to the CPU share.
    if len(state.store.journaled) >= JOURNAL_MAX or (
            since >= CHECKPOINT_INTERVAL_S and since >= state.checkpoint_cost_s / CHECKPOINT_CPU_SHARE):
        started = time.thread_time()
        state.store.checkpoint(processor.tables, fingerprint)
        state.checkpoint_cost_s = time.thread_time() - started
        state.last_checkpoint = now
    return changed


def sweep_chunk(processor: PartitionProcessor, state: PartitionUpkeep, clock: ClockMode,
                chunk: int = SWEEP_CHUNK) -> dict[str, bytes | None]:
    keys: list[tuple[str, bytes]] = []
    last = None
    for key, raw in scan_from(state.store, state.sweep_from):
        last = key
        if processor.belongs(key):
            keys.append((key, raw))
        if len(keys) >= chunk:
            break
    state.sweep_from = "" if last is None or len(keys) < chunk else last + "\x00"

    def retention_now(watermark: int) -> int:
        # The shop's event time, never ahead of the clock: events replayed or sent with old timestamps
        # (tests, back-fills) age only as the shop's own events move on, and an event dated up to a day
        # ahead (events.md allows it) cannot make records expire early.
        return min(now_ms(clock, watermark), watermark)

    derived = processor.tables_as_derived().shops

    def now_at_least(shop: str) -> int:
        # Settling would move the watermark at most to the shop's event clock: no earlier than sweep()'s now.
        shop_tables = derived.get(shop)
        return retention_now(max(processor.event_clock(shop), shop_tables.watermark if shop_tables else 0))

    keys = may_expire(keys, processor.settings, now_at_least, processor.cached)
    if not keys:
        return {}  # the usual sweep: nothing old enough, nothing settled or derived for it
    tables = processor.tables
    expiry = sweep(tables, state.store, keys, processor.settings,
                   lambda shop: retention_now(tables.shop(shop).watermark), processor.cached)
    for key, value in expiry.changed.items():
        if value is None:
            processor.evict(key)
    state.expired += expiry.expired
    if expiry.expired:
        log.info("partition %d: %d buyer records expired", processor.partition, expiry.expired)
    return expiry.changed


def journal_restored(store_for: Callable[[int], JournaledStore], batch: Iterable[Any]) -> None:
    """Before Faust's recovery writes changelog records into the DBs: journal the keys they change."""
    for event in batch:
        message = event.message
        key = message.key.decode() if isinstance(message.key, bytes) else str(message.key)
        store_for(message.partition).note(key)
