"""Facts: everything one buyer contributes to the figures, derived from the buyer's timeline.

Pure: a buyer's events (in `timeline_order`) + the settings by version → counters keyed by
scope — ("a", day, agent), ("g", day, group), ("t", day), ("am", minute, agent), ("tm", minute) — and
the buyer's live facts (activity, pending clocks, open SLA clocks). Agent, group and team figures are
sums of these over buyers; a buyer lives in one partition, so sums across partitions are exact and
"distinct buyers" of a team or group are counted once per buyer here.

Recomputing a buyer from its whole timeline (rather than patching counters) is what makes late and
out-of-order events exact: the event is put where its ts belongs and the buyer is derived again.

Invariants (metrics.md, "Conversation mechanics" and "Live load"):
- Order: by ts; at equal ts a buyer message before the buyer's other events (a reply with the same
  ts answers it: 0 s); then arrival (seq). So no arrival order changes a figure.
- Robot messages (whatever their agent_id) change no figure: they answer, route, credit nothing and are
  nobody's load; a robot-only buyer of a day is one with buyer messages that day, none routed.
- A buyer in filter_buyers (under the newest settings version among its events) has no live facts:
  no activity, no pending clock, so no load, no wait and no buyer_waiting alert.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import NamedTuple

from streams.core import money
from streams.core.clock import minute_of
from streams.core.queue import OpenQueueWait, QueueFold, fold_queue
from streams.core.scopes import (
    SCOPE_AGENT_DAY,
    SCOPE_AGENT_MINUTE,
    SCOPE_GROUP_DAY,
    SCOPE_TEAM_DAY,
    SCOPE_TEAM_MINUTE,
)
from streams.core.service_hours import clock_start
from streams.core.shop_settings import ShopSettings, day_offset

Scope = tuple[str, ...] | tuple[str, int] | tuple[str, int, str]
Counters = dict[tuple, dict[str, int]]


class TimelineEvent(NamedTuple):
    """One applied event of a buyer, reduced to what the figures need (no message text).

    kind: "buyer" | "agent" | "robot" (chat messages by sender), "transfer", "rating", "queued",
    "created" | "deposit" | "paid" | "closed" | "refunded" (orders).
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
    value: int  # orders: the amount in fen; rating: the score; else 0 (read it as amount_fen or score)
    items: int

    @property
    def amount_fen(self) -> int:
        """An order event's amount in fen."""
        return self.value

    @property
    def score(self) -> int:
        """A rating's score (1–5)."""
        return self.value


# A buyer's timeline holds its events as plain tuples in TimelineEvent's field order (TimelineRow), not
# as TimelineEvent instances: the garbage collector stops tracking a plain tuple of ints, strings and None
# at its first pass (never a tuple subclass), and a kept buyer's rows are most of the objects it holds;
# orjson also encodes plain tuples itself. TimelineEvent(*row) names a row's fields where that reads better.
TimelineRow = tuple[int, int, str, int, str, bool, str | None, str | None, bool, int, int]
TS, SEQ, KIND, SETTINGS_VERSION = 0, 1, 2, 3  # a TimelineRow's first fields (the rest: TimelineEvent's order)


def _named(row: TimelineRow) -> TimelineEvent:
    """A row as a TimelineEvent (tuple.__new__ straight, without NamedTuple's Python-level __new__)."""
    return tuple.__new__(TimelineEvent, row)


def timeline_order(event: TimelineRow) -> tuple[int, bool, int]:
    """A buyer's events in metrics.md's order: by ts; at equal ts a buyer message first (so a reply
    with the same ts answers it); remaining ties by arrival (seq, unique per buyer)."""
    return event[TS], event[KIND] != "buyer", event[SEQ]


@dataclass(slots=True)
class OpenSla:
    """A received buyer of (agent, day) still without a first response: counts once older than sla."""

    agent: str
    day: str
    group: str
    first_message_ts: int  # the first message's clock start (moved to the opening outside service hours)
    sla_ms: int


