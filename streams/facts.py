"""Facts: everything one buyer contributes to the figures, derived from the buyer's timeline.

Pure: a buyer's events (sorted by ts, then arrival) + the settings by version → counters keyed by
scope — ("a", day, agent), ("g", day, group), ("t", day), ("am", minute, agent), ("tm", minute) — and
the buyer's live facts (activity, pending clocks, open SLA clocks). Agent, group and team figures are
sums of these over buyers; a buyer lives in one partition, so sums across partitions are exact and
"distinct buyers" of a team or group are counted once per buyer here.

Recomputing a buyer from its whole timeline (rather than patching counters) is what makes late and
out-of-order events exact: the event is put where its ts belongs and the buyer is derived again.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from streams.shop_settings import DEFAULT_GROUP, ShopSettings, day_offset

MINUTE_MS = 60_000
Scope = tuple[str, ...] | tuple[str, int] | tuple[str, int, str]
Counters = dict[tuple, dict[str, int]]


class TimelineEvent(NamedTuple):
    """One applied event of a buyer, reduced to what the figures need (no message text).

    kind: "buyer" | "agent" | "robot" (chat messages by sender), "transfer", "rating",
    "created" | "paid" | "closed" | "refunded" (orders).
    """

    ts: int
    seq: int
    kind: str
    settings_version: int
    day: str  # shop-local day under the settings in force for this event
    internal: bool  # buyer is in filter_buyers (under this event's settings)
    agent: str | None  # message agent_id, transfer to_agent, rating agent_id
    ref: str | None  # transfer from_agent, order_id
    filter_phrase: bool  # buyer message whose trimmed text is a filter phrase
    amount_fen: int  # order amount in fen; rating score
    items: int


@dataclass(slots=True)
class OpenSla:
    """A received buyer of (agent, day) still without a first response: counts once older than sla."""

    agent: str
    day: str
    group: str
    first_message_ts: int
    sla_ms: int


@dataclass(slots=True)
class BuyerLive:
    activity: dict[str, int] = field(default_factory=dict)  # agent → last message ts
    pending_since: dict[str, int] = field(default_factory=dict)  # agent → pending clock start
    open_sla: list[OpenSla] = field(default_factory=list)
    agents: set[str] = field(default_factory=set)  # every agent id this buyer's events name

    @property
    def is_idle(self) -> bool:
        return not (self.activity or self.pending_since or self.open_sla)


@dataclass(slots=True)
class BuyerFacts:
    counters: Counters
    live: BuyerLive
    max_ts: int


@dataclass(slots=True)
class _Consult:
    """The buyer as a consulting buyer of one (agent, day)."""

    first_ts: int
    settings_version: int
    internal: bool
    received: bool = False  # ≥ 1 message that is not a filter phrase
    first_response_ms: int | None = None


@dataclass(slots=True)
class _Order:
    created_ts: int
    created_day: str
    settings_version: int
    internal: bool
    paid: TimelineEvent | None = None
    refund: TimelineEvent | None = None


def minute_of(ts: int) -> int:
    return ts - ts % MINUTE_MS


def derive(timeline: Sequence[TimelineEvent], settings_for: Callable[[int], ShopSettings]) -> BuyerFacts:
    counters: Counters = defaultdict(lambda: defaultdict(int))
    live = BuyerLive()

    def add(scope: tuple, name: str, value: int = 1) -> None:
        counters[scope][name] += value

    def add_all(day: str, agent: str, group: str, name: str, value: int = 1) -> None:
        """A summed figure: the agent's, its group's and the team's."""
        counters[("a", day, agent)][name] += value
        counters[("g", day, group)][name] += value
        counters[("t", day)][name] += value

    pending_since: dict[str | None, int] = {}  # owner (agent, or None = the queue) → clock start
    consults: dict[tuple[str, str], _Consult] = {}
    awaiting_first: dict[str, list[_Consult]] = defaultdict(list)
    agent_message_days: set[tuple[str, str]] = set()
    chat_days: dict[str, list[bool]] = {}  # day → [any routed message, any internal message]
    routed_buyer_messages: list[tuple[int, str, str]] = []  # (ts, agent, day), filter phrases excluded
    orders: dict[str, _Order] = {}
    max_ts = 0

    for event in timeline:
        ts, kind, day, internal, agent = event.ts, event.kind, event.day, event.internal, event.agent
        max_ts = max(max_ts, ts)
        settings = settings_for(event.settings_version)
        if kind in ("buyer", "agent", "robot"):
            routed_internal = chat_days.setdefault(day, [False, False])
            routed_internal[0] |= agent is not None
            routed_internal[1] |= internal
            if agent is not None:
                live.agents.add(agent)
                live.activity[agent] = max(live.activity.get(agent, 0), ts)
            if kind == "buyer":
                pending_since.setdefault(agent, ts)
                if agent is None:
                    continue
                consult = consults.get((agent, day))
                if consult is None:
                    consult = consults[(agent, day)] = _Consult(ts, event.settings_version, internal)
                    awaiting_first[agent].append(consult)
                    add(("am", minute_of(ts), agent), "new_consult")
                consult.internal |= internal
                consult.received |= not event.filter_phrase
                if not event.filter_phrase:
                    routed_buyer_messages.append((ts, agent, day))
                if not internal:
                    add_all(day, agent, settings.group_of(agent), "buyer_messages")
                    add(("am", minute_of(ts), agent), "buyer_messages")
                    add(("tm", minute_of(ts)), "buyer_messages")
            elif kind == "agent":
                assert agent is not None
                agent_message_days.add((agent, day))
                for waiting in awaiting_first.pop(agent, ()):
                    waiting.first_response_ms = ts - waiting.first_ts
                clock = pending_since.pop(agent, None)
                if internal:
                    continue
                group = settings.group_of(agent)
                add_all(day, agent, group, "agent_messages")
                add(("am", minute_of(ts), agent), "agent_messages")
                add(("tm", minute_of(ts)), "agent_messages")
                if clock is not None:
                    response_ms = ts - clock
                    slow = int(response_ms > settings.slow_response_s * 1000)
                    add_all(day, agent, group, "responses")
                    add_all(day, agent, group, "response_ms", response_ms)
                    add_all(day, agent, group, "slow", slow)
                    for scope in (("am", minute_of(ts), agent), ("tm", minute_of(ts))):
                        add(scope, "responses")
                        add(scope, "response_ms", response_ms)
                        add(scope, "slow", slow)
        elif kind == "transfer":
            assert agent is not None
            live.agents.add(agent)
            if event.ref is not None:
                live.agents.add(event.ref)
            if event.ref != agent and event.ref in pending_since:
                del pending_since[event.ref]
                pending_since[agent] = min(pending_since.get(agent, ts), ts)
        elif kind == "rating":
            assert agent is not None
            live.agents.add(agent)
            if not internal:
                group = settings.group_of(agent)
                add_all(day, agent, group, "ratings")
                add_all(day, agent, group, "satisfied", int(event.amount_fen >= 4))
        elif kind in ("created", "paid", "refunded"):
            order_id = event.ref
            assert order_id is not None
            order = orders.get(order_id)
            if kind == "created":
                if order is None:
                    orders[order_id] = _Order(ts, day, event.settings_version, internal)
            elif kind == "paid":
                if order is None:  # paid without created: created at the payment
                    order = orders[order_id] = _Order(ts, day, event.settings_version, internal)
                if order.paid is None:
                    order.paid = event
            elif order is not None and order.paid is not None and order.refund is None:
                order.refund = event

    live.pending_since = {owner: clock for owner, clock in pending_since.items() if owner is not None}

    # The buyer as a consulting buyer: per (agent, day), then distinct per team/group and day.
    team_days: dict[str, dict[str, bool]] = defaultdict(dict)
    group_days: dict[tuple[str, str], dict[str, bool]] = defaultdict(dict)
    inquiries: list[tuple[str, str, str, int]] = []  # (agent, day, group, inquiry_valid_days)
    team_first_ts: dict[str, int] = {}
    for (agent, day), consult in consults.items():
        settings = settings_for(consult.settings_version)
        group = settings.group_of(agent)
        received = consult.received and not consult.internal
        replied = received and (agent, day) in agent_message_days
        flags = {"consult": True, "received": received, "replied": replied}
        add(("a", day, agent), "consult")
        team_first_ts[day] = min(team_first_ts.get(day, consult.first_ts), consult.first_ts)
        for distinct in (team_days[day], group_days[(day, group)]):
            for name, value in flags.items():
                distinct[name] = distinct.get(name, False) or value
        if not received:
            continue
        add(("a", day, agent), "received")
        add(("a", day, agent), "replied", int(replied))
        sla_ms = int(settings.sla_s * 1000)
        if consult.first_response_ms is None:
            live.open_sla.append(OpenSla(agent, day, group, consult.first_ts, sla_ms))
        else:
            add_all(day, agent, group, "first_responses")
            add_all(day, agent, group, "first_response_ms", consult.first_response_ms)
            add_all(day, agent, group, "sla_buyers")
            add_all(day, agent, group, "sla_met", int(consult.first_response_ms <= sla_ms))
        if group == DEFAULT_GROUP:
            inquiries.append((agent, day, group, settings.inquiry_valid_days))
            add(("a", day, agent), "inquiry")
            team_days[day]["inquiry"] = True
            group_days[(day, group)]["inquiry"] = True
    for first_ts in team_first_ts.values():
        add(("tm", minute_of(first_ts)), "new_consult")

    # Orders: credit (业绩判定), sales by payment day, refunds by refund day, cohort conversions.
    routed_ts = [ts for ts, _, _ in routed_buyer_messages]

    def serving_agent(ts: int, day: str, valid_days: int) -> str | None:
        """The agent of the buyer's last routed message at or before ts, within the inquiry window."""
        index = bisect_right(routed_ts, ts) - 1
        if index < 0:
            return None
        _, agent, message_day = routed_buyer_messages[index]
        return agent if message_day >= day_offset(day, -(valid_days - 1)) else None

    credited_orders: list[tuple[str, str | None, str | None, bool]] = []  # (day, order agent, credit, paid)
    for order in orders.values():
        if order.internal:
            continue
        settings = settings_for(order.settings_version)
        order_agent = serving_agent(order.created_ts, order.created_day, settings.inquiry_valid_days)
        payment_agent = None
        if order.paid is not None:
            paid_settings = settings_for(order.paid.settings_version)
            payment_agent = serving_agent(order.paid.ts, order.paid.day, paid_settings.inquiry_valid_days)
        credited = {
            "order": order_agent,
            "payment": payment_agent,
            "order_first": order_agent or payment_agent,
        }[settings.attribution]
        credited_orders.append((order.created_day, order_agent, credited, order.paid is not None))
        paid = order.paid
        if paid is not None:
            add(("tm", minute_of(paid.ts)), "paid_fen", paid.amount_fen)
            if credited is None:
                add(("t", paid.day), "silent_fen", paid.amount_fen)
            else:
                group = settings_for(paid.settings_version).group_of(credited)
                add_all(paid.day, credited, group, "sales_fen", paid.amount_fen)
                add_all(paid.day, credited, group, "sales_items", paid.items)
                add(("am", minute_of(paid.ts), credited), "paid_fen", paid.amount_fen)
                for scope in (("a", paid.day, credited), ("g", paid.day, group), ("t", paid.day)):
                    counters[scope]["sales_buyers"] = 1
        refund = order.refund
        if refund is not None and credited is not None:
            group = settings_for(refund.settings_version).group_of(credited)
            add_all(refund.day, credited, group, "refunds")
            add_all(refund.day, credited, group, "refund_fen", refund.amount_fen)

    for agent, day, group, valid_days in inquiries:
        last_day = day_offset(day, valid_days - 1)
        window = [o for o in credited_orders if day <= o[0] <= last_day]
        ordered = any(order_agent == agent for _, order_agent, _, _ in window)
        paid = any(credit == agent and is_paid for _, _, credit, is_paid in window)
        add(("a", day, agent), "ordered", int(ordered))
        add(("a", day, agent), "paid", int(paid))
        for distinct in (team_days[day], group_days[(day, group)]):
            distinct["ordered"] = distinct.get("ordered", False) or ordered
            distinct["paid"] = distinct.get("paid", False) or paid

    for day, flags in team_days.items():
        for name, value in flags.items():
            add(("t", day), name, int(value))
    for (day, group), flags in group_days.items():
        for name, value in flags.items():
            add(("g", day, group), name, int(value))
    for day, (any_routed, any_internal) in chat_days.items():
        if not any_routed and not any_internal:
            add(("t", day), "robot_only")

    return BuyerFacts(_without_zeros(counters), live, max_ts)


def _without_zeros(counters: Counters) -> Counters:
    cleaned: Counters = {}
    for scope, values in counters.items():
        kept = {name: value for name, value in values.items() if value}
        if kept:
            cleaned[scope] = kept
    return cleaned
