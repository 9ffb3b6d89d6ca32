"""The demo looks like a real Double-11 team (issue 17) and moves every issue-14 figure.

Rates are measured with the engine (streams/tools/engine.py, the same code as the worker) over a
simulated big day with the demo shop's own settings, never with the simulator's counters; 当前接待 is
counted minute by minute from metrics.md's definition and checked against the engine at its peak.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from datetime import date, datetime
from typing import Any

import orjson
import pytest

from streams.tools.engine import compute_batch
from streams.tools.simulator import add_arguments, day_simulator, run
from streams.tools.simulator.demo import DEMO_SHOPS, parse_shops, shop_settings
from streams.tools.simulator.model import DAY, HISTORY_DAYS, HOUR, MAX_LOAD, MIN, SHANGHAI, day_bounds

BIG_DAY = date(2025, 11, 11)
START, END = day_bounds(BIG_DAY)
AGENTS, SEED = 12, 1
SETTINGS = shop_settings("demo-shop", AGENTS, SEED)
WINDOW_MS = 600_000  # metrics.md active_window_s default
Events = list[dict[str, Any]]


@pytest.fixture(scope="module")
def events() -> Events:
    return list(day_simulator(shop_id="demo-shop", agents=AGENTS, seed=SEED, day=BIG_DAY).events())


@pytest.fixture(scope="module")
def figures(events: Events) -> dict[str, Any]:
    return compute_batch(events, SETTINGS)


def _day(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, SHANGHAI).date().isoformat()


def test_conversion_and_response_rate_land_where_real_teams_report(figures: dict[str, Any]) -> None:
    team = figures["team"][BIG_DAY.isoformat()]
    assert 0.30 <= team["inquiry_pay_rate"] <= 0.55, team["inquiry_pay_rate"]
    assert 0.85 <= team["sla_rate"] <= 0.95, team["sla_rate"]
    assert team["sales"] > 0 and team["inquiry_buyers"] > 1000


def _active_per_minute(events: Events) -> tuple[int, int]:
    """(largest 当前接待 of any agent at any whole minute of the big day, that minute's epoch ms), counted
    as metrics.md defines it: buyers with a message routed to or sent by the agent (robots excluded)
    whose ts is within active_window_s before now."""
    messages = [e for e in events if e["type"] == "chat.message" and e["agent_id"] and e["sender"] != "robot"]
    last: dict[str, dict[str, int]] = defaultdict(dict)
    peak, peak_at, i = -1, START, 0
    for now in range(START, END, MIN):
        while i < len(messages) and messages[i]["ts"] <= now:
            last[messages[i]["agent_id"]][messages[i]["buyer_id"]] = messages[i]["ts"]
            i += 1
        for buyers in last.values():
            n = sum(ts >= now - WINDOW_MS for ts in buyers.values())
            if n > peak:
                peak, peak_at = n, now
    return peak, peak_at


def test_no_agent_ever_holds_more_than_the_cap(events: Events) -> None:
    peak, at = _active_per_minute(events)
    assert 10 <= peak <= MAX_LOAD, peak  # busy (the 00:00 rush) but never above 接待上限
    # The same moment through the engine: its 当前接待 agrees with the count above.
    live = compute_batch([e for e in events if e["ts"] <= at], SETTINGS, now_ms=at)["live"]["agents"]
    assert max(a["active_conversations"] for a in live.values()) == peak


def test_deposits_before_the_big_day_and_balances_in_its_first_hours(events: Events,
                                                                     figures: dict[str, Any]) -> None:
    before = [(START - d * DAY) for d in range(HISTORY_DAYS, 0, -1)]
    for day_start in before:
        team = figures["team"][_day(day_start)]
        assert team["deposit_buyers"] > 50 and team["deposit_amount"] > 0 and team["sales"] == 0
    big = figures["team"][BIG_DAY.isoformat()]
    assert big["deposit_buyers"] == 0  # the presale is over on the day
    deposits = {e["order_id"]: e for e in events if e["type"] == "order.deposit_paid"}
    balances = [e for e in events if e["type"] == "order.paid" and e["order_id"] in deposits]
    assert all(START <= e["ts"] < END for e in balances)
    early = sum(e["ts"] < START + 4 * HOUR for e in balances)
    assert 0.8 * len(deposits) < len(balances) < len(deposits) and early > 0.8 * len(balances)
    assert figures["live"]["team"]["balance_due_buyers"] > 0  # a few never pay


def test_every_issue_14_and_queue_figure_moves(figures: dict[str, Any]) -> None:
    team = figures["team"][BIG_DAY.isoformat()]
    for key in ("order_amount", "unpaid_buyers", "unpaid_amount", "silent_unpaid_buyers", "chased_buyers",
                "chase_paid_buyers", "chase_paid_amount", "followup_buyers", "assist_buyers", "assist_sales",
                "robot_buyers", "to_human_buyers", "queue_abandoned_buyers", "queue_wait_avg_s", "silent_sales",
                "lost_buyers", "refunds", "ratings"):
        assert team[key], key
    assert 0 < team["chase_success_rate"] < 1


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


async def test_demo_mode_back_fills_yesterday_and_today_then_goes_live(tmp_path: Any) -> None:
    out = tmp_path / "demo.ndjson"
    began = time.time() * 1000
    code = await run(_args("--mode", "demo", "--shops", "shop-a=4,shop-b=2", "--sink", "file", "--out", str(out),
                           "--duration", "3", "--quiet"))
    assert code == 0
    events = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    today = datetime.fromtimestamp(began / 1000, SHANGHAI).date()
    midnight, _ = day_bounds(today)
    assert {e["shop_id"] for e in events} == {"shop-a", "shop-b"}
    # the whole of yesterday (from its first minutes) and today up to now, then live events only
    assert min(e["ts"] for e in events if e["ts"] >= midnight - DAY) < midnight - DAY + 5 * MIN
    assert any(e["ts"] >= midnight - 2 * MIN for e in events) or began - midnight < 2 * MIN
    assert max(e["ts"] for e in events) <= time.time() * 1000
    assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)
    history = [e for e in events if e["ts"] < midnight - DAY]
    assert history and {e["type"] for e in history} >= {"order.deposit_paid"}


def test_demo_shops_are_one_setting_of_several_sizes() -> None:
    shops = parse_shops(DEMO_SHOPS)
    assert shops[0] == ("demo-shop", 12) and 3 <= len(shops) <= 5
    assert len({agents for _, agents in shops}) == len(shops)
    assert parse_shops("a,b=3,c") == [("a", 12), ("b", 3), ("c", 6)]  # plain ids: sizes by position
    with pytest.raises(ValueError):
        parse_shops("a=0")
    with pytest.raises(ValueError):
        parse_shops("a=2,a=3")


def test_the_small_jd_store_keeps_service_hours_and_real_rates() -> None:
    """The smallest demo shop (4 agents, JD's 09:00–23:00): night messages are 留言 (after_hours_buyers),
    and a small team still lands in the ranges (a slow agent weighs more in a team of four)."""
    shops = parse_shops(DEMO_SHOPS)
    index = [shop for shop, _ in shops].index("demo-jd")
    shop, agents = shops[index]
    settings = shop_settings(shop, agents, SEED + index)
    assert settings["service_hours"] == {"start": "09:00", "end": "23:00"}
    events = list(day_simulator(shop_id=shop, agents=agents, seed=SEED + index, day=BIG_DAY).events())
    team = compute_batch(events, settings)["team"][BIG_DAY.isoformat()]
    assert team["after_hours_buyers"] > 50
    assert 0.30 <= team["inquiry_pay_rate"] <= 0.55 and 0.85 <= team["sla_rate"] <= 0.95, team
