"""Hand-worked scenarios for every row of shared/spec/metrics.md (read with docs/metric-rules.md).

Each scenario is a dict {"name", "events", "settings", "now_ms", "expect"}; "expect" holds only the
figures the scenario checks, in the shape returned by `compute` (tests/oracle.py and
streams.tools.engine.compute_batch). The expected values were worked out by hand from the spec — the
arithmetic is in the comments — not by running any implementation.

Times are 2026-11-11 (Asia/Shanghai) unless said otherwise; `t(10, 0)` = 10:00:00.000 local.
"""

from __future__ import annotations

import itertools
import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

SHOP = "shop1"
TZ = ZoneInfo("Asia/Shanghai")
D11 = "2026-11-11"
D12 = "2026-11-12"

_ids = itertools.count(1)


def t(h: int, m: int = 0, s: int = 0, ms: int = 0, day: int = 11) -> int:
    """Epoch ms of 2026-11-{day} h:m:s.ms in Asia/Shanghai (t(10) = 1794362400000)."""
    return int(datetime(2026, 11, day, h, m, s, tzinfo=TZ).timestamp()) * 1000 + ms


def _eid(eid: str | None) -> str:
    return eid if eid is not None else f"e{next(_ids)}"


def buyer(ts: int, b: str, a: str | None, text: str | None = "你好，请问一下",
          eid: str | None = None) -> dict:
    """A buyer message routed to agent `a` (None = robot / queue)."""
    ev = {"event_id": _eid(eid), "shop_id": SHOP, "type": "chat.message", "ts": ts,
          "buyer_id": b, "agent_id": a, "sender": "buyer"}
    if text is not None:
        ev["text"] = text
    return ev


def agent(ts: int, b: str, a: str, text: str = "亲，在的", eid: str | None = None) -> dict:
    return {"event_id": _eid(eid), "shop_id": SHOP, "type": "chat.message", "ts": ts,
            "buyer_id": b, "agent_id": a, "sender": "agent", "text": text}


def robot(ts: int, b: str, a: str | None = None, eid: str | None = None) -> dict:
    return {"event_id": _eid(eid), "shop_id": SHOP, "type": "chat.message", "ts": ts,
            "buyer_id": b, "agent_id": a, "sender": "robot", "text": "您好，我是店小蜜"}


def transfer(ts: int, b: str, src: str | None, dst: str, eid: str | None = None) -> dict:
    return {"event_id": _eid(eid), "shop_id": SHOP, "type": "chat.transfer", "ts": ts,
            "buyer_id": b, "from_agent": src, "to_agent": dst}


def rating(ts: int, b: str, a: str, score: int, eid: str | None = None) -> dict:
    return {"event_id": _eid(eid), "shop_id": SHOP, "type": "chat.rating", "ts": ts,
            "buyer_id": b, "agent_id": a, "score": score}


def created(ts: int, b: str, oid: str, amount: float, items: int = 1, eid: str | None = None) -> dict:
    return {"event_id": _eid(eid), "shop_id": SHOP, "type": "order.created", "ts": ts,
            "buyer_id": b, "order_id": oid, "amount": amount, "items": items}


def paid(ts: int, b: str, oid: str, amount: float, items: int = 1, eid: str | None = None) -> dict:
    return {"event_id": _eid(eid), "shop_id": SHOP, "type": "order.paid", "ts": ts,
            "buyer_id": b, "order_id": oid, "amount": amount, "items": items}


def closed(ts: int, b: str, oid: str, eid: str | None = None) -> dict:
    return {"event_id": _eid(eid), "shop_id": SHOP, "type": "order.closed", "ts": ts,
            "buyer_id": b, "order_id": oid}


def refunded(ts: int, b: str, oid: str, amount: float, eid: str | None = None) -> dict:
    return {"event_id": _eid(eid), "shop_id": SHOP, "type": "order.refunded", "ts": ts,
            "buyer_id": b, "order_id": oid, "amount": amount}


def queued(ts: int, b: str, eid: str | None = None) -> dict:
    """chat.queued: the buyer asked for a human (转人工) and waits in the queue."""
    return {"event_id": _eid(eid), "shop_id": SHOP, "type": "chat.queued", "ts": ts, "buyer_id": b}


def status(ts: int, a: str, st: str, eid: str | None = None) -> dict:
    return {"event_id": _eid(eid), "shop_id": SHOP, "type": "agent.status", "ts": ts,
            "agent_id": a, "status": st}


SCENARIOS: list[dict[str, Any]] = []


def scenario(name: str, events: list[dict], expect: dict, settings: dict | None = None,
             now_ms: int | None = None) -> None:
    SCENARIOS.append({"name": name, "events": events, "settings": settings, "now_ms": now_ms,
                      "expect": expect})


# ------------------------------------------------------------------------------------------------
# 1. One agent, two buyers: messages, responses, first response, SLA, ratings, empty conversion.
# ------------------------------------------------------------------------------------------------
scenario(
    "basic_single_agent",
    [
        buyer(t(10, 0, 0), "b1", "a1", "我想问下这个尺码"),
        buyer(t(10, 0, 30), "b1", "a1", "有货吗"),
        agent(t(10, 0, 40), "b1", "a1"),  # answers 10:00:00 and 10:00:30; clock 10:00:00 → 40 s
        agent(t(10, 1, 0), "b1", "a1"),  # nothing pending → not a response
        buyer(t(10, 2, 0), "b2", "a1"),
        agent(t(10, 4, 0), "b2", "a1"),  # 120 s → slow (> 60)
        buyer(t(10, 5, 0), "b1", "a1", "好的"),
        agent(t(10, 5, 30), "b1", "a1"),  # 30 s
        rating(t(10, 6, 0), "b1", "a1", 5),
        rating(t(10, 6, 10), "b2", "a1", 3),
    ],
    {
        "agents": {D11: {"a1": {
            "consult_buyers": 2, "received_buyers": 2, "filtered_buyers": 0,
            "buyer_messages": 4,  # 10:00, 10:00:30, 10:02, 10:05
            "agent_messages": 4,  # 10:00:40, 10:01, 10:04, 10:05:30
            "qa_ratio": 1.0,  # 4 / 4
            "replied_buyers": 2, "reply_rate": 1.0, "unreplied_buyers": 0,
            "responses": 3,  # 40 s, 120 s, 30 s
            "avg_response_s": 190 / 3,  # (40 + 120 + 30) / 3 = 63.333…
            "slow_responses": 1,  # 120 > 60
            "first_response_avg_s": 80.0,  # b1: 10:00:40 − 10:00:00 = 40; b2: 120 → (40 + 120) / 2
            "sla_buyers": 2, "sla_met_buyers": 2, "sla_rate": 1.0,  # 40 ≤ 180, 120 ≤ 180
            "ratings": 2, "satisfied_ratings": 1, "satisfaction_rate": 0.5,  # 5 ≥ 4, 3 < 4
            "inquiry_buyers": 2, "ordered_buyers": 0, "paid_buyers": 0,
            "inquiry_order_rate": 0.0, "inquiry_pay_rate": 0.0,  # 0 / 2
            "order_pay_rate": None,  # 0 / 0
            "lost_buyers": 2,  # 2 − 0
            "sales": 0.0, "sales_buyers": 0, "sales_items": 0,
            "avg_buyer_value": None, "items_per_buyer": None, "avg_item_price": None,  # / 0
            "refunds": 0, "refund_amount": 0.0,
        }}},
        "team": {D11: {
            "consult_buyers": 2, "received_buyers": 2, "responses": 3, "avg_response_s": 190 / 3,
            "first_response_avg_s": 80.0, "sla_rate": 1.0, "ratings": 2, "satisfaction_rate": 0.5,
            "silent_sales": 0.0, "shop_sales": 0.0, "silent_share": None, "robot_only_buyers": 0,
        }},
        "groups": {D11: {"presale": {"received_buyers": 2, "responses": 3, "inquiry_buyers": 2}}},
        "live": {
            # now = 10:06:10; every message is within 600 s; nothing pending
            "agents": {"a1": {"status": "unknown", "active_conversations": 2, "waiting_buyers": 0,
                              "longest_wait_s": 0.0}},
            "team": {"active_conversations": 2, "waiting_buyers": 0, "longest_wait_s": 0.0},
        },
        "series": {
            "agents": {"a1": {
                # minute 10:00: buyer msgs 10:00:00 and 10:00:30, reply 10:00:40 (40 s), b1 new
                t(10, 0): {"buyer_messages": 2, "agent_messages": 1, "new_consult_buyers": 1,
                           "responses": 1, "avg_response_s": 40.0, "slow_responses": 0, "paid_amount": 0.0},
                # minute 10:04: reply to b2 after 120 s
                t(10, 4): {"buyer_messages": 0, "agent_messages": 1, "new_consult_buyers": 0,
                           "responses": 1, "avg_response_s": 120.0, "slow_responses": 1},
            }},
            "team": {t(10, 2): {"buyer_messages": 1, "new_consult_buyers": 1, "responses": 0,
                                "avg_response_s": None}},
        },
    },
)

# ------------------------------------------------------------------------------------------------
# 2. Slow threshold: exactly slow_response_s is not slow, one ms more is.
# ------------------------------------------------------------------------------------------------
scenario(
    "slow_threshold_exact",
    [
        buyer(t(10, 0, 0), "b1", "a1"),
        agent(t(10, 1, 0), "b1", "a1"),  # 60 000 ms = 60 s → not slow
        buyer(t(10, 0, 0), "b2", "a1"),
        agent(t(10, 1, 0, 1), "b2", "a1"),  # 60 001 ms → slow
    ],
    {
        "agents": {D11: {"a1": {
            "responses": 2, "slow_responses": 1,
            "avg_response_s": 60.0005,  # (60 000 + 60 001) / 2 / 1000
            "first_response_avg_s": 60.0005,
            "sla_buyers": 2, "sla_met_buyers": 2,
        }}},
        "series": {"agents": {"a1": {t(10, 1): {"responses": 2, "slow_responses": 1,
                                                 "avg_response_s": 60.0005}}}},
    },
)

# 3. Custom thresholds: slow_response_s 30 and sla_s 30.
scenario(
    "slow_and_sla_custom_thresholds",
    [
        buyer(t(10, 0, 0), "b1", "a1"),
        agent(t(10, 0, 30), "b1", "a1"),  # 30 s: not slow, SLA met (≤ 30)
        buyer(t(10, 0, 0), "b2", "a1"),
        agent(t(10, 0, 31), "b2", "a1"),  # 31 s: slow, SLA not met
    ],
    {
        "agents": {D11: {"a1": {
            "responses": 2, "slow_responses": 1, "avg_response_s": 30.5,
            "sla_buyers": 2, "sla_met_buyers": 1, "sla_rate": 0.5,
        }}},
    },
    settings={"slow_response_s": 30, "sla_s": 30},
)

