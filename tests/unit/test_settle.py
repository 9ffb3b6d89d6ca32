"""Derivations wait for the export (PartitionProcessor.settle): records are written per batch, a buyer
touched in several batches before its shop is exported is derived once, and nothing of that changes a
figure, a stored byte, or what a failed batch leaves behind."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.exceptions import RedisError

import streams.core.processor as processor_module
from streams.config import Config
from streams.core.processor import PartitionProcessor
from streams.core.shop_settings import DEFAULT_SETTINGS, ShopSettings
from streams.tools.engine import StaticSettings
from streams.worker import exporter as exporter_module
from streams.worker.catch_up import CATCH_UP_EXPORT_INTERVAL_S, CATCH_UP_RECORDS, catching_up, export_interval
from streams.worker.exporter import Exporter
from tests.unit.test_processor import PARTITIONS, P, Versions, _partition_of_simulated_day, hello, record


def figures(processor: PartitionProcessor) -> tuple[Any, Any, Any]:
    tables = processor.tables.shop("s")
    return tables.days, tables.minutes, {buyer: repr(entry) for buyer, entry in tables.live.items()}


def test_a_batch_writes_its_records_and_its_buyers_wait_for_settle() -> None:
    store: dict[str, bytes] = {}
    processor = PartitionProcessor(P, PARTITIONS, store, Versions(), clock=lambda: 2**62)
    result = processor.process([record(0, hello("e1", 0))])
    assert set(result.changed) == {"s|b1"} and store["s|b1"] == result.changed["s|b1"]
    assert processor.waiting_shops() == ["s"]
    assert processor.tables_as_derived().shop("s").days == {}  # not derived yet
    processor.settle("other-shop")  # another shop's settle leaves this one waiting
    assert processor.waiting_shops() == ["s"]
    processor.settle("s")
    assert processor.waiting_shops() == []
    assert processor.tables_as_derived().shop("s").days["2026-11-11"]["agents"]["A"]["received"] == 1


def test_buyers_touched_in_many_batches_are_derived_once_with_the_same_figures(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Settled after every 10th batch (and with a cache of 20 buyers: waiting buyers are never read back
    from their stored record, which is ahead of the tables) against settled after every batch."""
    records = _partition_of_simulated_day(P, 24_000)
    calls = {"count": 0}
    advance = processor_module.advance

    def counted(*args: Any) -> Any:
        calls["count"] += 1
        return advance(*args)

    monkeypatch.setattr(processor_module, "advance", counted)
    eager_store: dict[str, bytes] = {}
    eager = PartitionProcessor(P, PARTITIONS, eager_store, Versions(), clock=lambda: 2**62)
    for start in range(0, len(records), 50):
        eager.process(records[start:start + 50])
        eager.settle()
    eager_derivations, calls["count"] = calls["count"], 0
    lazy_store: dict[str, bytes] = {}
    lazy = PartitionProcessor(P, PARTITIONS, lazy_store, Versions(), cache_size=20, clock=lambda: 2**62)
    for number, start in enumerate(range(0, len(records), 50)):
        lazy.process(records[start:start + 50])
        # The exporter settles the shops that have tables: every shop with buyers waiting has them.
        assert set(lazy.waiting_shops()) <= set(lazy.tables_as_derived().shops)
        if number % 10 == 9:
            lazy.settle()
    assert figures(lazy) == figures(eager)
    assert lazy_store == eager_store
    assert lazy.tables.shop("s").processed == eager.tables.shop("s").processed
    assert calls["count"] < eager_derivations * 0.7, (calls["count"], eager_derivations)


class FailingOnce(Versions):
    """Version 2 cannot be read the first time (Redis down), then can."""

    def __init__(self) -> None:
        self.failed = False

    def get(self, shop_id: str, version: int) -> ShopSettings:
        if version == 2 and not self.failed:
            self.failed = True
            raise RedisError("settings unavailable")
        return ShopSettings() if version == 2 else super().get(shop_id, version)


