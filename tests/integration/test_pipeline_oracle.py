"""Random event logs through the real pipeline (ingest → Kafka → Faust → Redis → REST) equal the
independent batch oracle, for every figure: per agent, team, groups and live."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.client import Api, assert_same_figures

pytestmark = pytest.mark.integration
AGENTS = ["A", "B", "C"]
BUYERS = ["b1", "b2", "b3", "test-1"]
MINUTE = 60_000
# A base 15 minutes before a Shanghai midnight two days ago: logs straddle midnight, ts stay in the past.
_now = int(time.time() * 1000)
BASE = _now - (_now + 8 * 3_600_000) % 86_400_000 - 86_400_000 - 15 * MINUTE


@st.composite
def event_logs(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    shop = f"prop-{uuid.uuid4().hex[:10]}"
    count = draw(st.integers(1, 45))
    events: list[dict[str, Any]] = []
    for i in range(count):
        ts = BASE + draw(st.integers(0, 240)) * 10_000 + draw(st.sampled_from([0, 0, 0, 86_400_000]))
        buyer = draw(st.sampled_from(BUYERS))
        base = {"event_id": f"e{i}", "shop_id": shop, "ts": ts, "buyer_id": buyer}
        kind = draw(st.sampled_from(["buyer"] * 5 + ["agent"] * 4 + ["robot", "transfer", "rating", "created",
                                                                      "paid", "paid", "closed", "refunded",
                                                                      "status"]))
        order_id = draw(st.sampled_from(["o1", "o2", "o3"]))
        amount = draw(st.sampled_from([0, 9.9, 128, 1999.01]))
        if kind in ("buyer", "agent", "robot"):
            agent = draw(st.sampled_from(AGENTS)) if kind == "agent" else draw(st.sampled_from([None, *AGENTS]))
            events.append({**base, "type": "chat.message", "agent_id": agent, "sender": kind,
                           "text": draw(st.sampled_from(["在吗", "多少钱?", " 在吗 ", None]))})
        elif kind == "transfer":
            events.append({**base, "type": "chat.transfer", "from_agent": draw(st.sampled_from([None, *AGENTS])),
                           "to_agent": draw(st.sampled_from(AGENTS))})
        elif kind == "rating":
            events.append({**base, "type": "chat.rating", "agent_id": draw(st.sampled_from(AGENTS)),
                           "score": draw(st.integers(1, 5))})
        elif kind == "status":
            events.append({"event_id": f"e{i}", "shop_id": shop, "ts": ts, "type": "agent.status",
                           "agent_id": draw(st.sampled_from(AGENTS)),
                           "status": draw(st.sampled_from(["online", "busy", "away", "offline"]))})
        elif kind == "closed":
            events.append({**base, "type": "order.closed", "order_id": order_id})
        elif kind == "refunded":
            events.append({**base, "type": "order.refunded", "order_id": order_id, "amount": amount})
        else:
            events.append({**base, "type": f"order.{kind}", "order_id": order_id, "amount": amount,
                           "items": draw(st.integers(1, 3))})
    # Duplicate deliveries of some events, and arrival order unlike ts order.
    duplicates = draw(st.lists(st.sampled_from(events), max_size=4))
    arrival = draw(st.permutations(events + duplicates))
    shop_settings = {
        "slow_response_s": draw(st.sampled_from([30, 60])),
        "sla_s": draw(st.sampled_from([60, 180])),
        "inquiry_valid_days": draw(st.sampled_from([1, 2])),
        "attribution": draw(st.sampled_from(["order", "payment", "order_first"])),
        "filter_phrases": draw(st.sampled_from([[], ["在吗"]])),
        "filter_buyers": draw(st.sampled_from([[], ["test-1"]])),
        "groups": draw(st.sampled_from([{}, {"C": "aftersale"}])),
        "active_window_s": draw(st.sampled_from([300, 600])),
    }
    return arrival, shop_settings


@pytest.fixture(scope="module")
def api(stack) -> Api:
    return Api(stack)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(log=event_logs())
def test_pipeline_equals_oracle(api: Api, log: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    events, shop_settings = log
    shop = events[0]["shop_id"]
    api.put_settings(shop, shop_settings)
    response = api.ingest(events)
    assert response.status_code == 202 and not response.json()["rejected"], response.text
    api.wait_processed(shop)
    assert_same_figures(api, shop, events, shop_settings)
