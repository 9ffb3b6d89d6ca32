"""The live facts' pacing (streams/worker/exporter.py): every (shop, partition) at most every
LIVE_EXPORT_INTERVAL_S, and all of a worker's live exports together at most LIVE_EXPORT_CPU_SHARE of its
time, however many partitions of a shop it owns (paced per pair alone, 8 partitions of one large shop
could take 8 × the share)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from bench.dataset import build
from streams.config import Config
from streams.core.processor import PartitionProcessor, SourceRecord
from streams.core.shop_settings import DEFAULT_SETTINGS
from streams.core.topics import AGENT_EVENTS
from streams.tools.engine import StaticSettings
from streams.worker import exporter as exporter_module
from streams.worker.exporter import (
    GC_PAUSES,
    LIVE_EXPORT_CPU_SHARE,
    LIVE_EXPORT_INTERVAL_S,
    LIVE_EXPORT_MAX_WAIT_S,
    Exporter,
    cpu_mark,
    export_cpu_since,
    next_live_export,
)

PARTITIONS = 8


@pytest.mark.parametrize("pairs", [1, 2, 8, 32])
@pytest.mark.parametrize("cost", [0.0001, 0.004, 0.02, 0.3])
def test_pairs_together_stay_within_the_share(pairs: int, cost: float) -> None:
    wait = next_live_export(100.0, cost, pairs) - 100.0
    assert LIVE_EXPORT_INTERVAL_S <= wait <= LIVE_EXPORT_MAX_WAIT_S
    if wait < LIVE_EXPORT_MAX_WAIT_S:  # (held to the longest wait, a pair may spend more than its share)
        assert pairs * cost / wait <= LIVE_EXPORT_CPU_SHARE + 1e-12
    if LIVE_EXPORT_INTERVAL_S < cost * pairs / LIVE_EXPORT_CPU_SHARE < LIVE_EXPORT_MAX_WAIT_S:
        assert pairs * cost / wait == pytest.approx(LIVE_EXPORT_CPU_SHARE)  # not slower than it must be


def test_one_expensive_export_never_holds_live_facts_back_for_long() -> None:
    """32 pairs, an export measured at 0.4 s: paced by the share alone, 128 s until the next one."""
    assert next_live_export(100.0, 0.4, 32) - 100.0 == LIVE_EXPORT_MAX_WAIT_S


def test_a_garbage_collection_inside_an_export_is_not_its_cost() -> None:
    mark = cpu_mark()
    GC_PAUSES("start", {})
    sum(i * i for i in range(300_000))  # CPU spent "inside a collection"
    GC_PAUSES("stop", {})
    assert export_cpu_since(mark) < 0.005
    mark = cpu_mark()
    sum(i * i for i in range(300_000))
    assert export_cpu_since(mark) > 0.005


class FakeClock:
    """thread_time advances `cost` per export (one export_shop between two reads); monotonic stands still."""

    def __init__(self, cost: float) -> None:
        self.cost = cost
        self.cpu = 0.0
        self.reads = 0

    def monotonic(self) -> float:
        return 1_000.0

    def thread_time(self) -> float:
        self.reads += 1
        if self.reads % 2 == 0:  # the read after export_shop
            self.cpu += self.cost
        return self.cpu


def test_a_worker_with_every_partition_of_a_shop_spends_the_share_once(monkeypatch: pytest.MonkeyPatch) -> None:
    data = build(1, 40, 3000, PARTITIONS, prefix="pacing")
    processors = {p: PartitionProcessor(p, PARTITIONS, {}, StaticSettings(DEFAULT_SETTINGS), clock=lambda: 2**62)
                  for p in range(PARTITIONS)}
    offsets: dict[tuple[str, int], int] = {}
    for topic, partition, _, value in data.records:
        if topic != AGENT_EVENTS:
            offset = offsets[(topic, partition)] = offsets.get((topic, partition), -1) + 1
            processors[partition].process([SourceRecord(topic, partition, offset, value)])
    live_pairs = [(p, shop) for p, processor in processors.items()
                  for shop, tables in processor.tables.shops.items() if tables.live]
    assert len(live_pairs) == PARTITIONS

    written: list[tuple[str, int, bool]] = []

    async def write_export(redis: Any, shop: str, partition: int, export: Any, curve: Any, **kwargs: Any) -> None:
        written.append((shop, partition, export.live is not None))

    class Redis:
        async def exists(self, key: str) -> int:
            return 1

    cost = 0.02  # 20 ms of CPU per live export: alone, 0.2 s between exports would keep a pair at 10 %
    clock = FakeClock(cost)
    monkeypatch.setattr(exporter_module, "write_export", write_export)
    monkeypatch.setattr(exporter_module, "time", clock)
    # The collector's pauses are real time; against this fake CPU clock a real collection during the
    # run would be subtracted from the fake costs.
    monkeypatch.setattr(exporter_module, "GC_PAUSES", SimpleNamespace(seconds=0.0))
    exporter = Exporter(Redis(), Config(), StaticSettings(DEFAULT_SETTINGS))  # type: ignore[arg-type]
    exporter._marker_checked = clock.monotonic()
    asyncio.run(exporter.export(processors, {}))
    assert sum(live for _, _, live in written) == PARTITIONS
    waits = [exporter._next_live[pair] - clock.monotonic() for pair in live_pairs]
    # Together: 8 exports of 20 ms each per wait ≤ 10 % of the time, i.e. every 1.6 s (not every 0.5 s).
    assert waits == [pytest.approx(PARTITIONS * cost / LIVE_EXPORT_CPU_SHARE)] * PARTITIONS
    assert sum(cost / wait for wait in waits) == pytest.approx(LIVE_EXPORT_CPU_SHARE)
