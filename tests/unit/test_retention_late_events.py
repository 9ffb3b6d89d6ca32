"""Retention and late events (streams/core/retention.py, docs/reliability.md "Retention").

The cause of the crash test's lost figures (issue 16): a presale story's events all arrive at one point
of the stream, dated up to ten days earlier. When the batch boundary fell after the buyer's chat and
before its order, a sweep in between saw a record whose last event was days older than the shop's event
clock, with nothing open (the chat answered, no order yet), and expired it. The order then started a new
record that knew nothing of the chat: no inquiry, so no agent credited with the order, its deposit and
its amount on the deposit's day (and the inquiry counted lost). Arrival order decided a figure.

The rule since: a record is kept for inquiry_valid_days + 1 days of the shop's event clock after its
newest event's time AND after its last arrival (the record's `arrived` stamp), so an event arriving
within that horizon always finds its buyer's record, whatever its own timestamp."""

from __future__ import annotations

from typing import Any

from streams.worker.recovery import PartitionUpkeep, sweep_chunk
from tests import oracle
from tests.partition_shop import SHOP, Shop
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
