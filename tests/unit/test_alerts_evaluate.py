"""Pure alert evaluation (streams/alerts/evaluate.py): every kind, subjects, hysteresis, ids, due times."""

from __future__ import annotations

from typing import Any

import pytest

from streams.alerts.evaluate import ShopFigures, evaluate, slow_count, values_for, window_minutes
from streams.alerts.rules import AlertRule
from streams.core.clock import MINUTE_MS
from streams.core.facts import TimelineEvent, derive
from streams.core.scopes import SCOPE_AGENT_MINUTE
from streams.core.shop_settings import DEFAULT_SETTINGS

SHOP = "s1"
T0 = 1_700_000_000_000 - 1_700_000_000_000 % MINUTE_MS  # a minute boundary


def rule(kind: str, threshold: float, **kw: Any) -> AlertRule:
    kw.setdefault("clear_s", 0)
    return AlertRule(kw.pop("id", f"r-{kind}"), kind, threshold, **kw)


class Run:
    """Evaluations in sequence, carrying the state as the runner does (seq bumped per commit)."""

    def __init__(self, *rules: AlertRule, version: int = 1) -> None:
        self.rules = list(rules)
        self.version = version
        self.state: dict[str, Any] = {"seq": 0, "firing": {}, "pending": {}}
        self.last: Any = None

    def at(self, figures: ShopFigures) -> list[dict[str, Any]]:
        result = evaluate(SHOP, self.rules, self.version, figures, self.state)
        self.last = result
        if result.changed:
            self.state = {**result.state, "seq": self.state["seq"] + 1}
        return result.transitions


def states(transitions: list[dict[str, Any]]) -> list[tuple[str, str | None, str]]:
    return [(t["rule_id"], t["agent_id"], t["state"]) for t in transitions]


# ---- buyer_waiting -------------------------------------------------------------------------------------


def test_buyer_waiting_fires_while_waiting_and_resolves_after_the_reply() -> None:
    run = Run(rule("buyer_waiting", 60, clear_s=30))
    waiting = {"A": [T0]}
    assert run.at(ShopFigures(T0 + 60_000, pending=waiting)) == []  # exactly 60 s: not "more than"
    fired = run.at(ShopFigures(T0 + 61_000, pending=waiting))
    assert states(fired) == [("r-buyer_waiting", "A", "firing")]
    alert = fired[0]
    assert alert["alert_id"] == f"{SHOP}:r-buyer_waiting:A:{T0 + 61_000}"
    assert alert["value"] == 61.0 and alert["threshold"] == 60 and alert["ts"] == T0 + 61_000
    assert alert["kind"] == "buyer_waiting" and alert["severity"] == "warning" and alert["shop_id"] == SHOP
    assert run.at(ShopFigures(T0 + 200_000, pending=waiting)) == []  # one alert while it holds
    # Replied at +210 s: nobody waits; resolved only after clear_s (30 s) of clear.
    assert run.at(ShopFigures(T0 + 210_000, pending={})) == []
    assert run.last.next_due_ms == T0 + 240_000
    assert run.at(ShopFigures(T0 + 239_999, pending={})) == []
    resolved = run.at(ShopFigures(T0 + 240_000, pending={}))
    assert states(resolved) == [("r-buyer_waiting", "A", "resolved")]
    assert resolved[0]["alert_id"] == alert["alert_id"] and resolved[0]["value"] == 0
    assert run.state["firing"] == {}
    assert run.at(ShopFigures(T0 + 300_000, pending={})) == []


def test_buyer_waiting_uses_the_oldest_clock_per_agent_and_the_longest_for_the_team() -> None:
    figures = ShopFigures(T0 + 100_000, pending={"A": [T0 + 50_000, T0 + 10_000], "B": [T0 + 95_000]})
    assert values_for(rule("buyer_waiting", 60), figures) == {"A": 90.0, "B": 5.0}
    assert values_for(rule("buyer_waiting", 60, scope="team"), figures) == {"team": 90.0}
    run = Run(rule("buyer_waiting", 60, scope="team"))
    fired = run.at(figures)
    assert states(fired) == [("r-buyer_waiting", None, "firing")]
    assert fired[0]["alert_id"] == f"{SHOP}:r-buyer_waiting:team:{T0 + 100_000}"


