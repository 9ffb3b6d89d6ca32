"""Restart from a checkpoint (streams/core/checkpoint.py): the tables restored from checkpoint + journal
equal a rebuild from every record, whatever happened since the checkpoint, and the work a restore does
depends on what changed since the checkpoint, not on how long the history is."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from streams.core.checkpoint import CHECKPOINT_KEY, JOURNAL_PREFIX, restore
from streams.core.processor import PartitionProcessor
from streams.worker.exporter import SERIES_KEEP_MS
from tests.partition_shop import PARTITIONS, SETTINGS, Shop, simulated_days
from tests.scenarios import assert_matches


def settings_for(shop: str) -> Any:
    return lambda version: SETTINGS


def restored(shop: Shop, fingerprint: str = "test") -> tuple[list[PartitionProcessor], int, float]:
    """Each partition as a restarted worker gets it: (processors, keys re-derived, seconds)."""
    processors, fixed, started = [], 0, time.perf_counter()
    for partition in range(PARTITIONS):
        processor = shop.processor(partition)
        result = restore(shop.stores[partition], processor.belongs, settings_for, fingerprint)
        assert result is not None
        processor.restored(result[0])
        processors.append(processor)
        fixed += result[1]
    return processors, fixed, time.perf_counter() - started


def rebuilt(shop: Shop) -> tuple[list[PartitionProcessor], float]:
    started = time.perf_counter()
    processors = [shop.processor(partition) for partition in range(PARTITIONS)]
    for processor in processors:
        processor.rebuild()
    return processors, time.perf_counter() - started


def checkpoint(shop: Shop) -> None:
    for processor, store in zip(shop.processors, shop.stores, strict=True):
        for tables in processor.tables.shops.values():  # as the exporter does: the series keeps 25 h
            tables.prune_minutes(tables.watermark - SERIES_KEEP_MS)
        store.checkpoint(processor.tables, "test")


def assert_equal(shop: Shop, got: list[PartitionProcessor], want: list[PartitionProcessor], now: int) -> None:
    got_figures, want_figures = shop.figures(got, now), shop.figures(want, now)
    for part in ("agents", "team", "groups", "live", "series"):
        assert_matches(got_figures[part], want_figures[part], part)
        assert_matches(want_figures[part], got_figures[part], part)
    assert got_figures["unpaid_orders"] == want_figures["unpaid_orders"]
    for a, b in zip(got, want, strict=True):
        for shop_id, tables in b.tables.shops.items():
            assert a.tables.shops[shop_id].processed == tables.processed


def test_restore_equals_rebuild_after_late_events_a_crash_mid_write_and_foreign_changelog_records() -> None:
    first, second = simulated_days(date(2025, 11, 10), 2, rate=0.02)
    shop = Shop()
    half = len(first) // 2
    shop.process(first[:half])
    checkpoint(shop)
    # After the checkpoint: the rest of the day, and late events of the first half again with new
    # ids (they sort before folded events: those buyers are derived from scratch).
    late = [{**event, "event_id": f"late-{event['event_id']}"} for event in first[:half:7]]
    shop.process(first[half:] + late)
    # A crash between a journal write and the record write: the key is journalled, unchanged.
    store = shop.stores[0]
    untouched = next(key for key in store if shop.processors[0].belongs(key) and key not in store.journaled)
    store.note(untouched)
    # Faust's recovery writing records another worker produced (here: another history's records).
    other = Shop()
    other.process(second)
    for partition, other_store in enumerate(other.stores):
        for key, value in list(other_store.items())[:25]:
            if other.processors[partition].belongs(key):
                shop.stores[partition].note(key)
                shop.stores[partition].store[key] = value
    now = max(e["ts"] for e in first + second)
    got, fixed, _ = restored(shop)
    want, _ = rebuilt(shop)
    assert fixed > 100
    assert_equal(shop, got, want, now)


def test_a_checkpoint_of_other_code_is_not_used() -> None:
    shop = Shop()
    shop.process(simulated_days(date(2025, 11, 10), 1, rate=0.005)[0])
    checkpoint(shop)
    processor = shop.processor(0)
    assert restore(shop.stores[0], processor.belongs, settings_for, "other code") is None
    shop.stores[0].store[CHECKPOINT_KEY] = b"not a pickle"
    assert restore(shop.stores[0], processor.belongs, settings_for, "test") is None


def test_restore_work_does_not_grow_with_history() -> None:
    """Two histories, 1 day and 8 days, checkpointed; then the same recent change (the same new
    buyers' events). Restoring re-derives the same keys and takes about the same time; a rebuild from every
    record (what a restart did before) grows with the history."""
    days = simulated_days(date(2025, 11, 1), 9, rate=0.02)
    # The recent change: 400 events of buyers new to both histories (a buyer's own timeline is bounded
    # by retention, not by the season), a month later.
    later = timedelta(days=30) // timedelta(milliseconds=1)
    recent = [{**event, "event_id": f"recent-{event['event_id']}", "ts": event["ts"] + later,
               **({"buyer_id": f"{event['buyer_id']}-recent"} if "buyer_id" in event else {})}
              for event in days[0][:400]]
    timings: dict[str, dict[str, Any]] = {}
    for name, history in (("short", days[8:]), ("long", days[1:])):
        shop = Shop()
        for events in history:
            shop.process(events)
        checkpoint(shop)
        shop.process(recent)
        journalled = {key for store in shop.stores for key in store if key.startswith(JOURNAL_PREFIX)}
        runs = [restored(shop) for _ in range(3)]
        rebuilds = [rebuilt(shop)[1] for _ in range(2)]
        timings[name] = {"records": shop.records(), "fixed": runs[0][1], "journal": len(journalled),
                         "restore_s": min(run[2] for run in runs), "rebuild_s": min(rebuilds)}
        assert_equal(shop, runs[0][0], rebuilt(shop)[0], recent[-1]["ts"])
    short, long = timings["short"], timings["long"]
    assert long["records"] > 5 * short["records"], timings
    assert long["fixed"] == short["fixed"] == long["journal"], timings  # the recent change's keys, no more
    assert long["rebuild_s"] > 3 * short["rebuild_s"], timings  # the old way grows with the history
    assert long["restore_s"] < 2 * short["restore_s"] + 0.05, timings  # the new one does not