# ------------------------------------------------------------------------------------------------
# 4. SLA at "now": unanswered buyers count in sla_buyers only once their wait exceeds sla_s.
# ------------------------------------------------------------------------------------------------
scenario(
    "sla_at_now",
    [
        buyer(t(10, 0, 0), "b1", "a1"),  # never answered: now − F = 270 s > 180 → sla, not met
        buyer(t(10, 2, 0), "b2", "a1"),  # never answered: 150 s → not counted yet
        buyer(t(10, 0, 0), "b3", "a1"),
        agent(t(10, 4, 0), "b3", "a1"),  # first response 240 s → sla, not met; slow
        buyer(t(10, 0, 30), "b4", "a1"),
        agent(t(10, 1, 0), "b4", "a1"),  # first response 30 s → sla, met
        buyer(t(10, 1, 30), "b5", "a1"),  # never answered: exactly 180 s → not > 180 → not counted
    ],
    {
        "agents": {D11: {"a1": {
            "received_buyers": 5, "replied_buyers": 2, "unreplied_buyers": 3, "reply_rate": 0.4,
            "sla_buyers": 3,  # b1, b3, b4
            "sla_met_buyers": 1,  # b4
            "sla_rate": 1 / 3,
            "first_response_avg_s": 135.0,  # (240 + 30) / 2
            "responses": 2, "avg_response_s": 135.0, "slow_responses": 1,
        }}},
        "team": {D11: {"sla_buyers": 3, "sla_met_buyers": 1, "sla_rate": 1 / 3}},
        "live": {
            # now = 10:04:30: pending b1 (10:00:00), b2 (10:02:00), b5 (10:01:30)
            "agents": {"a1": {"active_conversations": 5, "waiting_buyers": 3,
                              "longest_wait_s": 270.0}},  # 10:04:30 − 10:00:00
            "team": {"waiting_buyers": 3, "longest_wait_s": 270.0},
        },
    },
    now_ms=t(10, 4, 30),
)

# ------------------------------------------------------------------------------------------------
# 5. Filter phrases: filter-phrase-only buyers are filtered; a real message turns them received.
# ------------------------------------------------------------------------------------------------
scenario(
    "filter_phrases",
    [
        buyer(t(10, 0, 0), "b1", "a1", " 在吗 "),  # trimmed = "在吗" → phrase
        agent(t(10, 0, 20), "b1", "a1"),  # a phrase can be answered: response 20 s
        buyer(t(10, 1, 0), "b2", "a1", "你好"),  # phrase
        buyer(t(10, 3, 0), "b2", "a1", "这个有优惠吗"),  # not a phrase → b2 received
        agent(t(10, 3, 30), "b2", "a1"),  # clock 10:01:00 → 150 s (slow)
        buyer(t(10, 2, 0), "b3", "a1", "在吗"),  # phrase, unanswered
    ],
    {
        "agents": {D11: {"a1": {
            "consult_buyers": 3, "received_buyers": 1, "filtered_buyers": 2,  # b2 / b1, b3
            "buyer_messages": 4,  # phrases included
            "agent_messages": 2, "qa_ratio": 0.5,
            "replied_buyers": 1, "reply_rate": 1.0, "unreplied_buyers": 0,  # over received only
            "responses": 2, "avg_response_s": 85.0,  # (20 + 150) / 2
            "slow_responses": 1,
            "first_response_avg_s": 150.0,  # b2 only: F = 10:01:00 (phrase included) → 10:03:30
            "sla_buyers": 1, "sla_met_buyers": 1,  # 150 ≤ 180
            "inquiry_buyers": 1,
        }}},
        "team": {D11: {"consult_buyers": 3, "received_buyers": 1, "filtered_buyers": 2}},
        "live": {
            # now = 10:03:30; b3's phrase is still pending since 10:02:00
            "agents": {"a1": {"waiting_buyers": 1, "longest_wait_s": 90.0}},
        },
    },
    settings={"filter_phrases": ["在吗", "你好"]},
)

# ------------------------------------------------------------------------------------------------
# 6. Internal accounts (filter_buyers): only filtered; messages, responses, orders, ratings excluded.
# ------------------------------------------------------------------------------------------------
scenario(
    "filter_buyers_internal_accounts",
    [
        buyer(t(10, 0, 0), "tester", "a1", "测试下单"),
        agent(t(10, 0, 10), "tester", "a1"),
        created(t(10, 1, 0), "tester", "ot1", 100, 1),
        paid(t(10, 2, 0), "tester", "ot1", 100, 1),
        rating(t(10, 3, 0), "tester", "a1", 5),
        buyer(t(10, 0, 30), "b1", "a1", "hello"),
        agent(t(10, 1, 0), "b1", "a1"),  # 30 s
    ],
    {
        "agents": {D11: {"a1": {
            "consult_buyers": 2, "received_buyers": 1, "filtered_buyers": 1,  # tester filtered
            "buyer_messages": 1, "agent_messages": 1, "qa_ratio": 1.0,  # tester excluded
            "responses": 1, "avg_response_s": 30.0,
            "ratings": 0, "satisfaction_rate": None,
            "sales": 0.0, "sales_buyers": 0, "inquiry_buyers": 1, "ordered_buyers": 0,
        }}},
        "team": {D11: {"received_buyers": 1, "filtered_buyers": 1, "sales": 0.0,
                       "silent_sales": 0.0, "shop_sales": 0.0, "silent_share": None}},
        "live": {
            # now = 10:03:00; buyers in filter_buyers count toward no live figure: only b1
            "agents": {"a1": {"active_conversations": 1, "waiting_buyers": 0}},
        },
        "series": {"team": {t(10, 2): {"paid_amount": 0.0}}},
    },
    settings={"filter_buyers": ["tester"]},
)

# ------------------------------------------------------------------------------------------------
# 7. Robot first, then hand-over from the queue; robot-only buyers.
# ------------------------------------------------------------------------------------------------
scenario(
    "robot_first_queue_handover",
    [
        buyer(t(10, 0, 0), "b1", None, "我要退货"),  # pending in the queue
        robot(t(10, 0, 5), "b1"),  # answers nothing
        buyer(t(10, 0, 20), "b1", None, "转人工"),  # queue
        transfer(t(10, 0, 50), "b1", None, "a1"),  # a1 clock = max(10:00:00, 10:00:50) = 10:00:50
        agent(t(10, 1, 10), "b1", "a1"),  # response 10:01:10 − 10:00:50 = 20 s
        buyer(t(10, 1, 30), "b1", "a1", "好的"),  # first message routed to a1 → consulting
        agent(t(10, 2, 0), "b1", "a1"),  # response 30 s; first response 30 s
        buyer(t(10, 0, 0), "b2", None, "怎么退款"),  # robot only, never handed over
        robot(t(10, 0, 1), "b2"),
        buyer(t(10, 0, 2), "tester", None, "test"),  # robot only but an internal account
    ],
    {
        "agents": {D11: {"a1": {
            "consult_buyers": 1, "received_buyers": 1,
            "buyer_messages": 1,  # only 10:01:30 was routed to a1
            "agent_messages": 2, "qa_ratio": 2.0,
            "responses": 2, "avg_response_s": 25.0,  # (20 + 30) / 2
            "slow_responses": 0,
            "first_response_avg_s": 30.0,  # F = 10:01:30 (first message to a1) → 10:02:00
            "sla_buyers": 1, "sla_met_buyers": 1, "replied_buyers": 1,
        }}},
        "team": {D11: {
            "consult_buyers": 1, "buyer_messages": 1,
            "robot_only_buyers": 1,  # b2 (b1 has messages with agent_id; tester excluded)
        }},
        "live": {
            # the queue is nobody's load
            "agents": {"a1": {"waiting_buyers": 0, "longest_wait_s": 0.0, "active_conversations": 1}},
            "team": {"waiting_buyers": 0, "active_conversations": 1},
        },
    },
    settings={"filter_buyers": ["tester"]},
)

# ------------------------------------------------------------------------------------------------
# 8. Transfer with pending messages between two agents.
# ------------------------------------------------------------------------------------------------
scenario(
    "transfer_pending_between_agents",
    [
        buyer(t(10, 0, 0), "b1", "a1", "问题1"),
        buyer(t(10, 0, 30), "b1", "a1", "问题2"),
        transfer(t(10, 1, 0), "b1", "a1", "a2"),  # a2 clock = max(10:00:00, 10:01:00) = 10:01:00
        agent(t(10, 1, 40), "b1", "a2"),  # response 40 s
        agent(t(10, 2, 0), "b1", "a1"),  # a1 owes nothing any more → not a response
        buyer(t(10, 3, 0), "b1", "a2", "谢谢"),
        agent(t(10, 3, 20), "b1", "a2"),  # response 20 s
    ],
    {
        "agents": {D11: {
            "a1": {
                "consult_buyers": 1, "received_buyers": 1, "buyer_messages": 2, "agent_messages": 1,
                "responses": 0, "avg_response_s": None, "slow_responses": 0,
                "replied_buyers": 1,  # a1 sent a human message to b1 that day
                "first_response_avg_s": 120.0,  # F = 10:00:00, first a1 message ≥ F = 10:02:00
                "sla_buyers": 1, "sla_met_buyers": 1,  # 120 ≤ 180
            },
            "a2": {
                "consult_buyers": 1,  # through the 10:03 message routed to a2
                "received_buyers": 1, "buyer_messages": 1, "agent_messages": 2, "qa_ratio": 2.0,
                "responses": 2, "avg_response_s": 30.0,  # (40 + 20) / 2
                "first_response_avg_s": 20.0,  # F = 10:03:00 → 10:03:20
                "replied_buyers": 1,
            },
        }},
        "team": {D11: {
            "consult_buyers": 1, "received_buyers": 1, "replied_buyers": 1,  # one buyer
            "buyer_messages": 3, "agent_messages": 3, "qa_ratio": 1.0,
            "responses": 2, "avg_response_s": 30.0,
            "first_response_avg_s": 70.0,  # pairs (a1,b1) 120, (a2,b1) 20 → 140 / 2
            "sla_buyers": 2, "sla_met_buyers": 2,
        }},
    },
)

