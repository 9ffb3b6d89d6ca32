"""Retention and late events (streams/core/retention.py, docs/reliability.md "Retention").

The cause of the crash test's lost figures (issue 16): a presale story's events all arrive at one point
of the stream, dated up to ten days earlier. When the batch boundary fell after the buyer's chat and
before its order, a sweep in between saw a record whose last event was days older than the shop's event
clock, with nothing open (the chat answered, no order yet), and expired it. The order then started a new
record that knew nothing of the chat: no inquiry, so no agent credited with the order, its deposit and
its amount on the deposit's day (and the inquiry counted lost). Arrival order decided a figure.

The rule since: a record is kept for inquiry_valid_days + 1 days of the shop's event clock after its
newest event's time AND after its last arrival (the record's `arrived` stamp), so an event arriving
within that horizon always finds its buyer's record, whatever its own timestamp.

Also here, the two crash paths around an expiry: Kafka positions of an expired record delivered again
after a kill -9 are replays, not a new buyer (the shop's final record keeps the expired-through
positions), and an expiry's final records and its delete reach the store in one write."""

from __future__ import annotations

import itertools
import random
from datetime import date
from typing import Any

import orjson
import pytest

from streams.core.checkpoint import JournaledStore, restore
from streams.core.processor import SourceRecord
from streams.core.topics import partition_for, topic_for_type
from streams.tools.simulator import day_simulator
from streams.worker.recovery import PartitionUpkeep, sweep_chunk
from tests import oracle
from tests.money_traffic import with_money_traffic
from tests.partition_shop import PARTITIONS, SETTINGS, SHOP, Shop
from tests.unit.test_retention import assert_same_figures

DAY = 86_400_000
T0 = 1_762_502_400_000  # 2025-11-07 16:00 Asia/Shanghai


def sweep(shop: Shop) -> int:
    """The worker's sweep (streams/worker/recovery.sweep_chunk) over every record of each partition, on
    the event clock: each partition's "now" is its own largest event ts of the shop, as in the worker.
    Returns how many records expired."""
    expired = 0
    for processor, store in zip(shop.processors, shop.stores, strict=True):
        state = PartitionUpkeep(store)
        sweep_chunk(processor, state, "event", chunk=1 << 30)
        expired += state.expired
    return expired


def message(event_id: str, ts: int, buyer: str, sender: str, agent: str = "A") -> dict[str, Any]:
    return {"event_id": event_id, "shop_id": SHOP, "type": "chat.message", "ts": ts, "buyer_id": buyer,
            "agent_id": agent, "sender": sender, "text": "尾款什么时候付"}


def presale_story_in_two_pieces() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The crash test's presale story (tests/money_traffic.py): chat, order and deposit five days before
    the stream's other events, arriving with them; split after the chat."""
    early = T0 - 5 * DAY
    chat = [message("m1", early, "presale", "buyer"), message("m2", early + 5_000, "presale", "agent"),
            message("m3", T0, "today", "buyer"), message("m4", T0 + 5_000, "today", "agent")]
    order = [{"event_id": "o1", "shop_id": SHOP, "type": "order.created", "ts": early + 30_000,
              "buyer_id": "presale", "order_id": "o1", "amount": 1270.67, "items": 1},
             {"event_id": "o2", "shop_id": SHOP, "type": "order.deposit_paid", "ts": early + 60_000,
              "buyer_id": "presale", "order_id": "o1", "amount": 127.07}]
    return chat, order


def test_a_sweep_between_two_pieces_of_a_late_story_changes_no_figure() -> None:
    chat, order = presale_story_in_two_pieces()  # "presale" and "today" share partition 0
    shop = Shop()
    shop.process(chat)
    expired = sweep(shop)  # partition 0's clock is 5 days past the buyer's chat: old, but it just arrived
    shop.process(order)
    now = T0 + 5_000
    want = oracle.compute(chat + order, {}, now)
    deposit_day = min(want["agents"])
    assert want["agents"][deposit_day]["A"]["ordered_buyers"] == 1  # what the crash test lost
    assert_same_figures(shop.figures(shop.processors, now), want, "sweep between the pieces")
    assert expired == 0


