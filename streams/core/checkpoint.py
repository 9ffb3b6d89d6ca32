"""Restart in seconds: the derived agent tables checkpointed beside the buyer records, plus a journal.

Without this, a worker that restarts derives every buyer record of its partitions again (~170 µs a
buyer: minutes for a season's millions). With it, a partition's store (RocksDB, local to the worker)
holds, besides the records:
- CHECKPOINT_KEY: the partition's agent tables (PartitionTables) exactly as they were derived from
  the records the store held at that moment;
- a journal: for every key changed since that checkpoint, its value at the checkpoint (JOURNAL_PREFIX
  + key → old bytes, ABSENT when the key did not exist).
So after a restart, tables = checkpoint − contribution(old value) + contribution(current value) for
each journalled key: work proportional to the records changed since the last checkpoint, not to the
records kept.

Invariants:
- Checkpoint and journal are local (never on the changelog): they describe this store, not the topic.
- Every write to a key that contributes to the tables (buyer records, retention's final records)
  goes through JournaledStore, or is noted with `JournaledStore.note` before the store changes
  (Faust's changelog restore: streams/worker/recovery.journal_restored). A crash between the
  journal write and the record write leaves old == current: a no-op fix-up.
- A checkpoint is written in one atomic store batch that also drops the journal (`write_batch`);
  it is taken between batches, of `PartitionProcessor.tables` (the buyers waiting to be derived are
  derived first), when the tables equal what the records derive to.
- A checkpoint from other code (its fingerprint differs) or of another format is ignored: the worker
  derives every record again, once.
- Before the first checkpoint nothing is journalled (a fresh store is rebuilt in full anyway).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import fields
from typing import Any

from streams.core.agent_tables import PartitionTables, ShopTables
from streams.core.buyer_state import BuyerRecord
from streams.core.facts import BuyerLive, Delta, advance
from streams.core.shop_settings import ShopSettings

LOCAL_PREFIX = "\x00local|"  # keys that never go to the changelog
CHECKPOINT_KEY = f"{LOCAL_PREFIX}checkpoint"
JOURNAL_PREFIX = f"{LOCAL_PREFIX}journal|"
ABSENT = b""  # a journalled key that did not exist at the checkpoint (no record is empty bytes)
FINAL_PREFIX = "\x00final|"  # streams/core/retention.py: contributions of expired buyers (on the changelog)
CHECKPOINT_FORMAT = 1
SHOP_TABLE_FIELDS = tuple(f.name for f in fields(ShopTables))

SettingsFor = Callable[[str], Callable[[int], ShopSettings]]  # shop → (version → settings)


def scan_prefix(store: MutableMapping[str, bytes], prefix: str) -> Iterator[tuple[str, bytes]]:
    """The store's (key, value) pairs whose key starts with `prefix` (a RocksDB store seeks to it)."""
    scan = getattr(store, "items_with_prefix", None)
    if scan is not None:
        yield from scan(prefix)
        return
    for key in [key for key in store if key.startswith(prefix)]:
        yield key, store[key]


def contributes(key: str) -> bool:
    """Whether the key's value adds to the agent tables: buyer records and final records (not the
    offset cursors, not the local bookkeeping)."""
    return not key.startswith("\x00") or key.startswith(FINAL_PREFIX)


