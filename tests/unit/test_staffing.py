"""The staffing now-cast (streams/core/staffing.py) against worked Erlang C values.

Textbook case: 100 calls in 30 minutes with a mean handling time of 180 s offer λ·h = 100/1800 × 180 = 10
Erlang. Erlang C tables give the probability of waiting with c = 11..14 servers as 0.6821, 0.4494,
0.2853, 0.1741; the share answered within 20 s is 1 − P_wait·e^(−(c − 10)·20/180):
  c = 12: 1 − 0.4494 × e^(−2/9) = 0.6402;  c = 13: 1 − 0.2853 × e^(−1/3) = 0.7956;
  c = 14: 1 − 0.1741 × e^(−4/9) = 0.8884  → 14 servers reach an 80 % target, 13 do not.
"""

from __future__ import annotations

import itertools
import math
from datetime import date
from fractions import Fraction
from typing import Any

import orjson
import pytest

from streams.core.processor import PartitionProcessor, SourceRecord, agent_state, process_agent_events
from streams.core.shop_settings import DEFAULT_SETTINGS
from streams.core.snapshot import export_shop, merge_buckets, merge_live
from streams.core.staffing import (
    MIN_HANDLE_S,
    agents_needed,
    erlang_c,
    group_nowcasts,
    nowcast,
    servers_of,
    service_level,
)
from streams.core.topics import partition_for, topic_for_type
from streams.core.views import live_view
from streams.tools.engine import DAY_MS, StaticSettings
from streams.tools.simulator import day_simulator

TABLE = {11: 0.6821, 12: 0.4494, 13: 0.2853, 14: 0.1741}


@pytest.mark.parametrize(("servers", "waiting"), TABLE.items())
def test_erlang_c_matches_the_table(servers: int, waiting: float) -> None:
    assert erlang_c(10.0, servers) == pytest.approx(waiting, abs=5e-5)


def test_erlang_c_equals_the_closed_formula() -> None:
    for load, servers in ((0.5, 1), (3.7, 5), (10.0, 11), (42.0, 50), (180.0, 200)):
        a = Fraction(load)  # exact: the formula's powers and factorials overflow floats
        top = a ** servers / math.factorial(servers) * servers / (servers - a)
        bottom = sum(a ** k / math.factorial(k) for k in range(servers)) + top
        assert erlang_c(load, servers) == pytest.approx(float(top / bottom), rel=1e-9)


@pytest.mark.parametrize(("servers", "level"), [(12, 0.6402), (13, 0.7956), (14, 0.8884)])
def test_service_level_worked_values(servers: int, level: float) -> None:
    assert service_level(10.0, servers, 180, 20) == pytest.approx(level, abs=5e-4)


def test_agents_needed_for_the_textbook_target() -> None:
    assert agents_needed(10.0, 12, 1, 180, 20, 0.8) == 2  # 14 servers
    assert agents_needed(10.0, 14, 1, 180, 20, 0.8) == 0
    assert agents_needed(10.0, 0, 1, 180, 20, 0.8) == 14


def test_overload_and_no_load() -> None:
    assert erlang_c(10.0, 10) == 1.0 and service_level(10.0, 10, 180, 20) == 0.0  # A ≥ c: the queue grows
    assert erlang_c(0.0, 3) == 0.0 and service_level(0.0, 0, 180, 20) == 1.0  # nobody arrives
    assert agents_needed(0.0, 0, 3, 180, 20, 0.9) == 0


def test_chat_concurrency_multiplies_the_servers_rounded_down() -> None:
    assert servers_of(5, 3) == 15
    assert servers_of(5, 2.5) == 12
    assert servers_of(3, 0.1 * 3 / 0.3) == 3  # float noise does not lose a server


def test_the_nowcast_of_a_group_moves_the_right_way_with_agents() -> None:
    # 50 new buyers in 15 minutes, 270 s per buyer (load 15 Erlang), 3 buyers per agent, SLA 180 s.
    before = nowcast(50, 900, 270, 5, 3, 180, 0.9)
    assert before.arrival_per_s == pytest.approx(50 / 900) and before.servers == 15
    assert before.predicted_sla_rate == 0.0  # 15 servers for 15 Erlang: overloaded
    after = nowcast(50, 900, 270, 5 + before.agents_needed, 3, 180, 0.9)
    assert after.predicted_sla_rate >= 0.9 and after.agents_needed == 0
    one_less = nowcast(50, 900, 270, 5 + before.agents_needed - 1, 3, 180, 0.9)
    assert one_less.predicted_sla_rate < 0.9  # the fewest
    levels = [nowcast(50, 900, 270, n, 3, 180).predicted_sla_rate for n in range(5, 12)]
    assert levels == sorted(levels)  # more agents never predict worse


# ---- the now-cast of the groups from the read side's figures ------------------------------------------------
MINUTE = 60_000


def row(agent: str, status: str, active: int) -> dict[str, Any]:
    return {"agent_id": agent, "status": status, "active_conversations": active}