# 9. Transfer to an agent who already owes the buyer; transfer with nothing pending; later
#    messages keep their own routing.
scenario(
    "transfer_to_agent_already_owing",
    [
        buyer(t(10, 0, 10), "b2", "a2"),  # a2 clock 10:00:10
        buyer(t(10, 0, 20), "b2", "a1"),  # a1 clock 10:00:20
        transfer(t(10, 0, 40), "b2", "a1", "a2"),  # a2 clock = min(10:00:10, max(10:00:20, 10:00:40))
        agent(t(10, 1, 10), "b2", "a2"),  # response 10:01:10 − 10:00:10 = 60 s, not slow
        transfer(t(10, 2, 0), "b2", "a2", "a3"),  # nothing pending → moves nothing
        agent(t(10, 2, 30), "b2", "a3"),  # a3 owes nothing → not a response
        buyer(t(10, 3, 0), "b2", "a1"),  # still routed to a1 → pending to a1
    ],
    {
        "agents": {D11: {
            "a1": {
                "consult_buyers": 1, "received_buyers": 1, "buyer_messages": 2, "agent_messages": 0,
                "responses": 0, "replied_buyers": 0, "unreplied_buyers": 1, "reply_rate": 0.0,
                "first_response_avg_s": None,
                # no first response; F = 10:00:20, now − F = 220 s > 180
                "sla_buyers": 1, "sla_met_buyers": 0, "sla_rate": 0.0,
            },
            "a2": {
                "consult_buyers": 1, "buyer_messages": 1, "agent_messages": 1, "responses": 1,
                "avg_response_s": 60.0, "slow_responses": 0, "first_response_avg_s": 60.0,
                "sla_buyers": 1, "sla_met_buyers": 1,
            },
            "a3": {"consult_buyers": 0, "received_buyers": 0, "agent_messages": 1, "responses": 0,
                   "replied_buyers": 0, "qa_ratio": None},
        }},
        "team": {D11: {
            "consult_buyers": 1, "received_buyers": 1, "replied_buyers": 1, "unreplied_buyers": 0,
            "agent_messages": 2, "responses": 1,
            "sla_buyers": 2, "sla_met_buyers": 1, "sla_rate": 0.5,  # pairs (a1,b2) miss, (a2,b2) met
            "first_response_avg_s": 60.0,
        }},
        "live": {
            # now = 10:04:00
            "agents": {
                "a1": {"waiting_buyers": 1, "longest_wait_s": 60.0, "active_conversations": 1},
                "a2": {"waiting_buyers": 0, "longest_wait_s": 0.0, "active_conversations": 1},
                "a3": {"waiting_buyers": 0, "active_conversations": 1},  # its human message 10:02:30
            },
            "team": {"active_conversations": 3, "waiting_buyers": 1, "longest_wait_s": 60.0},
        },
    },
    now_ms=t(10, 4, 0),
)

# ------------------------------------------------------------------------------------------------
# 10. A reply after midnight.
# ------------------------------------------------------------------------------------------------
scenario(
    "reply_after_midnight",
    [
        buyer(t(23, 59, 0), "b1", "a1"),
        agent(t(0, 0, 30, day=12), "b1", "a1"),  # 90 s later, on the 12th
    ],
    {
        "agents": {
            D11: {"a1": {
                "consult_buyers": 1, "received_buyers": 1, "buyer_messages": 1, "agent_messages": 0,
                "qa_ratio": 0.0,  # 0 / 1
                "replied_buyers": 0, "unreplied_buyers": 1,  # no human message on the 11th
                "responses": 0, "avg_response_s": None, "slow_responses": 0,
                "first_response_avg_s": 90.0,  # counted in the day of the first message
                "sla_buyers": 1, "sla_met_buyers": 1, "sla_rate": 1.0,
            }},
            D12: {"a1": {
                "consult_buyers": 0, "received_buyers": 0, "buyer_messages": 0, "agent_messages": 1,
                "qa_ratio": None, "reply_rate": None,  # denominators 0
                "responses": 1, "avg_response_s": 90.0, "slow_responses": 1,  # on the reply's day
                "first_response_avg_s": None, "sla_buyers": 0, "sla_rate": None,
                "inquiry_order_rate": None, "inquiry_pay_rate": None, "order_pay_rate": None,
                "satisfaction_rate": None, "avg_buyer_value": None,
            }},
        },
        "team": {
            D11: {"responses": 0, "first_response_avg_s": 90.0},
            D12: {"responses": 1, "avg_response_s": 90.0, "reply_rate": None, "qa_ratio": None,
                  "sla_rate": None, "silent_share": None},
        },
    },
)

# ------------------------------------------------------------------------------------------------
# 11–13. Attribution rules on the same events.
#   b1: chats a1 10:00, order o1 created 10:05, chats a2 11:00, pays 11:10 (99.9 yuan, 2 items)
#       → order agent a1, payment agent a2.
#   b2: no chat, o2 created + paid 12:00 (50 yuan) → no agent → silent under every rule.
#   b3: o3 created 10:20 before any chat (order agent none), chats a1 10:30, pays 10:40
#       (30.5 yuan, 1 item) → payment agent a1.
# ------------------------------------------------------------------------------------------------
def _attribution_events() -> list[dict]:
    return [
        buyer(t(10, 0), "b1", "a1", "这件有L码吗"),
        created(t(10, 5), "b1", "o1", 99.9, 2),
        buyer(t(11, 0), "b1", "a2", "能便宜点吗"),
        paid(t(11, 10), "b1", "o1", 99.9, 2),
        created(t(12, 0), "b2", "o2", 50, 1),
        paid(t(12, 0, 1), "b2", "o2", 50, 1),
        created(t(10, 20), "b3", "o3", 30.5, 1),
        buyer(t(10, 30), "b3", "a1", "发什么快递"),
        paid(t(10, 40), "b3", "o3", 30.5, 1),
    ]


scenario(
    "attribution_order_first",
    _attribution_events(),
    {
        "agents": {D11: {
            "a1": {
                # o1 → a1 (order agent); o3 → a1 (no order agent, falls back to payment agent)
                "sales": 130.4, "sales_buyers": 2, "sales_items": 3,  # 99.90 + 30.50; 2 + 1
                "avg_buyer_value": 65.2, "items_per_buyer": 1.5,
                "avg_item_price": 13040 / 3 / 100,  # 43.4666…
                "inquiry_buyers": 2,  # b1, b3
                "ordered_buyers": 1,  # b1 (o1's order agent is a1); o3 has no order agent
                "paid_buyers": 2,  # b1 (o1 credited a1, paid), b3 (o3 credited a1, paid)
                "inquiry_order_rate": 0.5, "order_pay_rate": 2.0, "inquiry_pay_rate": 1.0,
                "lost_buyers": 1,
            },
            "a2": {"inquiry_buyers": 1, "ordered_buyers": 0, "paid_buyers": 0, "sales": 0.0,
                   "inquiry_order_rate": 0.0, "order_pay_rate": None, "lost_buyers": 1},
        }},
        "team": {D11: {
            "inquiry_buyers": 2, "ordered_buyers": 1, "paid_buyers": 2,  # distinct buyers
            "sales": 130.4, "sales_buyers": 2,
            "silent_sales": 50.0, "shop_sales": 180.4, "silent_share": 5000 / 18040,
        }},
        "series": {
            "agents": {"a1": {t(10, 40): {"paid_amount": 30.5}, t(11, 10): {"paid_amount": 99.9}}},
            "team": {t(12, 0): {"paid_amount": 50.0}, t(11, 10): {"paid_amount": 99.9}},
        },
    },
)

scenario(
    "attribution_order",
    _attribution_events(),
    {
        "agents": {D11: {
            "a1": {"sales": 99.9, "sales_buyers": 1, "sales_items": 2,  # o1 only; o3 silent
                   "ordered_buyers": 1, "paid_buyers": 1, "order_pay_rate": 1.0},
            "a2": {"sales": 0.0, "paid_buyers": 0},
        }},
        "team": {D11: {"sales": 99.9, "silent_sales": 80.5,  # 50 + 30.5
                       "shop_sales": 180.4, "silent_share": 8050 / 18040}},
    },
    settings={"attribution": "order"},
)

scenario(
    "attribution_payment",
    _attribution_events(),
    {
        "agents": {D11: {
            "a1": {"sales": 30.5, "sales_buyers": 1, "sales_items": 1,  # o3
                   "ordered_buyers": 1,  # b1: o1's *order agent* is still a1
                   "paid_buyers": 1,  # b3 only (o1 is credited to a2)
                   "order_pay_rate": 1.0},
            "a2": {"sales": 99.9, "sales_buyers": 1, "sales_items": 2,  # o1 by payment agent
                   "inquiry_buyers": 1, "ordered_buyers": 0, "paid_buyers": 1,
                   "order_pay_rate": None, "inquiry_pay_rate": 1.0, "inquiry_order_rate": 0.0},
        }},
        "team": {D11: {"sales": 130.4, "silent_sales": 50.0, "shop_sales": 180.4,
                       "sales_buyers": 2, "ordered_buyers": 1, "paid_buyers": 2}},
    },
    settings={"attribution": "payment"},
)

# 14. The order agent ignores filter phrases (and agent messages): last *buyer* message, not a phrase.
scenario(
    "order_agent_skips_filter_phrase",
    [
        buyer(t(10, 0), "b1", "a1", "我要这个"),
        buyer(t(10, 5), "b1", "a2", "在吗"),  # phrase → not the order agent
        agent(t(10, 6), "b1", "a2"),
        created(t(10, 10), "b1", "o1", 60, 1),
        paid(t(10, 11), "b1", "o1", 60, 1),
    ],
    {
        "agents": {D11: {
            "a1": {"sales": 60.0, "ordered_buyers": 1, "paid_buyers": 1, "inquiry_buyers": 1},
            "a2": {"sales": 0.0, "consult_buyers": 1, "filtered_buyers": 1, "received_buyers": 0,
                   "inquiry_buyers": 0, "responses": 1},
        }},
        "team": {D11: {"silent_sales": 0.0, "shop_sales": 60.0, "silent_share": 0.0}},
    },
    settings={"filter_phrases": ["在吗"]},
)

# ------------------------------------------------------------------------------------------------
# 15. Order edge cases: second created/paid/refund ignored, refund of an unpaid order ignored,
#     paid without created, refund on the next day.
# ------------------------------------------------------------------------------------------------
scenario(
    "order_edge_cases",
    [
        buyer(t(10, 0), "b1", "a1", "买这个"),
        created(t(10, 10), "b1", "o1", 100, 1),
        created(t(10, 15), "b1", "o1", 999, 9),  # second created → ignored
        paid(t(10, 20), "b1", "o1", 100, 1),
        paid(t(10, 30), "b1", "o1", 200, 2),  # second paid → ignored
        created(t(10, 40), "b1", "o2", 20, 1),
        refunded(t(10, 50), "b1", "o2", 20),  # never paid → ignored
        closed(t(11, 0), "b1", "o2"),  # changes nothing
        paid(t(11, 10), "b1", "o3", 35.5, 3),  # paid without created → created 11:10, agent a1
        refunded(t(9, 0, day=12), "b1", "o1", 40),  # counts on the 12th for a1
        refunded(t(9, 30, day=12), "b1", "o1", 60),  # second refund → ignored
    ],
    {
        "agents": {
            D11: {"a1": {
                "sales": 135.5,  # 100 + 35.5
                "sales_buyers": 1, "sales_items": 4,  # 1 + 3
                "avg_buyer_value": 135.5, "items_per_buyer": 4.0,
                "avg_item_price": 33.875,  # 13550 / 4 / 100
                "refunds": 0, "refund_amount": 0.0,
                "inquiry_buyers": 1, "ordered_buyers": 1, "paid_buyers": 1,
                "inquiry_order_rate": 1.0, "order_pay_rate": 1.0, "inquiry_pay_rate": 1.0,
                "lost_buyers": 0,
            }},
            D12: {"a1": {"refunds": 1, "refund_amount": 40.0, "sales": 0.0}},
        },
        "team": {
            D11: {"sales": 135.5, "shop_sales": 135.5, "silent_sales": 0.0, "refunds": 0},
            D12: {"refunds": 1, "refund_amount": 40.0},
        },
        "series": {
            "agents": {"a1": {t(10, 20): {"paid_amount": 100.0}, t(11, 10): {"paid_amount": 35.5}}},
            "team": {t(10, 30): {"paid_amount": 0.0}},
        },
    },
)