def test_buyer_waiting_due_time_is_the_threshold_crossing() -> None:
    run = Run(rule("buyer_waiting", 60))
    assert run.at(ShopFigures(T0 + 5_000, pending={"A": [T0], "B": [T0 + 3_000]})) == []
    assert run.last.next_due_ms == T0 + 60_001  # the first moment A has waited more than 60 s
    assert states(run.at(ShopFigures(T0 + 60_001, pending={"A": [T0], "B": [T0 + 3_000]}))) == [
        ("r-buyer_waiting", "A", "firing")]
    assert run.last.next_due_ms == T0 + 63_001  # B next; A already fires


def test_flapping_value_keeps_one_alert_firing() -> None:
    run = Run(rule("waiting_buyers", 2, clear_s=30))
    fired: list = []
    for i in range(20):  # 3, 2, 3, 2, ... buyers every 5 s: over, under, over, ...
        pending = {"A": [T0] * (3 if i % 2 == 0 else 2)}
        fired += run.at(ShopFigures(T0 + i * 5_000, pending=pending))
    assert states(fired) == [("r-waiting_buyers", "A", "firing")]
    # Clear since the last sample (+95 s, 2 buyers): resolved 30 s later, once.
    assert run.at(ShopFigures(T0 + 124_999, pending={"A": [T0]})) == []
    resolved = run.at(ShopFigures(T0 + 125_000, pending={"A": [T0]}))
    assert states(resolved) == [("r-waiting_buyers", "A", "resolved")]
    assert run.at(ShopFigures(T0 + 200_000, pending={"A": [T0]})) == []


def test_for_s_delays_firing_until_the_condition_held_that_long() -> None:
    run = Run(rule("waiting_buyers", 0, for_s=20))
    assert run.at(ShopFigures(T0, pending={"A": [T0]})) == []
    assert run.last.next_due_ms == T0 + 20_000
    assert run.at(ShopFigures(T0 + 10_000, pending={"A": [T0]})) == []
    assert run.at(ShopFigures(T0 + 15_000, pending={})) == []  # broke off: starts over
    assert run.at(ShopFigures(T0 + 16_000, pending={"A": [T0]})) == []
    assert run.at(ShopFigures(T0 + 35_999, pending={"A": [T0]})) == []
    fired = run.at(ShopFigures(T0 + 36_000, pending={"A": [T0]}))
    assert states(fired) == [("r-waiting_buyers", "A", "firing")]
    assert fired[0]["alert_id"].endswith(f":A:{T0 + 36_000}")


# ---- live load kinds ------------------------------------------------------------------------------------


def test_waiting_buyers_per_agent_and_team() -> None:
    figures = ShopFigures(T0, pending={"A": [T0, T0, T0], "B": [T0, T0]})
    assert values_for(rule("waiting_buyers", 2), figures) == {"A": 3, "B": 2}
    assert values_for(rule("waiting_buyers", 2, scope="team"), figures) == {"team": 5}
    assert states(Run(rule("waiting_buyers", 2)).at(figures)) == [("r-waiting_buyers", "A", "firing")]
    assert states(Run(rule("waiting_buyers", 4, scope="team")).at(figures)) == [("r-waiting_buyers", None, "firing")]


def test_active_conversations_counts_activity_within_the_active_window() -> None:
    now = T0 + 1_000_000
    activity = {"A": [now - 10_000, now - 599_000, now - 601_000], "B": [now - 1_000]}
    figures = ShopFigures(now, activity=activity, active_window_s=600)
    assert values_for(rule("active_conversations", 1), figures) == {"A": 2, "B": 1}
    assert values_for(rule("active_conversations", 1, scope="team"), figures) == {"team": 3}
    run = Run(rule("active_conversations", 1))
    assert states(run.at(figures)) == [("r-active_conversations", "A", "firing")]
    assert run.last.next_due_ms == now - 599_000 + 600_001  # when one of A's conversations goes inactive
    resolved = run.at(ShopFigures(now + 2_000, activity=activity, active_window_s=600))
    assert states(resolved) == [("r-active_conversations", "A", "resolved")] and resolved[0]["value"] == 1


# ---- window kinds ---------------------------------------------------------------------------------------


def minute(agent_counters: dict[str, dict[str, int]]) -> dict[str, Any]:
    team: dict[str, int] = {}
    for counters in agent_counters.values():
        for name, value in counters.items():
            team[name] = team.get(name, 0) + value
    return {"agents": agent_counters, "team": team}


def test_window_minutes_are_whole_minutes_ending_with_the_current_one() -> None:
    now = T0 + 30_000
    assert window_minutes(now, 300) == [T0 - 4 * MINUTE_MS + i * MINUTE_MS for i in range(5)]
    assert window_minutes(now, 90) == [T0 - MINUTE_MS, T0]
    assert window_minutes(now, 60) == [T0]