def test_group_nowcasts_worked_by_hand() -> None:
    # presale: 45 new buyers in the last 15 minutes (λ = 3/min = 0.05/s), 30 active conversations:
    # h = 30 / 0.05 − 300 = 300 s, load 15 Erlang; 4 agents online, the busiest carries 10 → 40 servers.
    now = 100 * MINUTE
    buckets = {now - 14 * MINUTE: {"agents": {"A": {"new_consult": 30}}},
               now - MINUTE: {"agents": {"B": {"new_consult": 15}, "Z": {"new_consult": 7}}},
               now - 15 * MINUTE: {"agents": {"A": {"new_consult": 99}}}}  # older than 15 minutes
    rows = [row("A", "busy", 5), row("B", "online", 10), row("C", "online", 10), row("D", "busy", 5),
            row("E", "away", 0), row("Z", "online", 1)]
    groups = {"Z": "aftersale"}
    casts = group_nowcasts(buckets, rows, lambda a: groups.get(a, "presale"), now, 180, 300)
    presale = casts["presale"]
    assert presale["arrival_per_min"] == pytest.approx(3.0)
    assert presale["handle_s"] == pytest.approx(300.0)
    assert (presale["agents_online"], presale["concurrency"]) == (4, 10)
    assert presale["predicted_sla_rate"] == pytest.approx(service_level(15.0, 40, 300, 180))
    assert presale["agents_needed"] == agents_needed(15.0, 4, 10, 300, 180, 0.9)
    with_setting = group_nowcasts(buckets, rows, lambda a: groups.get(a, "presale"), now, 180, 300,
                                  max_concurrent=4)["presale"]
    assert with_setting["concurrency"] == 4
    assert with_setting["predicted_sla_rate"] == pytest.approx(service_level(15.0, 16, 300, 180))
    assert casts["aftersale"]["handle_s"] == MIN_HANDLE_S  # 1 active for 7/15 per minute: the floor


def test_adding_agents_to_a_simulated_midnight_surge_moves_the_estimate_the_right_way() -> None:
    """A simulated Double-11 start through the engine's own parts; then more agents come online."""
    events = list(itertools.islice(day_simulator(shop_id="s", agents=6, seed=5, day=date(2025, 11, 11)).events(),
                                   4000))
    now = max(e["ts"] for e in events)
    processors = {p: PartitionProcessor(p, 4, {}, StaticSettings(DEFAULT_SETTINGS), clock=lambda: 2**62)
                  for p in range(4)}
    agent_store: dict[str, bytes] = {}
    for offset, event in enumerate(events):
        if event["type"] == "agent.status":
            record = SourceRecord("agent-events", 0, offset, orjson.dumps(event))
            process_agent_events([record], 1, agent_store, now_ms=2**62)
            continue
        partition = partition_for(f"s|{event['buyer_id']}", 4)
        processors[partition].process([SourceRecord(topic_for_type(event["type"]), partition, offset,
                                                     orjson.dumps(event))])
    exports = [export_shop(p.tables.shop("s"), now, 600, DAY_MS) for p in processors.values()]
    live = merge_live([e.live for e in exports if e.live is not None])
    minutes: dict[int, list[Any]] = {}
    for export in exports:
        for minute, bucket in export.minutes.items():
            minutes.setdefault(minute, []).append(bucket)
    buckets = {m: merge_buckets(b) for m, b in minutes.items()}
    statuses = {key.partition("|")[2]: agent_state(raw) for key, raw in agent_store.items()}
    rows = live_view("s", live, statuses, set(), DEFAULT_SETTINGS, now)["agents"]

    def cast(extra: int) -> dict[str, Any]:
        more = [row(f"new-{i}", "online", 0) for i in range(extra)]
        return group_nowcasts(buckets, rows + more, lambda a: "presale", now, 180, 600, max_concurrent=3)["presale"]

    base = cast(0)
    assert base["arrival_per_min"] > 0 and base["agents_online"] > 0  # a surge with agents at work
    assert base["agents_needed"] > 0  # ... and too few of them for 3 chats each
    casts = [cast(extra) for extra in range(0, base["agents_needed"] + 2)]
    levels = [c["predicted_sla_rate"] for c in casts]
    assert levels == sorted(levels)  # every added agent predicts at least as well
    assert [c["agents_needed"] for c in casts] == [max(0, base["agents_needed"] - k) for k in range(len(casts))]
    assert casts[base["agents_needed"]]["predicted_sla_rate"] >= 0.9


def test_max_concurrent_setting_is_validated_and_reaches_the_live_view() -> None:
    from streams.core.errors import Invalid
    from streams.core.shop_settings import parse_settings
    from streams.core.snapshot import MergedLive

    assert parse_settings({}).max_concurrent is None
    assert parse_settings({"max_concurrent": 3}).max_concurrent == 3
    for bad in (0, 0.5, "3", True):
        with pytest.raises(Invalid, match="max_concurrent"):
            parse_settings({"max_concurrent": bad})
    shop = parse_settings({"max_concurrent": 2, "sla_s": 180})
    now = 100 * MINUTE
    buckets = {now - MINUTE: {"agents": {"A": {"new_consult": 30}}, "groups": {}, "team": {}}}
    view = live_view("s", MergedLive(), {"A": {"status": "online", "ts": 0}}, {"A"}, shop, now, buckets)
    assert view["groups"]["presale"]["concurrency"] == 2
    assert view["groups"]["presale"]["arrival_per_min"] == pytest.approx(2.0)