# ------------------------------------------------------------------------------------------------
# 16–17. inquiry_valid_days 2 vs 1: an inquiry on the 11th, order on the 12th.
# ------------------------------------------------------------------------------------------------
def _next_day_order_events() -> list[dict]:
    return [
        buyer(t(10, 0), "b1", "a1", "明天再买"),
        created(t(10, 0, day=12), "b1", "o1", 10, 1),
        paid(t(10, 5, day=12), "b1", "o1", 10, 1),
    ]


scenario(
    "inquiry_valid_days_2",
    _next_day_order_events(),
    {
        "agents": {
            # order agent: last message 11th 10:00, day 11 ≥ 12 − (2 − 1) → a1; created day 12 ∈ 11…12
            D11: {"a1": {"inquiry_buyers": 1, "ordered_buyers": 1, "paid_buyers": 1, "lost_buyers": 0,
                         "sales": 0.0}},
            D12: {"a1": {"inquiry_buyers": 0, "sales": 10.0, "sales_buyers": 1}},  # payment's day
        },
        "team": {D12: {"sales": 10.0, "silent_sales": 0.0, "shop_sales": 10.0}},
    },
)

scenario(
    "inquiry_valid_days_1",
    _next_day_order_events(),
    {
        "agents": {
            # day 11 < 12 − (1 − 1) → no order agent, no payment agent → silent; and 12 ∉ {11}
            D11: {"a1": {"inquiry_buyers": 1, "ordered_buyers": 0, "paid_buyers": 0, "lost_buyers": 1,
                         "inquiry_order_rate": 0.0}},
            D12: {"a1": {"sales": 0.0}},
        },
        "team": {D12: {"sales": 0.0, "silent_sales": 10.0, "shop_sales": 10.0, "silent_share": 1.0}},
    },
    settings={"inquiry_valid_days": 1},
)

# ------------------------------------------------------------------------------------------------
# 18. Late events for yesterday arriving after today's events.
# ------------------------------------------------------------------------------------------------
scenario(
    "late_event_for_yesterday",
    [
        buyer(t(9, 0, 0, day=12), "b1", "a1"),
        agent(t(9, 0, 20, day=12), "b1", "a1"),
        # late arrivals, all on the 11th:
        buyer(t(15, 0), "b2", "a1"),
        agent(t(15, 1), "b2", "a1"),  # 60 s, not slow
        buyer(t(22, 0), "b1", "a1"),  # pending overnight: the 12th's reply now answers it too
    ],
    {
        "agents": {
            D11: {"a1": {
                "consult_buyers": 2, "received_buyers": 2, "buyer_messages": 2, "agent_messages": 1,
                "responses": 1, "avg_response_s": 60.0, "slow_responses": 0,
                "replied_buyers": 1, "unreplied_buyers": 1,  # b1 got no human message on the 11th
                # b2: 60 s; b1: 12th 09:00:20 − 11th 22:00:00 = 11 h 0 min 20 s = 39 620 s
                "first_response_avg_s": 19840.0,  # (60 + 39 620) / 2
                "sla_buyers": 2, "sla_met_buyers": 1, "sla_rate": 0.5,
            }},
            D12: {"a1": {
                "consult_buyers": 1, "received_buyers": 1, "buyer_messages": 1, "agent_messages": 1,
                "responses": 1, "avg_response_s": 39620.0,  # clock = 11th 22:00:00
                "slow_responses": 1,
                "first_response_avg_s": 20.0,  # F = 12th 09:00:00 → 09:00:20
                "sla_buyers": 1, "sla_met_buyers": 1, "replied_buyers": 1,
            }},
        },
    },
)

# ------------------------------------------------------------------------------------------------
# 19. Duplicate delivery of the same event_id: first arrival wins.
# ------------------------------------------------------------------------------------------------
scenario(
    "duplicate_event_ids",
    [
        buyer(t(10, 0), "b1", "a1", eid="m1"),
        buyer(t(10, 0), "b1", "a1", eid="m1"),
        agent(t(10, 0, 30), "b1", "a1", eid="m2"),
        agent(t(10, 0, 30), "b1", "a1", eid="m2"),
        created(t(10, 2), "b1", "o1", 10, 1, eid="c1"),
        paid(t(10, 3), "b1", "o1", 10, 1, eid="p1"),
        paid(t(10, 3), "b1", "o1", 10, 1, eid="p1"),
        rating(t(10, 5), "b1", "a1", 5, eid="r1"),
        rating(t(10, 6), "b1", "a1", 1, eid="r1"),  # same id, different content → ignored
    ],
    {
        "agents": {D11: {"a1": {
            "buyer_messages": 1, "agent_messages": 1, "responses": 1, "avg_response_s": 30.0,
            "ratings": 1, "satisfied_ratings": 1, "satisfaction_rate": 1.0,
            "sales": 10.0, "sales_items": 1, "sales_buyers": 1,
        }}},
    },
)

# ------------------------------------------------------------------------------------------------
# 20. Team distinct-buyer counting.
# ------------------------------------------------------------------------------------------------
scenario(
    "team_distinct_buyers",
    [
        buyer(t(10, 0, 0), "b1", "a1"),
        agent(t(10, 0, 10), "b1", "a1"),  # 10 s
        transfer(t(10, 1, 0), "b1", "a1", "a2"),  # nothing pending
        buyer(t(10, 2, 0), "b1", "a2"),
        agent(t(10, 2, 30), "b1", "a2"),  # 30 s
        buyer(t(10, 3, 0), "b2", "a1"),  # unanswered
        buyer(t(10, 4, 0), "b3", "a2", "在吗"),  # phrase → filtered for a2
        buyer(t(10, 4, 30), "b3", "a1", "我要买"),  # received by a1
    ],
    {
        "agents": {D11: {
            "a1": {"consult_buyers": 3, "received_buyers": 3, "filtered_buyers": 0,
                   "replied_buyers": 1, "unreplied_buyers": 2, "buyer_messages": 3, "agent_messages": 1},
            "a2": {"consult_buyers": 2, "received_buyers": 1, "filtered_buyers": 1,
                   "replied_buyers": 1, "unreplied_buyers": 0, "buyer_messages": 2, "agent_messages": 1},
        }},
        "team": {D11: {
            "consult_buyers": 3,  # b1, b2, b3 (a1: 3 + a2: 2 across agents)
            "received_buyers": 3,  # b3 is received by a1 → received by the team
            "filtered_buyers": 0,  # 3 − 3
            "replied_buyers": 1, "unreplied_buyers": 2, "reply_rate": 1 / 3,
            "inquiry_buyers": 3, "lost_buyers": 3,
            "buyer_messages": 5, "agent_messages": 2, "qa_ratio": 0.4,
            "responses": 2, "avg_response_s": 20.0,
            "first_response_avg_s": 20.0,  # pairs (a1,b1) 10, (a2,b1) 30
            # (a1,b2): 90 s at now, (a1,b3): 0 s → not counted
            "sla_buyers": 2, "sla_met_buyers": 2,
        }},
        "live": {
            # now = 10:04:30
            "agents": {
                "a1": {"active_conversations": 3, "waiting_buyers": 2,  # b2 since 10:03, b3
                       "longest_wait_s": 90.0},
                "a2": {"active_conversations": 2, "waiting_buyers": 1,  # b3's phrase since 10:04
                       "longest_wait_s": 30.0},
            },
            "team": {"active_conversations": 5, "waiting_buyers": 3, "longest_wait_s": 90.0},
        },
        "series": {"team": {t(10, 0): {"new_consult_buyers": 1},
                            t(10, 2): {"new_consult_buyers": 0, "buyer_messages": 1},
                            t(10, 4): {"new_consult_buyers": 1, "buyer_messages": 2}},
                   "agents": {"a2": {t(10, 2): {"new_consult_buyers": 1}}}},
    },
    settings={"filter_phrases": ["在吗"]},
)

# ------------------------------------------------------------------------------------------------
# 21. Groups: presale vs aftersale; inquiries only for presale; unknown agents are presale.
# ------------------------------------------------------------------------------------------------
scenario(
    "groups_presale_aftersale",
    [
        buyer(t(10, 0, 0), "b1", "p1"),
        agent(t(10, 0, 20), "b1", "p1"),  # 20 s
        buyer(t(10, 1, 0), "b2", "s1", "我要换货"),
        agent(t(10, 1, 40), "b2", "s1"),  # 40 s
        buyer(t(10, 2, 0), "b3", "x9"),  # x9 not in groups → presale
        agent(t(10, 2, 10), "b3", "x9"),  # 10 s
        buyer(t(10, 3, 0), "b1", "s1", "售后问题"),  # unanswered
        created(t(10, 5), "b2", "o2", 80, 1),  # order agent s1
        paid(t(10, 6), "b2", "o2", 80, 1),
    ],
    {
        "agents": {D11: {
            "p1": {"inquiry_buyers": 1},
            "x9": {"inquiry_buyers": 1},
            "s1": {"received_buyers": 2, "inquiry_buyers": 0, "ordered_buyers": 0, "paid_buyers": 0,
                   "inquiry_order_rate": None, "inquiry_pay_rate": None, "lost_buyers": 0,
                   "sales": 80.0, "sales_buyers": 1},
        }},
        "groups": {D11: {
            "presale": {"consult_buyers": 2, "received_buyers": 2, "inquiry_buyers": 2,
                        "responses": 2, "avg_response_s": 15.0, "sales": 0.0},  # (20 + 10) / 2
            "aftersale": {"consult_buyers": 2, "received_buyers": 2, "inquiry_buyers": 0,
                          "inquiry_order_rate": None, "responses": 1, "avg_response_s": 40.0,
                          "sales": 80.0, "sales_buyers": 1},
        }},
        "team": {D11: {
            "received_buyers": 3,  # b1, b2, b3
            "inquiry_buyers": 2,  # b1 (via p1), b3 (via x9)
            "ordered_buyers": 0, "inquiry_order_rate": 0.0,
            "sales": 80.0, "silent_sales": 0.0, "responses": 3,
        }},
    },
    settings={"groups": {"p1": "presale", "s1": "aftersale"}},
)