def test_avg_response_over_the_window() -> None:
    minutes = {
        T0 - 10 * MINUTE_MS: minute({"A": {"responses": 1, "response_ms": 900_000}}),  # outside a 5-min window
        T0 - 2 * MINUTE_MS: minute({"A": {"responses": 2, "response_ms": 100_000}, "B": {"responses": 1,
                                                                                         "response_ms": 5_000}}),
        T0: minute({"A": {"responses": 2, "response_ms": 60_000}}),
    }
    figures = ShopFigures(T0 + 1_000, minutes=minutes)
    r = rule("avg_response", 30, window_s=300)
    assert values_for(r, figures) == {"A": 40.0, "B": 5.0}
    assert values_for(rule("avg_response", 30, window_s=300, scope="team"), figures) == {"team": 165_000 / 5 / 1000}
    run = Run(r)
    fired = run.at(figures)
    assert states(fired) == [("r-avg_response", "A", "firing")] and fired[0]["value"] == 40.0
    assert run.last.next_due_ms == T0 + MINUTE_MS  # the window slides
    # Eight minutes later the window holds nothing: no value → clear → resolved (clear_s 0), value None.
    resolved = run.at(ShopFigures(T0 + 8 * MINUTE_MS, minutes=minutes))
    assert states(resolved) == [("r-avg_response", "A", "resolved")] and resolved[0]["value"] is None


@pytest.mark.parametrize(("counters", "threshold", "expected"), [
    ({"responses": 3, "response_ms": 400_000, "slow": 2}, 60, 2),  # threshold = slow_response_s: exact
    ({"responses": 1, "response_ms": 95_000, "slow": 1}, 90, 1),  # one response: exact
    ({"responses": 1, "response_ms": 85_000, "slow": 1}, 90, 0),
    ({"responses": 5, "response_ms": 250_000, "slow": 0}, 90, 0),  # none above 60 s, so none above 90
    ({"responses": 3, "response_ms": 330_000, "slow": 1}, 90, 1),  # 2×≤60 s leave ≥ 210 s for the slow one
    ({"responses": 3, "response_ms": 200_000, "slow": 1}, 90, 0),  # could be 60+60+80: unknown → not claimed
    ({"responses": 4, "response_ms": 100_000, "slow": 2}, 30, 2),  # above 60 s is above 30 s
    ({"responses": 2, "response_ms": 70_000, "slow": 0}, 30, 1),  # mean 35 s > 30 s
    ({"responses": 2, "response_ms": 50_000, "slow": 0}, 30, 0),
    ({}, 30, 0),
])
def test_slow_count_is_exact_or_a_lower_bound(counters: dict, threshold: float, expected: int) -> None:
    assert slow_count(counters, threshold, 60) == expected


def test_slow_response_fires_on_a_slow_response_in_the_window_and_resolves_when_it_left() -> None:
    minutes = {T0: minute({"A": {"responses": 2, "response_ms": 100_000, "slow": 1},
                           "B": {"responses": 3, "response_ms": 30_000}})}
    run = Run(rule("slow_response", 60, window_s=300))
    fired = run.at(ShopFigures(T0 + 10_000, minutes=minutes, slow_response_s=60))
    assert states(fired) == [("r-slow_response", "A", "firing")] and fired[0]["value"] == 1
    assert run.at(ShopFigures(T0 + 4 * MINUTE_MS, minutes=minutes)) == []  # still in the window
    resolved = run.at(ShopFigures(T0 + 5 * MINUTE_MS, minutes=minutes))
    assert states(resolved) == [("r-slow_response", "A", "resolved")] and resolved[0]["value"] is None
    team = Run(rule("slow_response", 60, window_s=300, scope="team"))
    assert states(team.at(ShopFigures(T0 + 10_000, minutes=minutes))) == [("r-slow_response", None, "firing")]


