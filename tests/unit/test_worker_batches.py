"""The batch loop of the Faust agents (streams/worker/app.py) with fakes around it: no Kafka, Redis or RocksDB.

Both agents take batches, split them per partition, hold back what lies beyond an offset gap (and seek
back), apply the rest, write the changed records to the table's changelog, then the partition's new
cursors, then follow up in memory and send the dead letters. This pins that order, what is written and
what is counted, so the exactness argument of streams/core/cursors.py keeps holding."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace
from typing import Any

import pytest
from redis.exceptions import RedisError

import streams.worker.app as worker
from streams.core.cursors import cursor_key
from streams.core.processor import AgentStatusResult, BatchResult, DeadLetter
from streams.worker.catch_up import BATCH_MAX, BATCH_WITHIN_S


def message(topic: str, partition: int, offset: int) -> SimpleNamespace:
    return SimpleNamespace(message=SimpleNamespace(topic=topic, partition=partition, offset=offset,
                                                   value=f"{topic}@{offset}".encode(), timestamp=0.0))


class Stream:
    def __init__(self, *batches: list[SimpleNamespace]) -> None:
        self.batches = batches


@pytest.fixture(autouse=True)
def batches_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop takes the fake stream's batches (in place of delivery.take_batches over a Faust stream)."""

    async def take_batches(stream: Stream, max_: int, within: Callable[[], float],
                           ) -> AsyncIterator[list[SimpleNamespace]]:
        for batch in stream.batches:
            assert (max_, within()) == (BATCH_MAX, BATCH_WITHIN_S)  # (no partition of the worker is behind)
            yield batch

    monkeypatch.setattr(worker, "take_batches", take_batches)