# ------------------------------------------------------------------------------------------------
# 22. Live load: status (last by ts, unknown until one), active window boundary, transfer clock.
# ------------------------------------------------------------------------------------------------
scenario(
    "live_load_and_status",
    [
        status(t(9, 0), "a1", "online"),
        status(t(9, 30), "a1", "busy"),
        status(t(9, 10), "a1", "away"),  # arrives last but is older → status stays busy
        buyer(t(10, 0), "b1", "a2"),
        transfer(t(10, 1), "b1", "a2", "a3"),  # a3 clock = max(10:00, 10:01) = 10:01
        buyer(t(10, 1), "b2", "a1"),
        rating(t(10, 2), "b1", "a4", 4),  # a4 is seen only in a rating
    ],
    {
        "agents": {D11: {"a4": {"ratings": 1, "satisfied_ratings": 1, "satisfaction_rate": 1.0}}},
        "live": {
            # now = 10:02 (largest ts), active_window_s = 60
            "agents": {
                "a1": {"status": "busy",
                       "active_conversations": 1,  # b2 at 10:01: now − ts = 60 s ≤ 60
                       "waiting_buyers": 1, "longest_wait_s": 60.0},
                "a2": {"status": "unknown",
                       "active_conversations": 0,  # 10:00 is 120 s old
                       "waiting_buyers": 0, "longest_wait_s": 0.0},  # handed to a3
                "a3": {"status": "unknown", "active_conversations": 0,  # a transfer is no message
                       "waiting_buyers": 1, "longest_wait_s": 60.0},  # 10:02 − 10:01
                "a4": {"status": "unknown", "active_conversations": 0, "waiting_buyers": 0},
            },
            "team": {"active_conversations": 1, "waiting_buyers": 2, "longest_wait_s": 60.0},
        },
    },
    settings={"active_window_s": 60},
)

# ------------------------------------------------------------------------------------------------
# 23. Equal ts within one buyer: a buyer message comes first, whatever the arrival order. Every reply
#     below arrives *before* the question it answers, with the same ts.
# ------------------------------------------------------------------------------------------------
scenario(
    "equal_ts_buyer_message_first",
    [
        agent(t(10, 0, 0), "b1", "a1"),  # arrives first; same ts as the question below
        buyer(t(10, 0, 0), "b1", "a1", "有货吗"),  # taken first → the reply answers it: 0 s
        transfer(t(10, 1, 0), "b2", None, "a2"),  # arrives first; same ts as b2's queue message
        buyer(t(10, 1, 0), "b2", None, "转人工"),  # taken first → moved: a2 clock = max(10:01, 10:01)
        agent(t(10, 1, 30), "b2", "a2"),  # response 10:01:30 − 10:01:00 = 30 s
        agent(t(10, 2, 0), "b3", "a1"),  # arrives first
        buyer(t(10, 2, 0), "b3", "a1", "在吗"),  # answered by the reply above: 0 s, b3 not waiting
        buyer(t(10, 3, 0), "b1", "a1", "几天发货"),
        agent(t(10, 3, 20), "b1", "a1"),  # 20 s (nothing older is pending)
    ],
    {
        "agents": {D11: {
            "a1": {
                "consult_buyers": 2, "received_buyers": 2,  # b1, b3
                "buyer_messages": 3, "agent_messages": 3, "qa_ratio": 1.0,
                "responses": 3, "avg_response_s": 20 / 3,  # 0 + 0 + 20
                "slow_responses": 0,
                "first_response_avg_s": 0.0,  # b1: 10:00:00 → 10:00:00; b3: 10:02:00 → 10:02:00
                "sla_buyers": 2, "sla_met_buyers": 2, "replied_buyers": 2,
            },
            "a2": {"consult_buyers": 0, "agent_messages": 1, "responses": 1, "avg_response_s": 30.0},
        }},
        "team": {D11: {
            "consult_buyers": 2, "responses": 4, "avg_response_s": 12.5,  # (0 + 0 + 20 + 30) / 4
            "first_response_avg_s": 0.0,
            "robot_only_buyers": 1,  # b2: its only buyer message went to the queue
        }},
        "live": {
            # now = 10:03:20: nobody waits (each question was answered by its equal-ts reply)
            "agents": {"a1": {"active_conversations": 2, "waiting_buyers": 0, "longest_wait_s": 0.0},
                       "a2": {"active_conversations": 1, "waiting_buyers": 0, "longest_wait_s": 0.0}},
            "team": {"active_conversations": 3, "waiting_buyers": 0, "longest_wait_s": 0.0},
        },
        "series": {"agents": {"a1": {t(10, 0): {"buyer_messages": 1, "agent_messages": 1, "responses": 1,
                                                 "avg_response_s": 0.0, "new_consult_buyers": 1}}}},
    },
)

# ------------------------------------------------------------------------------------------------
# 24. Status: the agent.status with the largest ts; equal ts → the later arrival.
# ------------------------------------------------------------------------------------------------
scenario(
    "status_largest_ts",
    [
        status(t(9, 0), "a1", "online"),
        status(t(9, 30), "a1", "away"),
        status(t(9, 30), "a1", "busy"),  # same ts, arrives later → busy
        status(t(9, 10), "a1", "offline"),  # arrives last, older → no change
        status(t(9, 40), "a2", "online"),
        status(t(9, 20), "a2", "busy"),  # older → a2 stays online
        buyer(t(10, 0), "b1", "a1"),
    ],
    {
        "live": {"agents": {"a1": {"status": "busy", "waiting_buyers": 1},
                            "a2": {"status": "online", "waiting_buyers": 0}}},
    },
)

# ------------------------------------------------------------------------------------------------
# 25. Robot messages are never an agent's activity, whatever their agent_id; robot-only buyers.
# ------------------------------------------------------------------------------------------------
scenario(
    "robot_messages_with_agent_id",
    [
        buyer(t(23, 55, 0), "b1", None, "怎么退款"),
        robot(t(23, 55, 1), "b1", "a1"),  # an automatic reply carrying a1: routes nothing
        created(t(23, 59, 0), "b1", "o1", 50),
        paid(t(23, 59, 30), "b1", "o1", 50),  # b1 never wrote to an agent → silent (robot credits nothing)
        robot(t(0, 0, 30, day=12), "b1"),  # after midnight: b1 wrote nothing on the 12th
        buyer(t(23, 56, 0), "b2", "a2", "这个有货吗"),
        robot(t(23, 56, 5), "b2", "a2"),  # answers nothing: a2's clock stays 23:56:00
        agent(t(23, 57, 0), "b2", "a2"),  # response 60 s (not slow: not > 60)
        buyer(t(23, 58, 0), "b3", "a2", "还在吗"),
        robot(t(23, 58, 1), "b3", "a2"),  # answers nothing: b3 still waits for a2
    ],
    {
        "agents": {D11: {
            "a2": {
                "consult_buyers": 2, "received_buyers": 2, "buyer_messages": 2,
                "agent_messages": 1,  # robot messages are not agent messages
                "responses": 1, "avg_response_s": 60.0, "slow_responses": 0,
                "first_response_avg_s": 60.0,  # b2 only
                "replied_buyers": 1, "unreplied_buyers": 1,  # b3 got only a robot reply
                # b3: no first response, now − F = 00:00:30 − 23:58:00 = 150 s ≤ 180 → not counted
                "sla_buyers": 1, "sla_met_buyers": 1,
            },
            "a1": {"consult_buyers": 0, "agent_messages": 0, "responses": 0, "sales": 0.0},
        }},
        "team": {
            D11: {"consult_buyers": 2, "agent_messages": 1,
                  "robot_only_buyers": 1,  # b1: a buyer message, none routed (the robot's a1 routes nothing)
                  "sales": 0.0, "silent_sales": 50.0, "shop_sales": 50.0, "silent_share": 1.0},
            D12: {"robot_only_buyers": 0},  # the robot's reply alone makes no buyer
        },
        "live": {
            # now = 12th 00:00:30, window 600 s → activity since 23:50:30
            "agents": {
                "a1": {"active_conversations": 0, "waiting_buyers": 0},  # the robot is not a1's load
                "a2": {"active_conversations": 2, "waiting_buyers": 1,  # b2, b3; b3 waits
                       "longest_wait_s": 150.0},  # 00:00:30 − 23:58:00
            },
            "team": {"active_conversations": 2, "waiting_buyers": 1, "longest_wait_s": 150.0},
        },
        "series": {"agents": {"a2": {t(23, 57): {"agent_messages": 1, "responses": 1,
                                                  "avg_response_s": 60.0}}}},
    },
)

# ------------------------------------------------------------------------------------------------
# 26. Buyers in filter_buyers count toward no live figure: no load, no wait.
# ------------------------------------------------------------------------------------------------
scenario(
    "filter_buyers_no_live_figure",
    [
        buyer(t(10, 0, 0), "tester", "a1", "测试"),  # never answered
        agent(t(10, 1, 0), "tester", "a2"),
        buyer(t(10, 2, 0), "tester", "a2", "测试2"),  # never answered
        buyer(t(10, 3, 0), "b1", "a1"),
        agent(t(10, 3, 20), "b1", "a1"),  # 20 s
        buyer(t(10, 4, 0), "b2", "a1"),  # never answered
        buyer(t(10, 5, 0), "b3", None),  # the queue; sets now = 10:05:00
    ],
    {
        "agents": {D11: {
            "a1": {"consult_buyers": 3, "received_buyers": 2, "filtered_buyers": 1,  # tester filtered
                   "buyer_messages": 2, "responses": 1, "avg_response_s": 20.0,
                   "sla_buyers": 1, "sla_met_buyers": 1},  # b2: 60 s at now → not counted yet
            "a2": {"consult_buyers": 1, "received_buyers": 0, "filtered_buyers": 1,
                   "buyer_messages": 0, "agent_messages": 0},
        }},
        "live": {
            # now = 10:05:00; tester (waiting since 10:00 for a1, 10:02 for a2) is nobody's load
            "agents": {
                "a1": {"active_conversations": 2,  # b1, b2
                       "waiting_buyers": 1, "longest_wait_s": 60.0},  # b2 since 10:04
                "a2": {"active_conversations": 0, "waiting_buyers": 0, "longest_wait_s": 0.0},
            },
            "team": {"active_conversations": 2, "waiting_buyers": 1, "longest_wait_s": 60.0},
        },
    },
    settings={"filter_buyers": ["tester"]},
)

# ------------------------------------------------------------------------------------------------
# 27. presale_groups: a shop whose pre-sale groups are 售前一组 and 售前二组.
# ------------------------------------------------------------------------------------------------
scenario(
    "presale_groups_named_by_the_shop",
    [
        buyer(t(10, 0), "b1", "p1", "这件有L码吗"),
        agent(t(10, 0, 30), "b1", "p1"),
        created(t(10, 5), "b1", "o1", 100),  # order agent p1
        paid(t(10, 6), "b1", "o1", 100),
        buyer(t(10, 1), "b2", "p2", "能便宜吗"),
        agent(t(10, 1, 20), "b2", "p2"),  # no order → lost
        buyer(t(10, 2), "b3", "s1", "我要退货"),  # 售后: not an inquiry
        buyer(t(10, 3), "b4", "x9", "多少钱"),  # x9 not in groups → group presale, not a presale group here
    ],
    {
        "agents": {D11: {
            "p1": {"inquiry_buyers": 1, "ordered_buyers": 1, "paid_buyers": 1, "lost_buyers": 0,
                   "inquiry_order_rate": 1.0, "inquiry_pay_rate": 1.0, "sales": 100.0},
            "p2": {"inquiry_buyers": 1, "ordered_buyers": 0, "lost_buyers": 1, "inquiry_order_rate": 0.0},
            "s1": {"received_buyers": 1, "inquiry_buyers": 0, "inquiry_order_rate": None},
            "x9": {"received_buyers": 1, "inquiry_buyers": 0, "lost_buyers": 0, "inquiry_pay_rate": None},
        }},
        "groups": {D11: {
            "售前一组": {"inquiry_buyers": 1, "ordered_buyers": 1, "paid_buyers": 1, "sales": 100.0},
            "售前二组": {"inquiry_buyers": 1, "ordered_buyers": 0, "lost_buyers": 1},
            "售后": {"received_buyers": 1, "inquiry_buyers": 0},
            "presale": {"received_buyers": 1, "inquiry_buyers": 0},
        }},
        "team": {D11: {"received_buyers": 4, "inquiry_buyers": 2, "ordered_buyers": 1, "paid_buyers": 1,
                       "inquiry_pay_rate": 0.5, "lost_buyers": 1, "sales": 100.0}},
    },
    settings={"groups": {"p1": "售前一组", "p2": "售前二组", "s1": "售后"},
              "presale_groups": ["售前一组", "售前二组"]},
)

