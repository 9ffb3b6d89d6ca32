"""Random event logs of one shop for the engine-vs-oracle property tests (hypothesis strategy).

A log straddles a Shanghai midnight and holds every kind of event, plus the edges metrics.md settles:
a buyer message and another event of that buyer with the same `ts` (an agent reply, a robot reply or a
transfer), agent statuses on both sides of midnight and a day apart (agent time), robot messages
carrying an `agent_id`, an internal account (`test-1`, in `filter_buyers` when the settings say so),
groups with names of the shop's own (`presale_groups`), service hours closed around midnight, and
queue waits (`chat.queued`) ended in time, late or never, an order event and an agent message with the
same `ts` (on two topics: the order event counts first), presale deposits, closes, `followup_not_lost`
on and off, and presale orders paid in full later (a deposit, then its balance minutes or a day later:
`balance_paid_*`).
Arrival order is a permutation of the events, with some duplicate deliveries.
"""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

from hypothesis import strategies as st

AGENTS = ["A", "B", "C"]
BUYERS = ["b1", "b2", "b3", "test-1"]
MINUTE = 60_000
# A base 15 minutes before a Shanghai midnight two days ago: logs straddle midnight, ts stay in the past.
_now = int(time.time() * 1000)
BASE = _now - (_now + 8 * 3_600_000) % 86_400_000 - 86_400_000 - 15 * MINUTE
# (groups, presale_groups): the defaults, an aftersale group, and a shop naming its own groups
# (an agent left out of `groups` is then in `presale`, which is no presale group there).
GROUPINGS: list[tuple[dict[str, str], list[str] | None]] = [
    ({}, None),
    ({"C": "aftersale"}, None),
    ({"A": "售前一组", "B": "售前二组", "C": "售后"}, ["售前一组", "售前二组"]),
    ({"A": "售前一组", "C": "售后"}, ["售前一组"]),
]