@pytest.fixture
def trace(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every effect of the loop, in order; the tables are dicts per (table, partition)."""
    log: list[tuple[Any, ...]] = []
    stores: dict[tuple[str, int], dict[str, bytes]] = {}

    class Store(dict):
        def __new__(cls, table: Any, partition: int) -> dict[str, bytes]:  # type: ignore[misc]
            return stores.setdefault((table.name, partition), {})

    class Consumer:
        async def earliest_offsets(self, tp: Any) -> dict[Any, int]:
            return {tp: 0}

        async def seek(self, tp: Any, offset: int) -> None:
            log.append(("seek", tp.topic, tp.partition, offset))

    async def write_changelog(table: Any, partition: int, changed: dict[str, bytes]) -> None:
        log.append(("changelog", table.name, partition, dict(changed)))

    async def send_dead_letters(dead_letters: list[DeadLetter]) -> None:
        log.append(("dead letters", [d.offset for d in dead_letters]))

    class Metrics:
        def on_buyer_batch(self, records: list, result: Any) -> None:
            log.append(("metrics buyers", [r.offset for r in records]))

        def on_agent_batch(self, records: list, result: Any) -> None:
            log.append(("metrics agents", [r.offset for r in records]))

    class AgentPartition:
        def update(self, key: str, raw: bytes) -> None:
            log.append(("agent partition", key, raw))

    settings_down = [True]

    class Processor:
        def process(self, records: list) -> BatchResult:
            if settings_down[0]:
                settings_down[0] = False
                raise RedisError("settings unreadable")
            log.append(("process buyers", [(r.topic, r.offset) for r in records]))
            return BatchResult(changed={f"buyer@{r.offset}": r.value for r in records[:1]},
                               dead_letters=[DeadLetter(r.topic, r.partition, r.offset, None, "bad", None)
                                             for r in records[1:2]])

    def process_agent_events(records: list, partitions: int, store: dict) -> AgentStatusResult:
        log.append(("process agents", [(r.topic, r.offset) for r in records]))
        changed = {f"agent@{r.offset}": r.value for r in records}
        store.update(changed)
        return AgentStatusResult(changed=changed)

    async def no_sleep(seconds: float) -> None:
        log.append(("sleep", seconds))

    stores[(worker.buyers.name, 1)] = {cursor_key(worker.CHAT_EVENTS, 1): b"5"}
    monkeypatch.setattr(worker, "PartitionStore", Store)
    monkeypatch.setattr(worker, "app", SimpleNamespace(consumer=Consumer()))
    monkeypatch.setattr(worker, "_last_seek", {})
    monkeypatch.setattr(worker, "write_changelog", write_changelog)
    monkeypatch.setattr(worker, "send_dead_letters", send_dead_letters)
    monkeypatch.setattr(worker, "metrics", Metrics())
    monkeypatch.setattr(worker, "AgentPartition", AgentPartition)
    monkeypatch.setattr(worker, "agent_partitions", {})
    monkeypatch.setattr(worker, "processor_for", lambda partition: Processor())
    monkeypatch.setattr(worker, "upkeep", lambda processor, state, clock, retention: {})  # checkpoint, retention
    monkeypatch.setattr(worker, "upkeep_for", lambda partition: None)
    monkeypatch.setattr(worker, "process_agent_events", process_agent_events)
    monkeypatch.setattr(worker, "asyncio", SimpleNamespace(sleep=no_sleep))
    return log


async def test_buyer_batches(trace: list[tuple[Any, ...]]) -> None:
    chat, order, table = worker.CHAT_EVENTS, worker.ORDER_EVENTS, worker.buyers.name
    await worker.buyer_events.fun(Stream(
        [message(chat, 0, 0), message(order, 0, 0), message(chat, 1, 5), message(chat, 0, 1), message(chat, 0, 3)],
        [message(chat, 1, 6)],
    ))
    assert trace == [
        ("seek", chat, 0, 2),  # chat-events[0] jumps from 1 to 3: held back, sought back to 2
        ("sleep", 1),  # settings unreadable: the same batch again
        ("process buyers", [(chat, 0), (order, 0), (chat, 1)]),
        ("metrics buyers", [0, 0, 1]),
        ("changelog", table, 0, {"buyer@0": b"chat-events@0"}),
        ("changelog", table, 0, {cursor_key(chat, 0): b"2", cursor_key(order, 0): b"1"}),
        ("dead letters", [0]),
        ("process buyers", [(chat, 5)]),
        ("metrics buyers", [5]),
        ("changelog", table, 1, {"buyer@5": b"chat-events@5"}),
        ("changelog", table, 1, {cursor_key(chat, 1): b"6"}),
        ("dead letters", []),
        ("process buyers", [(chat, 6)]),
        ("metrics buyers", [6]),
        ("changelog", table, 1, {"buyer@6": b"chat-events@6"}),
        ("changelog", table, 1, {cursor_key(chat, 1): b"7"}),
        ("dead letters", []),
    ]


async def test_agent_batches(trace: list[tuple[Any, ...]]) -> None:
    topic, table = worker.AGENT_EVENTS, worker.agents.name
    await worker.agent_events.fun(Stream([message(topic, 2, 0), message(topic, 2, 1), message(topic, 2, 4)]))
    assert trace == [
        ("seek", topic, 2, 2),
        ("process agents", [(topic, 0), (topic, 1)]),
        ("metrics agents", [0, 1, 4]),  # (counts every record taken, the held-back one too)
        ("changelog", table, 2, {"agent@0": b"agent-events@0", "agent@1": b"agent-events@1"}),
        ("changelog", table, 2, {cursor_key(topic, 2): b"2"}),
        ("agent partition", "agent@0", b"agent-events@0"),
        ("agent partition", "agent@1", b"agent-events@1"),
        ("dead letters", []),
    ]


async def test_an_expiry_goes_after_the_records_and_before_the_cursors(
        trace: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch's sweep expired buyer@5 (its record only rewritten by this batch: replays) and another: the
    records go first without the superseded one, then the expiry as one write (write_expiry: one record
    batch), then the cursors."""
    chat, table = worker.CHAT_EVENTS, worker.buyers.name
    expiry = {"\x00final|s|": b"F", "buyer@5": None, "s|b9": None}

    async def write_expiry(table_: Any, partition: int, expired: dict[str, bytes | None]) -> None:
        trace.append(("expiry", table_.name, partition, dict(expired)))

    monkeypatch.setattr(worker, "write_expiry", write_expiry)
    monkeypatch.setattr(worker, "upkeep", lambda processor, state, clock, retention: dict(expiry))
    await worker.buyer_events.fun(Stream([message(chat, 1, 5), message(chat, 1, 6)]))
    assert trace == [
        ("sleep", 1),  # (the fixture's settings are unreadable once)
        ("process buyers", [(chat, 5), (chat, 6)]),
        ("metrics buyers", [5, 6]),
        ("changelog", table, 1, {}),  # buyer@5 superseded by its delete
        ("expiry", table, 1, expiry),
        ("changelog", table, 1, {cursor_key(chat, 1): b"7"}),
        ("dead letters", [6]),
    ]


async def test_a_paced_round_waits_the_whole_tick_after_a_round_longer_than_the_tick(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """`paced` (the export and alert ticks) keeps app.timer's pace for short ticks — the whole interval of
    sleep before each round, however long the last round took, so the batch loop always gets its turn —
    without app.timer's "Timer … is overlapping" warning: the rounds run in one app.task."""
    fake_app = SimpleNamespace(should_stop=False, tasks=[])
    fake_app.task = fake_app.tasks.append
    monkeypatch.setattr(worker, "app", fake_app)
    real_sleep = asyncio.sleep
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(worker.asyncio, "sleep", sleep)
    rounds = 0

    async def export_round() -> None:
        nonlocal rounds
        rounds += 1
        time.sleep(0.08)  # longer than the tick
        fake_app.should_stop = rounds == 3

    assert worker.paced(0.05)(export_round) is export_round
    assert len(fake_app.tasks) == 1
    await fake_app.tasks[0]()
    assert (rounds, sleeps) == (3, [0.05, 0.05, 0.05])
