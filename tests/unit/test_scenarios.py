"""Hand-worked scenarios (tests/scenarios.py) against the batch oracle and the streaming engine."""

from __future__ import annotations

import pytest

from streams.tools import engine
from tests.oracle import AGENT_TIME_KEYS, PER_AGENT_KEYS, compute
from tests.scenarios import SCENARIOS, assert_matches

_IDS = [s["name"] for s in SCENARIOS]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=_IDS)
def test_oracle_matches_hand_worked_scenario(scenario: dict) -> None:
    result = compute(scenario["events"], scenario["settings"], scenario["now_ms"])
    assert_matches(result, scenario["expect"], scenario["name"])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=_IDS)
def test_engine_matches_hand_worked_scenario(scenario: dict) -> None:
    result = engine.compute_batch(scenario["events"], scenario["settings"], scenario["now_ms"])
    assert_matches(result, scenario["expect"], scenario["name"])


def _arrival_can_matter(events: list[dict]) -> bool:
    """Whether the spec leaves any figure of this log to arrival order: a repeated event id (the first
    arrival counts), or two events of one buyer (or agent) with equal `ts` that the buyer-message-first
    rule does not order (two buyer messages, or two other events)."""
    ids = [(e["shop_id"], e["event_id"]) for e in events]
    if len(ids) != len(set(ids)):
        return True
    seen = set()
    for e in events:
        owner = ("buyer", e["buyer_id"]) if "buyer_id" in e else ("agent", e["agent_id"])
        key = (e["shop_id"], owner, e["ts"], e["type"] == "chat.message" and e.get("sender") == "buyer")
        if key in seen:
            return True
        seen.add(key)
    return False


ORDER_FREE = [s for s in SCENARIOS if not _arrival_can_matter(s["events"])]


def test_most_scenarios_are_order_free() -> None:
    assert len(ORDER_FREE) >= len(SCENARIOS) - 3, [s["name"] for s in SCENARIOS if s not in ORDER_FREE]


@pytest.mark.parametrize("scenario", ORDER_FREE, ids=[s["name"] for s in ORDER_FREE])
@pytest.mark.parametrize("compute_figures", [compute, engine.compute_batch], ids=["oracle", "engine"])
def test_arrival_order_changes_no_figure(scenario: dict, compute_figures) -> None:
    """Reversed and rotated arrival give the same figures (metrics.md: arrival order never changes a figure)."""
    events = scenario["events"]
    forward = compute_figures(events, scenario["settings"], scenario["now_ms"])
    for arrival in (list(reversed(events)), events[len(events) // 2:] + events[:len(events) // 2]):
        assert compute_figures(arrival, scenario["settings"], scenario["now_ms"]) == forward


def test_scenarios_cover_every_per_agent_key() -> None:
    checked: set[str] = set()
    for s in SCENARIOS:
        for per_day in s["expect"].get("agents", {}).values():
            for figures in per_day.values():
                checked |= set(figures)
    assert set(PER_AGENT_KEYS + AGENT_TIME_KEYS) - checked == set()