# ------------------------------------------------------------------------------------------------
# 28. Agent time: statuses across midnight, arriving out of order, a status carried over from the
#     previous day, an agent with statuses and no conversation. now = 11th 20:00.
#   a1 (ts order): 10th 22:00 online · 10th 23:00 busy · 00:30 away · 00:40 offline · 09:00 online ·
#                  12:00 away · 13:00 busy · 18:00 offline (until now)
#   10th: online 22:00–23:00 (3600 s) + busy 23:00–24:00 (3600 s) → online_s 7200, busy_s 3600,
#         first online 22:00, no offline that day.
#   11th: busy 00:00–00:30 (1800, carried over: no event of that day) · away 00:30–00:40 (600) ·
#         offline 00:40–09:00 · online 09:00–12:00 (10800) · away 12:00–13:00 (3600) ·
#         busy 13:00–18:00 (18000) · offline 18:00–20:00
#         → online_s 1800 + 10800 + 18000 = 30600, busy_s 1800 + 18000 = 19800, away_s 600 + 3600 = 4200,
#           first online 09:00 (the carried-over busy is no status of the 11th), last offline 18:00.
#   a2: away from 10th 23:30, nothing else → 10th away_s 1800; 11th away_s 20 h = 72000: a2 has rows on
#       both days with no conversation at all.
# ------------------------------------------------------------------------------------------------
scenario(
    "agent_time_across_midnight",
    [
        status(t(13, 0), "a1", "busy"),
        status(t(22, 0, day=10), "a1", "online"),
        status(t(0, 40), "a1", "offline"),
        status(t(18, 0), "a1", "offline"),
        status(t(23, 0, day=10), "a1", "busy"),
        status(t(12, 0), "a1", "away"),
        status(t(0, 30), "a1", "away"),
        status(t(23, 30, day=10), "a2", "away"),
        buyer(t(9, 30), "b1", "a1"),
        agent(t(9, 31), "b1", "a1"),
        status(t(9, 0), "a1", "online"),  # arrives last, long after later statuses
    ],
    {
        "agents": {
            "2026-11-10": {
                "a1": {"online_s": 7200.0, "busy_s": 3600.0, "away_s": 0.0, "first_online_ts": t(22, 0, day=10),
                       "last_offline_ts": None},
                "a2": {"online_s": 0.0, "busy_s": 0.0, "away_s": 1800.0, "first_online_ts": None,
                       "last_offline_ts": None},
            },
            D11: {
                "a1": {"online_s": 30600.0, "busy_s": 19800.0, "away_s": 4200.0, "first_online_ts": t(9, 0),
                       "last_offline_ts": t(18, 0), "responses": 1},
                "a2": {"online_s": 0.0, "busy_s": 0.0, "away_s": 72000.0, "first_online_ts": None,
                       "last_offline_ts": None},
            },
        },
        "live": {"agents": {"a1": {"status": "offline", "status_since_ts": t(18, 0)},
                            "a2": {"status": "away", "status_since_ts": t(23, 30, day=10)}}},
    },
    now_ms=t(20, 0),
)

# ------------------------------------------------------------------------------------------------
# 29. Service hours 09:00–23:00 (JD): clock starts outside them move to the next opening.
#   a1: b1 writes 02:00, answered 09:01 → response 60 s (clock 09:00; not slow: not > 60), first
#       response 60 s, SLA met; b2 writes 03:00, answered 03:05, before the opening → 0 s;
#       b5 writes to the queue 08:00, transferred to a1 08:30 → clock max(08:00, 08:30) = 08:30 → 09:00;
#       a1 answers 09:00:30 → 30 s (b5 wrote nothing to a1: no consulting buyer of a1).
#       11th: responses 3, avg (60 + 0 + 30) / 3 = 30 s, first response (60 + 0) / 2 = 30 s,
#       SLA 2 of 2, after-hours buyers b1, b2 → 2.
#   a2: b3 writes 22:59 (inside), answered 23:01 → 120 s, slow; b4 writes 23:30 (after the end) →
#       clock 12th 09:00; answered 12th 09:02 → 120 s, slow, a response of the 12th, the first
#       response of the 11th's consult. 11th: responses 1 (120 s), first response (120 + 120) / 2,
#       SLA 2 of 2, after-hours b4 → 1. 12th: responses 1, 120 s, slow 1.
#   team 11th: after-hours buyers b1, b2, b4 → 3.
# ------------------------------------------------------------------------------------------------
JD_HOURS = {"service_hours": {"start": "09:00", "end": "23:00"}}
scenario(
    "service_hours_clock_starts_at_the_opening",
    [
        buyer(t(2, 0), "b1", "a1"),
        agent(t(9, 1), "b1", "a1"),
        buyer(t(3, 0), "b2", "a1"),
        agent(t(3, 5), "b2", "a1"),
        buyer(t(8, 0), "b5", None),
        transfer(t(8, 30), "b5", None, "a1"),
        agent(t(9, 0, 30), "b5", "a1"),
        buyer(t(22, 59), "b3", "a2"),
        agent(t(23, 1), "b3", "a2"),
        buyer(t(23, 30), "b4", "a2"),
        agent(t(9, 2, day=12), "b4", "a2"),
    ],
    {
        "agents": {
            D11: {
                "a1": {"received_buyers": 2, "responses": 3, "avg_response_s": 30.0, "slow_responses": 0,
                       "first_response_avg_s": 30.0, "sla_buyers": 2, "sla_met_buyers": 2,
                       "after_hours_buyers": 2},
                "a2": {"received_buyers": 2, "responses": 1, "avg_response_s": 120.0, "slow_responses": 1,
                       "first_response_avg_s": 120.0, "sla_buyers": 2, "sla_met_buyers": 2,
                       "after_hours_buyers": 1},
            },
            D12: {"a2": {"responses": 1, "avg_response_s": 120.0, "slow_responses": 1, "after_hours_buyers": 0}},
        },
        "team": {D11: {"after_hours_buyers": 3, "received_buyers": 4, "responses": 4}},
    },
    settings=JD_HOURS,
    now_ms=t(10, 0, day=12),
)

# ------------------------------------------------------------------------------------------------
# 30. Service hours, live: b1 writes at 01:00 and still waits at now = 09:02. Its clock starts at
#     09:00, so it has waited 120 s (not 8 h 2 min), and its open SLA clock (180 s) has not run out:
#     sla_buyers 0 (without service hours it would be 1, not met).
# ------------------------------------------------------------------------------------------------
scenario(
    "service_hours_live_wait_and_sla_age",
    [buyer(t(1, 0), "b1", "a1")],
    {
        "agents": {D11: {"a1": {"received_buyers": 1, "sla_buyers": 0, "after_hours_buyers": 1}}},
        "live": {"agents": {"a1": {"waiting_buyers": 1, "longest_wait_s": 120.0}},
                 "team": {"waiting_buyers": 1, "longest_wait_s": 120.0}},
    },
    settings=JD_HOURS,
    now_ms=t(9, 2),
)

# ------------------------------------------------------------------------------------------------
# 31. Robot and queue (active_window_s 600), now = 12:00.
#   b1: robot chat 10:00, queued 10:01 (again 10:02: changes nothing), transfer from the queue 10:04
#       → a wait of 180 s ended by a transfer; robot buyer (unrouted message + robot message).
#   b2: queued 10:10, buyer message routed to a2 10:11:30 → a wait of 90 s ended by a routed message.
#   b3: robot chat 11:00, queued 11:00:05, transfer only at 11:20 (> 600 s later) → abandoned (the
#       transfer ends nothing); robot buyer.
#   b4: queued 11:55, still waiting → queued now, 300 s.
#   b5: queued 11:40, nothing since → abandoned at 11:50:00.001 (counted at "now").
#   b6: queued 10th 23:58, routed message 11th 00:01 → 180 s, a wait ended on the 11th.
#   test-1 (filter_buyers): queued 11:58 → in no figure.
#   11th: to_human b1..b5 = 5; waits ended 180, 90, 180 → avg 150 s; abandoned b3, b5 = 2; robot b1, b3.
#   10th: to_human b6 = 1, no wait ended.
# ------------------------------------------------------------------------------------------------
scenario(
    "robot_and_queue",
    [
        buyer(t(10, 0), "b1", None), robot(t(10, 0, 2), "b1"),
        queued(t(10, 1), "b1"), queued(t(10, 2), "b1"),
        transfer(t(10, 4), "b1", None, "a1"), buyer(t(10, 5), "b1", "a1"),
        queued(t(10, 10), "b2"), buyer(t(10, 11, 30), "b2", "a2"),
        buyer(t(11, 0), "b3", None), robot(t(11, 0, 1), "b3"), queued(t(11, 0, 5), "b3"),
        transfer(t(11, 20), "b3", None, "a1"),
        queued(t(11, 55), "b4"),
        queued(t(11, 40), "b5"),
        queued(t(23, 58, day=10), "b6"), buyer(t(0, 1), "b6", "a1"),
        queued(t(11, 58), "test-1"),
    ],
    {
        "team": {
            "2026-11-10": {"to_human_buyers": 1, "queue_wait_avg_s": None, "queue_abandoned_buyers": 0},
            D11: {"robot_buyers": 2, "to_human_buyers": 5, "queue_wait_avg_s": 150.0, "queue_abandoned_buyers": 2},
        },
        "live": {"team": {"queued_now": 1, "longest_queue_wait_s": 300.0}},
    },
    settings={"filter_buyers": ["test-1"]},
    now_ms=t(12, 0),
)


