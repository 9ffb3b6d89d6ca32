"""From summed counters to the figures of metrics.md (per agent, group, team), live load and series.

Shared by the batch engine (replay, tests) and the API, so every screen and export shows the same
numbers. Exact and unrounded: counts int, money yuan (fen / 100), durations seconds, ratios or None.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from streams.core.catalogue import AGENT, SERIES, TEAM, scope_keys
from streams.core.clock import MINUTE_MS, minute_of

ScopeCounters = Mapping[str, int]  # the counters of one scope (an agent, group or team, a day or minute): name → value

# The keys of each figure object, in API order, from the metric catalogue (which also documents them).
AGENT_KEYS = scope_keys(AGENT)
TEAM_KEYS = scope_keys(TEAM)
SERIES_KEYS = scope_keys(SERIES)


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def seconds(total_ms: int, count: int) -> float | None:
    return total_ms / count / 1000 if count else None


def yuan(fen: int) -> float:
    return fen / 100


def add_counters(total: dict[str, int], more: ScopeCounters) -> dict[str, int]:
    for name, value in more.items():
        total[name] = total.get(name, 0) + value
    return total


def figures(c: ScopeCounters, aged_open_sla: int = 0, *, team: bool = False,
            abandoned_open_waits: int = 0) -> dict[str, Any]:
    """The per-agent keys (and, for the team, the team-only keys) from summed counters.

    aged_open_sla: received buyers without a first response whose first message is older than sla_s
    at "now" — they count in sla_buyers (not met).
    abandoned_open_waits (team): buyers whose queue wait begun that day is still open and older than
    the window at "now", not already counted as abandoned that day (streams/core/queue.py).
    """
    g = c.get
    consult, received, replied = g("consult", 0), g("received", 0), g("replied", 0)
    buyer_messages, agent_messages = g("buyer_messages", 0), g("agent_messages", 0)
    responses, first_responses = g("responses", 0), g("first_responses", 0)
    sla_buyers, sla_met = g("sla_buyers", 0) + aged_open_sla, g("sla_met", 0)
    inquiry, ordered, paid = g("inquiry", 0), g("ordered", 0), g("paid", 0)
    sales_fen, sales_buyers, sales_items = g("sales_fen", 0), g("sales_buyers", 0), g("sales_items", 0)
    ratings, satisfied = g("ratings", 0), g("satisfied", 0)
    result: dict[str, Any] = {
        "consult_buyers": consult,
        "received_buyers": received,
        "filtered_buyers": consult - received,
        "buyer_messages": buyer_messages,
        "agent_messages": agent_messages,
        "qa_ratio": ratio(agent_messages, buyer_messages),
        "replied_buyers": replied,
        "reply_rate": ratio(replied, received),
        "responses": responses,
        "avg_response_s": seconds(g("response_ms", 0), responses),
        "first_response_avg_s": seconds(g("first_response_ms", 0), first_responses),
        "slow_responses": g("slow", 0),
        "sla_buyers": sla_buyers,
        "sla_met_buyers": sla_met,
        "sla_rate": ratio(sla_met, sla_buyers),
        "unreplied_buyers": received - replied,
        "after_hours_buyers": g("after_hours", 0),
        "inquiry_buyers": inquiry,
        "ordered_buyers": ordered,
        "paid_buyers": paid,
        "inquiry_order_rate": ratio(ordered, inquiry),
        "order_pay_rate": ratio(paid, ordered),
        "inquiry_pay_rate": ratio(paid, inquiry),
        "lost_buyers": inquiry - ordered,
        "sales": yuan(sales_fen),
        "sales_buyers": sales_buyers,
        "sales_items": sales_items,
        "avg_buyer_value": ratio(yuan(sales_fen), sales_buyers),
        "items_per_buyer": ratio(sales_items, sales_buyers),
        "avg_item_price": ratio(yuan(sales_fen), sales_items),
        "refunds": g("refunds", 0),
        "refund_amount": yuan(g("refund_fen", 0)),
        "ratings": ratings,
        "satisfied_ratings": satisfied,
        "satisfaction_rate": ratio(satisfied, ratings),
        # Double-11 additions (streams/core/money.py)
        "deposit_buyers": g("deposit", 0),
        "deposit_amount": yuan(g("deposit_fen", 0)),
        "balance_paid_buyers": g("balance_paid", 0),
        "balance_paid_amount": yuan(g("balance_paid_fen", 0)),
        "order_amount": yuan(g("order_fen", 0)),
        "unpaid_buyers": g("unpaid", 0),
        "unpaid_amount": yuan(g("unpaid_fen", 0)),
        "chased_buyers": g("chased", 0),
        "chase_paid_buyers": g("chase_paid", 0),
        "chase_paid_amount": yuan(g("chase_paid_fen", 0)),
        "chase_success_rate": ratio(g("chase_paid", 0), g("chased", 0)),
        "followup_buyers": g("followup", 0),
        "assist_buyers": g("assist", 0),
        "assist_sales": yuan(g("assist_fen", 0)),
    }
    if team:
        silent_fen = g("silent_fen", 0)
        result["silent_sales"] = yuan(silent_fen)
        result["shop_sales"] = yuan(sales_fen + silent_fen)
        result["silent_share"] = ratio(silent_fen, sales_fen + silent_fen)
        result["robot_only_buyers"] = g("robot_only", 0)
        result["robot_buyers"] = g("robot_buyers", 0)
        result["to_human_buyers"] = g("to_human", 0)
        result["queue_wait_avg_s"] = seconds(g("queue_wait_ms", 0), g("queue_waits", 0))
        result["queue_abandoned_buyers"] = g("queue_abandoned", 0) + abandoned_open_waits
        result["silent_unpaid_buyers"] = g("silent_unpaid", 0)
        result["silent_unpaid_amount"] = yuan(g("silent_unpaid_fen", 0))
        result["silent_balance_paid_amount"] = yuan(g("silent_balance_paid_fen", 0))
    return result


def count_aged(open_sla: Iterable[tuple[int, int]], now_ms: int) -> int:
    """Open SLA clocks (first message ts, sla ms) older than sla at now."""
    return sum(1 for first_ts, sla_ms in open_sla if now_ms - first_ts > sla_ms)


def live_load(
    activity: Iterable[int], pending_since: Iterable[int], now_ms: int, active_window_s: float
) -> dict[str, Any]:
    window_ms = active_window_s * 1000
    pending = list(pending_since)
    return {
        "active_conversations": sum(1 for ts in activity if 0 <= now_ms - ts <= window_ms),
        "waiting_buyers": len(pending),
        "longest_wait_s": max(0, now_ms - min(pending)) / 1000 if pending else 0,
    }


def state_now(c: ScopeCounters) -> dict[str, Any]:
    """The live figures of the buyers' state now (no clock changes them), from the "now" counters of an
    agent or of the team (the team's count each buyer once)."""
    return {"balance_due_buyers": c.get("balance_due", 0)}


def team_live(agents: Iterable[Mapping[str, Any]], queue_starts: Iterable[int] = (), now_ms: int = 0,
              ) -> dict[str, Any]:
    """The team line: the agents' load, and the queue (queue_starts: the open, not abandoned waits)."""
    rows = list(agents)
    starts = list(queue_starts)
    return {
        "active_conversations": sum(r["active_conversations"] for r in rows),
        "waiting_buyers": sum(r["waiting_buyers"] for r in rows),
        "longest_wait_s": max((r["longest_wait_s"] for r in rows), default=0),
        "queued_now": len(starts),
        "longest_queue_wait_s": max(0, now_ms - min(starts)) / 1000 if starts else 0,
    }


def series_point(minute: int, c: ScopeCounters) -> dict[str, Any]:
    g = c.get
    return {
        "minute": minute,
        "buyer_messages": g("buyer_messages", 0),
        "agent_messages": g("agent_messages", 0),
        "new_consult_buyers": g("new_consult", 0),
        "responses": g("responses", 0),
        "avg_response_s": seconds(g("response_ms", 0), g("responses", 0)),
        "slow_responses": g("slow", 0),
        "paid_amount": yuan(g("paid_fen", 0)),
    }


def series(buckets: Mapping[int, ScopeCounters], now_ms: int, minutes: int) -> dict[str, Any]:
    """Per-minute points for the last `minutes` minutes up to now (empty minutes included), oldest
    first, with sliding figures for the last 5, 15 and 60 minutes."""
    last = minute_of(now_ms)
    starts = [last - i * MINUTE_MS for i in range(max(minutes, 60) - 1, -1, -1)]
    sliding = {}
    for span in (5, 15, 60):
        total: dict[str, int] = {}
        for minute in starts[-span:]:
            add_counters(total, buckets.get(minute, {}))
        point = series_point(starts[-span], total)
        del point["minute"]
        sliding[f"last_{span}m"] = point
    points = [series_point(minute, buckets.get(minute, {})) for minute in starts[-minutes:]]
    return {"points": points, "sliding": sliding}
