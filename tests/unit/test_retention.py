"""Retention (streams/core/retention.py): idle buyer records expire into final day records, and no
figure of any day changes: the worker's live tables, a rebuild from the remaining records and a
restore from a checkpoint all equal the oracle over the whole event log, and the number of records
levels off over a compressed-time run of many days."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from streams.core.checkpoint import restore
from tests import oracle
from tests.partition_shop import PARTITIONS, SETTINGS, SHOP, Shop, simulated_days
from tests.scenarios import assert_matches


def assert_same_figures(got: dict[str, Any], want: dict[str, Any], label: str) -> None:
    for part in ("agents", "team", "groups"):
        assert_matches(got[part], want[part], f"{label}: {part}")
        assert_matches(want[part], got[part], f"{label}: {part} (reverse)")
    assert_matches(got["live"], want["live"], f"{label}: live")
    assert got["unpaid_orders"] == want["unpaid_orders"], label


def test_expiring_changes_no_figure_of_any_day_live_rebuilt_or_restored() -> None:
    days = simulated_days(date(2025, 11, 1), 6)
    shop = Shop()
    everything: list[dict[str, Any]] = []
    for number, events in enumerate(days):
        shop.process(events)
        everything += events
        now = max(event["ts"] for event in everything)
        shop.expire(now)
        if number == 2:  # a checkpoint mid-way: what follows is journalled
            for processor, store in zip(shop.processors, shop.stores, strict=True):
                store.checkpoint(processor.tables, "test")
    assert shop.expired > 100  # buyers of the first days are gone
    want = oracle.compute(everything, {}, now)
    assert len(want["agents"]) >= 6  # six days (and, with presale, deposits of the days before)
    assert_same_figures(shop.figures(shop.processors, now), want, "live tables after expiry")

    rebuilt = [shop.processor(p) for p in range(PARTITIONS)]
    for processor in rebuilt:
        processor.rebuild()
    assert_same_figures(shop.figures(rebuilt, now), want, "rebuilt from the remaining records")

    restored = [shop.processor(p) for p in range(PARTITIONS)]
    for processor, store in zip(restored, shop.stores, strict=True):
        tables = restore(store, processor.belongs, lambda s: lambda v: SETTINGS, "test")
        assert tables is not None
        processor.restored(tables[0])
    assert_same_figures(shop.figures(restored, now), want, "restored from checkpoint and journal")


def test_a_buyer_with_an_open_order_or_a_pending_message_does_not_expire() -> None:
    day = 86_400_000
    t0 = 1_761_955_200_000  # 2025-11-01 08:00 Asia/Shanghai
    events = [
        {"event_id": "m1", "shop_id": SHOP, "type": "chat.message", "ts": t0, "buyer_id": "waiting",
         "agent_id": "A", "sender": "buyer", "text": "在吗"},
        {"event_id": "m2", "shop_id": SHOP, "type": "chat.message", "ts": t0, "buyer_id": "unpaid",
         "agent_id": "A", "sender": "buyer", "text": "在吗"},
        {"event_id": "m3", "shop_id": SHOP, "type": "chat.message", "ts": t0 + 1000, "buyer_id": "unpaid",
         "agent_id": "A", "sender": "agent", "text": "在的"},
        {"event_id": "o1", "shop_id": SHOP, "type": "order.created", "ts": t0 + 2000, "buyer_id": "unpaid",
         "order_id": "o1", "amount": 10, "items": 1},
        {"event_id": "m4", "shop_id": SHOP, "type": "chat.message", "ts": t0, "buyer_id": "done",
         "agent_id": "A", "sender": "buyer", "text": "在吗"},
        {"event_id": "m5", "shop_id": SHOP, "type": "chat.message", "ts": t0 + 1000, "buyer_id": "done",
         "agent_id": "A", "sender": "agent", "text": "在的"},
    ]
    shop = Shop()
    shop.process(events)
    shop.expire(t0 + 3 * day - 1)  # not yet 3 days (inquiry_valid_days + 1)
    assert shop.records() == 3
    shop.expire(t0 + 3 * day + 10_000)
    keys = {key for store in shop.stores for key in store if not key.startswith("\x00")}
    assert keys == {f"{SHOP}|waiting", f"{SHOP}|unpaid"}


def test_over_many_compressed_days_the_records_level_off() -> None:
    """A soak in compressed time: 12 simulated days, the same number of new buyers every day. Without
    retention the records grow every day; with it they level off at about the last 3 days' buyers."""
    shop, kept_all = Shop(), Shop()
    counts, all_counts = [], []
    seen: list[dict[str, Any]] = []
    for events in simulated_days(date(2025, 11, 1), 12, rate=0.01):
        # New buyer ids each day (the simulator's ids are per seed): a season's stream of new buyers.
        day = events[0]["ts"] // 86_400_000
        events = [{**e, "buyer_id": f"{e['buyer_id']}-{day}"} if "buyer_id" in e else e for e in events]
        seen += events
        for target in (shop, kept_all):
            target.process(events)
        shop.expire(max(e["ts"] for e in events))
        counts.append(shop.records())
        all_counts.append(kept_all.records())
    assert all_counts[-1] > 2.5 * all_counts[3]  # without retention: grows with every day (12 days vs 4)
    steady = counts[4:]
    assert max(steady) <= 1.25 * min(steady), counts  # with it: flat after the first days
    now = max(e["ts"] for e in seen)
    want = kept_all.figures(kept_all.processors, now)
    assert_same_figures(shop.figures(shop.processors, now), want, "expired vs kept")
    assert list(itertools.islice(sorted(want["agents"]), 1)) == [min(want["agents"])]