@dataclass(slots=True)
class BuyerLive:
    activity: dict[str, int] = field(default_factory=dict)  # agent → last message ts
    pending_since: dict[str, int] = field(default_factory=dict)  # agent → pending clock start
    open_sla: list[OpenSla] = field(default_factory=list)
    agents: set[str] = field(default_factory=set)  # every agent id this buyer's events name
    queue_wait: OpenQueueWait | None = None  # streams/core/queue.py

    @property
    def is_idle(self) -> bool:
        return not (self.activity or self.pending_since or self.open_sla or self.queue_wait)


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
    clock_start: int = 0  # the first message's clock start: first_ts, or the next opening (service hours)


@dataclass(slots=True)
class _Order:
    created_ts: int
    created_day: str
    settings_version: int
    internal: bool
    paid: TimelineEvent | None = None
    refund: TimelineEvent | None = None
    # The event that created the order (its first order.created, whatever its ts; else its first deposit
    # or payment): where it sits in the timeline decides which human messages are chases (money.py).
    creator: TimelineEvent | None = None
    deposit: TimelineEvent | None = None
    closed: TimelineEvent | None = None



@dataclass(slots=True)
class Fold:
    """Where the pass over a buyer's timeline stopped: its state after the first `count` events.

    derive() folds the timeline event by event (this state), then finishes (consults, orders,
    inquiries). When the only new events sort after every event folded so far — the usual case,
    events arrive in ts order — the fold resumes where it stopped instead of starting again, with
    exactly the same result: the fold is a left fold over the sorted timeline, and finishing never
    changes the fold's state. An event that sorts earlier (late or out of order) folds from scratch.

    `version` changes whenever the fold changes something finishing reads (consults, agent message
    days, orders, chat days, routed messages once there are orders): while it stays, finishing would
    give the same counters again (see Derivation).

    The fold keeps no counters of its own: its adds go out as deltas (to the agent tables). The events
    it folded are the timeline's rows with seq ≤ max_seq (an event gets a larger seq than every event
    before it, and a fold always takes the whole timeline), so folding those again gives its counters
    where they are needed (an event put before folded ones; retention). Each add is made once, and a
    kept buyer holds less (1,200-agent shop, 300,000 events: 1.2 KB less per buyer).
    """

    count: int = 0  # timeline events folded
    last_seq: int = -1  # seq of the last event folded in timeline order (seq is unique per buyer)
    max_seq: int = -1  # the largest seq folded: the events folded are those with seq ≤ max_seq
    version: int = 0
    # The four containers below start as shared empty immutables and get a container of their own at their
    # first item (_fold): most buyers never have one of them, and each kept container is one more object
    # for the garbage collector to walk, for every buyer kept decoded.
    agents: set[str] | frozenset[str] = frozenset()  # every agent id the events name
    activity: dict[str, int] = field(default_factory=dict)  # agent → last message ts
    pending_since: dict[str | None, int] = field(default_factory=dict)  # owner (None = the queue) → start
    consults: dict[tuple[str, str], _Consult] = field(default_factory=dict)
    awaiting_first: dict[str, list[_Consult]] = field(default_factory=dict)
    agent_message_days: set[tuple[str, str]] | frozenset[tuple[str, str]] = frozenset()
    chat_days: dict[str, int] = field(default_factory=dict)  # day → its buyer messages' ROUTED/INTERNAL_MESSAGE bits
    routed_buyer_messages: list[tuple[int, str, str]] | tuple[()] = ()  # (ts, agent, day)
    orders: dict[str, _Order] = field(default_factory=dict)
    # Every human message (ts, agent, day, internal, settings version), in timeline order: for chases, follow-ups and,
    # under followup_not_lost, crediting (streams/core/money.py).
    human_messages: list[tuple[int, str, str, bool, int]] | tuple[()] = ()
    max_ts: int = 0
    # Whether the buyer is in filter_buyers for the live figures: as the newest settings version among
    # its events says (a version's flag is the same for all its events, so arrival order cannot matter).
    internal_now: bool = False
    internal_now_version: int = -1
    queue: QueueFold = field(default_factory=QueueFold)  # robot days and queue waits (streams/core/queue.py)


Delta = tuple[tuple, str, int]  # (scope, counter name, amount to add)
# Fold.chat_days bits (an int per day, not a list: a dict of ints is not walked by the garbage collector)
ROUTED_MESSAGE = 1  # a buyer message of the day routed to an agent
INTERNAL_MESSAGE = 2  # a buyer message of the day from a buyer in filter_buyers


