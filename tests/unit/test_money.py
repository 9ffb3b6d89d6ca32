"""The Double-11 money settings and the incremental fold with presale / chase traffic (streams/core/money.py).

The figures themselves are checked against hand-worked scenarios (tests/scenarios.py, "Double-11 money")
and against the oracle on random logs (tests/unit/test_edge_rules.py)."""

from __future__ import annotations

import itertools
from typing import Any

import orjson
import pytest

from streams.core.shop_settings import InvalidSettings, parse_settings
from streams.tools.engine import compute_batch
from tests import oracle
from tests.scenarios import SCENARIOS


def test_followup_not_lost_defaults_to_off_validates_and_round_trips() -> None:
    assert parse_settings({}).followup_not_lost is False
    shop = parse_settings({"followup_not_lost": True})
    assert shop.followup_not_lost is True
    assert parse_settings(orjson.loads(orjson.dumps(shop.to_json()))) == shop
    for bad in (1, "true", None):
        with pytest.raises(InvalidSettings) as error:
            parse_settings({"followup_not_lost": bad})
        assert error.value.field == "followup_not_lost"


def _scenario(name: str) -> dict[str, Any]:
    return next(s for s in SCENARIOS if s["name"] == name)


@pytest.mark.parametrize("name", ["unpaid_orders_and_chases", "presale_deposit_then_balance_payment",
                                  "followup_not_lost_on", "assist_credit", "balance_paid_today_payment",
                                  "balance_paid_today_order_first", "order_created_after_its_payment_or_deposit"])
def test_every_rotation_of_the_arrival_order_gives_the_same_money_figures(name: str) -> None:
    """Late events land before folded ones (the fold refolds) or after (it resumes): same figures,
    equal to the oracle's."""
    scenario = _scenario(name)
    events = scenario["events"]
    want = oracle.compute(events, scenario["settings"])
    for start in range(0, len(events), 3):
        arrival = events[start:] + events[:start]
        got = compute_batch(arrival, scenario["settings"])
        for part in ("agents", "team", "groups"):
            assert got[part] == want[part] or _close(got[part], want[part]), (name, start, part)


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) < 1e-9
    return a == b


def test_a_late_deposit_turns_a_payment_already_counted_into_a_balance() -> None:
    """尾款 is the order.paid of an order with a deposit: a deposit arriving after its balance (late, with
    an earlier ts) moves the payment into balance_paid_* (and, silent, silent_balance_paid_amount); the
    sales stay as they were."""
    from tests.scenarios import buyer, created, deposit, paid, t

    chat, order = buyer(t(10, 0, day=10), "b1", "a1"), created(t(10, 5, day=10), "b1", "o1", 300)
    balance, late_deposit = paid(t(0, 20), "b1", "o1", 300), deposit(t(10, 6, day=10), "b1", "o1", 50)
    silent = paid(t(9, 0), "b2", "o2", 120), deposit(t(8, 0, day=1), "b2", "o2", 12)
    before = compute_batch([chat, order, balance, silent[0]])
    after = compute_batch([chat, order, balance, silent[0], late_deposit, silent[1]])
    a1_before, a1_after = before["agents"]["2026-11-11"]["a1"], after["agents"]["2026-11-11"]["a1"]
    assert (a1_before["balance_paid_buyers"], a1_before["balance_paid_amount"]) == (0, 0.0)
    assert (a1_after["balance_paid_buyers"], a1_after["balance_paid_amount"]) == (1, 300.0)
    assert a1_before["sales"] == a1_after["sales"] == 300.0
    team_before, team_after = before["team"]["2026-11-11"], after["team"]["2026-11-11"]
    assert (team_before["silent_balance_paid_amount"], team_after["silent_balance_paid_amount"]) == (0.0, 120.0)
    assert team_before["silent_sales"] == team_after["silent_sales"] == 120.0


def test_a_payment_arriving_before_its_chase_still_ends_the_chase_window() -> None:
    """The chase at 10:20 and the payment at 10:30 arrive payment first: still one chase, recovered."""
    scenario = _scenario("unpaid_orders_and_chases")
    events = [e for e in scenario["events"] if e["buyer_id"] == "b1"]
    for arrival in itertools.permutations(events):
        a1 = compute_batch(list(arrival))["agents"]["2026-11-11"]["a1"]
        assert (a1["chased_buyers"], a1["chase_paid_buyers"], a1["chase_paid_amount"]) == (1, 1, 100.0)


def test_the_unpaid_orders_list_sorts_oldest_or_largest_first_and_ages_with_now() -> None:
    from streams.core.snapshot import MergedLive
    from streams.core.views import unpaid_orders_view

    live = MergedLive(unpaid_orders=[["b1", "o1", "A", 2_000, 500, 0], ["b2", "o2", "", 1_000, 100, 1],
                                     ["b3", "o3", "B", 2_000, 900, 1]])
    by_age = unpaid_orders_view("s", live, 62_000, "age")
    assert [r["order_id"] for r in by_age["orders"]] == ["o2", "o3", "o1"]  # at one age the larger first
    assert by_age["orders"][0] == {"order_id": "o2", "buyer_id": "b2", "order_agent": None, "created_ts": 1_000,
                                   "age_s": 61.0, "amount": 1.0, "chased": True}
    assert (by_age["total"], by_age["total_amount"]) == (3, 15.0)
    by_amount = unpaid_orders_view("s", live, 62_000, "amount", limit=2)
    assert [r["order_id"] for r in by_amount["orders"]] == ["o3", "o1"] and by_amount["total"] == 3
    with pytest.raises(ValueError):
        unpaid_orders_view("s", live, 0, "name")


def test_a_message_with_the_same_ts_as_an_order_event_reads_the_same_in_either_arrival_order() -> None:
    """Chats and orders travel on two topics, so which of an equal-ts pair arrives first is not defined:
    the order event counts first. At the creation ts the message chases the order (and, under
    followup_not_lost, is no contact for the creation); at the payment ts it chases nothing."""
    from tests.scenarios import agent, buyer, created, paid, t

    base = [buyer(t(10), "b1", "a1"), created(t(10, 5), "b1", "o1", 100)]
    at_creation = agent(t(10, 5), "b1", "a2")
    pay = paid(t(10, 30), "b1", "o1", 100)
    at_payment = agent(t(10, 30), "b1", "a3")
    settings = {"followup_not_lost": True}
    results = [compute_batch(base[:1] + pair_a + pair_b, settings)
               for pair_a in ([base[1], at_creation], [at_creation, base[1]])
               for pair_b in ([pay, at_payment], [at_payment, pay])]
    for result in results:
        day = result["agents"]["2026-11-11"]
        assert day["a2"]["chased_buyers"] == 1 and day["a2"]["chase_paid_amount"] == 100.0
        assert day.get("a3", {}).get("chased_buyers", 0) == 0
        assert day["a1"]["order_amount"] == 100.0  # a2's message at the creation ts is no contact for it
        assert result == results[0]
