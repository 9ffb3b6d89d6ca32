"""The Double-11 shop simulator: determinism, contract validity, coverage of every metric's inputs, sinks."""

from __future__ import annotations

import argparse
import asyncio
import itertools
from collections import Counter, defaultdict
from datetime import date
from typing import Any

import httpx
import orjson
import pytest

from streams.core.events import EVENT_TYPES, parse_event
from streams.core.topics import partition_for, topic_for_type
from streams.tools.simulator import (
    FILTER_PHRASES,
    INTERNAL_BUYERS,
    add_arguments,
    day_simulator,
    event_key,
    group_envelopes,
    live_simulator,
    run,
)
from streams.tools.simulator.model import DAY as DAY_MS
from streams.tools.simulator.model import HISTORY_DAYS, MIN, day_bounds, default_day_rate, make_agents
from streams.tools.simulator.sinks import HttpSink, KafkaSink, SinkRejected, SinkUnavailable

DAY = date(2025, 11, 11)
START, END = day_bounds(DAY)
Events = list[dict[str, Any]]


def _day(seed: int = 7, limit: int | None = None, agents: int = 12) -> Events:
    events = day_simulator(shop_id="demo-shop", agents=agents, seed=seed, day=DAY).events()
    return list(itertools.islice(events, limit))


@pytest.fixture(scope="module")
def day() -> Events:
    return _day()


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


# -- determinism --------------------------------------------------------------------------------------


def test_same_seed_same_events_different_seed_different() -> None:
    first = _day(seed=3, limit=20_000)
    assert first == _day(seed=3, limit=20_000)
    assert first != _day(seed=4, limit=20_000)


def test_live_mode_is_deterministic_for_a_given_start() -> None:
    def sample(seed: int) -> Events:
        sim = live_simulator(shop_id="s", agents=6, seed=seed, start_ms=START, rate=20, surge_peak=10,
                             end_ms=START + 5 * MIN)
        return list(sim.events())

    assert sample(1) == sample(1)
    assert sample(1) != sample(2)
    assert all(START <= e["ts"] < START + 5 * MIN for e in sample(1))


# -- the contract ---------------------------------------------------------------------------------------


