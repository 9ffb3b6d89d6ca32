"""Independent reference implementation (batch oracle) of the Kefu Pulse KPIs.

Written from the specification alone — shared/spec/metrics.md (the KPI contract),
shared/spec/events.md (the wire format) and docs/metric-rules.md (the project's binding reading of
the points metrics.md leaves open) — without looking at the streaming engine in streams/. Its only
purpose is to be obviously correct so that the engine can be compared against it: it is a plain
batch computation, slow on purpose, with every figure computed by its direct definition.

How it works:
1. Deduplicate by (shop_id, event_id), first arrival wins; remember each event's arrival index.
2. Take each buyer's chat and order events in ts order — at equal ts the buyer's messages first, then
   arrival order ("Arrival order never changes a figure") — and walk them with explicit
   state: pending messages per owner (an agent id, or None for the robot/queue) with a pending clock
   per owner, giving the list of human responses; and an order state machine per order_id.
3. Credit each order (order agent / payment agent / attribution rule).
4. Compute every figure for (agent set, day) by direct definition: one agent gives the per-agent
   figures, the agents of a group give the group, all agents give the team (buyer counts are
   distinct buyers, first response / SLA are over (agent, buyer) pairs, other counts are sums).
5. Live load at "now" by replaying only the events with ts <= now; per-minute series.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_SETTINGS: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "slow_response_s": 60,
    "sla_s": 180,
    "inquiry_valid_days": 2,
    "attribution": "order_first",
    "active_window_s": 600,
    "filter_buyers": [],
    "filter_phrases": [],
    "groups": {},
    "presale_groups": ["presale"],
    "followup_not_lost": False,
}

PER_AGENT_KEYS: tuple[str, ...] = (
    "consult_buyers", "received_buyers", "filtered_buyers", "buyer_messages", "agent_messages",
    "qa_ratio", "replied_buyers", "reply_rate", "responses", "avg_response_s", "first_response_avg_s",
    "slow_responses", "sla_buyers", "sla_met_buyers", "sla_rate", "unreplied_buyers", "after_hours_buyers",
    "inquiry_buyers",
    "ordered_buyers", "paid_buyers", "inquiry_order_rate", "order_pay_rate", "inquiry_pay_rate",
    "lost_buyers", "sales", "sales_buyers", "sales_items", "avg_buyer_value", "items_per_buyer",
    "avg_item_price", "refunds", "refund_amount", "ratings", "satisfied_ratings", "satisfaction_rate",
    "deposit_buyers", "deposit_amount", "balance_paid_buyers", "balance_paid_amount", "order_amount",
    "unpaid_buyers", "unpaid_amount", "chased_buyers",
    "chase_paid_buyers", "chase_paid_amount", "chase_success_rate", "followup_buyers", "assist_buyers",
    "assist_sales",
)
# Agent time (metrics.md "Agent time"): per agent and day, from the agent.status events alone.
AGENT_TIME_KEYS: tuple[str, ...] = ("online_s", "busy_s", "away_s", "first_online_ts", "last_offline_ts")
TEAM_EXTRA_KEYS: tuple[str, ...] = ("silent_sales", "shop_sales", "silent_share", "robot_only_buyers",
                                     "robot_buyers", "to_human_buyers", "queue_wait_avg_s",
                                     "queue_abandoned_buyers", "silent_unpaid_buyers", "silent_unpaid_amount",
                                     "silent_balance_paid_amount")
SERIES_KEYS: tuple[str, ...] = (
    "buyer_messages", "agent_messages", "new_consult_buyers", "responses", "avg_response_s",
    "slow_responses", "paid_amount",
)
DEFAULT_GROUP = "presale"
MINUTE_MS = 60_000


def yuan_to_fen(amount: int | float) -> int:
    """Yuan (JSON number, at most 2 decimals) → integer fen, exactly."""
    exact = Decimal(amount) if isinstance(amount, int) else Decimal(repr(amount))
    fen = exact * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"amount {amount!r} has more than 2 decimals")
    return int(fen)


def ratio(numerator: float, denominator: float) -> float | None:
    """A ratio whose denominator is 0 is None (never 0, never an error)."""
    if denominator == 0:
        return None
    return numerator / denominator


@dataclass
class BuyerMessage:
    buyer: str
    agent: str | None  # None = with the robot / in the queue
    ts: int
    day: date
    is_phrase: bool  # trimmed text equals a filter phrase
    idx: int = 0  # place in the buyer's events in the order of step 2


@dataclass
class HumanMessage:
    buyer: str
    agent: str
    ts: int
    day: date
    idx: int = 0  # place in the buyer's events in the order of step 2


@dataclass
class Response:
    buyer: str
    agent: str
    ts: int  # the reply's ts
    day: date  # the reply's day
    ms: int  # response time


@dataclass
class Order:
    buyer: str
    order_id: str
    created_ts: int
    paid_ts: int | None = None
    paid_fen: int = 0
    paid_items: int = 0
    refund_ts: int | None = None
    refund_fen: int = 0
    order_agent: str | None = None
    payment_agent: str | None = None
    credited: str | None = None
    # Double-11: presale and close state
    created_fen: int | None = None  # the order.created amount; None when no order.created made the order
    deposit_ts: int | None = None
    deposit_fen: int = 0
    closed_idx: int | None = None
    closed_ts: int | None = None
    deposit_agent: str | None = None  # the payment agent taken at the deposit
    deposit_credited: str | None = None


def is_buyer_message(ev: dict) -> bool:
    return ev["type"] == "chat.message" and ev["sender"] == "buyer"


def simulate_pending(buyer_events: list[dict], start_of: Any = lambda ts: ts,
                     ) -> tuple[list[tuple[str, int, int]], dict[Any, list[int]], dict[Any, int]]:
    """Walk one buyer's chat events (already in the order of step 2) with explicit pending state.

    Returns (responses, pending, clock): responses as (agent, reply ts, response ms); the final
    pending messages per owner (agent id or None = queue) and the final pending clock per owner.
    start_of: where a clock that would start at ts starts (service hours: the next opening).
    """
    pending: dict[Any, list[int]] = {}  # owner -> ts of the messages it still owes
    clock: dict[Any, int] = {}  # owner -> pending clock start
    responses: list[tuple[str, int, int]] = []
    for ev in buyer_events:
        kind = ev["type"]
        ts = ev["ts"]
        if kind == "chat.message":
            sender = ev["sender"]
            if sender == "buyer":
                owner = ev.get("agent_id")  # None = queue
                pending.setdefault(owner, []).append(ts)
                clock[owner] = min(clock[owner], start_of(ts)) if owner in clock else start_of(ts)
            elif sender == "agent":
                agent = ev["agent_id"]
                # answers every message pending to this agent with ts <= its own ts (all of them:
                # events are walked in ts order, so everything pending is at or before now)
                owed = [m for m in pending.get(agent, []) if m <= ts]
                if owed:
                    responses.append((agent, ts, max(0, ts - clock[agent])))
                    rest = [m for m in pending[agent] if m > ts]
                    if rest:  # cannot happen when walking in ts order; kept for clarity
                        pending[agent] = rest
                        clock[agent] = min(rest)
                    else:
                        del pending[agent]
                        del clock[agent]
            # robot messages answer nothing
        elif kind == "chat.transfer":
            source = ev.get("from_agent")  # None = queue
            target = ev["to_agent"]
            if source == target:
                continue  # handing the buyer to the one who already has it changes nothing
            moved = [m for m in pending.get(source, []) if m <= ts]
            if not moved:
                continue  # a transfer with nothing pending moves nothing
            kept = [m for m in pending[source] if m > ts]
            if kept:  # cannot happen when walking in ts order
                pending[source] = kept
                clock[source] = min(kept)
            else:
                del pending[source]
                clock.pop(source, None)
            start = start_of(max(min(moved), ts))
            pending.setdefault(target, []).extend(moved)
            clock[target] = min(clock[target], start) if target in clock else start
    return responses, pending, clock


class _Oracle:
    def __init__(self, events: list[dict], settings: dict | None, now_ms: int | None) -> None:
        self.s = {**DEFAULT_SETTINGS, **(settings or {})}
        self.tz = ZoneInfo(self.s["timezone"])
        self.filter_buyers = set(self.s["filter_buyers"])
        self.filter_phrases = set(self.s["filter_phrases"])
        self.groups: dict[str, str] = dict(self.s["groups"])
        self.presale_groups: set[str] = set(self.s["presale_groups"])
        self.n_days = int(self.s["inquiry_valid_days"])

        # 1. deduplicate by (shop_id, event_id): first arrival wins
        seen: set[tuple[str, str]] = set()
        self.events: list[tuple[int, dict]] = []  # (arrival index, event)
        for idx, ev in enumerate(events):
            key = (ev["shop_id"], ev["event_id"])
            if key in seen:
                continue
            seen.add(key)
            self.events.append((idx, ev))
        shops = {ev["shop_id"] for _, ev in self.events}
        if len(shops) > 1:
            raise ValueError(f"oracle.compute takes the events of one shop, got {sorted(shops)}")
        if now_ms is None:
            now_ms = max((ev["ts"] for _, ev in self.events), default=0)
        self.now = now_ms

        # every agent id seen in any event, except a robot message's: a robot is never an agent
        self.all_agents: set[str] = set()
        for _, ev in self.events:
            if ev["type"] == "chat.message" and ev["sender"] == "robot":
                continue
            for f in ("agent_id", "from_agent", "to_agent"):
                if ev.get(f) is not None:
                    self.all_agents.add(ev[f])

        # each buyer's chat/order events by ts; at equal ts the buyer's messages come first (a reply
        # with the same ts answers them), the remaining ties by arrival
        per_buyer: dict[str, list[tuple[int, bool, int, dict]]] = defaultdict(list)
        for idx, ev in self.events:
            if ev["type"].startswith(("chat.", "order.")):
                per_buyer[ev["buyer_id"]].append((ev["ts"], not is_buyer_message(ev), idx, ev))
        self.buyer_events: dict[str, list[dict]] = {
            b: [t[3] for t in sorted(lst, key=lambda t: t[:3])] for b, lst in per_buyer.items()
        }

        self.days: set[date] = {self.day(ev["ts"]) for _, ev in self.events if ev["type"] != "agent.status"}
        # each agent's statuses in ts order, equal ts by arrival (the later arrival holds from then on)
        self.status_events: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for _idx, ev in sorted(((i, e) for i, e in self.events if e["type"] == "agent.status"),
                              key=lambda pair: (pair[1]["ts"], pair[0])):
            self.status_events[ev["agent_id"]].append((ev["ts"], ev["status"]))
        self.days |= {d for a in self.status_events for d in self.status_days(a)}
        self._collect()
        self._credit_orders()
        self._queue()

    # ---- helpers -------------------------------------------------------------------------------
    def day(self, ts: int) -> date:
        return datetime.fromtimestamp(ts // 1000, self.tz).date()

    def group_of(self, agent: str) -> str:
        return self.groups.get(agent, DEFAULT_GROUP)

    def is_phrase(self, ev: dict) -> bool:
        text = ev.get("text")
        return isinstance(text, str) and text.strip() in self.filter_phrases

    # ---- 2. walk every buyer -------------------------------------------------------------------
    def _collect(self) -> None:
        self.buyer_msgs: list[BuyerMessage] = []
        self.human_msgs: list[HumanMessage] = []
        # (buyer, agent, ts) of the messages routed to or sent by an agent (robot messages are not)
        self.agent_chat_msgs: list[tuple[str, str, int]] = []
        self.responses: list[Response] = []
        self.orders: list[Order] = []
        self.ratings: list[tuple[str, str, int, int]] = []  # (buyer, agent, ts, score)
        self.live_pending: dict[str, tuple[dict, dict]] = {}
        for buyer, evs in self.buyer_events.items():
            for idx, ev in enumerate(evs):
                ts = ev["ts"]
                if ev["type"] == "chat.message":
                    if ev["sender"] == "buyer":
                        self.buyer_msgs.append(
                            BuyerMessage(buyer, ev.get("agent_id"), ts, self.day(ts), self.is_phrase(ev), idx))
                        if ev.get("agent_id") is not None:
                            self.agent_chat_msgs.append((buyer, ev["agent_id"], ts))
                    elif ev["sender"] == "agent":
                        self.human_msgs.append(HumanMessage(buyer, ev["agent_id"], ts, self.day(ts), idx))
                        self.agent_chat_msgs.append((buyer, ev["agent_id"], ts))
                    # robot messages: never an agent's activity, whatever their agent_id
                elif ev["type"] == "chat.rating":
                    self.ratings.append((buyer, ev["agent_id"], ts, ev["score"]))

            responses, _, _ = simulate_pending(evs, self.clock_start)
            for agent, ts, ms in responses:
                self.responses.append(Response(buyer, agent, ts, self.day(ts), ms))
            _, pending, clock = simulate_pending([ev for ev in evs if ev["ts"] <= self.now], self.clock_start)
            self.live_pending[buyer] = (pending, clock)

            # orders: first created wins; first paid wins (paid without any created = created at the
            # payment); a refund counts only for an order paid before it, first such refund wins
            # a deposit (or payment) with no order.created before it creates the order at that event;
            # the first close of an existing order closes it
            orders: dict[str, Order] = {}
            for idx, ev in enumerate(evs):
                kind = ev["type"]
                if not kind.startswith("order."):
                    continue
                oid = ev["order_id"]
                if kind == "order.created":
                    if oid not in orders:
                        orders[oid] = Order(buyer, oid, ev["ts"], created_fen=yuan_to_fen(ev["amount"]))
                    elif orders[oid].created_fen is None:
                        # metrics.md: an order.created after the order's payment (or deposit) still sets
                        # its creation time; only an order with no order.created at all is created at
                        # payment. The first order.created wins.
                        orders[oid].created_ts = ev["ts"]
                        orders[oid].created_fen = yuan_to_fen(ev["amount"])
                elif kind in ("order.paid", "order.deposit_paid"):
                    if oid not in orders:
                        orders[oid] = Order(buyer, oid, ev["ts"])
                    order = orders[oid]
                    if kind == "order.paid" and order.paid_ts is None:
                        order.paid_ts = ev["ts"]
                        order.paid_fen = yuan_to_fen(ev["amount"])
                        order.paid_items = ev["items"]
                    elif kind == "order.deposit_paid" and order.deposit_ts is None:
                        order.deposit_ts = ev["ts"]
                        order.deposit_fen = yuan_to_fen(ev["amount"])
                elif kind == "order.closed":
                    order = orders.get(oid)
                    if order is not None and order.closed_idx is None:
                        order.closed_idx = idx
                        order.closed_ts = ev["ts"]
                elif kind == "order.refunded":
                    order = orders.get(oid)
                    if order is not None and order.paid_ts is not None and order.refund_ts is None:
                        order.refund_ts = ev["ts"]
                        order.refund_fen = yuan_to_fen(ev["amount"])
            if buyer not in self.filter_buyers:  # their orders never count
                self.orders.extend(orders.values())

    # ---- 3. crediting --------------------------------------------------------------------------
    def agent_at(self, buyer: str, ts: int) -> str | None:
        """Agent of the buyer's last contact before an order event at ts: a buyer message routed to an
        agent, not a filter phrase, with ts' <= ts (buyer messages come first at equal ts), or, with
        followup_not_lost, a human message of the agent with ts' < ts (an order event and a human message
        travel on different topics: at equal ts the order event counts first, docs/metric-rules.md);
        the later of the two (at equal ts the human message, as buyer messages come first); provided
        the contact's day >= the day of ts - (N-1)."""
        before: list[tuple[int, int, BuyerMessage | HumanMessage]] = [
            (m.ts, 0, m) for m in self.buyer_msgs
            if m.buyer == buyer and m.agent is not None and not m.is_phrase and m.ts <= ts]
        if self.s["followup_not_lost"]:
            before += [(h.ts, 1, h) for h in self.human_msgs if h.buyer == buyer and h.ts < ts]
        if not before:
            return None
        last = max(before, key=lambda c: (c[0], c[1], c[2].idx))[2]
        if last.day < self.day(ts) - timedelta(days=self.n_days - 1):
            return None
        return last.agent

    def _credit_orders(self) -> None:
        rule = self.s["attribution"]
        if rule not in ("order", "payment", "order_first"):
            raise ValueError(f"unknown attribution {rule!r}")
        for o in self.orders:
            o.order_agent = self.agent_at(o.buyer, o.created_ts)
            if o.paid_ts is not None:
                o.payment_agent = self.agent_at(o.buyer, o.paid_ts)
            if rule == "order":
                o.credited = o.order_agent
            elif rule == "payment":
                o.credited = o.payment_agent
            else:
                o.credited = o.order_agent if o.order_agent is not None else o.payment_agent
            # the deposit is credited like a payment, with the payment agent taken at the deposit
            if o.deposit_ts is not None:
                o.deposit_agent = self.agent_at(o.buyer, o.deposit_ts)
                o.deposit_credited = {"order": o.order_agent, "payment": o.deposit_agent,
                                      "order_first": o.order_agent if o.order_agent is not None
                                      else o.deposit_agent}[rule]

    # ---- Double-11 building blocks -------------------------------------------------------------
    def open_at(self, o: Order, h: HumanMessage) -> bool:
        """The order is created, not yet paid (final payment) and not closed when the human message h is
        sent (the buyer's order events with h's ts count first: docs/metric-rules.md)."""
        return (o.created_ts <= h.ts and (o.paid_ts is None or o.paid_ts > h.ts)
                and (o.closed_ts is None or o.closed_ts > h.ts))

    def is_chase(self, h: HumanMessage) -> bool:
        return any(o.buyer == h.buyer and self.open_at(o, h) for o in self.orders)

    def balance_due(self) -> list[Order]:
        """Orders whose deposit is credited to an agent (or silent), with no final payment and not closed,
        as they stand after every event (no clock: docs/metric-rules.md)."""
        return [o for o in self.orders if o.deposit_ts is not None and o.paid_ts is None and o.closed_idx is None]

    def unpaid_orders(self) -> list[dict[str, Any]]:
        """The 待催付 list: orders created (by an order.created), with no deposit, payment or close, as they
        stand after every event; oldest first, at one creation time the larger first, then by order id."""
        rows = [{"order_id": o.order_id, "buyer_id": o.buyer, "order_agent": o.order_agent,
                 "created_ts": o.created_ts, "amount": (o.created_fen or 0) / 100,
                 "chased": any(h.buyer == o.buyer and self.open_at(o, h) for h in self.human_msgs)}
                for o in self.orders if self.is_unpaid(o)]
        return sorted(rows, key=lambda r: (r["created_ts"], -r["amount"], r["order_id"], r["buyer_id"]))

    def is_presale(self, o: Order) -> bool:
        """A presale order: one with an order.deposit_paid (its order.paid is then the balance, 尾款)."""
        return o.deposit_ts is not None

    def is_unpaid(self, o: Order) -> bool:
        return o.deposit_ts is None and o.paid_ts is None and o.closed_idx is None

    def followup_buyers(self, agent: str, day: date) -> set[str]:
        """Buyers the agent sent a human message on day before any buyer message routed to the agent that
        day (with followup_not_lost; buyers in filter_buyers never)."""
        if not self.s["followup_not_lost"]:
            return set()
        out = set()
        for b in {h.buyer for h in self.human_msgs if h.agent == agent and h.day == day}:
            if b in self.filter_buyers:
                continue
            first_human = min(h.idx for h in self.human_msgs if h.agent == agent and h.day == day and h.buyer == b)
            routed = [m.idx for m in self.buyer_msgs if m.agent == agent and m.day == day and m.buyer == b]
            if not routed or first_human < min(routed):
                out.add(b)
        return out

    # ---- 4. per (agent, day) building blocks ---------------------------------------------------
    def consulting(self, agent: str, day: date) -> dict[str, dict]:
        """Consulting buyers of (agent, day): buyer -> {"F": first message ts, "received": bool}."""
        out: dict[str, dict] = {}
        for m in self.buyer_msgs:
            if m.agent == agent and m.day == day:
                info = out.setdefault(m.buyer, {"F": m.ts, "received": False})
                info["F"] = min(info["F"], m.ts)
                if m.buyer not in self.filter_buyers and not m.is_phrase:
                    info["received"] = True
        return out

    def first_response_ms(self, agent: str, buyer: str, first_ts: int) -> int | None:
        later = [h.ts for h in self.human_msgs if h.agent == agent and h.buyer == buyer and h.ts >= first_ts]
        return max(0, min(later) - self.clock_start(first_ts)) if later else None

    def clock_start(self, ts: int) -> int:
        """metrics.md "Service hours": a clock start outside [start, end) of its local day moves to the next
        opening (that day's start before it, the next day's start after the end)."""
        hours = self.s.get("service_hours")
        if not hours:
            return ts

        def at(d: date, hhmm: str) -> int:
            h, m = (int(x) for x in hhmm.split(":"))
            if h == 24:
                d, h = d + timedelta(days=1), 0
            return int(datetime(d.year, d.month, d.day, h, m, tzinfo=self.tz).timestamp() * 1000)

        d = self.day(ts)
        if ts < at(d, hours["start"]):
            return at(d, hours["start"])
        if ts >= at(d, hours["end"]):
            return at(d + timedelta(days=1), hours["start"])
        return ts

    def cohort_window(self, day: date) -> set[date]:
        return {day + timedelta(days=k) for k in range(self.n_days)}

    def figures(self, agents: set[str], day: date) -> dict[str, Any]:
        consult: set[str] = set()
        received: set[str] = set()
        replied: set[str] = set()
        inquiry: set[str] = set()
        ordered: set[str] = set()
        paid: set[str] = set()
        sales_buyers: set[str] = set()
        after_hours: set[str] = set()
        buyer_messages = agent_messages = 0
        responses = response_ms = slow = 0
        fr_count = fr_ms = 0
        sla_buyers = sla_met = 0
        sales_fen = sales_items = refunds = refund_fen = ratings = satisfied = 0
        followups: set[str] = set()
        deposit_buyers: set[str] = set()
        balance_paid_buyers: set[str] = set()
        unpaid_buyers: set[str] = set()
        chased: set[str] = set()
        chase_paid: set[str] = set()
        assist_buyers: set[str] = set()
        deposit_fen = balance_paid_fen = order_fen = unpaid_fen = chase_paid_fen = assist_fen = 0
        slow_ms = self.s["slow_response_s"] * 1000
        sla_ms = self.s["sla_s"] * 1000
        window = self.cohort_window(day)

        for a in agents:
            cons = self.consulting(a, day)
            consult |= set(cons)
            recv = {b for b, info in cons.items() if info["received"]}
            received |= recv
            # replied: received buyers to whom a sent >= 1 human message that day
            replied |= {h.buyer for h in self.human_msgs if h.agent == a and h.day == day and h.buyer in recv}
            # first response / SLA over (agent, buyer) pairs
            for b in recv:
                first = cons[b]["F"]
                fr = self.first_response_ms(a, b, first)
                if fr is not None:
                    fr_count += 1
                    fr_ms += fr
                    sla_buyers += 1
                    if fr <= sla_ms:
                        sla_met += 1
                elif self.now - self.clock_start(first) > sla_ms:
                    sla_buyers += 1
            # 留言: received buyers whose first message that day was outside the service hours
            after_hours |= {b for b in recv if self.clock_start(cons[b]["F"]) != cons[b]["F"]}
            # cohort conversions: agents of the presale groups take inquiries (a follow-up is none)
            follow = self.followup_buyers(a, day)
            followups |= follow
            if self.group_of(a) in self.presale_groups:
                inquiry |= recv - follow
                for b in recv - follow:
                    in_window = [o for o in self.orders if o.buyer == b and self.day(o.created_ts) in window]
                    if any(o.order_agent == a for o in in_window):
                        ordered.add(b)
                    if any(o.credited == a and o.paid_ts is not None for o in in_window):
                        paid.add(b)
            # message counts (buyers in filter_buyers excluded)
            buyer_messages += sum(1 for m in self.buyer_msgs
                                  if m.agent == a and m.day == day and m.buyer not in self.filter_buyers)
            agent_messages += sum(1 for h in self.human_msgs
                                  if h.agent == a and h.day == day and h.buyer not in self.filter_buyers)
            for r in self.responses:
                if r.agent == a and r.day == day and r.buyer not in self.filter_buyers:
                    responses += 1
                    response_ms += r.ms
                    if r.ms > slow_ms:
                        slow += 1
            for o in self.orders:
                if o.credited != a:
                    continue
                if o.paid_ts is not None and self.day(o.paid_ts) == day:
                    sales_fen += o.paid_fen
                    sales_items += o.paid_items
                    sales_buyers.add(o.buyer)
                if o.refund_ts is not None and self.day(o.refund_ts) == day:
                    refunds += 1
                    refund_fen += o.refund_fen
            for buyer, ragent, ts, score in self.ratings:
                if ragent == a and self.day(ts) == day and buyer not in self.filter_buyers:
                    ratings += 1
                    if score >= 4:
                        satisfied += 1
            # Double-11 (self.orders holds no order of a buyer in filter_buyers)
            for o in self.orders:
                if o.deposit_credited == a and self.day(o.deposit_ts) == day:
                    deposit_buyers.add(o.buyer)
                    deposit_fen += o.deposit_fen
                if o.order_agent == a and self.day(o.created_ts) == day:
                    if o.created_fen is not None:
                        order_fen += o.created_fen
                    if self.is_unpaid(o):
                        unpaid_buyers.add(o.buyer)
                        unpaid_fen += o.created_fen or 0
                if o.paid_ts is None or self.day(o.paid_ts) != day:
                    continue
                # 尾款: the order.paid of an order with a deposit, credited as its sales are
                if self.is_presale(o) and o.credited == a:
                    balance_paid_buyers.add(o.buyer)
                    balance_paid_fen += o.paid_fen
                chases = [h for h in self.human_msgs
                          if h.buyer == o.buyer and self.open_at(o, h)]
                if chases and max(chases, key=lambda h: h.idx).agent == a:
                    chase_paid.add(o.buyer)
                    chase_paid_fen += o.paid_fen
                first_day = self.day(o.paid_ts) - timedelta(days=self.n_days - 1)
                if o.credited != a and any(
                        m.buyer == o.buyer and m.agent == a and not m.is_phrase and m.ts <= o.paid_ts
                        and m.day >= first_day for m in self.buyer_msgs):
                    assist_buyers.add(o.buyer)
                    assist_fen += o.paid_fen
            chased |= {h.buyer for h in self.human_msgs
                       if h.agent == a and h.day == day and h.buyer not in self.filter_buyers and self.is_chase(h)}

        n_sales_buyers = len(sales_buyers)
        return {
            "consult_buyers": len(consult),
            "received_buyers": len(received),
            "filtered_buyers": len(consult) - len(received),
            "buyer_messages": buyer_messages,
            "agent_messages": agent_messages,
            "qa_ratio": ratio(agent_messages, buyer_messages),
            "replied_buyers": len(replied),
            "reply_rate": ratio(len(replied), len(received)),
            "responses": responses,
            "avg_response_s": None if responses == 0 else response_ms / responses / 1000,
            "first_response_avg_s": None if fr_count == 0 else fr_ms / fr_count / 1000,
            "slow_responses": slow,
            "sla_buyers": sla_buyers,
            "sla_met_buyers": sla_met,
            "sla_rate": ratio(sla_met, sla_buyers),
            "unreplied_buyers": len(received) - len(replied),
            "after_hours_buyers": len(after_hours),
            "inquiry_buyers": len(inquiry),
            "ordered_buyers": len(ordered),
            "paid_buyers": len(paid),
            "inquiry_order_rate": ratio(len(ordered), len(inquiry)),
            "order_pay_rate": ratio(len(paid), len(ordered)),
            "inquiry_pay_rate": ratio(len(paid), len(inquiry)),
            "lost_buyers": len(inquiry) - len(ordered),
            "sales": sales_fen / 100,
            "sales_buyers": n_sales_buyers,
            "sales_items": sales_items,
            "avg_buyer_value": None if n_sales_buyers == 0 else sales_fen / n_sales_buyers / 100,
            "items_per_buyer": ratio(sales_items, n_sales_buyers),
            "avg_item_price": None if sales_items == 0 else sales_fen / sales_items / 100,
            "refunds": refunds,
            "refund_amount": refund_fen / 100,
            "ratings": ratings,
            "satisfied_ratings": satisfied,
            "satisfaction_rate": ratio(satisfied, ratings),
            "deposit_buyers": len(deposit_buyers),
            "deposit_amount": deposit_fen / 100,
            "balance_paid_buyers": len(balance_paid_buyers),
            "balance_paid_amount": balance_paid_fen / 100,
            "order_amount": order_fen / 100,
            "unpaid_buyers": len(unpaid_buyers),
            "unpaid_amount": unpaid_fen / 100,
            "chased_buyers": len(chased),
            "chase_paid_buyers": len(chase_paid),
            "chase_paid_amount": chase_paid_fen / 100,
            "chase_success_rate": ratio(len(chase_paid), len(chased)),
            "followup_buyers": len(followups),
            "assist_buyers": len(assist_buyers),
            "assist_sales": assist_fen / 100,
        }

    def team_extras(self, day: date) -> dict[str, Any]:
        paid_today = [o for o in self.orders if o.paid_ts is not None and self.day(o.paid_ts) == day]
        silent_fen = sum(o.paid_fen for o in paid_today if o.credited is None)
        sales_fen = sum(o.paid_fen for o in paid_today if o.credited is not None)  # = team sales
        shop_fen = sales_fen + silent_fen
        # buyers with >= 1 buyer message that day and none routed to an agent (robot messages alone
        # make no buyer); buyers in filter_buyers are never counted
        wrote = {m.buyer for m in self.buyer_msgs if m.day == day and m.buyer not in self.filter_buyers}
        routed = {m.buyer for m in self.buyer_msgs if m.day == day and m.agent is not None}
        robot_only = len(wrote - routed)
        silent_unpaid = [o for o in self.orders if o.order_agent is None and self.day(o.created_ts) == day
                         and self.is_unpaid(o)]
        return {
            "silent_unpaid_buyers": len({o.buyer for o in silent_unpaid}),
            "silent_unpaid_amount": sum(o.created_fen or 0 for o in silent_unpaid) / 100,
            "silent_balance_paid_amount": sum(o.paid_fen for o in paid_today
                                              if o.credited is None and self.is_presale(o)) / 100,
            "silent_sales": silent_fen / 100,
            "shop_sales": shop_fen / 100,
            "silent_share": ratio(silent_fen, shop_fen),
            "robot_only_buyers": robot_only,
            **self.queue_figures(day),
        }

    # ---- 4a. robot and queue -------------------------------------------------------------------
    def queue_waits(self, evs: list[dict]) -> tuple[set[date], list[tuple[date, int]], set[date], int | None]:
        """metrics.md "Robot and queue" for one buyer's events (in order): the days of its chat.queued,
        the ended waits (end's day, ms), the start days of abandoned waits, the start of the wait
        still open after the last event."""
        window = self.s["active_window_s"] * 1000
        queued_days: set[date] = set()
        ended: list[tuple[date, int]] = []
        abandoned: set[date] = set()
        start: int | None = None
        for ev in evs:
            ts = ev["ts"]
            if start is not None and ts - start > window:  # not ended within the window: abandoned
                abandoned.add(self.day(start))
                start = None
            if ev["type"] == "chat.queued":
                queued_days.add(self.day(ts))
                if start is None:
                    start = ts
            elif start is not None and (
                (ev["type"] == "chat.transfer" and ev.get("from_agent") is None)
                or (is_buyer_message(ev) and ev.get("agent_id") is not None)
            ):
                ended.append((self.day(ts), ts - start))
                start = None
        return queued_days, ended, abandoned, start

    def _queue(self) -> None:
        self.to_human: set[tuple[str, date]] = set()
        self.queue_ended: list[tuple[date, int]] = []
        self.queue_abandoned: set[tuple[str, date]] = set()
        self.robot_buyer_days: set[tuple[str, date]] = set()
        window = self.s["active_window_s"] * 1000
        for buyer, evs in self.buyer_events.items():
            if buyer in self.filter_buyers:
                continue  # internal accounts count in none of the queue figures
            queued_days, ended, abandoned, open_start = self.queue_waits(evs)
            self.to_human |= {(buyer, d) for d in queued_days}
            self.queue_ended += ended
            self.queue_abandoned |= {(buyer, d) for d in abandoned}
            if open_start is not None and self.now - open_start > window:
                self.queue_abandoned.add((buyer, self.day(open_start)))
            robot = {self.day(ev["ts"]) for ev in evs if ev["type"] == "chat.message" and ev["sender"] == "robot"}
            unrouted = {self.day(ev["ts"]) for ev in evs if is_buyer_message(ev) and ev.get("agent_id") is None}
            self.robot_buyer_days |= {(buyer, d) for d in robot & unrouted}

    def queue_figures(self, day: date) -> dict[str, Any]:
        waits = [ms for d, ms in self.queue_ended if d == day]
        return {
            "robot_buyers": sum(1 for _, d in self.robot_buyer_days if d == day),
            "to_human_buyers": sum(1 for _, d in self.to_human if d == day),
            "queue_wait_avg_s": sum(waits) / len(waits) / 1000 if waits else None,
            "queue_abandoned_buyers": sum(1 for _, d in self.queue_abandoned if d == day),
        }

    def queue_live(self) -> dict[str, Any]:
        """Buyers queued at now (their events up to now; the open wait not older than the window)."""
        window = self.s["active_window_s"] * 1000
        starts = []
        for buyer, evs in self.buyer_events.items():
            if buyer in self.filter_buyers:
                continue
            start = self.queue_waits([ev for ev in evs if ev["ts"] <= self.now])[3]
            if start is not None and self.now - start <= window:
                starts.append(start)
        return {"queued_now": len(starts),
                "longest_queue_wait_s": max(0, self.now - min(starts)) / 1000 if starts else 0.0}

    # ---- 4b. agent time ------------------------------------------------------------------------
    def midnight(self, d: date) -> int:
        return int(datetime.combine(d, datetime.min.time(), self.tz).timestamp() * 1000)

    def status_spans(self, agent: str) -> list[tuple[int, int, str]]:
        """(from, until, status): each status holds until the agent's next one, the last until now;
        nothing after now."""
        evs = self.status_events.get(agent, [])
        spans = []
        for i, (ts, st) in enumerate(evs):
            until = evs[i + 1][0] if i + 1 < len(evs) else self.now
            until = min(until, self.now)
            if until > ts:
                spans.append((ts, until, st))
        return spans

    def status_days(self, agent: str) -> set[date]:
        """Days with a status event of the agent or time in one of its statuses."""
        days = {self.day(ts) for ts, _ in self.status_events.get(agent, [])}
        for start, until, _ in self.status_spans(agent):
            d = self.day(start)
            while self.midnight(d) < until:
                days.add(d)
                d += timedelta(days=1)
        return days

    def agent_time(self, agent: str, d: date) -> dict[str, Any]:
        lo, hi = self.midnight(d), self.midnight(d + timedelta(days=1))
        ms = {"online": 0, "busy": 0, "away": 0, "offline": 0}
        for start, until, st in self.status_spans(agent):
            ms[st] += max(0, min(until, hi) - max(start, lo))  # the span cut at the day's midnights
        today = [(ts, st) for ts, st in self.status_events.get(agent, []) if self.day(ts) == d]
        online = [ts for ts, st in today if st in ("online", "busy")]
        offline = [ts for ts, st in today if st == "offline"]
        return {
            "online_s": (ms["online"] + ms["busy"]) / 1000,
            "busy_s": ms["busy"] / 1000,
            "away_s": ms["away"] / 1000,
            "first_online_ts": online[0] if online else None,
            "last_offline_ts": offline[-1] if offline else None,
        }

    # ---- 5. live load and series ---------------------------------------------------------------
    def live(self) -> dict[str, Any]:
        window_ms = self.s["active_window_s"] * 1000
        status_events = [(ev["ts"], idx, ev) for idx, ev in self.events
                         if ev["type"] == "agent.status" and ev["ts"] <= self.now]
        statuses = sorted(status_events, key=lambda t: (t[0], t[1]))
        status: dict[str, str] = {}
        for _, _, ev in statuses:
            status[ev["agent_id"]] = ev["status"]
        agents_out: dict[str, dict] = {}
        # buyers in filter_buyers count toward no live figure: no load, no wait
        for a in sorted(self.all_agents):
            active = {b for b, agent, ts in self.agent_chat_msgs
                      if agent == a and ts <= self.now and self.now - ts <= window_ms
                      and b not in self.filter_buyers}
            waiting = 0
            oldest: int | None = None
            for buyer, (pending, clock) in self.live_pending.items():
                if buyer not in self.filter_buyers and pending.get(a):
                    waiting += 1
                    oldest = clock[a] if oldest is None else min(oldest, clock[a])
            longest = 0.0 if oldest is None else max(0, self.now - oldest) / 1000
            since = [ts for ts, _ in self.status_events.get(a, []) if ts <= self.now]
            agents_out[a] = {
                "status": status.get(a, "unknown"),
                "status_since_ts": since[-1] if since else None,
                "active_conversations": len(active),
                "waiting_buyers": waiting,
                "longest_wait_s": longest,
                "balance_due_buyers": len({o.buyer for o in self.balance_due() if o.deposit_credited == a}),
            }
        team = {
            "active_conversations": sum(v["active_conversations"] for v in agents_out.values()),
            "waiting_buyers": sum(v["waiting_buyers"] for v in agents_out.values()),
            "longest_wait_s": max((v["longest_wait_s"] for v in agents_out.values()), default=0.0),
            **self.queue_live(),
            "balance_due_buyers": len({o.buyer for o in self.balance_due() if o.deposit_credited is not None}),
        }
        return {"agents": agents_out, "team": team}

    def series(self) -> dict[str, Any]:
        slow_ms = self.s["slow_response_s"] * 1000

        def bucket(ts: int) -> int:
            return ts // MINUTE_MS * MINUTE_MS

        def blank() -> dict[str, Any]:
            return {"buyer_messages": 0, "agent_messages": 0, "new_consult_buyers": 0, "responses": 0,
                    "response_ms": 0, "slow_responses": 0, "paid_fen": 0}

        agent_b: dict[str, dict[int, dict]] = defaultdict(lambda: defaultdict(blank))
        team_b: dict[int, dict] = defaultdict(blank)
        for m in self.buyer_msgs:
            if m.agent is not None and m.buyer not in self.filter_buyers:
                agent_b[m.agent][bucket(m.ts)]["buyer_messages"] += 1
                team_b[bucket(m.ts)]["buyer_messages"] += 1
        for h in self.human_msgs:
            if h.buyer not in self.filter_buyers:
                agent_b[h.agent][bucket(h.ts)]["agent_messages"] += 1
                team_b[bucket(h.ts)]["agent_messages"] += 1
        # new consulting buyers: the minute of the buyer's first message to the agent that day
        # (team: to any agent that day)
        first_agent: dict[tuple[str, date, str], int] = {}
        first_team: dict[tuple[date, str], int] = {}
        for m in self.buyer_msgs:
            if m.agent is None:
                continue
            k = (m.agent, m.day, m.buyer)
            first_agent[k] = min(first_agent.get(k, m.ts), m.ts)
            kt = (m.day, m.buyer)
            first_team[kt] = min(first_team.get(kt, m.ts), m.ts)
        for (a, _, _), ts in first_agent.items():
            agent_b[a][bucket(ts)]["new_consult_buyers"] += 1
        for ts in first_team.values():
            team_b[bucket(ts)]["new_consult_buyers"] += 1
        for r in self.responses:
            if r.buyer in self.filter_buyers:
                continue
            for b in (agent_b[r.agent][bucket(r.ts)], team_b[bucket(r.ts)]):
                b["responses"] += 1
                b["response_ms"] += r.ms
                if r.ms > slow_ms:
                    b["slow_responses"] += 1
        for o in self.orders:
            if o.paid_ts is None:
                continue
            team_b[bucket(o.paid_ts)]["paid_fen"] += o.paid_fen
            if o.credited is not None:
                agent_b[o.credited][bucket(o.paid_ts)]["paid_fen"] += o.paid_fen

        def finish(buckets: dict[int, dict]) -> dict[int, dict]:
            out = {}
            for minute in sorted(buckets):
                b = buckets[minute]
                n = b["responses"]
                row = {
                    "buyer_messages": b["buyer_messages"],
                    "agent_messages": b["agent_messages"],
                    "new_consult_buyers": b["new_consult_buyers"],
                    "responses": b["responses"],
                    "avg_response_s": None if n == 0 else b["response_ms"] / n / 1000,
                    "slow_responses": b["slow_responses"],
                    "paid_amount": b["paid_fen"] / 100,
                }
                if any(v not in (0, None) for v in row.values()):
                    out[minute] = row
            return out

        agents_out = {a: finish(bk) for a, bk in agent_b.items()}
        return {"team": finish(team_b), "agents": {a: s for a, s in agents_out.items() if s}}

    # ---- assemble ------------------------------------------------------------------------------
    def result(self) -> dict[str, Any]:
        agents_out: dict[str, dict] = {}
        team_out: dict[str, dict] = {}
        groups_out: dict[str, dict] = {}
        for d in sorted(self.days):
            key = d.isoformat()
            per_agent = {}
            for a in sorted(self.all_agents | set(self.status_events)):
                fig = {**self.figures({a}, d), **self.agent_time(a, d)}
                if any(v not in (0, None) for v in fig.values()):
                    per_agent[a] = fig
            if per_agent:
                agents_out[key] = per_agent
            team = self.figures(set(self.all_agents), d)
            team.update(self.team_extras(d))
            team_out[key] = team
            groups_with_figures = {self.group_of(a) for a in per_agent}
            if groups_with_figures:
                groups_out[key] = {
                    g: self.figures({a for a in self.all_agents if self.group_of(a) == g}, d)
                    for g in sorted(groups_with_figures)
                }
        return {
            "agents": agents_out,
            "team": team_out,
            "groups": groups_out,
            "live": self.live(),
            "series": self.series(),
            "unpaid_orders": self.unpaid_orders(),
        }


def compute(events: list[dict], settings: dict | None = None, now_ms: int | None = None) -> dict:
    """All figures of metrics.md for one shop's events (valid wire dicts, in arrival order).

    settings: the per-shop settings (missing keys take the defaults of metrics.md);
    now_ms: "now" for live load and SLA, default the largest ts among the events.
    """
    return _Oracle(events, settings, now_ms).result()