def derive(timeline: Sequence[TimelineRow], settings_for: Callable[[int], ShopSettings]) -> BuyerFacts:
    fold, adds = Fold(), []
    _fold(fold, timeline, settings_for, adds)
    extra, open_sla = _finish(fold, settings_for)
    return BuyerFacts(_summed_without_zeros(adds, extra), _live(fold, open_sla), fold.max_ts)


def derived_counters(derivation: Derivation, timeline: Sequence[TimelineRow],
                     settings_for: Callable[[int], ShopSettings]) -> Counters:
    """What `derivation` adds to the agent tables, whole (its fold's counters and finishing's, without
    zeros), for the buyer whose timeline is `timeline` (events in it that the derivation has not folded
    yet, a buyer waiting to be settled, are left out)."""
    return _summed_without_zeros(_fold_again(derivation.fold, timeline, settings_for), derivation.extra)


def _fold_again(fold: Fold, timeline: Sequence[TimelineRow], settings_for: Callable[[int], ShopSettings],
                ) -> list[Delta]:
    """The adds of `fold`, made again from the events it folded (see Fold)."""
    adds: list[Delta] = []
    if fold.count:
        max_seq = fold.max_seq
        _fold(Fold(), [row for row in timeline if row[SEQ] <= max_seq], settings_for, adds)
    return adds


@dataclass(slots=True)
class Derivation:
    """A buyer's facts kept as the fold plus what finishing added (for the agent tables' deltas).

    `live` is a view of the fold, built when read (the agent tables turn it into tuples at once): it
    shares the fold's containers, so read it before the derivation is advanced again. Keeping no copy
    per cached buyer saves the copies' time and five objects the garbage collector walks per buyer."""

    fold: Fold
    finished_version: int  # fold.version that `extra` and `open_sla` were finished at
    extra: Counters  # finishing's counters, without zeros
    open_sla: list[OpenSla]

    @property
    def live(self) -> BuyerLive:
        """The buyer's live facts (as derive() gives them, without copying the fold's containers)."""
        fold = self.fold
        if fold.internal_now:
            return BuyerLive(open_sla=self.open_sla, agents=fold.agents)
        pending_since = fold.pending_since
        if None in pending_since:  # the queue's clock is no agent's pending clock
            pending_since = {owner: clock for owner, clock in pending_since.items() if owner is not None}
        return BuyerLive(fold.activity, pending_since, self.open_sla, fold.agents, fold.queue.open_wait())

    def live_entry(self) -> tuple[tuple | None, set[str]]:
        """`agent_tables.live_entry(self.live)` and `self.live.agents`, built straight from the fold
        without the BuyerLive in between (the processor's path: one object and ~1 µs less per call).
        The entry is None when nothing of the buyer is live; the agents set is the fold's own."""
        fold = self.fold
        open_sla = self.open_sla
        if fold.internal_now:
            return (((), (), tuple(open_sla), None) if open_sla else None), fold.agents
        pending_since = fold.pending_since
        if None in pending_since:  # the queue's clock is no agent's pending clock
            pending_since = {owner: clock for owner, clock in pending_since.items() if owner is not None}
        queue_wait = fold.queue.open_wait()
        activity = fold.activity
        if not (activity or pending_since or open_sla or queue_wait):
            return None, fold.agents
        return (tuple(activity.items()), tuple(pending_since.items()), tuple(open_sla), queue_wait), fold.agents

    @property
    def max_ts(self) -> int:
        return self.fold.max_ts