# ------------------------------------------------------------------------------------------------
# Comparison helper
# ------------------------------------------------------------------------------------------------
_MISSING = object()


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _compare(actual: Any, expected: Any, path: str, errors: list[str]) -> None:
    if isinstance(expected, dict):
        if actual is not _MISSING and not isinstance(actual, dict):
            errors.append(f"{path}: expected a dict, got {actual!r}")
            return
        for key, exp in expected.items():
            act = actual.get(key, _MISSING) if isinstance(actual, dict) else _MISSING
            _compare(act, exp, f"{path}.{key}" if path else str(key), errors)
        return
    if actual is _MISSING:
        # a missing entry reads as all zeros / None
        if expected is None or (_is_number(expected) and expected == 0):
            return
        errors.append(f"{path}: missing, expected {expected!r}")
        return
    if expected is None:
        if actual is not None:
            errors.append(f"{path}: expected None, got {actual!r}")
        return
    if _is_number(expected):
        if not _is_number(actual):
            errors.append(f"{path}: expected {expected!r}, got {actual!r}")
            return
        if isinstance(expected, int) and not isinstance(actual, int):
            errors.append(f"{path}: expected the count {expected!r} as an int, got {actual!r}")
            return
        if not math.isclose(actual, expected, rel_tol=1e-9, abs_tol=0.0):
            errors.append(f"{path}: expected {expected!r}, got {actual!r}")
        return
    if actual != expected:
        errors.append(f"{path}: expected {expected!r}, got {actual!r}")


def assert_matches(result: dict, expect: dict, name: str) -> None:
    """Assert that `result` holds every figure of `expect` (numbers within 1e-9 relative, None
    exactly, strings exactly; an entry missing from `result` counts as 0 / None)."""
    errors: list[str] = []
    _compare(result, expect, "", errors)
    if errors:
        raise AssertionError(f"scenario {name!r}: {len(errors)} mismatch(es):\n  " + "\n  ".join(errors))


# ------------------------------------------------------------------------------------------------
# Double-11 money figures (metrics.md "Double-11 additions"; docs/metric-rules.md "Double-11 money").
# Each scenario is also run with the arrival order reversed (no buyer has two events with one ts).
# ------------------------------------------------------------------------------------------------
D01 = "2026-11-01"
D09 = "2026-11-09"


def deposit(ts: int, b: str, oid: str, amount: float, eid: str | None = None) -> dict:
    return {"event_id": _eid(eid), "shop_id": SHOP, "type": "order.deposit_paid", "ts": ts,
            "buyer_id": b, "order_id": oid, "amount": amount}


def money_scenario(name: str, events: list[dict], expect: dict, settings: dict | None = None) -> None:
    scenario(name, events, expect, settings)
    scenario(f"{name}_reversed", list(reversed(events)), expect, settings)


#   b1: chats a1 on 11-01 10:00, o1 created 10:05 (300), deposit 10:06 (50); the balance (the full 300)
#       on 11-11 00:10 with no chat since (11-01 is more than N−1 = 1 day before 11-11).
#   b2: chats a1 on 11-01 11:00, o2 created 11:05 (200), deposit 11:06 (20); on 11-11 writes to a2 at
#       00:20, a2 answers 00:21 (a chase: o2 is created, unpaid, not closed), the balance 200 at 00:30.
def _presale_events() -> list[dict]:
    return [
        buyer(t(10, 0, day=1), "b1", "a1", "有预售吗"),
        created(t(10, 5, day=1), "b1", "o1", 300),
        deposit(t(10, 6, day=1), "b1", "o1", 50),
        paid(t(0, 10), "b1", "o1", 300),
        buyer(t(11, 0, day=1), "b2", "a1", "定金多少"),
        created(t(11, 5, day=1), "b2", "o2", 200),
        deposit(t(11, 6, day=1), "b2", "o2", 20),
        buyer(t(0, 20), "b2", "a2", "尾款怎么付"),
        agent(t(0, 21), "b2", "a2", "亲，现在可以付尾款了"),
        paid(t(0, 30), "b2", "o2", 200),
    ]


# Deposits are credited to the order agent a1 under order / order_first (and under payment too: the
# payment agent at each deposit is a1); the deposit is not sales, and no order is unpaid (both have a
# deposit). On 11-11: a2's 00:21 message chased o2, paid 00:30 → a2's chase recovered 200 whoever has
# the sales; b2 wrote to a2 on 11-11, so when o2 is credited to a1, a2 assisted it.
_PRESALE_DEPOSIT_DAY = {"deposit_buyers": 2, "deposit_amount": 70.0,  # 50 + 20
                        "order_amount": 500.0, "unpaid_buyers": 0, "unpaid_amount": 0.0, "sales": 0.0,
                        "ordered_buyers": 2, "inquiry_buyers": 2}
for _rule in ("order_first", "order"):
    money_scenario(
        f"presale_deposit_then_balance_{_rule}",
        _presale_events(),
        {
            "agents": {
                D01: {"a1": _PRESALE_DEPOSIT_DAY},
                D11: {
                    "a1": {"sales": 500.0, "sales_buyers": 2, "deposit_buyers": 0, "assist_buyers": 0,
                           "chased_buyers": 0},
                    "a2": {"sales": 0.0, "chased_buyers": 1, "chase_paid_buyers": 1, "chase_paid_amount": 200.0,
                           "chase_success_rate": 1.0, "assist_buyers": 1, "assist_sales": 200.0,
                           "inquiry_buyers": 1, "ordered_buyers": 0},
                },
            },
            "team": {
                D01: {"deposit_buyers": 2, "deposit_amount": 70.0, "order_amount": 500.0, "shop_sales": 0.0},
                D11: {"sales": 500.0, "silent_sales": 0.0, "shop_sales": 500.0, "chased_buyers": 1,
                      "chase_paid_buyers": 1, "chase_paid_amount": 200.0, "assist_buyers": 1,
                      "assist_sales": 200.0, "deposit_amount": 0.0},
            },
        },
        settings={"attribution": _rule},
    )

# Before the balances (the events up to 11-11 00:00): both deposits are credited to a1, two balances due.
money_scenario(
    "presale_balances_due",
    [e for e in _presale_events() if e["ts"] < t(0, 0)],
    {"live": {"agents": {"a1": {"balance_due_buyers": 2}}, "team": {"balance_due_buyers": 2}}},
)

# Under payment: the balance of o1 is paid with no recent chat → silent; o2's balance → a2 (b2's 00:20
# message), so nobody assisted it (a1's chat is on 11-01, outside the N days).
money_scenario(
    "presale_deposit_then_balance_payment",
    _presale_events(),
    {
        "agents": {
            D01: {"a1": _PRESALE_DEPOSIT_DAY},
            D11: {"a2": {"sales": 200.0, "sales_buyers": 1, "chased_buyers": 1, "chase_paid_buyers": 1,
                         "chase_paid_amount": 200.0, "chase_success_rate": 1.0, "assist_buyers": 0,
                         "assist_sales": 0.0}},
        },
        "team": {D11: {"sales": 200.0, "silent_sales": 300.0, "shop_sales": 500.0, "assist_buyers": 0}},
        "live": {"agents": {"a1": {"balance_due_buyers": 0}}, "team": {"balance_due_buyers": 0}},  # all paid
    },
    settings={"attribution": "payment"},
)


#   b1: chats a1 10:00, o1 created 10:05 (100); a1 writes 10:20 (a chase), o1 paid 10:30; a1 writes 10:40
#       (after the payment: no chase).
#   b2: chats a1 11:00, o2 created 11:05 (80), nothing more → unpaid (a1).
#   b3: chats a2 12:00, o3 created 12:05 (60), closed 12:30; a2 writes 12:40 (a closed order: no chase).
#   b4: o4 created 13:00 (40) with no chat → silent unpaid; a2 writes 13:10 (a chase, never paid).
#   b5: chats a1 09:59, o5 created 10:00 (30), deposit 10:01 (30), the deposit refunded 10:30 (a refund of
#       an order never paid: ignored) → a deposit of a1, not unpaid.
money_scenario(
    "unpaid_orders_and_chases",
    [
        buyer(t(10, 0), "b1", "a1", "这个有货吗"),
        created(t(10, 5), "b1", "o1", 100),
        agent(t(10, 20), "b1", "a1", "亲，拍下记得付款哦"),
        paid(t(10, 30), "b1", "o1", 100),
        agent(t(10, 40), "b1", "a1", "已发货"),
        buyer(t(11, 0), "b2", "a1", "包邮吗"),
        created(t(11, 5), "b2", "o2", 80),
        buyer(t(12, 0), "b3", "a2", "能改地址吗"),
        created(t(12, 5), "b3", "o3", 60),
        closed(t(12, 30), "b3", "o3"),
        agent(t(12, 40), "b3", "a2", "亲，订单已关闭"),
        created(t(13, 0), "b4", "o4", 40),
        agent(t(13, 10), "b4", "a2", "亲，还没付款哦"),
        buyer(t(9, 59), "b5", "a1", "预售怎么买"),
        created(t(10, 0), "b5", "o5", 30),
        deposit(t(10, 1), "b5", "o5", 30),
        refunded(t(10, 30), "b5", "o5", 30),
    ],
    {
        "agents": {D11: {
            "a1": {"order_amount": 210.0,  # 100 + 80 + 30
                   "unpaid_buyers": 1, "unpaid_amount": 80.0,  # b2
                   "chased_buyers": 1,  # b1 at 10:20 (10:40 is after the payment)
                   "chase_paid_buyers": 1, "chase_paid_amount": 100.0, "chase_success_rate": 1.0,
                   "deposit_buyers": 1, "deposit_amount": 30.0, "refunds": 0, "refund_amount": 0.0,
                   "sales": 100.0},
            "a2": {"order_amount": 60.0, "unpaid_buyers": 0, "unpaid_amount": 0.0,
                   "chased_buyers": 1,  # b4 (b3's order was closed)
                   "chase_paid_buyers": 0, "chase_paid_amount": 0.0, "chase_success_rate": 0.0},
        }},
        "team": {D11: {"order_amount": 270.0, "unpaid_buyers": 1, "unpaid_amount": 80.0,
                       "silent_unpaid_buyers": 1, "silent_unpaid_amount": 40.0,
                       "chased_buyers": 2, "chase_paid_buyers": 1, "chase_success_rate": 0.5,
                       "deposit_buyers": 1, "deposit_amount": 30.0, "refunds": 0}},
        # o5: a deposit credited to a1, no final payment, not closed → a balance due now
        "live": {"agents": {"a1": {"balance_due_buyers": 1}, "a2": {"balance_due_buyers": 0}},
                 "team": {"balance_due_buyers": 1}},
        # 待催付, oldest first: o2 (a1, never chased), o4 (silent, chased by a2 at 13:10); o1 paid, o3 closed,
        # o5 has its deposit
        "unpaid_orders": [
            {"order_id": "o2", "buyer_id": "b2", "order_agent": "a1", "created_ts": t(11, 5), "amount": 80.0,
             "chased": False},
            {"order_id": "o4", "buyer_id": "b4", "order_agent": None, "created_ts": t(13, 0), "amount": 40.0,
             "chased": True},
        ],
    },
)


