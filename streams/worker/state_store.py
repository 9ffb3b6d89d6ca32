"""The worker's state on disk: one RocksDB per table and partition (Faust's rocksdict store).

Buyer records live in RocksDB, not in Python objects, so a worker's memory is bounded by RocksDB's
memtables and block cache (ROCKSDB_OPTIONS) plus the processors' decoded-buyer cache, whatever the
number of buyers. The table changelogs stay the source Faust recovers a partition from.

Faust's own Store.__setitem__ takes the partition from the current event, which a batch of several
partitions does not have; we know each record's partition, so reads and writes go straight to its DB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableMapping
from typing import Any

from rocksdict import WriteBatch

MIB = 1024 * 1024
# Per DB (each table partition): two small memtables and a small block cache. The defaults (3 × 64 MiB
# memtables, a 2 GiB cache per DB) would let 16 DBs take gigabytes.
ROCKSDB_OPTIONS: dict[str, Any] = {
    "driver": "rocksdict",
    "write_buffer_size": 8 * MIB,
    "max_write_buffer_number": 2,
    "target_file_size_base": 16 * MIB,
    "block_cache_size": 16 * MIB,
}
FAUST_OFFSET_KEY = b"__faust\x00offset__"  # Faust's own bookkeeping in every DB


class PartitionStore(MutableMapping[str, bytes]):
    """One partition of a RocksDB-backed Faust table, with str keys (the processor's view)."""

    def __init__(self, table: Any, partition: int) -> None:
        self._store = table.data  # faust.stores.rocksdb.Store
        self.partition = partition

    @property
    def _db(self) -> Any:
        return self._store._db_for_partition(self.partition)  # opened on first use

    def __getitem__(self, key: str) -> bytes:
        value = self._db.get(key.encode())
        if value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        value = self._db.get(key.encode())
        return default if value is None else value

    def __setitem__(self, key: str, value: bytes) -> None:
        self._db.put(key.encode(), value)

    def __delitem__(self, key: str) -> None:
        self._db.delete(key.encode())

    def items_from(self, start: str) -> Iterator[tuple[str, bytes]]:
        """Items in key order from `start` (a seek, not a scan from the first key)."""
        for key, value in self._db.items(from_key=start.encode()):
            if key != FAUST_OFFSET_KEY:
                yield key.decode(), value

    def items_with_prefix(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        for key, value in self.items_from(prefix):
            if not key.startswith(prefix):
                return
            yield key, value

    def write_batch(self, puts: dict[str, bytes], deletes: list[str]) -> None:
        """Puts and deletes in one atomic RocksDB write (streams/core/checkpoint.py)."""
        batch = WriteBatch(raw_mode=True)
        for key in deletes:
            batch.delete(key.encode())
        for key, value in puts.items():
            batch.put(key.encode(), value)
        self._db.write(batch)

    def items(self) -> Iterator[tuple[str, bytes]]:  # type: ignore[override]
        for key, value in self._db.items():
            if key != FAUST_OFFSET_KEY:
                yield key.decode(), value

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self.items())

    def __len__(self) -> int:
        return sum(1 for _ in self.items())

    def estimated_keys(self) -> int:
        """RocksDB's estimate (cheap; exact counting walks the whole DB)."""
        return int(self._db.property_int_value("rocksdb.estimate-num-keys") or 0)


class EstimatedKeys:
    """A table's size for the worker metrics (len()): RocksDB's estimate over the partitions owned."""

    def __init__(self, table: Any, partitions: Callable[[], Iterable[int]]) -> None:
        self.table, self.name, self.partitions = table, table.name, partitions

    def __len__(self) -> int:
        return sum(PartitionStore(self.table, p).estimated_keys() for p in self.partitions())


class BufferedStore(MutableMapping[str, bytes]):
    """A PartitionStore whose puts and deletes wait in memory until `flush()` writes them in one RocksDB
    WriteBatch: one write (one WAL append) per batch of records instead of one per buyer.

    Reads see the buffered values. Whole-store reads (iteration, prefix and range scans) flush first, and
    `write_batch` (the checkpoint) writes the buffered operations before its own in the same atomic
    batch, so every reader and the checkpoint see the same records as without the buffer. The worker
    flushes after each batch, before that batch's records go to the changelog (so a changelog offset
    never covers a record the DB lacks: streams/worker/recovery.py)."""

    def __init__(self, store: PartitionStore) -> None:
        self.store = store
        self.pending: dict[str, bytes | None] = {}  # key → value (None: delete), in first-write order

    def flush(self) -> None:
        if self.pending:
            pending, self.pending = self.pending, {}
            self.store.write_batch({k: v for k, v in pending.items() if v is not None},
                                   [k for k, v in pending.items() if v is None])

    def __getitem__(self, key: str) -> bytes:
        if key in self.pending:
            value = self.pending[key]
            if value is None:
                raise KeyError(key)
            return value
        return self.store[key]

    def get(self, key: str, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        if key in self.pending:
            value = self.pending[key]
            return default if value is None else value
        return self.store.get(key, default)

    def __setitem__(self, key: str, value: bytes) -> None:
        self.pending[key] = value

    def __delitem__(self, key: str) -> None:
        if self.get(key) is None:
            raise KeyError(key)
        self.pending[key] = None

    def write_batch(self, puts: dict[str, bytes], deletes: list[str]) -> None:
        """The buffered operations, then these deletes and puts, in one atomic write."""
        pending, self.pending = self.pending, {}
        for key in deletes:
            pending[key] = None
        pending.update(puts)
        self.store.write_batch({k: v for k, v in pending.items() if v is not None},
                               [k for k, v in pending.items() if v is None])

    def items_from(self, start: str) -> Iterator[tuple[str, bytes]]:
        self.flush()
        return self.store.items_from(start)

    def items_with_prefix(self, prefix: str) -> Iterator[tuple[str, bytes]]:
        self.flush()
        return self.store.items_with_prefix(prefix)

    def items(self) -> Iterator[tuple[str, bytes]]:  # type: ignore[override]
        self.flush()
        return self.store.items()

    def __iter__(self) -> Iterator[str]:
        self.flush()
        return iter(self.store)

    def __len__(self) -> int:
        self.flush()
        return len(self.store)

    def estimated_keys(self) -> int:
        return self.store.estimated_keys()