def advance(derivation: Derivation | None, timeline: Sequence[TimelineRow],
            settings_for: Callable[[int], ShopSettings]) -> tuple[Derivation, list[Delta]]:
    """The buyer's facts after its timeline grew, and the counter changes that takes (to add to the
    agent tables): derive()'s counters, new minus old, without computing either in full.

    Resuming: the fold's adds for the new events, plus what finishing changes (finishing runs only if
    the fold changed something it reads). From scratch (an event sorted before folded ones): minus the
    old fold's adds (its events folded again), plus the new fold's, plus finishing's change.
    `derivation` is taken over."""
    deltas: list[Delta] = []
    if derivation is not None and _resumable(timeline, derivation.fold):
        fold = derivation.fold
        _fold(fold, timeline, settings_for, deltas)
        old_extra = derivation.extra
    else:
        if derivation is not None:
            deltas = [(scope, name, -value) for scope, name, value in
                      _fold_again(derivation.fold, timeline, settings_for)]
            old_extra = derivation.extra
        else:
            old_extra = {}
        fold = Fold()
        _fold(fold, timeline, settings_for, deltas)
        derivation = Derivation(fold, -1, old_extra, [])
    if derivation.finished_version != fold.version:
        finished, open_sla = _finish(fold, settings_for)
        extra = {}
        extend = deltas.extend
        for scope, values in finished.items():  # without zeros, and compared with what finishing gave before
            if not values or 0 in values.values():  # finishing's own dicts: kept unless empty or holding zeros
                values = {name: value for name, value in values.items() if value}
                if not values:
                    continue
            extra[scope] = values
            before = old_extra.get(scope) if old_extra else None
            if before is None:  # (scope, name, value) for each of its values, in order
                extend(zip(repeat(scope), values, values.values()))
            elif before != values:
                for name, value in values.items():
                    change = value - before.get(name, 0)
                    if change:
                        deltas.append((scope, name, change))
                deltas += [(scope, name, -value) for name, value in before.items() if name not in values]
        if old_extra:
            for scope, values in old_extra.items():
                if scope not in extra:
                    deltas += [(scope, name, -value) for name, value in values.items()]
        derivation.extra, derivation.open_sla, derivation.finished_version = extra, open_sla, fold.version
    return derivation, deltas


def _resumable(timeline: Sequence[TimelineRow], fold: Fold) -> bool:
    """The timeline still starts with the events folded (nothing was put before them)."""
    count = fold.count
    return count == 0 or (len(timeline) >= count and timeline[count - 1][SEQ] == fold.last_seq)