def test_a_late_buyer_expires_once_idle_past_the_horizon_after_its_arrival() -> None:
    """The arrival stamp delays expiry by the horizon at most: the late chat (no order) expires once its
    partition's clock is inquiry_valid_days + 1 days past its arrival, not before; its figures stay."""
    chat, _ = presale_story_in_two_pieces()
    later = [message("m5", T0 + 3 * DAY - 10_000, "today", "buyer"),
             message("m6", T0 + 3 * DAY - 5_000, "today", "agent"),
             message("m7", T0 + 3 * DAY + 10_000, "today", "buyer"),
             message("m8", T0 + 3 * DAY + 15_000, "today", "agent")]
    shop = Shop()
    shop.process(chat)  # arrives when the partition's clock is T0 + 5 s (with "today"'s m4)
    shop.process(later[:2])
    assert sweep(shop) == 0  # 3 days less 10 s after its arrival (its chat is 8 days old by then)
    shop.process(later[2:])
    assert sweep(shop) == 1 and shop.records() == 1  # the late buyer; "today" is recent
    now = T0 + 3 * DAY + 15_000
    assert_same_figures(shop.figures(shop.processors, now), oracle.compute(chat + later, {}, now),
                        "after expiry")


# ---- the crash test's traffic, in the worker's batches, with sweeps and a kill -9 ----------------------