def test_sla_rate_counts_decided_outcomes_and_unanswered_clocks_that_ran_out() -> None:
    now = T0 + 30_000
    minutes = {T0 - MINUTE_MS: minute({"A": {"sla_buyers": 4, "sla_met": 4}, "B": {"sla_buyers": 2, "sla_met": 1}}),
               T0 - 20 * MINUTE_MS: minute({"B": {"sla_buyers": 5, "sla_met": 0}})}  # outside 15 minutes
    aged = [["A", T0 - 2 * MINUTE_MS, 1], ["B", T0 - 30 * MINUTE_MS, 3]]  # B's: outside the window
    open_sla = [["A", "d", "presale", now - 181_000, 180_000],  # ran out 1 s ago: missed
                ["B", "d", "presale", now - 170_000, 180_000]]  # still running: not counted
    figures = ShopFigures(now, minutes=minutes, aged_minutes=aged, open_sla=open_sla)
    r = rule("sla_rate", 0.9, window_s=900)
    assert values_for(r, figures) == {"A": 4 / 6, "B": 1 / 2}
    assert values_for(rule("sla_rate", 0.9, window_s=900, scope="team"), figures) == {"team": 5 / 8}
    run = Run(r)
    assert states(run.at(figures)) == [("r-sla_rate", "A", "firing"), ("r-sla_rate", "B", "firing")]
    assert run.last.next_due_ms == now - 170_000 + 180_001  # B's clock runs out before the next minute
    assert values_for(r, ShopFigures(now)) == {}  # no outcome in the window: no value, no alert


def test_sla_outcomes_land_in_the_minute_they_were_decided() -> None:
    def event(ts: int, kind: str, seq: int) -> TimelineEvent:
        return TimelineEvent(ts, seq, kind, 0, "2023-11-15", False, "A", None, False, 0, 0)

    met = derive([event(T0, "buyer", 1), event(T0 + 150_000, "agent", 2)], lambda v: DEFAULT_SETTINGS)
    assert met.counters[(SCOPE_AGENT_MINUTE, T0 + 2 * MINUTE_MS, "A")]["sla_buyers"] == 1  # decided at the reply
    assert met.counters[(SCOPE_AGENT_MINUTE, T0 + 2 * MINUTE_MS, "A")]["sla_met"] == 1
    late = derive([event(T0, "buyer", 1), event(T0 + 400_000, "agent", 2)], lambda v: DEFAULT_SETTINGS)
    # missed when the 180 s ran out
    assert late.counters[(SCOPE_AGENT_MINUTE, T0 + 3 * MINUTE_MS, "A")].get("sla_met", 0) == 0
    assert late.counters[(SCOPE_AGENT_MINUTE, T0 + 3 * MINUTE_MS, "A")]["sla_buyers"] == 1


# ---- rule changes, determinism ---------------------------------------------------------------------------


def test_removed_rule_resolves_its_alerts_at_once_with_the_fired_version() -> None:
    run = Run(rule("waiting_buyers", 0, clear_s=300), version=3)
    assert len(run.at(ShopFigures(T0, pending={"A": [T0]}))) == 1
    run.rules, run.version = [], 4
    resolved = run.at(ShopFigures(T0 + 1_000, pending={"A": [T0]}))
    assert states(resolved) == [("r-waiting_buyers", "A", "resolved")]
    assert resolved[0]["rules_version"] == 3 and resolved[0]["value"] is None
    assert run.state["firing"] == {}


def test_changed_threshold_keeps_the_alert_and_a_changed_scope_resolves_it() -> None:
    run = Run(rule("waiting_buyers", 0))
    fired = run.at(ShopFigures(T0, pending={"A": [T0, T0]}))
    run.rules = [rule("waiting_buyers", 1)]
    assert run.at(ShopFigures(T0 + 1_000, pending={"A": [T0, T0]})) == []
    run.rules = [rule("waiting_buyers", 1, scope="team")]
    changed = run.at(ShopFigures(T0 + 2_000, pending={"A": [T0, T0]}))
    assert [(t["agent_id"], t["state"], t["alert_id"]) for t in changed] == [
        ("A", "resolved", fired[0]["alert_id"]), (None, "firing", f"{SHOP}:r-waiting_buyers:team:{T0 + 2_000}")]


def test_evaluation_is_deterministic_and_idempotent() -> None:
    figures = ShopFigures(T0 + 100_000, pending={"A": [T0], "B": [T0 + 90_000]})
    rules = [rule("buyer_waiting", 60), rule("waiting_buyers", 0, scope="team")]
    state = {"seq": 7, "firing": {}, "pending": {}}
    first = evaluate(SHOP, rules, 2, figures, state)
    second = evaluate(SHOP, rules, 2, figures, state)
    assert first.transitions == second.transitions and first.state == second.state
    again = evaluate(SHOP, rules, 2, figures, first.state)  # the same "now" once committed: nothing new
    assert again.transitions == [] and not again.changed