def _fold(fold: Fold, timeline: Sequence[TimelineRow], settings_for: Callable[[int], ShopSettings],
          deltas: list[Delta]) -> None:
    """The pass over the events not folded yet (in timeline_order); its adds go to `deltas` (zeros left
    out)."""
    append = deltas.append

    def add(scope: tuple, name: str, value: int = 1) -> None:
        if value:
            append((scope, name, value))

    def add_all(day: str, agent: str, group: str, name: str, value: int = 1) -> None:
        """A summed figure: the agent's, its group's and the team's."""
        add((SCOPE_AGENT_DAY, day, agent), name, value)
        add((SCOPE_GROUP_DAY, day, group), name, value)
        add((SCOPE_TEAM_DAY, day), name, value)

    agents, activity, pending_since = fold.agents, fold.activity, fold.pending_since
    consults, awaiting_first, agent_message_days = fold.consults, fold.awaiting_first, fold.agent_message_days
    chat_days, routed_buyer_messages, orders = fold.chat_days, fold.routed_buyer_messages, fold.orders
    max_ts, max_seq, version = fold.max_ts, fold.max_seq, fold.version
    internal_now, internal_now_version = fold.internal_now, fold.internal_now_version
    settings_version, settings = None, None
    for index in range(fold.count, len(timeline)):
        row = timeline[index]
        ts, seq, kind, event_version, day, internal, agent, ref, filter_phrase, value, _ = row
        if ts > max_ts:
            max_ts = ts
        if seq > max_seq:
            max_seq = seq
        if event_version >= internal_now_version:
            internal_now, internal_now_version = internal, event_version
        if event_version != settings_version:
            settings_version = event_version
            settings = settings_for(settings_version)
        assert settings is not None
        if kind in ("buyer", "robot", "transfer", "queued"):
            fold_queue(fold.queue, kind, ts, day, agent, ref, internal, settings.active_window_s, add)
        if kind == "robot":
            continue  # never an agent's activity, whatever its agent_id (metrics.md)
        if kind == "buyer" or kind == "agent":
            if agent is not None:
                if not agents:
                    agents = fold.agents = set()
                agents.add(agent)
                if ts > activity.get(agent, 0):
                    activity[agent] = ts
                elif agent not in activity:
                    activity[agent] = 0
            if kind == "buyer":
                # for robot_only: the day's routed / internal buyer messages
                flags = (ROUTED_MESSAGE if agent is not None else 0) | (INTERNAL_MESSAGE if internal else 0)
                day_flags = chat_days.get(day)
                if day_flags is None:
                    chat_days[day] = flags
                    version += 1
                elif flags & ~day_flags:
                    chat_days[day] = day_flags | flags
                    version += 1
                if agent not in pending_since:
                    pending_since[agent] = clock_start(ts, settings)
                if agent is None:
                    continue
                minute = minute_of(ts)
                consult = consults.get((agent, day))
                if consult is None:
                    consult = consults[(agent, day)] = _Consult(ts, event_version, internal,
                                                                clock_start=clock_start(ts, settings))
                    waiting = awaiting_first.get(agent)
                    if waiting is None:
                        awaiting_first[agent] = [consult]
                    else:
                        waiting.append(consult)
                    add((SCOPE_AGENT_MINUTE, minute, agent), "new_consult")
                    version += 1
                if (internal and not consult.internal) or (not filter_phrase and not consult.received):
                    consult.internal |= internal
                    consult.received |= not filter_phrase
                    version += 1
                if not filter_phrase:
                    if not routed_buyer_messages:
                        routed_buyer_messages = fold.routed_buyer_messages = []
                    routed_buyer_messages.append((ts, agent, day))
                    if orders:
                        version += 1  # an order's serving agent may change
                if not internal:
                    add_all(day, agent, settings.group_of(agent), "buyer_messages")
                    add((SCOPE_AGENT_MINUTE, minute, agent), "buyer_messages")
                    add((SCOPE_TEAM_MINUTE, minute), "buyer_messages")
            elif kind == "agent":
                assert agent is not None
                if (agent, day) not in agent_message_days:
                    if not agent_message_days:
                        agent_message_days = fold.agent_message_days = set()
                    agent_message_days.add((agent, day))
                    version += 1
                waiting_consults = awaiting_first.pop(agent, None)
                if waiting_consults:
                    for waiting_consult in waiting_consults:
                        waiting_consult.first_response_ms = max(0, ts - waiting_consult.clock_start)
                    version += 1
                clock = pending_since.pop(agent, None)
                human_messages = fold.human_messages
                if not human_messages:
                    human_messages = fold.human_messages = []
                human_messages.append((ts, agent, day, internal, event_version))
                if orders and (settings.followup_not_lost or _any_open(orders)):
                    version += 1  # a chase, or (as a contact) an order's serving agent, may change
                if internal:
                    continue
                minute = minute_of(ts)
                group = settings.group_of(agent)
                if clock is None:
                    names: tuple[tuple[str, int], ...] = (("agent_messages", 1),)
                else:
                    response_ms = max(0, ts - clock)  # a reply before the opening: 0 s
                    slow = int(response_ms > settings.slow_response_s * 1000)
                    names = (("agent_messages", 1), ("responses", 1), ("response_ms", response_ms), ("slow", slow))
                # Each scope built once for all its names: the same deltas, in the same order, as one add per
                # name would give, and the agent tables resolve a scope once for the deltas that follow it.
                for scope in ((SCOPE_AGENT_DAY, day, agent), (SCOPE_GROUP_DAY, day, group), (SCOPE_TEAM_DAY, day),
                              (SCOPE_AGENT_MINUTE, minute, agent), (SCOPE_TEAM_MINUTE, minute)):
                    for name, value in names:
                        if value:
                            append((scope, name, value))
        elif kind == "transfer":
            assert agent is not None
            if not agents:
                agents = fold.agents = set()
            agents.add(agent)
            if ref is not None:
                agents.add(ref)
            if ref != agent and ref in pending_since:
                del pending_since[ref]
                start = clock_start(ts, settings)
                pending_since[agent] = min(pending_since.get(agent, start), start)
        elif kind == "rating":
            assert agent is not None
            if not agents:
                agents = fold.agents = set()
            agents.add(agent)
            if not internal:
                group = settings.group_of(agent)
                add_all(day, agent, group, "ratings")
                add_all(day, agent, group, "satisfied", int(value >= 4))
        elif kind in ("created", "paid", "refunded", "deposit", "closed"):
            order_id = ref
            assert order_id is not None
            event = _named(row)  # an order keeps its events by name (money.py reads their fields)
            order = orders.get(order_id)
            if kind == "created":
                if order is None:
                    orders[order_id] = _Order(ts, day, event_version, internal, creator=event)
                    version += 1
                elif order.creator is not None and order.creator.kind != "created":
                    # The order's deposit or payment stood in for its creation: an order.created after
                    # them still sets it (metrics.md; only an order with no order.created is created at
                    # payment). The first order.created wins.
                    order.created_ts, order.created_day = ts, day
                    order.settings_version, order.internal, order.creator = event_version, internal, event
                    version += 1
            elif kind == "paid" or kind == "deposit":
                if order is None:  # paid (or deposit) without created: created at that event
                    order = orders[order_id] = _Order(ts, day, event_version, internal, creator=event)
                    version += 1
                if kind == "paid" and order.paid is None:
                    order.paid = event
                    version += 1
                elif kind == "deposit" and order.deposit is None:
                    order.deposit = event
                    version += 1
            elif kind == "closed":
                if order is not None and order.closed is None:
                    order.closed = event
                    version += 1
            elif order is not None and order.paid is not None and order.refund is None:
                order.refund = event
                version += 1
    fold.max_ts, fold.max_seq, fold.version = max_ts, max_seq, version
    fold.internal_now, fold.internal_now_version = internal_now, internal_now_version
    fold.count = len(timeline)
    if timeline:
        fold.last_seq = timeline[-1][SEQ]


