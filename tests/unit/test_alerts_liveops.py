"""The live-operations alert kinds (issue 15): queue_waiting, queue_wait, agent_away, staffing.

Pure evaluation (streams/alerts/evaluate.py) in the style of test_alerts_evaluate.py, the rules'
scopes (streams/alerts/rules.py) and the webhook wording of a group subject (formats.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from streams.alerts.evaluate import ShopFigures, values_for
from streams.alerts.formats import describe_value, message_lines
from streams.alerts.rules import InvalidRules, parse_rules
from tests.unit.test_alerts_evaluate import SHOP, T0, Run, rule, states

WINDOW_MS = 600_000  # a queue wait's window (active_window_s of the queued event's settings)


def queued(*starts: int, window_ms: int = WINDOW_MS) -> list[list[Any]]:
    """Open queue waits as MergedLive.queue holds them: [start, day, window_ms, abandoned_counted]."""
    return [[start, "2023-11-14", window_ms, False] for start in starts]


# ---- queue_waiting -------------------------------------------------------------------------------------


def test_queue_waiting_fires_above_the_threshold_for_the_team_and_resolves() -> None:
    run = Run(rule("queue_waiting", 2, scope="team"))
    assert run.at(ShopFigures(T0, queue=queued(T0 - 2000, T0 - 1000))) == []  # 2 is not "above 2"
    fired = run.at(ShopFigures(T0 + 1000, queue=queued(T0 - 2000, T0 - 1000, T0)))
    assert states(fired) == [("r-queue_waiting", None, "firing")]
    assert fired[0]["value"] == 3 and fired[0]["alert_id"] == f"{SHOP}:r-queue_waiting:team:{T0 + 1000}"
    assert fired[0]["group"] is None
    # One buyer was transferred to a human: two left, resolved (clear_s 0) with the value now.
    resolved = run.at(ShopFigures(T0 + 2000, queue=queued(T0 - 2000, T0)))
    assert states(resolved) == [("r-queue_waiting", None, "resolved")] and resolved[0]["value"] == 2


def test_queue_waiting_counts_only_waits_within_their_window_and_is_due_when_one_is_abandoned() -> None:
    waits = queued(T0, T0 + 5000, T0 + 9000)
    assert values_for(rule("queue_waiting", 1, scope="team"), ShopFigures(T0 + WINDOW_MS, queue=waits)) == {"team": 3}
    # T0's wait is abandoned 1 ms after its window: queued_now drops without any new event.
    assert values_for(rule("queue_waiting", 1, scope="team"),
                      ShopFigures(T0 + WINDOW_MS + 1, queue=waits)) == {"team": 2}
    run = Run(rule("queue_waiting", 2, scope="team"))
    assert states(run.at(ShopFigures(T0 + 10_000, queue=waits))) == [("r-queue_waiting", None, "firing")]
    assert run.last.next_due_ms == T0 + WINDOW_MS + 1
    assert states(run.at(ShopFigures(T0 + WINDOW_MS + 1, queue=waits))) == [("r-queue_waiting", None, "resolved")]


# ---- queue_wait ----------------------------------------------------------------------------------------


def test_queue_wait_fires_on_the_clock_alone_while_the_buyer_still_queues() -> None:
    run = Run(rule("queue_wait", 120, scope="team"))
    waits = queued(T0, T0 + 30_000)
    # The buyer queued at T0; nothing new arrives. The runner is told when to look again ...
    assert run.at(ShopFigures(T0 + 40_000, queue=waits)) == []
    due = run.last.next_due_ms
    assert due == T0 + 120_001  # the oldest wait crosses "more than 120 s"
    assert run.at(ShopFigures(due - 1, queue=waits)) == []
    # ... and at that time the same facts fire, the buyer still queuing.
    fired = run.at(ShopFigures(due, queue=waits))
    assert states(fired) == [("r-queue_wait", None, "firing")]
    assert fired[0]["value"] == 120.001 and fired[0]["kind"] == "queue_wait"
    assert fired[0]["alert_id"] == f"{SHOP}:r-queue_wait:team:{due}"
    # The T0 buyer reaches a human: the longest wait is now the second one's (100 s): resolved.
    resolved = run.at(ShopFigures(T0 + 130_000, queue=queued(T0 + 30_000)))
    assert states(resolved) == [("r-queue_wait", None, "resolved")] and resolved[0]["value"] == 100.0


def test_queue_wait_resolves_when_the_wait_is_abandoned_and_never_fires_past_the_window() -> None:
    run = Run(rule("queue_wait", 60, scope="team"))
    waits = queued(T0, window_ms=100_000)
    assert states(run.at(ShopFigures(T0 + 61_000, queue=waits))) == [("r-queue_wait", None, "firing")]
    assert run.last.next_due_ms == T0 + 100_001  # abandoned: no longer queuing
    resolved = run.at(ShopFigures(T0 + 100_001, queue=waits))
    assert states(resolved) == [("r-queue_wait", None, "resolved")] and resolved[0]["value"] == 0
    # A threshold beyond the window: the wait is abandoned before it could cross it.
    late = Run(rule("queue_wait", 200, scope="team"))
    assert late.at(ShopFigures(T0 + 1000, queue=waits)) == []
    assert late.last.next_due_ms == T0 + 100_001  # only the abandonment, no crossing at T0 + 200 s


# ---- agent_away ----------------------------------------------------------------------------------------

GROUPS = {"A": "presale", "B": "presale", "C": "aftersale"}


def away(agent: str, since: int) -> dict[str, dict[str, Any]]:
    return {agent: {"status": "away", "ts": since}}


def test_agent_away_fires_only_while_buyers_of_the_group_wait() -> None:
    statuses = {**away("A", T0), "B": {"status": "online", "ts": T0 - 5000}, "C": {"status": "online", "ts": T0}}
    now = T0 + 600_000
    r = rule("agent_away", 300)
    # Nobody waits: away for 10 minutes, no value.
    assert values_for(r, ShopFigures(now, statuses=statuses, groups=GROUPS)) == {}
    # A buyer waits for C (aftersale): not A's group.
    assert values_for(r, ShopFigures(now, pending={"C": [now - 1000]}, statuses=statuses, groups=GROUPS)) == {}
    # A buyer waits for B, A's colleague in presale: A's away time counts.
    assert values_for(r, ShopFigures(now, pending={"B": [now - 1000]}, statuses=statuses, groups=GROUPS)) == {
        "A": 600.0}
    # A buyer queues for a human (the queue belongs to no group): counts too.
    assert values_for(r, ShopFigures(now, queue=queued(now - 1000), statuses=statuses, groups=GROUPS)) == {
        "A": 600.0}
    # An abandoned queue wait is nobody waiting.
    assert values_for(r, ShopFigures(now, queue=queued(now - WINDOW_MS - 1), statuses=statuses, groups=GROUPS)) == {}


def test_agent_away_fires_on_the_clock_alone_and_resolves_when_the_agent_is_back() -> None:
    run = Run(rule("agent_away", 300))
    waiting = {"B": [T0 + 10_000]}
    figures = dict(pending=waiting, statuses=away("A", T0), groups=GROUPS)
    assert run.at(ShopFigures(T0 + 20_000, **figures)) == []
    assert run.last.next_due_ms == T0 + 300_001  # A's away time crosses the threshold
    assert run.at(ShopFigures(T0 + 300_000, **figures)) == []  # exactly 300 s: not "more than"
    fired = run.at(ShopFigures(T0 + 300_001, **figures))
    assert states(fired) == [("r-agent_away", "A", "firing")]
    assert fired[0]["value"] == 300.001 and fired[0]["alert_id"] == f"{SHOP}:r-agent_away:A:{T0 + 300_001}"
    # A comes back online (the buyer still waits): resolved.
    back = dict(figures, statuses={"A": {"status": "online", "ts": T0 + 400_000}})
    resolved = run.at(ShopFigures(T0 + 400_000, **back))
    assert states(resolved) == [("r-agent_away", "A", "resolved")] and resolved[0]["value"] == 0


def test_agent_away_resolves_when_nobody_waits_any_more_and_team_takes_the_longest() -> None:
    run = Run(rule("agent_away", 60))
    statuses = {**away("A", T0), **away("B", T0 + 30_000)}
    fired = run.at(ShopFigures(T0 + 120_000, pending={"A": [T0 + 1000]}, statuses=statuses, groups=GROUPS))
    assert states(fired) == [("r-agent_away", "A", "firing"), ("r-agent_away", "B", "firing")]
    assert [t["value"] for t in fired] == [120.0, 90.0]
    resolved = run.at(ShopFigures(T0 + 121_000, statuses=statuses, groups=GROUPS))  # the buyer was served
    assert states(resolved) == [("r-agent_away", "A", "resolved"), ("r-agent_away", "B", "resolved")]
    team = Run(rule("agent_away", 60, scope="team"))
    fired = team.at(ShopFigures(T0 + 120_000, pending={"A": [T0 + 1000]}, statuses=statuses, groups=GROUPS))
    assert states(fired) == [("r-agent_away", None, "firing")] and fired[0]["value"] == 120.0


# ---- staffing ------------------------------------------------------------------------------------------


def test_staffing_fires_per_group_with_the_group_as_subject() -> None:
    run = Run(rule("staffing", 2, scope="group"))
    assert run.at(ShopFigures(T0, staffing={"presale": 2, "aftersale": 0})) == []  # 2 is not "above 2"
    fired = run.at(ShopFigures(T0 + 1000, staffing={"presale": 3, "aftersale": 1}))
    assert states(fired) == [("r-staffing", None, "firing")]
    alert = fired[0]
    assert alert["group"] == "presale" and alert["agent_id"] is None and alert["value"] == 3
    assert alert["alert_id"] == f"{SHOP}:r-staffing:presale:{T0 + 1000}"
    assert run.last.next_due_ms == T0 + 60_000  # the now-cast's arrival window slides each minute
    assert run.at(ShopFigures(T0 + 2000, staffing={"presale": 4, "aftersale": 1})) == []  # one alert while it holds
    resolved = run.at(ShopFigures(T0 + 60_000, staffing={"presale": 1, "aftersale": 1}))
    assert states(resolved) == [("r-staffing", None, "resolved")]
    assert resolved[0]["group"] == "presale" and resolved[0]["alert_id"] == alert["alert_id"]


def test_staffing_team_is_the_sum_over_the_groups() -> None:
    figures = ShopFigures(T0, staffing={"presale": 2, "aftersale": 1})
    assert values_for(rule("staffing", 2, scope="team"), figures) == {"team": 3}
    run = Run(rule("staffing", 2, scope="team"))
    fired = run.at(figures)
    assert states(fired) == [("r-staffing", None, "firing")] and fired[0]["group"] is None
    assert values_for(rule("staffing", 2, scope="team"), ShopFigures(T0)) == {}  # no now-cast: no value


# ---- rules and wording ---------------------------------------------------------------------------------


def test_scopes_default_per_kind_and_wrong_scopes_are_refused() -> None:
    rules = parse_rules({"rules": [{"id": "q", "kind": "queue_waiting", "threshold": 5},
                                   {"id": "w", "kind": "queue_wait", "threshold": 120},
                                   {"id": "a", "kind": "agent_away", "threshold": 300},
                                   {"id": "s", "kind": "staffing", "threshold": 0},
                                   {"id": "t", "kind": "staffing", "threshold": 2, "scope": "team"}]})
    assert [(r.kind, r.scope) for r in rules] == [("queue_waiting", "team"), ("queue_wait", "team"),
                                                  ("agent_away", "agent"), ("staffing", "group"),
                                                  ("staffing", "team")]
    for kind, scope in (("queue_waiting", "agent"), ("queue_wait", "agent"), ("agent_away", "group"),
                        ("staffing", "agent"), ("buyer_waiting", "group")):
        with pytest.raises(InvalidRules) as caught:
            parse_rules({"rules": [{"id": "x", "kind": kind, "threshold": 1, "scope": scope}]})
        assert caught.value.field == "rules[0].scope"


def test_chat_messages_name_the_group_and_the_units() -> None:
    alert = {"alert_id": f"{SHOP}:s:presale:{T0}", "rule_id": "s", "kind": "staffing", "shop_id": SHOP,
             "agent_id": None, "group": "presale", "state": "firing", "value": 3, "threshold": 2,
             "severity": "warning", "ts": T0, "window_s": 300}
    title, lines = message_lines(alert, "Asia/Shanghai")
    assert title == "【告警】人手不足"
    assert dict(lines)["对象"] == "分组 presale" and dict(lines)["条件"] == "需增派超过 2 人"
    assert describe_value("queue_wait", 125.0) == "125 秒" and describe_value("agent_away", 480.5) == "480.5 秒"
    assert describe_value("queue_waiting", 7) == "7 人"
