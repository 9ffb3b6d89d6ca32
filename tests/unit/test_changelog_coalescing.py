"""Coalesced changelog writes (streams/worker/changelog.py, streams/worker/app.py): a buyer changed in several
batches is sent once, with its latest value, always before Faust commits the source offsets that cover it
(Faust awaits `producer.flush()` before every commit), records before the cursors that cover them; retention's
expiry in one record batch after whatever waits."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

import streams.worker.app as worker
from streams.core.cursors import cursor_key, is_cursor_key
from streams.worker.changelog import CoalescedChangelog, install, send_as_one_batch


class Producer:
    """What the worker uses of Faust's producer: send (records the order) and flush."""

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []

    async def send(self, topic: str, key: bytes, value: bytes | None, partition: int, ts: Any,
                   headers: Any) -> asyncio.Future:
        self.log.append(("send", partition, key.decode(), value))
        return asyncio.get_running_loop().create_future()  # never acknowledged here: no persisted offset

    async def flush(self) -> None:
        self.log.append(("flush",))

    # aiokafka's batch API (Faust's producer hands out its aiokafka producer: _ensure_producer)
    def _ensure_producer(self) -> Producer:
        return self

    def create_batch(self) -> Batch:
        return Batch(self.batch_capacity)

    async def send_batch(self, batch: Batch, topic: str, *, partition: int) -> asyncio.Future:
        self.log.append(("batch", partition, [(key.decode(), value) for key, value in batch.records]))
        return asyncio.get_running_loop().create_future()

    batch_capacity = 100


class Batch:
    """aiokafka's BatchBuilder as send_as_one_batch uses it: append returns None once full."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.records: list[tuple[bytes, bytes | None]] = []

    def append(self, *, key: bytes, value: bytes | None, timestamp: Any) -> object | None:
        if len(self.records) >= self.capacity:
            return None
        self.records.append((key, value))
        return object()

    def record_count(self) -> int:
        return len(self.records)


@pytest.fixture
def producer(monkeypatch: pytest.MonkeyPatch) -> Producer:
    fake = Producer()
    monkeypatch.setattr(worker, "app", SimpleNamespace(producer=fake))
    monkeypatch.setattr(worker, "buyer_changelog", CoalescedChangelog(
        lambda partition, changed: worker.send_changelog(worker.buyers, partition, changed), is_cursor_key))
    return fake


async def test_a_buyer_changed_in_two_batches_is_sent_once_before_the_commit(producer: Producer) -> None:
    chat = cursor_key(worker.CHAT_EVENTS, 3)
    await worker.write_changelog(worker.buyers, 3, {"s|b1": b"v1", "s|b2": b"w1"})
    await worker.write_changelog(worker.buyers, 3, {chat: b"10"})
    await worker.write_changelog(worker.buyers, 3, {"s|b1": b"v2"})
    await worker.write_changelog(worker.buyers, 3, {chat: b"20"})
    assert producer.log == []  # nothing sent yet: the next offset commit flushes
    await worker.app.producer.flush()  # what Faust awaits before committing offsets
    assert producer.log == [("send", 3, "s|b1", b"v2"), ("send", 3, "s|b2", b"w1"),  # the latest values
                            ("send", 3, chat, b"20"),  # then the cursor that covers them
                            ("flush",)]


async def test_the_agents_table_is_sent_at_once(producer: Producer) -> None:
    await worker.write_changelog(worker.agents, 1, {"s|a1": b"x"})
    assert producer.log == [("send", 1, "s|a1", b"x")]


async def test_partitions_flush_records_then_cursors_and_a_full_buffer_flushes_itself() -> None:
    sent: list[tuple[int, dict[str, bytes | None]]] = []

    async def send(partition: int, changed: dict[str, bytes | None]) -> None:
        sent.append((partition, dict(changed)))

    changelog = CoalescedChangelog(send, is_cursor_key, max_keys=4)
    await changelog.add(2, {"a": b"1", cursor_key("t", 2): b"5"})
    await changelog.add(1, {"b": b"1", "a2": None})  # a delete (retention) waits like a record
    assert sent == [] and changelog.waiting == 4
    await changelog.add(2, {"c": b"1"})  # a fifth key: flushed at once
    assert sent == [(1, {"b": b"1", "a2": None}), (2, {"a": b"1", "c": b"1"}), (2, {cursor_key("t", 2): b"5"})]
    assert changelog.waiting == 0 and (changelog.added, changelog.sent) == (5, 5)


async def test_writes_added_while_a_flush_sends_go_after_it_never_before() -> None:
    sent: list[tuple[str, bytes | None]] = []
    gate = asyncio.Event()

    async def send(partition: int, changed: dict[str, bytes | None]) -> None:
        await gate.wait()  # a full producer buffer
        sent.extend(changed.items())

    changelog = CoalescedChangelog(send, is_cursor_key)
    await changelog.add(0, {"k": b"old"})
    flushing = asyncio.create_task(changelog.flush())
    await asyncio.sleep(0)
    await changelog.add(0, {"k": b"new"})  # the next batch, while the flush waits
    second = asyncio.create_task(changelog.flush())  # e.g. the commit timer
    await asyncio.sleep(0)
    gate.set()
    await asyncio.gather(flushing, second)
    assert sent == [("k", b"old"), ("k", b"new")]  # compaction keeps the newest


async def test_install_flushes_the_waiting_writes_before_the_producer() -> None:
    order: list[str] = []

    async def send(partition: int, changed: dict[str, bytes | None]) -> None:
        order.append("changelog")

    producer = Producer()
    changelog = CoalescedChangelog(send, is_cursor_key)
    install(producer, changelog)
    install(producer, changelog)  # idempotent: still one changelog flush per producer flush
    await changelog.add(0, {"k": b"v"})
    await producer.flush()
    assert order == ["changelog"] and producer.log == [("flush",)]


async def test_an_expiry_goes_in_one_record_batch_after_what_waits(producer: Producer) -> None:
    """Final records and the deletes they replace land together or not at all; an older value of a deleted
    record still waiting is sent before them, never after (it would bring the record back)."""
    chat = cursor_key(worker.CHAT_EVENTS, 3)
    await worker.write_changelog(worker.buyers, 3, {"s|b1": b"old", "s|b2": b"w1"})
    await worker.write_changelog(worker.buyers, 3, {chat: b"10"})
    await worker.write_expiry(worker.buyers, 3, {"\x00final|s|2026-11-11": b"F", "\x00final|s|": b"S",
                                                 "s|b1": None})
    assert producer.log == [("send", 3, "s|b1", b"old"), ("send", 3, "s|b2", b"w1"), ("send", 3, chat, b"10"),
                            ("batch", 3, [("\x00final|s|2026-11-11", b"F"), ("\x00final|s|", b"S"),
                                          ("s|b1", None)])]


async def test_what_outgrows_one_batch_is_split_in_order_and_an_oversized_record_is_refused() -> None:
    fake = Producer()
    fake.batch_capacity = 2
    assert await send_as_one_batch(fake, "t", 0, {}) is None
    await send_as_one_batch(fake, "t", 1, {"a": b"1", "b": b"2", "c": None})
    assert fake.log == [("batch", 1, [("a", b"1"), ("b", b"2")]), ("batch", 1, [("c", None)])]
    fake.batch_capacity = 0
    with pytest.raises(ValueError, match="larger than a producer batch"):
        await send_as_one_batch(fake, "t", 1, {"a": b"1"})