def _any_open(orders: dict[str, _Order]) -> bool:
    """An order folded so far has no payment and no close: a human message folded now chases it (later
    payments and closes change the version themselves)."""
    return any(order.paid is None and order.closed is None for order in orders.values())


def _live(fold: Fold, open_sla: list[OpenSla]) -> BuyerLive:
    """The buyer's live facts. A buyer in filter_buyers has no load and no wait (metrics.md, Live load);
    its open SLA clocks are none already (it is never received) and its agents are still listed."""
    if fold.internal_now:
        return BuyerLive(open_sla=list(open_sla), agents=set(fold.agents))
    return BuyerLive(
        activity=dict(fold.activity),
        pending_since={owner: clock for owner, clock in fold.pending_since.items() if owner is not None},
        open_sla=list(open_sla),
        agents=set(fold.agents),
        queue_wait=fold.queue.open_wait(),
    )


def _finish(fold: Fold, settings_for: Callable[[int], ShopSettings]) -> tuple[Counters, list[OpenSla]]:
    """What finishing adds on top of the fold's counters (consults, orders, inquiries), and the open
    SLA clocks. Reads the fold, never changes it."""
    if not fold.consults and not fold.orders and not fold.human_messages:
        # No consult, order or human message (robot and unrouted buyer messages, queue events): of all
        # below, only the robot-only days can add anything (the same counters, without the set-up).
        return {(SCOPE_TEAM_DAY, day): {"robot_only": 1} for day in _robot_only_days(fold)}, []
    counters: Counters = defaultdict(dict)

    def add(scope: tuple, name: str, value: int = 1) -> None:
        values = counters[scope]
        values[name] = values.get(name, 0) + value

    def add_all(day: str, agent: str, group: str, name: str, value: int = 1) -> None:
        """A summed figure: the agent's, its group's and the team's."""
        add((SCOPE_AGENT_DAY, day, agent), name, value)
        add((SCOPE_GROUP_DAY, day, group), name, value)
        add((SCOPE_TEAM_DAY, day), name, value)

    open_sla: list[OpenSla] = []
    agent_message_days = fold.agent_message_days
    followups = money.followups(fold, settings_for) if fold.human_messages else {}
    money.add_followups(counters, followups)

    # The buyer as a consulting buyer: per (agent, day), then distinct per team/group and day. The
    # hottest loop of finishing (every buyer touched runs it): the adds are written out on local
    # dicts, in the same order as add()/add_all() would make them.
    team_days: dict[str, dict[str, bool]] = defaultdict(dict)
    group_days: dict[tuple[str, str], dict[str, bool]] = defaultdict(dict)
    inquiries: list[tuple[str, str, str, int]] = []  # (agent, day, group, inquiry_valid_days)
    team_first_ts: dict[str, int] = {}
    settings_version: int | None = None
    settings = None
    for (agent, day), consult in fold.consults.items():
        if consult.settings_version != settings_version:
            settings_version = consult.settings_version
            settings = settings_for(settings_version)
        assert settings is not None
        group = settings.group_of(agent)
        received = consult.received and not consult.internal
        replied = received and (agent, day) in agent_message_days
        agent_scope = (SCOPE_AGENT_DAY, day, agent)
        agent_values = counters[agent_scope]
        agent_values["consult"] = agent_values.get("consult", 0) + 1
        first_ts = consult.first_ts
        team_first = team_first_ts.get(day)
        if team_first is None or first_ts < team_first:
            team_first_ts[day] = first_ts
        team_flags = team_days[day]
        group_flags = group_days[(day, group)]
        for distinct in (team_flags, group_flags):
            distinct["consult"] = True
            distinct["received"] = distinct.get("received", False) or received
            distinct["replied"] = distinct.get("replied", False) or replied
        if not received:
            continue
        agent_values["received"] = agent_values.get("received", 0) + 1
        agent_values["replied"] = agent_values.get("replied", 0) + int(replied)
        sla_ms = int(settings.sla_s * 1000)
        if consult.clock_start != first_ts:  # first message outside the service hours (留言)
            agent_values["after_hours"] = agent_values.get("after_hours", 0) + 1
            team_flags["after_hours"] = True
            group_flags["after_hours"] = True
        first_response_ms = consult.first_response_ms
        if first_response_ms is None:
            open_sla.append(OpenSla(agent, day, group, consult.clock_start, sla_ms))
        else:
            met = int(first_response_ms <= sla_ms)
            for scope in (agent_scope, (SCOPE_GROUP_DAY, day, group), (SCOPE_TEAM_DAY, day)):
                values = counters[scope]
                values["first_responses"] = values.get("first_responses", 0) + 1
                values["first_response_ms"] = values.get("first_response_ms", 0) + first_response_ms
                values["sla_buyers"] = values.get("sla_buyers", 0) + 1
                values["sla_met"] = values.get("sla_met", 0) + met
            # For alert windows (streams/alerts): the SLA outcome in the minute it was decided — the
            # first response when met, the moment the clock ran out when missed.
            decided = counters[(SCOPE_AGENT_MINUTE,
                                minute_of(consult.clock_start + min(first_response_ms, sla_ms + 1)), agent)]
            decided["sla_buyers"] = decided.get("sla_buyers", 0) + 1
            decided["sla_met"] = decided.get("sla_met", 0) + met
        if group in settings.presale_groups and (agent, day) not in followups:  # a follow-up is no inquiry
            inquiries.append((agent, day, group, settings.inquiry_valid_days))
            agent_values["inquiry"] = agent_values.get("inquiry", 0) + 1
            team_flags["inquiry"] = True
            group_flags["inquiry"] = True
    for first_ts in team_first_ts.values():
        add((SCOPE_TEAM_MINUTE, minute_of(first_ts)), "new_consult")

    # Orders: credit (业绩判定), sales by payment day, refunds by refund day, cohort conversions.
    orders = fold.orders
    # The agent of the buyer's last contact (a routed buyer message; under followup_not_lost also a
    # human message) before an order event, within the inquiry window.
    contacts = money.Contacts(fold.routed_buyer_messages, fold.human_messages, settings_for) if orders else None

    credited_orders: list[tuple[str, str | None, str | None, bool]] = []  # (day, order agent, credit, paid)
    money_orders: list[money.CreditedOrder] = []
    for order in orders.values():
        if order.internal:
            continue
        assert contacts is not None and order.creator is not None
        settings = settings_for(order.settings_version)
        order_agent = contacts.agent_at(order.creator, settings.inquiry_valid_days)
        payment_agent = deposit_agent = None
        if order.paid is not None:
            paid_settings = settings_for(order.paid.settings_version)
            payment_agent = contacts.agent_at(order.paid, paid_settings.inquiry_valid_days)
        if order.deposit is not None:  # credited like a payment, the payment agent taken at the deposit
            deposit_settings = settings_for(order.deposit.settings_version)
            deposit_agent = contacts.agent_at(order.deposit, deposit_settings.inquiry_valid_days)
        credited = _credited(settings.attribution, order_agent, payment_agent)
        deposit_credited = (_credited(settings.attribution, order_agent, deposit_agent)
                            if order.deposit is not None else None)
        credited_orders.append((order.created_day, order_agent, credited, order.paid is not None))
        money_orders.append(money.CreditedOrder(order, order_agent, credited, deposit_credited))
        paid = order.paid
        if paid is not None:
            add((SCOPE_TEAM_MINUTE, minute_of(paid.ts)), "paid_fen", paid.amount_fen)
            if credited is None:
                add((SCOPE_TEAM_DAY, paid.day), "silent_fen", paid.amount_fen)
            else:
                group = settings_for(paid.settings_version).group_of(credited)
                add_all(paid.day, credited, group, "sales_fen", paid.amount_fen)
                add_all(paid.day, credited, group, "sales_items", paid.items)
                add((SCOPE_AGENT_MINUTE, minute_of(paid.ts), credited), "paid_fen", paid.amount_fen)
                for scope in ((SCOPE_AGENT_DAY, paid.day, credited), (SCOPE_GROUP_DAY, paid.day, group),
                              (SCOPE_TEAM_DAY, paid.day)):
                    counters[scope]["sales_buyers"] = 1  # the fold never counts sales_buyers
        refund = order.refund
        if refund is not None and credited is not None:
            group = settings_for(refund.settings_version).group_of(credited)
            add_all(refund.day, credited, group, "refunds")
            add_all(refund.day, credited, group, "refund_fen", refund.amount_fen)

    if money_orders:
        money.add_order_figures(counters, money_orders, fold, settings_for)

    for agent, day, group, valid_days in inquiries:
        if credited_orders:
            last_day = day_offset(day, valid_days - 1)
            window = [o for o in credited_orders if day <= o[0] <= last_day]
            ordered = any(order_agent == agent for _, order_agent, _, _ in window)
            paid = any(credit == agent and is_paid for _, _, credit, is_paid in window)
        else:
            ordered = paid = False
        agent_values = counters[(SCOPE_AGENT_DAY, day, agent)]
        agent_values["ordered"] = agent_values.get("ordered", 0) + int(ordered)
        agent_values["paid"] = agent_values.get("paid", 0) + int(paid)
        for distinct in (team_days[day], group_days[(day, group)]):
            distinct["ordered"] = distinct.get("ordered", False) or ordered
            distinct["paid"] = distinct.get("paid", False) or paid

    for day, flags in team_days.items():
        values = counters[(SCOPE_TEAM_DAY, day)]
        for name, value in flags.items():
            values[name] = values.get(name, 0) + int(value)
    for (day, group), flags in group_days.items():
        values = counters[(SCOPE_GROUP_DAY, day, group)]
        for name, value in flags.items():
            values[name] = values.get(name, 0) + int(value)
    for day in _robot_only_days(fold):
        add((SCOPE_TEAM_DAY, day), "robot_only")

    return counters, open_sla


