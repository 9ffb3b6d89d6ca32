"""Coalesced changelog writes: a buyer changed in several consecutive batches goes to the changelog once.

The batch loop (streams/worker/app.py) hands each partition's changed records, then its new offset
cursors, to `CoalescedChangelog.add`; they wait here, one value per key (the latest), until `flush()`
sends them. Invariants:

- **Before any source offset is committed.** Faust commits source offsets only after
  `producer.flush()` (on its commit timer, before a rebalance's revocation, at shutdown);
  `install(producer)` makes that flush send everything waiting here first. A batch's records are added
  before the batch's events are acknowledged (the loop body ends before `take_events` acks them), so a
  committed offset never covers a record that is not on its way to the changelog. A crash loses only
  what no committed offset covers: those events are processed again, and the replays write their
  records again (PartitionProcessor.process).
- **Records before the cursors that cover them, latest value last.** Per partition, a flush sends the
  waiting records, then the waiting cursors (streams/core/cursors.py: a cursor is never durable before the
  records it covers); flushes never overlap (a lock), so an older value of a key is never sent after a
  newer one.
- **Bounded.** More than `max_keys` waiting keys (all partitions) flush at once from `add`.
- The local store always holds what is sent (the worker writes it before `add`), so the changelog offset
  Faust persists with the DB (`on_sent`) keeps meaning "every record up to here is in the DB".

Writes that must land together or not at all (retention's final records and the deletes of the records
they replace) bypass the coalescing: `send_as_one_batch` sends them as one Kafka record batch, which the
broker appends whole or not at all, after flushing what waits here (it may hold an older value of a
record they delete).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Send = Callable[[int, dict[str, bytes | None]], Awaitable[None]]  # (partition, changed) → sent in order


class CoalescedChangelog:
    def __init__(self, send: Send, is_cursor: Callable[[str], bool], max_keys: int = 10_000) -> None:
        self._send = send
        self._is_cursor = is_cursor
        self.max_keys = max_keys
        self._records: dict[int, dict[str, bytes | None]] = {}  # partition → key → latest value
        self._cursors: dict[int, dict[str, bytes | None]] = {}
        self._waiting = 0
        self._lock = asyncio.Lock()
        self.added = 0  # keys handed in, and keys sent: their ratio is what coalescing saves
        self.sent = 0

    @property
    def waiting(self) -> int:
        return self._waiting

    async def add(self, partition: int, changed: dict[str, bytes | None]) -> None:
        """Changed keys of one partition (records, or the offset cursors that follow them)."""
        if not changed:
            return
        is_cursor = self._is_cursor
        records = self._records.setdefault(partition, {})
        before = len(records)
        for key, value in changed.items():
            if is_cursor(key):
                cursors = self._cursors.setdefault(partition, {})
                self._waiting += key not in cursors
                cursors[key] = value
            else:
                records[key] = value
        self._waiting += len(records) - before
        self.added += len(changed)
        if self._waiting > self.max_keys:
            await self.flush()

    async def flush(self) -> None:
        """Send everything waiting: per partition its records, then its cursors."""
        async with self._lock:
            while self._records or self._cursors:
                records, cursors = self._records, self._cursors
                self._records, self._cursors, self._waiting = {}, {}, 0
                for partition in sorted(records.keys() | cursors.keys()):
                    for changed in (records.get(partition), cursors.get(partition)):
                        if changed:
                            await self._send(partition, changed)
                            self.sent += len(changed)


def install(producer: Any, changelog: CoalescedChangelog) -> None:
    """Make `producer.flush()` (what Faust awaits before every offset commit) send the waiting writes first."""
    if getattr(producer, "_kefu_coalesced", None) is changelog:
        return
    flush = producer.flush

    async def flush_waiting_first() -> None:
        await changelog.flush()
        await flush()

    producer.flush = flush_waiting_first
    producer._kefu_coalesced = changelog


async def send_as_one_batch(producer: Any, topic: str, partition: int, changed: dict[str, bytes | None]) -> Any:
    """`changed` to one partition of `topic` as one record batch of the aiokafka `producer`
    (create_batch / send_batch). Returns the future of the last batch sent (its result: the batch's first
    offset), None if nothing was sent. Only what outgrows one batch (the producer's max batch size, 1 MB
    here) is split, in order: the atomicity then holds per batch."""
    batch, sent = producer.create_batch(), None
    for key, value in changed.items():
        while batch.append(key=key.encode(), value=value, timestamp=None) is None:
            if not batch.record_count():
                raise ValueError(f"changelog record {key!r} larger than a producer batch")
            sent = await producer.send_batch(batch, topic, partition=partition)
            batch = producer.create_batch()
    if batch.record_count():
        sent = await producer.send_batch(batch, topic, partition=partition)
    return sent