@st.composite
def event_logs(draw: st.DrawFn, max_events: int = 45) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(events in arrival order, the shop's settings)."""
    shop = f"prop-{uuid.uuid4().hex[:10]}"
    ids = itertools.count()
    count = draw(st.integers(1, max_events))
    events: list[dict[str, Any]] = []
    for _ in range(count):
        ts = BASE + draw(st.integers(0, 240)) * 10_000 + draw(st.sampled_from([0, 0, 0, 86_400_000]))
        buyer = draw(st.sampled_from(BUYERS))
        base = {"event_id": f"e{next(ids)}", "shop_id": shop, "ts": ts, "buyer_id": buyer}
        kind = draw(st.sampled_from(["buyer"] * 5 + ["agent"] * 4 + ["robot", "transfer", "rating", "created",
                                                                      "paid", "paid", "closed", "refunded",
                                                                      "status", "status", "status", "same_ts",
                                                                      "same_ts", "queued", "queued", "deposit",
                                                                      "chase", "presale"]))
        order_id = draw(st.sampled_from(["o1", "o2", "o3"]))
        amount = draw(st.sampled_from([0, 9.9, 128, 1999.01]))
        if kind in ("buyer", "agent", "robot"):
            agent = draw(st.sampled_from(AGENTS)) if kind == "agent" else draw(st.sampled_from([None, *AGENTS]))
            events.append({**base, "type": "chat.message", "agent_id": agent, "sender": kind,
                           "text": draw(st.sampled_from(["在吗", "多少钱?", " 在吗 ", None]))})
        elif kind == "same_ts":
            # A buyer message and, with the same ts, a reply of its agent, a robot reply or a transfer.
            agent = draw(st.sampled_from([None, *AGENTS]))
            events.append({**base, "type": "chat.message", "agent_id": agent, "sender": "buyer",
                           "text": draw(st.sampled_from(["多少钱?", "在吗"]))})
            other = {**base, "event_id": f"e{next(ids)}"}
            follow = draw(st.sampled_from(["agent", "robot", "transfer"]))
            if follow == "agent":
                events.append({**other, "type": "chat.message", "agent_id": agent or draw(st.sampled_from(AGENTS)),
                               "sender": "agent", "text": "亲，在的"})
            elif follow == "robot":
                events.append({**other, "type": "chat.message", "agent_id": agent, "sender": "robot",
                               "text": "您好，我是店小蜜"})
            else:
                events.append({**other, "type": "chat.transfer", "from_agent": agent,
                               "to_agent": draw(st.sampled_from(AGENTS))})
        elif kind == "transfer":
            events.append({**base, "type": "chat.transfer", "from_agent": draw(st.sampled_from([None, *AGENTS])),
                           "to_agent": draw(st.sampled_from(AGENTS))})
        elif kind == "queued":
            events.append({**base, "type": "chat.queued"})
        elif kind == "rating":
            events.append({**base, "type": "chat.rating", "agent_id": draw(st.sampled_from(AGENTS)),
                           "score": draw(st.integers(1, 5))})
        elif kind == "status":
            events.append({"event_id": base["event_id"], "shop_id": shop, "ts": ts, "type": "agent.status",
                           "agent_id": draw(st.sampled_from(AGENTS)),
                           "status": draw(st.sampled_from(["online", "busy", "away", "offline"]))})
        elif kind == "deposit":
            events.append({**base, "type": "order.deposit_paid", "order_id": order_id, "amount": amount})
        elif kind == "chase":
            # An order event and, with the same ts, an agent message: they travel on two topics, so their
            # arrival order is not defined; the order event counts first (docs/metric-rules.md).
            order_kind = draw(st.sampled_from(["created", "paid", "closed", "deposit_paid"]))
            order_event = {**base, "type": f"order.{order_kind}", "order_id": order_id}
            if order_kind != "closed":
                order_event["amount"] = amount
            if order_kind in ("created", "paid"):
                order_event["items"] = 1
            message = {**base, "event_id": f"e{next(ids)}", "type": "chat.message",
                       "agent_id": draw(st.sampled_from(AGENTS)), "sender": "agent", "text": "亲，记得付款哦"}
            events += [order_event, message] if draw(st.booleans()) else [message, order_event]
        elif kind == "presale":
            # A deposit and, later (the same hour, or the next day from the first day: the log still spans
            # at most a day and 45 minutes, within the series' retention), the balance: the full amount.
            events.append({**base, "type": "order.deposit_paid", "order_id": order_id, "amount": 9.9})
            later = ts + draw(st.sampled_from([10_000, 300_000, 86_400_000 if ts < BASE + 86_400_000 else 300_000]))
            events.append({**base, "event_id": f"e{next(ids)}", "ts": later, "type": "order.paid",
                           "order_id": order_id, "amount": amount, "items": 1})
        elif kind == "closed":
            events.append({**base, "type": "order.closed", "order_id": order_id})
        elif kind == "refunded":
            events.append({**base, "type": "order.refunded", "order_id": order_id, "amount": amount})
        else:
            events.append({**base, "type": f"order.{kind}", "order_id": order_id, "amount": amount,
                           "items": draw(st.integers(1, 3))})
    # Duplicate deliveries of some events, and arrival order unlike ts order.
    duplicates = draw(st.lists(st.sampled_from(events), max_size=4))
    arrival = draw(st.permutations(events + duplicates))
    groups, presale_groups = draw(st.sampled_from(GROUPINGS))
    shop_settings: dict[str, Any] = {
        "slow_response_s": draw(st.sampled_from([30, 60])),
        "sla_s": draw(st.sampled_from([60, 180])),
        "inquiry_valid_days": draw(st.sampled_from([1, 2])),
        "attribution": draw(st.sampled_from(["order", "payment", "order_first"])),
        "filter_phrases": draw(st.sampled_from([[], ["在吗"]])),
        "filter_buyers": draw(st.sampled_from([[], ["test-1"]])),
        "groups": groups,
        "active_window_s": draw(st.sampled_from([300, 600])),
        # Logs run from 23:45 to 00:25 (and a day later): hours that close before and open after midnight.
        "service_hours": draw(st.sampled_from([None, None, {"start": "00:05", "end": "23:55"},
                                               {"start": "00:20", "end": "24:00"}])),
        "followup_not_lost": draw(st.booleans()),
    }
    if presale_groups is not None:
        shop_settings["presale_groups"] = presale_groups
    return arrival, shop_settings