#   b1: a1 writes 10:00 before b1 wrote to a1 that day (a follow-up), b1 writes back 10:05, a1 answers
#       10:06; o1 created 10:10 (50), paid 10:20.
#   b2: writes a1 11:00, no order (an inquiry, lost).
#   b3: a1 writes 12:00 (a follow-up); b3 never writes; o3 created 12:30 (70), paid 12:40.
def _followup_events() -> list[dict]:
    return [
        agent(t(10, 0), "b1", "a1", "亲，您看中的宝贝降价了"),
        buyer(t(10, 5), "b1", "a1", "真的吗"),
        agent(t(10, 6), "b1", "a1", "是的"),
        created(t(10, 10), "b1", "o1", 50),
        paid(t(10, 20), "b1", "o1", 50),
        buyer(t(11, 0), "b2", "a1", "有优惠吗"),
        agent(t(12, 0), "b3", "a1", "亲，双11活动开始了"),
        created(t(12, 30), "b3", "o3", 70),
        paid(t(12, 40), "b3", "o3", 70),
    ]


# On: b1 and b3 are follow-ups (not inquiries); b1 still consults (wrote back); a1's 12:00 message is
# b3's last contact, so o3's order agent is a1. The only inquiry is b2, lost.
money_scenario(
    "followup_not_lost_on",
    _followup_events(),
    {
        "agents": {D11: {"a1": {
            "followup_buyers": 2, "consult_buyers": 2, "received_buyers": 2,
            "inquiry_buyers": 1, "ordered_buyers": 0, "paid_buyers": 0, "lost_buyers": 1,
            "sales": 120.0, "order_amount": 120.0, "chased_buyers": 0,
        }}},
        "team": {D11: {"followup_buyers": 2, "inquiry_buyers": 1, "silent_sales": 0.0}},
    },
    settings={"followup_not_lost": True},
)

# Off: no follow-ups; b1 and b2 are inquiries, b1 ordered and paid (its 10:05 message); o3 has no contact
# at all → silent.
money_scenario(
    "followup_not_lost_off",
    _followup_events(),
    {
        "agents": {D11: {"a1": {
            "followup_buyers": 0, "consult_buyers": 2, "inquiry_buyers": 2, "ordered_buyers": 1,
            "paid_buyers": 1, "lost_buyers": 1, "sales": 50.0, "order_amount": 50.0,
        }}},
        "team": {D11: {"followup_buyers": 0, "silent_sales": 70.0, "silent_unpaid_buyers": 0}},
    },
)


#   b1: writes a1 10:00, a1 answers 10:01 and transfers to a2 10:02, b1 writes a2 10:03; o1 created 10:10
#       and paid 10:20 (150) → credited a2, assisted by a1.
#   b2: wrote a3 on 11-09, writes a2 on 11-11 11:00; o2 created 11:10, paid 11:20 (90) → credited a2; a3's
#       chat is outside the N = 2 days (11-10 … 11-11): no assist.
money_scenario(
    "assist_credit",
    [
        buyer(t(10, 0), "b1", "a1", "这个怎么用"),
        agent(t(10, 1), "b1", "a1", "帮您转给专员"),
        transfer(t(10, 2), "b1", "a1", "a2"),
        buyer(t(10, 3), "b1", "a2", "你好"),
        created(t(10, 10), "b1", "o1", 150),
        paid(t(10, 20), "b1", "o1", 150),
        buyer(t(10, 0, day=9), "b2", "a3", "双11有活动吗"),
        buyer(t(11, 0), "b2", "a2", "现在下单"),
        created(t(11, 10), "b2", "o2", 90),
        paid(t(11, 20), "b2", "o2", 90),
    ],
    {
        "agents": {D11: {
            "a1": {"assist_buyers": 1, "assist_sales": 150.0, "sales": 0.0},
            "a2": {"assist_buyers": 0, "assist_sales": 0.0, "sales": 240.0},
        }, D09: {"a3": {"consult_buyers": 1, "assist_buyers": 0}}},
        "team": {D11: {"assist_buyers": 1, "assist_sales": 150.0}},
    },
)


# 尾款 paid today (balance_paid_*; docs/metric-rules.md "Double-11 money"): the order.paid of an order with
# a deposit, credited as its sales are, by the payment's day.
#   b1: writes a1 11-01 10:00, o1 created 10:05 (300), deposit 10:06 (50); on 11-11 writes a2 00:10 and
#       pays the balance (the full 300) at 00:20.
#   b2: writes a1 11-01 11:00, o2 created 11:05 (200), deposit 11:06 (20); pays the balance 200 on 11-11
#       00:20 with no chat since (11-01 is more than N−1 = 1 day before 11-11).
#   b3: writes a1 11-11 00:05, o3 created 00:06 (80), paid 00:15: an ordinary order, sales but no balance.
#   b4: writes a1 11-01 12:00, o4 created 12:05 (100), deposit 12:06 (10), no balance yet: still due.
def _balance_paid_events() -> list[dict]:
    return [
        buyer(t(10, 0, day=1), "b1", "a1", "预售几号付尾款"),
        created(t(10, 5, day=1), "b1", "o1", 300),
        deposit(t(10, 6, day=1), "b1", "o1", 50),
        buyer(t(0, 10), "b1", "a2", "尾款开始了吗"),
        paid(t(0, 20), "b1", "o1", 300),
        buyer(t(11, 0, day=1), "b2", "a1", "定金能退吗"),
        created(t(11, 5, day=1), "b2", "o2", 200),
        deposit(t(11, 6, day=1), "b2", "o2", 20),
        paid(t(0, 20), "b2", "o2", 200),
        buyer(t(0, 5), "b3", "a1", "现货有吗"),
        created(t(0, 6), "b3", "o3", 80),
        paid(t(0, 15), "b3", "o3", 80),
        buyer(t(12, 0, day=1), "b4", "a1", "我也要预定"),
        created(t(12, 5, day=1), "b4", "o4", 100),
        deposit(t(12, 6, day=1), "b4", "o4", 10),
    ]


# The deposit day is the same under every rule: three deposits credited to a1 (the payment agent at each
# deposit is a1 too), no balance paid; after every event o4's balance is still due (a1).
_BALANCE_DEPOSIT_DAY = {D01: {"a1": {"deposit_buyers": 3, "deposit_amount": 80.0,  # 50 + 20 + 10
                                     "balance_paid_buyers": 0, "balance_paid_amount": 0.0, "sales": 0.0}}}
_BALANCE_DUE_NOW = {"agents": {"a1": {"balance_due_buyers": 1}, "a2": {"balance_due_buyers": 0}},
                    "team": {"balance_due_buyers": 1}}
# order / order_first: every order's order agent is a1 (o1 and o2 created after b1's and b2's 11-01
# messages), so both balances are a1's (two buyers, 300 + 200); o3's 80 is sales but no balance.
for _rule in ("order", "order_first"):
    money_scenario(
        f"balance_paid_today_{_rule}",
        _balance_paid_events(),
        {
            "agents": {
                **_BALANCE_DEPOSIT_DAY,
                D11: {"a1": {"sales": 580.0, "sales_buyers": 3, "balance_paid_buyers": 2,
                             "balance_paid_amount": 500.0},
                      "a2": {"sales": 0.0, "balance_paid_buyers": 0, "balance_paid_amount": 0.0}},
            },
            "team": {D11: {"balance_paid_buyers": 2, "balance_paid_amount": 500.0, "shop_sales": 580.0,
                           "silent_sales": 0.0, "silent_balance_paid_amount": 0.0},
                     D01: {"balance_paid_buyers": 0, "balance_paid_amount": 0.0}},
            "live": _BALANCE_DUE_NOW,
        },
        settings={"attribution": _rule},
    )
# payment: the payment agent at each balance. o1 → a2 (b1's 00:10 message); o2 → nobody (b2's last chat
# is on 11-01): a silent balance, in silent_sales and silent_balance_paid_amount, in no agent's figure;
# o3 → a1 (b3's 00:05 message), not a balance.
money_scenario(
    "balance_paid_today_payment",
    _balance_paid_events(),
    {
        "agents": {
            **_BALANCE_DEPOSIT_DAY,
            D11: {"a1": {"sales": 80.0, "balance_paid_buyers": 0, "balance_paid_amount": 0.0},
                  "a2": {"sales": 300.0, "balance_paid_buyers": 1, "balance_paid_amount": 300.0}},
        },
        "team": {D11: {"balance_paid_buyers": 1, "balance_paid_amount": 300.0, "sales": 380.0,
                       "silent_sales": 200.0, "silent_balance_paid_amount": 200.0, "shop_sales": 580.0}},
        "live": _BALANCE_DUE_NOW,
    },
    settings={"attribution": "payment"},
)


# metrics.md, Conversation mechanics: "An `order.created` that arrives after its `order.paid` still sets
# the order's creation time (only an order with no `order.created` at all is treated as created at
# payment)"; Presale: "The order's creation, order agent and cohort are as for any order". So an
# order.created sets the creation (time, day, order agent, 客服下单金额) even when its ts is after the
# order's payment or deposit, which only stood in for it (docs/metric-rules.md).
#   b1: writes a1 10:00; o1 paid 10:10 (100) with no order.created before; writes a2 10:20; the
#       order.created of o1 at 10:30 (100). Order agent = a2 (the contact before 10:30), not a1 (before the
#       payment); order_first credits a2; b1 wrote a1 before the payment, so a1 assisted.
#   b2: writes a1 11:00; o2's deposit 11:10 (20) with no order.created before; a1 writes 11:12; b2 writes
#       a2 11:15; the order.created of o2 at 11:20 (200). Created at 11:20: a1's 11:12 message is no chase
#       (the order did not exist yet); order agent a2, who has the deposit and the balance due.
money_scenario(
    "order_created_after_its_payment_or_deposit",
    [
        buyer(t(10, 0), "b1", "a1", "这个怎么买"),
        paid(t(10, 10), "b1", "o1", 100),
        buyer(t(10, 20), "b1", "a2", "已经付了"),
        created(t(10, 30), "b1", "o1", 100),
        buyer(t(11, 0), "b2", "a1", "预售定金多少"),
        deposit(t(11, 10), "b2", "o2", 20),
        agent(t(11, 12), "b2", "a1", "亲，定金已收到"),
        buyer(t(11, 15), "b2", "a2", "尾款几号付"),
        created(t(11, 20), "b2", "o2", 200),
    ],
    {
        "agents": {D11: {
            "a1": {"inquiry_buyers": 2, "ordered_buyers": 0, "paid_buyers": 0, "lost_buyers": 2, "sales": 0.0,
                   "order_amount": 0.0, "chased_buyers": 0, "deposit_buyers": 0, "deposit_amount": 0.0,
                   "assist_buyers": 1, "assist_sales": 100.0},
            "a2": {"inquiry_buyers": 2, "ordered_buyers": 2, "paid_buyers": 1, "lost_buyers": 0, "sales": 100.0,
                   "order_amount": 300.0, "chased_buyers": 0, "deposit_buyers": 1, "deposit_amount": 20.0,
                   "assist_buyers": 0},
        }},
        "team": {D11: {"order_amount": 300.0, "sales": 100.0, "silent_sales": 0.0, "ordered_buyers": 2,
                       "chased_buyers": 0, "unpaid_buyers": 0, "silent_unpaid_buyers": 0}},
        "live": {"agents": {"a1": {"balance_due_buyers": 0}, "a2": {"balance_due_buyers": 1}},
                 "team": {"balance_due_buyers": 1}},
        "unpaid_orders": [],
    },
)
