"""facts.advance() batch by batch equals facts.derive() from scratch, whatever the arrival order and
however the arrivals are cut into batches.

advance() resumes the fold when the new events sort after the folded ones, refolds otherwise, and
finishes (consults, orders, inquiries) again only when the fold changed something finishing reads
(Fold.version); the agent tables add up its deltas. This checks that sum, and the open SLA clocks and
live facts, against a from-scratch derive() after every batch, on the random logs of the engine-vs-oracle
property test (every kind of event, equal-ts pairs, late events, duplicates), with its buyers merged
into one (b1, and the internal test-1) for long timelines, arriving in the log's order or in ts order
(so that the fold mostly resumes), split into random batches.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.core.agent_tables import live_entry
from streams.core.buyer_state import BuyerRecord, apply
from streams.core.events import parse_event
from streams.core.facts import Derivation, advance, derive, derived_counters
from streams.core.shop_settings import parse_settings
from tests.event_logs import event_logs

NOW = int(time.time() * 1000) + 60_000  # validation's clock: the logs' ts are in the past


def _sum_deltas(tables: dict[tuple, dict[str, int]], deltas: list[tuple[tuple, str, int]]) -> None:
    for scope, name, change in deltas:
        values = tables.setdefault(scope, {})
        values[name] = values.get(name, 0) + change


def _without_zeros(tables: dict[tuple, dict[str, int]]) -> dict[tuple, dict[str, int]]:
    kept = {scope: {name: value for name, value in values.items() if value} for scope, values in tables.items()}
    return {scope: values for scope, values in kept.items() if values}


AGENTS = ["A", "B"]
MINUTE = 60_000
BASE = NOW - 2 * 86_400_000 - 15 * MINUTE  # old enough to be valid, young enough for every day kept


@st.composite
def buyer_timelines(draw: st.DrawFn) -> list[dict[str, Any]]:
    """One buyer's events (10–60) in ts order: chat messages of buyer, agents and robot, transfers,
    ratings, queue waits and order events, a few minutes apart, some at equal ts, some after midnight."""
    events: list[dict[str, Any]] = []
    ts = BASE
    for index in range(draw(st.integers(10, 60))):
        ts += draw(st.sampled_from([0, 5_000, 30_000, 2 * MINUTE, 10 * MINUTE]))
        base = {"event_id": f"e{index}", "shop_id": "s", "ts": ts, "buyer_id": "b1"}
        kind = draw(st.sampled_from(["buyer"] * 5 + ["agent"] * 5 + ["robot", "transfer", "rating", "queued",
                                                                      "created", "paid", "deposit_paid",
                                                                      "closed", "refunded"]))
        if kind in ("buyer", "agent", "robot"):
            agent = draw(st.sampled_from(AGENTS)) if kind == "agent" else draw(st.sampled_from([None, *AGENTS]))
            events.append({**base, "type": "chat.message", "agent_id": agent, "sender": kind,
                           "text": draw(st.sampled_from(["在吗", "多少钱?"]))})
        elif kind == "transfer":
            events.append({**base, "type": "chat.transfer", "from_agent": draw(st.sampled_from([None, *AGENTS])),
                           "to_agent": draw(st.sampled_from(AGENTS))})
        elif kind == "rating":
            events.append({**base, "type": "chat.rating", "agent_id": draw(st.sampled_from(AGENTS)),
                           "score": draw(st.integers(1, 5))})
        elif kind == "queued":
            events.append({**base, "type": "chat.queued"})
        else:
            order = {**base, "type": f"order.{kind}", "order_id": draw(st.sampled_from(["o1", "o2"]))}
            if kind != "closed":
                order["amount"] = draw(st.sampled_from([9.9, 128]))
            if kind in ("created", "paid"):
                order["items"] = 1
            events.append(order)
    return events


def _advance_in_batches(events: list[Any], cuts: list[int], shop: Any) -> None:
    """Apply `events` in the order given, `cuts` events at a time; after each batch the deltas summed
    so far, the open SLA clocks and the live facts (as a BuyerLive and as the tables' entry) equal
    derive()'s from scratch; and before each advance, with the batch's events in the record but not yet
    folded (a buyer waiting to be settled), derived_counters() gives what the tables hold for it."""
    settings_for = lambda version: shop  # noqa: E731
    record = BuyerRecord()
    derivation: Derivation | None = None
    tables: dict[tuple, dict[str, int]] = {}
    start, cut_index = 0, 0
    while start < len(events):
        size = cuts[cut_index % len(cuts)]
        cut_index += 1
        for event in events[start:start + size]:
            apply(record, event, 1, shop)
        start += size
        if derivation is not None:
            assert derived_counters(derivation, record.timeline, settings_for) == _without_zeros(tables)
        derivation, deltas = advance(derivation, record.timeline, settings_for)
        _sum_deltas(tables, deltas)
        want = derive(record.timeline, settings_for)
        assert _without_zeros(tables) == want.counters
        assert derivation.open_sla == want.live.open_sla
        assert derivation.live == want.live
        # The processor's path: the tables' live entry straight from the fold, no BuyerLive in between.
        assert derivation.live_entry() == (live_entry(want.live), want.live.agents)
        assert derivation.max_ts == want.max_ts


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=buyer_timelines(), late=st.lists(st.integers(0, 59), max_size=3),
       followup_not_lost=st.booleans(), presale=st.booleans(), service_hours=st.booleans(),
       cuts=st.lists(st.integers(min_value=1, max_value=4), min_size=1, max_size=20))
def test_advance_on_one_long_timeline_equals_derive(events: list[dict[str, Any]], late: list[int],
                                                   followup_not_lost: bool, presale: bool, service_hours: bool,
                                                   cuts: list[int]) -> None:
    """A long timeline arriving mostly in ts order (the fold resumes batch after batch, and finishing is
    skipped while the fold changed nothing it reads), a few events moved to the end (late: a refold)."""
    arrival = [event for index, event in enumerate(events) if index not in late]
    arrival += [events[index] for index in sorted(set(late)) if index < len(events)]
    shop = parse_settings({"followup_not_lost": followup_not_lost,
                           "groups": {"A": "presale" if presale else "aftersale", "B": "aftersale"},
                           "service_hours": {"start": "00:05", "end": "23:55"} if service_hours else None})
    _advance_in_batches([parse_event(raw, NOW) for raw in arrival], cuts, shop)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=event_logs(max_events=70), in_ts_order=st.booleans(),
       cuts=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=40))
def test_advance_batch_by_batch_equals_derive_from_scratch(log: tuple[list[dict[str, Any]], dict[str, Any]],
                                                          in_ts_order: bool, cuts: list[int]) -> None:
    events, shop_settings = log
    shop = parse_settings(shop_settings)
    if in_ts_order:
        events = sorted(events, key=lambda raw: raw["ts"])
    by_buyer: dict[str, list[Any]] = defaultdict(list)
    for raw in events:
        if raw.get("buyer_id") not in (None, "test-1"):
            raw = {**raw, "buyer_id": "b1"}
        event = parse_event(raw, NOW)
        if event.buyer_id is not None:
            by_buyer[event.buyer_id].append(event)
    for buyer_events in by_buyer.values():
        _advance_in_batches(buyer_events, cuts, shop)