def crash_test_stream(events: int = 6000) -> list[dict[str, Any]]:
    """What tests/integration/test_worker_crash.py streams: the first `events` of a simulated Double-11
    day (its deposit-only history days first) with the money stories merged in (deposits up to ten days
    before the rest of their story, arriving with them); then, so that records expire, the first
    `events` // 2 of a day four days later, whose buyers are the same ids coming back. Without
    agent.status (agent time is the agent records', which retention does not touch)."""
    def first(day: date, count: int, prefix: str) -> list[dict[str, Any]]:
        simulated = day_simulator(shop_id=SHOP, agents=12, seed=7, day=day, big_day=prefix == "").events()
        return [{**event, "event_id": f"{prefix}{event['event_id']}"}
                for event in itertools.islice(simulated, count) if event["type"] != "agent.status"]

    return with_money_traffic(first(date(2025, 11, 11), events, "")) + first(date(2025, 11, 15), events // 2, "d4-")


def source_records(stream: list[dict[str, Any]]) -> list[tuple[int, SourceRecord]]:
    """(partition, Kafka record) in arrival order, one event per record, offsets per topic partition."""
    offsets: dict[tuple[str, int], int] = {}
    out = []
    for event in stream:
        partition = partition_for(f"{SHOP}|{event['buyer_id']}", PARTITIONS)
        topic = topic_for_type(event["type"])
        offset = offsets[(topic, partition)] = offsets.get((topic, partition), -1) + 1
        out.append((partition, SourceRecord(topic, partition, offset, orjson.dumps(event))))
    return out


def run_batches(shop: Shop, batches: list[list[tuple[int, SourceRecord]]]) -> int:
    """Each batch through its partitions' processors, then the worker's sweep (every batch: the harshest
    schedule). Returns the records expired."""
    expired = 0
    for batch in batches:
        for partition in range(PARTITIONS):
            records = [record for owner, record in batch if owner == partition]
            if records:
                shop.processors[partition].process(records)
        expired += sweep(shop)
    return expired


@pytest.mark.parametrize("seed", [1, 2, 3, "at the jump"])
def test_the_crash_tests_traffic_with_sweeps_and_a_kill_equals_the_oracle(seed: int | str) -> None:
    """Batches of random size (the worker's are whatever Kafka hands it), a sweep after each, a
    checkpoint every few batches; at some point the worker is killed: new processors restore from the
    checkpoint and the journal over the same stores, and the batches since Kafka's last commit come
    again (replays). "at the jump": the kill comes just after the stream jumps four days ahead, so the
    replayed batches hold events of records that expired in them. Every figure of every day, live and
    the 待催付 list equal the oracle over the whole log."""
    stream = crash_test_stream()
    records = source_records(stream)
    rng = random.Random(str(seed))
    batches, start = [], 0
    while start < len(records):
        size = rng.randint(1, 60)
        batches.append(records[start:start + size])
        start += size
    if seed == "at the jump":
        jump = next(number for number, batch in enumerate(batches)
                    if any(orjson.loads(record.value)["event_id"].startswith("d4-") for _, record in batch))
        committed, kill = jump - 3, jump + 2
    else:
        kill = rng.randint(len(batches) // 3, len(batches) - 1)
        committed = kill - rng.randint(0, 10)  # Kafka's offsets lag what was processed
    shop = Shop()
    expired = 0
    for number in range(0, kill, 7):
        expired += run_batches(shop, batches[number:min(number + 7, kill)])
        for processor, store in zip(shop.processors, shop.stores, strict=True):
            store.checkpoint(processor.tables, "test")  # every 7 batches; what follows is journalled
    # kill -9: the stores (RocksDB) stay, the processors' memory is gone
    shop.stores = [JournaledStore(store.store) for store in shop.stores]
    shop.processors = [shop.processor(p) for p in range(PARTITIONS)]
    for processor, store in zip(shop.processors, shop.stores, strict=True):
        restored = restore(store, processor.belongs, lambda s: lambda v: SETTINGS, "test")
        assert restored is not None
        processor.restored(restored[0])
    expired += run_batches(shop, batches[committed:])
    now = max(event["ts"] for event in stream)
    want = oracle.compute(stream, {}, now)
    assert_same_figures(shop.figures(shop.processors, now), want, f"seed {seed}")
    assert expired > 100  # the big day's buyers, four days on


# ---- a kill -9 in the middle of an expiry ------------------------------------------------------------


class Killed(Exception):
    pass


class DiesAfterWrites(dict):
    """A store (RocksDB stand-in) that dies once `budget` writes went through: each put, delete or
    atomic batch is one write. None: never."""

    budget: int | None = None

    def _spend(self) -> None:
        if self.budget is not None:
            if self.budget == 0:
                raise Killed
            self.budget -= 1

    def __setitem__(self, key: str, value: bytes) -> None:
        self._spend()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self._spend()
        super().__delitem__(key)

    def write_batch(self, puts: dict[str, bytes], deletes: list[str]) -> None:
        self._spend()
        super().update(puts)
        for key in deletes:
            self.pop(key, None)


def test_a_kill_at_any_write_of_an_expiry_neither_loses_nor_doubles_the_buyer() -> None:
    """The sweep freezes a buyer's day counters into the final records and deletes its record. Killed
    after any of its writes, the partition restored from checkpoint and journal equals the oracle:
    the final records and the delete land together or not at all."""
    chat, _ = presale_story_in_two_pieces()  # "presale" (late) and "today", both in partition 0
    later = [message("m7", T0 + 3 * DAY + 10_000, "today", "buyer"),
             message("m8", T0 + 3 * DAY + 15_000, "today", "agent")]
    now = T0 + 3 * DAY + 15_000
    want = oracle.compute(chat + later, {}, now)
    for budget in range(20):
        shop = Shop()
        store = DiesAfterWrites()
        shop.stores[0] = JournaledStore(store)
        shop.processors[0] = shop.processor(0)
        shop.process(chat)
        shop.process(later)
        shop.stores[0].checkpoint(shop.processors[0].tables, "test")
        store.budget = budget
        try:
            expired = sweep(shop)
        except Killed:
            expired = None
        store.budget = None
        restarted = shop.processor(0)
        restarted.store = JournaledStore(store)
        restored = restore(restarted.store, restarted.belongs, lambda s: lambda v: SETTINGS, "test")
        assert restored is not None
        restarted.restored(restored[0])
        assert_same_figures(shop.figures([restarted, *shop.processors[1:]], now), want, f"killed after {budget}")
        if expired is not None:
            assert expired == 1
            break
    else:
        raise AssertionError("the sweep never completed")