def test_a_failed_batch_leaves_a_waiting_buyer_as_its_stored_record() -> None:
    other = {**hello("e9", 2), "buyer_id": "b2"}
    # Both buyers in this processor's partition: find a second buyer id that lands in P.
    buyer = next(f"b{n}" for n in range(2, 200)
                 if processor_module.partition_of(f"s|b{n}", PARTITIONS) == P)
    other["buyer_id"] = buyer
    first = [record(0, hello("e1", 0))]
    second = [record(1, {**hello("e2", 0), "ts": hello("e2", 0)["ts"] + 1000}, other)]

    store: dict[str, bytes] = {}
    processor = PartitionProcessor(P, PARTITIONS, store, FailingOnce(), clock=lambda: 2**62)
    processor.process(first)
    stored = store["s|b1"]
    with pytest.raises(RedisError):
        processor.process(second)  # b1's event is applied before b2's settings fail
    assert store["s|b1"] == stored
    assert processor._waiting["s"]["s|b1"].record.to_bytes() == stored
    processor.process(second)  # the retry

    clean = PartitionProcessor(P, PARTITIONS, {}, FailingOnce(), clock=lambda: 2**62)
    clean.settings.failed = True
    clean.process(first)
    clean.process(second)
    assert figures(processor) == figures(clean)
    assert store == clean.store


def test_export_interval_stretches_only_while_records_wait() -> None:
    assert export_interval(0.1, 0) == 0.1
    assert export_interval(0.1, CATCH_UP_RECORDS) == 0.1
    assert export_interval(0.1, CATCH_UP_RECORDS + 1) == CATCH_UP_EXPORT_INTERVAL_S
    assert not catching_up(CATCH_UP_RECORDS) and catching_up(CATCH_UP_RECORDS + 1)  # (retention waits then)


class SteppingClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def monotonic(self) -> float:
        return self.now

    def thread_time(self) -> float:
        return 0.0


def test_a_partition_that_is_behind_exports_less_often(monkeypatch: pytest.MonkeyPatch) -> None:
    other = (P + 1) % PARTITIONS
    records = {p: _partition_of_simulated_day(p, 6_000) for p in (P, other)}
    processors = {p: PartitionProcessor(p, PARTITIONS, {}, StaticSettings(DEFAULT_SETTINGS), clock=lambda: 2**62)
                  for p in records}
    written: list[int] = []

    async def write_export(redis: Any, shop: str, partition: int, export: Any, curve: Any, **kwargs: Any) -> None:
        written.append(partition)

    class Redis:
        async def exists(self, key: str) -> int:
            return 1

    clock = SteppingClock()
    monkeypatch.setattr(exporter_module, "write_export", write_export)
    monkeypatch.setattr(exporter_module, "time", clock)
    exporter = Exporter(Redis(), Config(), StaticSettings(DEFAULT_SETTINGS))  # type: ignore[arg-type]
    exporter._marker_checked = clock.now
    step_s = 0.25
    stride = round(CATCH_UP_EXPORT_INTERVAL_S / step_s)  # steps between two exports while behind
    behind_steps = 3 * stride
    steps = behind_steps + 8
    for step in range(steps):
        for partition, processor in processors.items():
            size = -(-len(records[partition]) // steps)
            processor.process(records[partition][step * size:(step + 1) * size])
        waiting = {P: CATCH_UP_RECORDS + 1} if step < behind_steps else {}
        asyncio.run(exporter.export(processors, {}, waiting))
        clock.now += step_s
    # Behind: at its first step, then every CATCH_UP_EXPORT_INTERVAL_S; caught up: every step
    # (0.25 s ≥ export_interval_s). The other partition, never behind: every step.
    assert written.count(other) == steps
    assert written.count(P) == 3 + (steps - behind_steps)
    assert processors[P].waiting_shops() == []  # its last export settled everything
