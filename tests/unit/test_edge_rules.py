"""The edges metrics.md settles (issue 18), in the engine's own parts, and the engine against the oracle.

1. Arrival order never changes a figure, also within one buyer: at equal ts a buyer message comes first,
   so a reply with the same ts answers it (0 s), also when it arrives first, across batches and for
   records stored in the older order; the incremental fold stays exact.
2. `status`: the agent.status with the largest ts (equal ts: the later arrival).
3. Robot messages are never an agent's activity, whatever their agent_id; robot-only buyers.
4. Buyers in filter_buyers count toward no live figure: no load, no wait, no buyer_waiting alert.
5. `presale_groups`: validated, served back, and deciding who takes inquiries.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from streams.alerts.evaluate import ShopFigures, evaluate
from streams.alerts.rules import AlertRule
from streams.core.buyer_state import BuyerRecord, apply
from streams.core.events import parse_event
from streams.core.facts import TimelineEvent, advance, derive
from streams.core.processor import PartitionProcessor, SourceRecord, process_agent_events
from streams.core.shop_settings import DEFAULT_SETTINGS, InvalidSettings, ShopSettings, parse_settings
from streams.core.snapshot import export_shop, merge_live
from streams.core.topics import partition_for
from streams.core.views import live_view
from streams.tools.engine import DAY_MS, StaticSettings, compute_batch
from tests import oracle
from tests.event_logs import event_logs
from tests.scenarios import SCENARIOS, assert_matches

T = 1_794_362_400_000  # 2026-11-11 10:00 Asia/Shanghai
DAY = "2026-11-11"
MIDNIGHT = T + 14 * 3_600_000  # 2026-11-12 00:00 Asia/Shanghai
PARTITIONS = 4
NOW = T + 30 * DAY_MS  # validation's clock: far enough ahead


def chat(event_id: str, ts: int, sender: str, agent: str | None, buyer: str = "b1",
         text: str = "有货吗") -> dict[str, Any]:
    return {"event_id": event_id, "shop_id": "s", "type": "chat.message", "ts": ts, "buyer_id": buyer,
            "agent_id": agent, "sender": sender, "text": text}


def timeline(*events: dict[str, Any], settings: ShopSettings = DEFAULT_SETTINGS,
             versions: list[int] | None = None) -> BuyerRecord:
    """A buyer record with the events applied in the order given (arrival order)."""
    record = BuyerRecord()
    for index, event in enumerate(events):
        apply(record, parse_event(event, NOW), versions[index] if versions else 1, settings)
    return record


def processor_for(buyer: str, settings: ShopSettings = DEFAULT_SETTINGS) -> tuple[PartitionProcessor, int]:
    partition = partition_for(f"s|{buyer}", PARTITIONS)
    return PartitionProcessor(partition, PARTITIONS, {}, StaticSettings(settings), clock=lambda: NOW), partition


def kafka(partition: int, offset: int, *events: dict[str, Any]) -> SourceRecord:
    return SourceRecord("chat-events", partition, offset, orjson.dumps(list(events)))


# ---- 1. equal ts: the buyer message first ------------------------------------------------------------


def test_a_reply_arriving_before_its_equal_ts_question_answers_it() -> None:
    record = timeline(chat("r", T, "agent", "A"), chat("q", T, "buyer", "A"))
    assert [TimelineEvent(*e).kind for e in record.timeline] == ["buyer", "agent"]
    facts = derive(record.timeline, lambda v: DEFAULT_SETTINGS)
    agent_day = facts.counters[("a", DAY, "A")]
    # zero sums are not kept: a 0 s response is responses 1 and no response_ms
    assert (agent_day["responses"], agent_day.get("response_ms", 0)) == (1, 0)
    assert (agent_day["first_responses"], agent_day.get("first_response_ms", 0)) == (1, 0)
    assert facts.live.pending_since == {}  # the buyer does not wait for good


@pytest.mark.parametrize("compute", [compute_batch, oracle.compute], ids=["engine", "oracle"])
def test_the_equal_ts_scenario_gives_the_same_figures_in_any_arrival_order(compute: Any) -> None:
    """tests/scenarios.py "equal_ts_buyer_message_first": its only ties are a buyer message and another
    event of that buyer, so reversed and rotated arrival orders change no figure."""
    scenario = next(s for s in SCENARIOS if s["name"] == "equal_ts_buyer_message_first")
    events = scenario["events"]
    forward = compute(events, scenario["settings"], scenario["now_ms"])
    orders = [events[::-1]] + [events[k:] + events[:k] for k in range(1, len(events))]
    for arrival in orders:
        assert compute(arrival, scenario["settings"], scenario["now_ms"]) == forward


def test_other_ties_keep_arrival_order() -> None:
    """Two buyer messages with one ts stay in arrival order; so do two non-buyer events."""
    record = timeline(chat("q2", T, "buyer", "B"), chat("r", T, "agent", "A"), chat("q1", T, "buyer", "A"),
                      chat("robot", T, "robot", None))
    assert [(e.kind, e.agent) for e in map(TimelineEvent._make, record.timeline)] == [
        ("buyer", "B"), ("buyer", "A"), ("agent", "A"), ("robot", None)]


def test_the_incremental_fold_refolds_when_a_question_lands_before_its_folded_reply() -> None:
    """advance() resumes only while nothing is put before the events folded: the question put before
    its equal-ts reply makes it fold again from scratch, and the deltas still add up to derive()."""
    events = [chat("q0", T - 5_000, "buyer", "A"), chat("r", T, "agent", "A"), chat("q", T, "buyer", "A"),
              chat("r2", T + 20_000, "agent", "A")]
    record = BuyerRecord()
    derivation = None
    tables: dict[tuple, dict[str, int]] = {}
    for event in events:
        apply(record, parse_event(event, NOW), 1, DEFAULT_SETTINGS)
        derivation, deltas = advance(derivation, record.timeline, lambda v: DEFAULT_SETTINGS)
        for scope, name, change in deltas:
            tables.setdefault(scope, {})
            tables[scope][name] = tables[scope].get(name, 0) + change
    kept = {scope: {k: v for k, v in values.items() if v} for scope, values in tables.items()}
    assert {scope: values for scope, values in kept.items() if values} == \
        derive(record.timeline, lambda v: DEFAULT_SETTINGS).counters
    # q0 and q answered together at T (clock T − 5 s); r2 answers nothing.
    assert (kept[("a", DAY, "A")]["responses"], kept[("a", DAY, "A")]["response_ms"]) == (1, 5_000)


def test_the_processor_counts_the_answer_when_the_question_comes_in_a_later_batch() -> None:
    processor, partition = processor_for("b1")
    processor.process([kafka(partition, 0, chat("r", T, "agent", "A"))])
    processor.process([kafka(partition, 1, chat("q", T, "buyer", "A"))])  # resumes the cached buyer
    tables = processor.tables.shop("s")
    assert tables.days[DAY]["agents"]["A"]["responses"] == 1
    assert tables.days[DAY]["agents"]["A"]["first_responses"] == 1
    assert tables.days[DAY]["agents"]["A"].get("first_response_ms", 0) == 0
    live = export_shop(tables, T, 600, DAY_MS).live
    assert live is not None and all(not facts["pending"] for facts in live["agents"].values())


def test_a_record_stored_in_the_older_order_is_put_in_order_when_read() -> None:
    """Records written before this rule hold an equal-ts reply before its question (ts, then arrival)."""
    reply = TimelineEvent(T, 0, "agent", 1, DAY, False, "A", None, False, 0, 0)
    question = TimelineEvent(T, 1, "buyer", 1, DAY, False, "A", None, False, 0, 0)
    stored = BuyerRecord(timeline=[tuple(reply), tuple(question)], event_ids={"r", "q"}, next_seq=2).to_bytes()
    record = BuyerRecord.from_bytes(stored)
    assert [TimelineEvent(*e).kind for e in record.timeline] == ["buyer", "agent"]
    assert derive(record.timeline, lambda v: DEFAULT_SETTINGS).counters[("a", DAY, "A")]["responses"] == 1


# ---- 2. status -------------------------------------------------------------------------------------------


def test_status_is_the_one_with_the_largest_ts_and_equal_ts_follow_arrival() -> None:
    def status(event_id: str, ts: int, value: str) -> dict[str, Any]:
        return {"event_id": event_id, "shop_id": "s", "type": "agent.status", "ts": ts, "agent_id": "A",
                "status": value}

    partition = partition_for("s|A", PARTITIONS)
    store: dict[str, bytes] = {}
    for offset, event in enumerate([status("s1", T, "online"), status("s2", T + 60_000, "away"),
                                    status("s3", T + 60_000, "busy"), status("s4", T + 30_000, "offline")]):
        process_agent_events([SourceRecord("agent-events", partition, offset, orjson.dumps(event))],
                             PARTITIONS, store, now_ms=NOW)
    state = orjson.loads(store["s|A"])
    assert (state["status"], state["ts"]) == ("busy", T + 60_000)


# ---- 3. robot messages -------------------------------------------------------------------------------------


def test_a_robot_message_with_an_agent_id_is_no_activity_of_that_agent() -> None:
    record = timeline(chat("q", T, "buyer", "A"), chat("bot", T + 5_000, "robot", "A"),
                      chat("bot2", T + 6_000, "robot", "R"))
    facts = derive(record.timeline, lambda v: DEFAULT_SETTINGS)
    assert facts.live.pending_since == {"A": T}  # the robot answered nothing
    assert facts.live.activity == {"A": T}  # the buyer's message is A's load, the robot's is not
    assert facts.live.agents == {"A"}  # R appears only on robot messages: no agent
    assert facts.counters[("a", DAY, "A")].get("agent_messages") is None


def test_robot_only_buyers_need_a_buyer_message_that_day_and_none_routed() -> None:
    record = timeline(chat("q", T, "buyer", None), chat("bot", T + 1_000, "robot", "A"),
                      chat("late", MIDNIGHT + 30_000, "robot", None))
    counters = derive(record.timeline, lambda v: DEFAULT_SETTINGS).counters
    assert counters[("t", DAY)]["robot_only"] == 1  # the robot's agent_id routes nothing
    assert ("t", "2026-11-12") not in counters  # a robot reply after midnight makes no buyer


# ---- 4. filter_buyers and live figures -----------------------------------------------------------------------


def test_an_internal_buyer_is_no_load_no_wait_and_fires_no_buyer_waiting_alert() -> None:
    internal = ShopSettings(filter_buyers=frozenset({"tester"}))
    processor, partition = processor_for("tester", internal)
    processor.process([kafka(partition, 0, chat("q", T, "buyer", "A", buyer="tester"))])
    now = T + 300_000
    live = merge_live([export_shop(processor.tables.shop("s"), now, 600, DAY_MS).live or {}])
    view = live_view("s", live, {}, {"A"}, internal, now)
    assert view["team"] == {"active_conversations": 0, "waiting_buyers": 0, "longest_wait_s": 0,
                            "queued_now": 0, "longest_queue_wait_s": 0, "balance_due_buyers": 0}
    rule = AlertRule("wait-60", "buyer_waiting", 60, clear_s=0)
    figures = ShopFigures(now, live.pending, live.activity, {}, live.open_sla)
    result = evaluate("s", [rule], 1, figures, {"seq": 0, "firing": {}, "pending": {}})
    assert result.transitions == []


def test_filter_buyers_for_live_figures_follow_the_newest_settings_version_whatever_the_arrival() -> None:
    before, after = ShopSettings(), ShopSettings(filter_buyers=frozenset({"b1"}))
    by_version = {1: before, 2: after}
    question = chat("q", T, "buyer", "A")
    reply_later = chat("r", T + 60_000, "agent", "B")
    for order in ([question, reply_later], [reply_later, question]):
        record = BuyerRecord()
        for event in order:
            version = 2 if event is reply_later else 1  # b1 became internal between the two
            apply(record, parse_event(event, NOW), version, by_version[version])
        facts = derive(record.timeline, by_version.__getitem__)
        assert facts.live.pending_since == {} and facts.live.activity == {}


# ---- 5. presale_groups -----------------------------------------------------------------------------------------


def test_presale_groups_defaults_validates_and_round_trips() -> None:
    assert parse_settings({}).presale_groups == frozenset({"presale"})
    shop = parse_settings({"groups": {"A": "售前一组"}, "presale_groups": ["售前二组", "售前一组"]})
    assert shop.presale_groups == frozenset({"售前一组", "售前二组"})
    assert shop.to_json()["presale_groups"] == ["售前一组", "售前二组"]
    assert parse_settings(orjson.loads(orjson.dumps(shop.to_json()))) == shop
    assert parse_settings({"presale_groups": []}).presale_groups == frozenset()  # a shop without pre-sale
    for bad in ("presale", ["presale", ""], [1], {"presale": True}, None):
        with pytest.raises(InvalidSettings) as error:
            parse_settings({"presale_groups": bad})
        assert error.value.field == "presale_groups"
        assert "list of non-empty group names" in error.value.error


def test_inquiries_are_taken_by_the_agents_of_the_presale_groups() -> None:
    shop = ShopSettings(groups={"A": "售前一组", "B": "售后"}, presale_groups=frozenset({"售前一组"}))
    counters = derive(timeline(chat("q", T, "buyer", "A"), chat("q2", T, "buyer", "B"),
                               chat("q3", T, "buyer", "C"), settings=shop).timeline, lambda v: shop).counters
    assert counters[("a", DAY, "A")].get("inquiry") == 1
    assert counters[("a", DAY, "B")].get("inquiry") is None
    assert counters[("a", DAY, "C")].get("inquiry") is None  # C is in `presale`, not a presale group here
    assert counters[("g", DAY, "售前一组")].get("inquiry") == 1


# ---- the engine against the oracle -----------------------------------------------------------------------------


def assert_engine_equals_oracle(events: list[dict[str, Any]], shop_settings: dict[str, Any]) -> None:
    got = compute_batch(events, shop_settings)
    want = oracle.compute(events, shop_settings)
    for part in ("agents", "team", "groups", "series"):
        assert_matches(got[part], want[part], f"engine vs oracle: {part}")
        assert_matches(want[part], got[part], f"oracle vs engine: {part}")
    assert set(got["live"]["agents"]) == set(want["live"]["agents"])
    assert_matches(got["live"], want["live"], "engine vs oracle: live")  # as tests/client.py compares
    assert got["unpaid_orders"] == want["unpaid_orders"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=event_logs())
def test_engine_equals_oracle_on_random_logs(log: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    """The batch engine (one event per record, so the fold resumes or refolds at every event) and the
    oracle agree on every figure, with equal-ts pairs, robots with agent ids, internal buyers and
    presale groups of the shop's own naming in the logs."""
    events, shop_settings = log
    assert_engine_equals_oracle(events, shop_settings)