class JournaledStore(MutableMapping[str, bytes]):
    """A partition store that journals each contributing key's value at the last checkpoint before
    the key first changes after it."""

    def __init__(self, store: MutableMapping[str, bytes]) -> None:
        self.store = store
        self.journaled: set[str] = {key[len(JOURNAL_PREFIX):] for key, _ in scan_prefix(store, JOURNAL_PREFIX)}
        self.active = store.get(CHECKPOINT_KEY) is not None

    def note(self, key: str) -> None:
        """Journal `key`'s current value if this is its first change since the checkpoint."""
        if self.active and key not in self.journaled and contributes(key):
            old = self.store.get(key)
            self.store[JOURNAL_PREFIX + key] = ABSENT if old is None else old
            self.journaled.add(key)

    def write_many(self, puts: dict[str, bytes], deletes: list[str]) -> None:
        """Puts and deletes in one atomic store write (journalled first, as single writes are): a crash
        leaves all of them or none (retention's final records with the record they replace)."""
        for key in (*puts, *deletes):
            self.note(key)
        write_batch = getattr(self.store, "write_batch", None)
        if write_batch is not None:
            write_batch(puts, deletes)
            return
        self.store.update(puts)  # a plain mapping (tests, the batch engine): nothing can crash half-way
        for key in deletes:
            self.store.pop(key, None)

    def __getitem__(self, key: str) -> bytes:
        return self.store[key]

    def get(self, key: str, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        return self.store.get(key, default)

    def __setitem__(self, key: str, value: bytes) -> None:
        self.note(key)
        self.store[key] = value

    def __delitem__(self, key: str) -> None:
        self.note(key)
        del self.store[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.store)

    def __len__(self) -> int:
        return len(self.store)

    def items(self) -> Any:
        return self.store.items()

    def items_with_prefix(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        return scan_prefix(self.store, prefix)

    def items_from(self, start: str) -> Iterator[tuple[str, bytes]]:
        """In key order from `start` (streams/core/retention.scan_from)."""
        scan = getattr(self.store, "items_from", None)
        if scan is not None:
            return scan(start)
        return iter([(key, self.store[key]) for key in sorted(key for key in self.store if key >= start)])

    def checkpoint(self, tables: PartitionTables, fingerprint: str) -> int:
        """Write the tables as the new checkpoint and drop the journal, atomically. Returns its size."""
        blob = pickle.dumps((CHECKPOINT_FORMAT, fingerprint, SHOP_TABLE_FIELDS, tables.shops),
                            protocol=pickle.HIGHEST_PROTOCOL)
        deletes = [JOURNAL_PREFIX + key for key in self.journaled]
        write_batch = getattr(self.store, "write_batch", None)
        if write_batch is not None:
            write_batch({CHECKPOINT_KEY: blob}, deletes)
        else:  # a plain mapping (tests, the batch engine): nothing can crash half-way
            self.store[CHECKPOINT_KEY] = blob
            for key in deletes:
                self.store.pop(key, None)
        self.journaled.clear()
        self.active = True
        return len(blob)

    def discard_checkpoint(self) -> None:
        """Forget checkpoint and journal (before a full rebuild: the journal would be of no use)."""
        deletes = [CHECKPOINT_KEY, *(JOURNAL_PREFIX + key for key in self.journaled)]
        write_batch = getattr(self.store, "write_batch", None)
        if write_batch is not None:
            write_batch({}, deletes)
        else:
            for key in deletes:
                self.store.pop(key, None)
        self.journaled.clear()
        self.active = False


# ---- contributions: what one stored key adds to the tables ----------------------------------------


def buyer_contribution(shop_id: str, raw: bytes, settings_for: SettingsFor,
                       ) -> tuple[list[Delta], BuyerLive, int, int, Any]:
    """(counter deltas from nothing, live facts, max ts, ingest events, derivation) of a buyer record."""
    record = BuyerRecord.from_bytes(raw)
    derivation, deltas = advance(None, record.timeline, settings_for(shop_id))
    return deltas, derivation.live, derivation.max_ts, record.ingest_events, derivation


def apply_key(tables: PartitionTables, key: str, old: bytes | None, new: bytes | None,
              settings_for: SettingsFor) -> None:
    """Replace the contribution of `key`'s old value by its new value's (either may be None)."""
    if key.startswith(FINAL_PREFIX):
        from streams.core.retention import apply_final  # the module that defines final records

        apply_final(tables, key, old, -1)
        apply_final(tables, key, new, +1)
        return
    shop_id, _, buyer_id = key.partition("|")
    # Net changes: most of a changed buyer's counters are the same before and after (its earlier days).
    net: dict[tuple[tuple, str], int] = {}
    processed = 0
    live, max_ts = BuyerLive(), 0
    if old:
        old_deltas, _, _, old_ingest, _ = buyer_contribution(shop_id, old, settings_for)
        for scope, name, change in old_deltas:
            net[(scope, name)] = net.get((scope, name), 0) - change
        processed -= old_ingest
    if new:
        new_deltas, live, max_ts, new_ingest, _ = buyer_contribution(shop_id, new, settings_for)
        for scope, name, change in new_deltas:
            net[(scope, name)] = net.get((scope, name), 0) + change
        processed += new_ingest
    shop = tables.shop(shop_id)
    # An unpaid-order entry in both (net 0) stays in the list; only in the old one (−1) leaves it.
    shop.apply(buyer_id, [(scope, name, change) for (scope, name), change in net.items() if change], live, max_ts)
    shop.processed += processed


def restore(store: MutableMapping[str, bytes], belongs: Callable[[str], bool], settings_for: SettingsFor,
            fingerprint: str) -> tuple[PartitionTables, int] | None:
    """The tables from the checkpoint and the journal, and the number of keys fixed up; None when there
    is no usable checkpoint (then derive every record: PartitionProcessor.rebuild)."""
    raw = store.get(CHECKPOINT_KEY)
    if raw is None:
        return None
    try:
        form, written_by, shop_fields, shops = pickle.loads(raw)
    except Exception:  # noqa: BLE001 - unreadable (other code wrote it): rebuild instead
        return None
    if form != CHECKPOINT_FORMAT or written_by != fingerprint or shop_fields != SHOP_TABLE_FIELDS:
        return None
    tables = PartitionTables()
    tables.shops = shops
    fixed = 0
    for journal_key, old in list(scan_prefix(store, JOURNAL_PREFIX)):
        key = journal_key[len(JOURNAL_PREFIX):]
        if key.startswith(FINAL_PREFIX) or belongs(key):
            apply_key(tables, key, old or None, store.get(key), settings_for)
            fixed += 1
    for shop in tables.shops.values():
        shop.exported_processed = shop.exported_watermark = 0
        shop.mark_all_dirty()
    return tables, fixed
