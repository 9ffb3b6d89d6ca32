"""Settings changes take effect exactly at the PUT's answer; with the simulator running, /agents,
/summary and /live move and agree with each other."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest

from tests.client import Api

pytestmark = pytest.mark.integration
SUMMED = ("buyer_messages", "agent_messages", "responses", "slow_responses", "ratings", "satisfied_ratings",
          "refunds", "sales_items")


@pytest.fixture(scope="module")
def api(stack) -> Api:
    return Api(stack)


def test_settings_put_is_in_force_for_every_later_event_and_rewrites_nothing(api: Api) -> None:
    shop = f"set-{uuid.uuid4().hex[:8]}"
    t = int(time.time() * 1000) - 600_000

    def hello(i: int, buyer: str) -> dict:
        return {"event_id": f"h{i}", "shop_id": shop, "type": "chat.message", "ts": t + i * 1000,
                "buyer_id": buyer, "agent_id": "A", "sender": "buyer", "text": "在吗"}

    assert api.ingest([hello(1, "b1")]).status_code == 202
    assert api.put_settings(shop, {"filter_phrases": ["在吗"]})["version"] == 1
    # Accepted right after the answer: filtered at once, whichever moment the worker processes it.
    assert api.ingest([hello(2, "b2")]).status_code == 202
    api.wait_processed(shop)
    row = api.get(shop, "agents")["agents"][0]
    assert (row["consult_buyers"], row["received_buyers"], row["filtered_buyers"]) == (2, 1, 1)
    bad = api.http.put(f"/api/v1/shops/{shop}/settings", json={"sla_s": -1},
                       headers={"Authorization": f"Bearer {api.stack.admin_token}"})
    assert bad.status_code == 422 and bad.json()["field"] == "sla_s"
    viewer = api.http.put(f"/api/v1/shops/{shop}/settings", json={},
                          headers={"Authorization": f"Bearer {api.stack.viewer_token}"})
    assert viewer.status_code == 403


def test_figures_move_and_agree_under_the_simulator(api: Api, stack) -> None:
    shop = f"sim-{uuid.uuid4().hex[:8]}"
    simulator = subprocess.Popen(
        [sys.executable, "-m", "streams.tools.simulator", "--sink", "http", "--url", stack.api_url, "--token",
         stack.ingest_token, "--shop", shop, "--rate", "150", "--duration", "12", "--quiet"])
    try:
        seen = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(seen) < 6:
            time.sleep(1)
            summary = api.get(shop, "summary")
            agents = api.get(shop, "agents", day=summary["day"])["agents"]
            live = api.get(shop, "live")
            team = summary["team"]
            if team["buyer_messages"] == 0:
                continue
            seen.append(team["buyer_messages"])
            # The views are read one after the other while events flow, so compare each with itself.
            for key in SUMMED:
                assert isinstance(team[key], int)
            for key in ("active_conversations", "waiting_buyers"):
                assert live["team"][key] == sum(a[key] for a in live["agents"])
            assert live["team"]["longest_wait_s"] == max((a["longest_wait_s"] for a in live["agents"]), default=0)
            assert {a["agent_id"] for a in agents} <= {a["agent_id"] for a in live["agents"]}
        assert len(seen) >= 3 and seen == sorted(seen) and seen[-1] > seen[0], seen
    finally:
        simulator.wait(timeout=30)
    api.wait_processed(shop)
    summary = api.get(shop, "summary")
    agents = api.get(shop, "agents", day=summary["day"])["agents"]
    for key in SUMMED:  # at rest, the team is exactly the sum of its agents
        assert summary["team"][key] == sum(a[key] for a in agents), key
    assert summary["team"]["sales"] == pytest.approx(sum(a["sales"] for a in agents))