def _robot_only_days(fold: Fold) -> list[str]:
    """The days with buyer messages none of which was routed to an agent or internal (robot_only)."""
    return [day for day, day_flags in fold.chat_days.items() if not day_flags]


def _credited(attribution: str, order_agent: str | None, payment_agent: str | None) -> str | None:
    """Who an order's sales (or deposit) go to under `attribution` (业绩判定)."""
    if attribution == "order":
        return order_agent
    if attribution == "payment":
        return payment_agent
    if attribution == "order_first":
        return order_agent or payment_agent
    raise KeyError(attribution)


def _summed_without_zeros(adds: list[Delta], extra: Counters) -> Counters:
    """The fold's adds plus finishing's counters, per scope and name, without zero values and empty
    scopes (new dicts throughout)."""
    summed: Counters = {}
    for scope, name, value in adds:
        values = summed.get(scope)
        if values is None:
            values = summed[scope] = {}
        values[name] = values.get(name, 0) + value
    for scope, more in extra.items():
        values = summed.get(scope)
        if values is None:
            values = summed[scope] = {}
        for name, value in more.items():
            values[name] = values.get(name, 0) + value
    cleaned: Counters = {}
    for scope, values in summed.items():
        kept = {name: value for name, value in values.items() if value}
        if kept:
            cleaned[scope] = kept
    return cleaned