def test_every_event_is_valid_and_ids_are_unique(day: Events) -> None:
    for event in day:
        parse_event(event, now_ms=END)
    assert len({e["event_id"] for e in day}) == len(day)
    # The day itself, after HISTORY_DAYS of presale history (the deposits whose balances fall on the day).
    assert all(START - HISTORY_DAYS * DAY_MS <= e["ts"] < END for e in day)
    assert [e["ts"] for e in day] == sorted(e["ts"] for e in day)
    before = [e for e in day if e["ts"] < START]
    assert {e["type"] for e in before} == {"agent.status", "chat.message", "order.created", "order.deposit_paid"}
    assert {(START - e["ts"] - 1) // DAY_MS for e in before} == set(range(HISTORY_DAYS))


def test_day_volume_follows_the_rate(day: Events) -> None:
    target = default_day_rate(12) * 86_400
    assert 0.85 * target < sum(e["ts"] >= START for e in day) < 1.15 * target


def test_agents_groups_and_skills() -> None:
    import random

    agents = make_agents(12, random.Random(1))
    assert len({a.agent_id for a in agents}) == 12
    assert Counter(a.group for a in agents) == {"presale": 8, "aftersale": 4}
    assert sum(a.median_s < 10 for a in agents) == 2
    assert sum(a.median_s > 60 for a in agents) == 2
    for n in (1, 2, 3, 30):
        assert len({a.agent_id for a in make_agents(n, random.Random(n))}) == n
    assert {a.group for a in make_agents(2, random.Random(0))} == {"presale", "aftersale"}


# -- the day covers what the metrics need ---------------------------------------------------------------


def test_day_covers_every_event_type_and_status(day: Events) -> None:
    assert {e["type"] for e in day} == EVENT_TYPES
    assert {e["status"] for e in day if e["type"] == "agent.status"} == {"online", "busy", "away", "offline"}
    senders = Counter((e["sender"], e["agent_id"] is None) for e in day if e["type"] == "chat.message")
    # buyers with the robot/queue and with agents, robot (店小蜜) and 自动回复 on an agent, human replies
    wanted = {("buyer", True), ("buyer", False), ("robot", True), ("robot", False), ("agent", False)}
    assert wanted <= set(senders)


def test_day_covers_both_groups_transfers_filters_internal_accounts(day: Events) -> None:
    messages = [e for e in day if e["type"] == "chat.message"]
    served_by = {e["agent_id"].split("-")[0] for e in messages if e["sender"] == "agent"}
    assert served_by == {"售前", "售后"}
    transfers = [e for e in day if e["type"] == "chat.transfer"]
    assert any(t["from_agent"] is None for t in transfers)
    assert any(t["from_agent"] and t["from_agent"].startswith("售前") and t["to_agent"].startswith("售后")
               for t in transfers)
    texts: dict[tuple[str, str], list[str]] = defaultdict(list)
    for e in messages:
        if e["sender"] == "buyer" and e["agent_id"]:
            texts[(e["buyer_id"], e["agent_id"])].append(e["text"])
    filtered = [k for k, v in texts.items() if all(t in FILTER_PHRASES for t in v)]
    hello = set(FILTER_PHRASES)
    opened_with_hello = [k for k, v in texts.items() if v[0] in hello and set(v) - hello]
    assert len(filtered) > 50 and len(opened_with_hello) > 50
    assert {e["buyer_id"] for e in messages} & set(INTERNAL_BUYERS)
    robot_only = {e["buyer_id"] for e in messages} - {e["buyer_id"] for e in messages if e["agent_id"]}
    assert len(robot_only) > 100


def test_day_covers_ratings_and_the_order_lifecycle(day: Events) -> None:
    scores = Counter(e["score"] for e in day if e["type"] == "chat.rating")
    assert set(scores) == {1, 2, 3, 4, 5}
    assert scores[5] + scores[4] > 0.7 * sum(scores.values())
    by_type = Counter(e["type"] for e in day)
    assert by_type["order.paid"] > 0.75 * by_type["order.created"]
    assert 0 < by_type["order.closed"] < by_type["order.paid"] and by_type["order.refunded"] > 0
    chatted = {e["buyer_id"] for e in day if e["type"].startswith("chat.")}
    paid = [e for e in day if e["type"] == "order.paid"]
    silent = [e for e in paid if e["buyer_id"] not in chatted]
    assert 0.2 * len(paid) < len(silent) < 0.8 * len(paid)
    created = {e["order_id"]: e for e in day if e["type"] == "order.created"}
    for e in paid:  # paid after created, same amount and items
        assert e["ts"] >= created[e["order_id"]]["ts"] and e["amount"] == created[e["order_id"]]["amount"]
    amounts = {e["order_id"]: e["amount"] for e in paid}
    for e in day:
        if e["type"] == "order.refunded":
            assert 0 < e["amount"] <= amounts[e["order_id"]]


def test_conversations_are_consistent(day: Events) -> None:
    _check_consistent(day)
    sim = live_simulator(shop_id="s", agents=12, seed=2, start_ms=START, rate=30, surge_peak=10,
                         end_ms=START + 20 * MIN)
    live = list(sim.events())
    assert {"busy", "away", "offline"} <= {e["status"] for e in live if e["type"] == "agent.status"}
    _check_consistent(live)


def _check_consistent(events: Events) -> None:
    """No agent writes while offline; a buyer never writes to B while still waiting on A (no transfer)."""
    status: dict[str, str] = {}
    owner: dict[str, str | None] = {}
    for e in events:
        if e["type"] == "agent.status":
            status[e["agent_id"]] = e["status"]
        elif e["type"] == "chat.transfer":
            if e["buyer_id"] in owner:
                owner[e["buyer_id"]] = e["to_agent"]
        elif e["type"] == "chat.message" and e["sender"] == "agent":
            assert status[e["agent_id"]] != "offline", e
            if owner.get(e["buyer_id"]) == e["agent_id"]:
                del owner[e["buyer_id"]]
        elif e["type"] == "chat.message" and e["sender"] == "buyer":
            # (test accounts come back all day; a queue they once gave up on may still hold a message)
            if e["buyer_id"] in owner and e["buyer_id"] not in INTERNAL_BUYERS:
                assert owner[e["buyer_id"]] == e["agent_id"], e
            owner.setdefault(e["buyer_id"], e["agent_id"])


def test_slow_and_fast_agents_show_in_response_times(day: Events) -> None:
    pending: dict[tuple[str, str], int] = {}
    times: dict[str, list[float]] = defaultdict(list)
    for e in day:
        if e["type"] == "chat.message" and e["agent_id"]:
            key = (e["buyer_id"], e["agent_id"])
            if e["sender"] == "buyer":
                pending.setdefault(key, e["ts"])
            elif e["sender"] == "agent" and key in pending:
                times[e["agent_id"]].append((e["ts"] - pending.pop(key)) / 1000)
    medians = sorted(sorted(v)[len(v) // 2] for v in times.values())
    assert medians[0] < 15 and medians[-1] > 60  # fast agents ~8 s, slow ones ~90 s (slow-response alerts)


def test_midnight_surge_and_evening_peak(day: Events) -> None:
    def per_minute(h0: float, h1: float) -> float:
        lo, hi = START + int(h0 * 60) * MIN, START + int(h1 * 60) * MIN
        return sum(lo <= e["ts"] < hi for e in day) / ((hi - lo) / MIN)

    assert per_minute(0, 0.5) > 10 * per_minute(4, 6)
    assert per_minute(20, 23) > 1.5 * per_minute(13, 17)


def test_live_surge_brings_many_more_buyers_in_the_first_minute() -> None:
    def new_buyers(peak: float | None) -> int:
        sim = live_simulator(shop_id="s", agents=12, seed=5, start_ms=START, rate=10, surge_peak=peak,
                             end_ms=START + MIN)
        return len({e["buyer_id"] for e in sim.events() if e.get("buyer_id")})

    assert new_buyers(10) > 2.5 * new_buyers(None)


# -- sinks -----------------------------------------------------------------------------------------------


async def test_file_sink_writes_valid_ndjson(tmp_path: Any) -> None:
    out = tmp_path / "day.ndjson"
    code = await run(_args("--mode", "day", "--day", "2025-11-11", "--sink", "file", "--out", str(out),
                           "--events", "3000", "--batch", "128", "--quiet"))
    assert code == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) == 3000
    events = [orjson.loads(line) for line in lines]
    for event in events:
        parse_event(event, now_ms=END)
    assert events == _day(seed=1, limit=3000)  # the CLI default seed


async def test_bad_option_combinations_fail_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(_args("--day", "2025-11-11", "--sink", "file", "--out", "-")) == 2
    assert await run(_args("--sink", "file")) == 2
    assert "error:" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _args("--agents", "0")
    with pytest.raises(SystemExit):
        _args("--mode", "day", "--day", "11/11/2025")


def test_envelopes_hold_only_events_of_one_partition(day: Events) -> None:
    events = day[:5000]
    envelopes = group_envelopes(events, 8)
    assert sum(len(env.events) for env in envelopes) == len(events)
    assert len({(env.topic, env.partition) for env in envelopes}) == len(envelopes)
    for env in envelopes:
        assert env.key == event_key(env.events[0])
        for e in env.events:
            assert topic_for_type(e["type"]) == env.topic
            assert partition_for(event_key(e), 8) == env.partition
        # order inside an envelope is the batch order
        assert [events.index(e) for e in env.events] == sorted(events.index(e) for e in env.events)
    agent = next(e for e in events if e["type"] == "agent.status")
    assert event_key(agent) == f"demo-shop|{agent['agent_id']}"


async def test_kafka_sink_sends_one_record_per_partition() -> None:
    sent: list[tuple[str, bytes, bytes, int]] = []

    class FakeProducer:
        async def send(self, topic: str, value: bytes, *, key: bytes, partition: int) -> asyncio.Future[None]:
            sent.append((topic, value, key, partition))
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            future.set_result(None)
            return future

    sink = KafkaSink("unused:9092", 4)
    sink._producer = FakeProducer()
    events = _day(limit=600)
    await sink.send(events)
    assert sum(len(orjson.loads(value)) for _, value, _, _ in sent) == 600
    for topic, value, key, partition in sent:
        batch = orjson.loads(value)
        assert isinstance(batch, list) and key.decode() == event_key(batch[0])
        slots = {(topic_for_type(e["type"]), partition_for(event_key(e), 4)) for e in batch}
        assert slots == {(topic, partition)}


async def test_http_sink_retries_then_delivers_and_reports_rejections() -> None:
    calls: list[httpx.Request] = []
    replies = iter([httpx.Response(503), httpx.Response(202, json={"accepted": 2, "rejected": []})])

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return next(replies)

    sink = HttpSink("http://api.test", "tok", 10, transport=httpx.MockTransport(handler))
    events = _day(limit=2)
    await sink.send(events)
    await sink.close()
    assert sink.retries == 1 and len(calls) == 2
    assert calls[0].url.path == "/api/v1/events" and calls[0].headers["authorization"] == "Bearer tok"
    assert calls[0].headers["content-type"] == "application/json" and orjson.loads(calls[1].content) == events

    rejected = {"accepted": 1, "rejected": [{"index": 1, "field": "ts", "error": "out of range"}]}
    sink = HttpSink("http://api.test", "tok", 10,
                    transport=httpx.MockTransport(lambda r: httpx.Response(202, json=rejected)))
    with pytest.raises(SinkRejected, match="#1 agent.status .*ts: out of range"):
        await sink.send(events)
    unauthorized = httpx.Response(401, json={"error": "unauthorized"})
    sink = HttpSink("http://api.test", "bad", 10, transport=httpx.MockTransport(lambda r: unauthorized))
    with pytest.raises(SinkRejected, match="401"):
        await sink.send(events)


async def test_http_sink_gives_up_when_unreachable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    sink = HttpSink("http://api.test", "tok", 0.3, transport=httpx.MockTransport(refuse))
    with pytest.raises(SinkUnavailable, match="unreachable"):
        await sink.send(_day(limit=1))
    assert sink.retries >= 1


def test_day_has_presale_balances_unpaid_orders_and_chases(day: Events) -> None:
    """Double-11 traffic: deposits whose order is paid in full later (or still due at the day's end), and
    agents chasing (催付) orders that are then paid, closed or left unpaid."""
    from streams.tools.simulator.model import CHASE_TEXT

    created = {e["order_id"]: e for e in day if e["type"] == "order.created"}
    paid = {e["order_id"]: e for e in day if e["type"] == "order.paid"}
    deposits = [e for e in day if e["type"] == "order.deposit_paid"]
    assert len(deposits) > 0.05 * len(paid)
    balances = [paid[d["order_id"]] for d in deposits if d["order_id"] in paid]
    assert 0 < len(balances) < len(deposits)  # some balances are still due when the day ends
    for d in deposits:
        assert created[d["order_id"]]["amount"] > d["amount"]
        if d["order_id"] in paid:
            balance = paid[d["order_id"]]
            assert balance["ts"] > d["ts"] and balance["amount"] == created[d["order_id"]]["amount"]
    chases = [e for e in day if e["type"] == "chat.message" and e["text"] in CHASE_TEXT]
    assert len(chases) > 50 and all(e["sender"] == "agent" for e in chases)
    closed = {e["order_id"] for e in day if e["type"] == "order.closed"}
    chased_buyers = {e["buyer_id"] for e in chases}
    assert any(o["buyer_id"] in chased_buyers for oid, o in created.items() if oid in closed)
