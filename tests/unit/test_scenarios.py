"""Hand-worked scenarios (tests/scenarios.py) against the batch oracle and the streaming engine."""

from __future__ import annotations

import pytest

from tests.oracle import AGENT_TIME_KEYS, PER_AGENT_KEYS, compute
from tests.scenarios import SCENARIOS, assert_matches

_IDS = [s["name"] for s in SCENARIOS]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=_IDS)
def test_oracle_matches_hand_worked_scenario(scenario: dict) -> None:
    result = compute(scenario["events"], scenario["settings"], scenario["now_ms"])
    assert_matches(result, scenario["expect"], scenario["name"])


@pytest.mark.parametrize("scenario", SCENARIOS, ids=_IDS)
def test_engine_matches_hand_worked_scenario(scenario: dict) -> None:
    engine = pytest.importorskip("streams.tools.engine")
    result = engine.compute_batch(scenario["events"], scenario["settings"], scenario["now_ms"])
    assert_matches(result, scenario["expect"], scenario["name"])


def _has_duplicate_ids(events: list[dict]) -> bool:
    ids = [(e["shop_id"], e["event_id"]) for e in events]
    return len(ids) != len(set(ids))


def _has_equal_ts_within_a_buyer(events: list[dict]) -> bool:
    seen = set()
    for e in events:
        key = (e.get("buyer_id"), e["ts"]) if "buyer_id" in e else ("agent", e["agent_id"], e["ts"])
        if key in seen:
            return True
        seen.add(key)
    return False


@pytest.mark.parametrize("scenario", SCENARIOS, ids=_IDS)
def test_oracle_ignores_arrival_order(scenario: dict) -> None:
    """Reversing the arrival order changes no figure (when no ties or duplicates make order matter)."""
    events = scenario["events"]
    if _has_duplicate_ids(events) or _has_equal_ts_within_a_buyer(events):
        pytest.skip("arrival order matters for duplicates and equal ts")
    forward = compute(events, scenario["settings"], scenario["now_ms"])
    backward = compute(list(reversed(events)), scenario["settings"], scenario["now_ms"])
    assert forward == backward


def test_scenarios_cover_every_per_agent_key() -> None:
    checked: set[str] = set()
    for s in SCENARIOS:
        for per_day in s["expect"].get("agents", {}).values():
            for figures in per_day.values():
                checked |= set(figures)
    assert set(PER_AGENT_KEYS + AGENT_TIME_KEYS) - checked == set()
