"""Broker down: ingest answers 503 (never 202 for what it could not persist) and recovers by itself."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.client import Api

pytestmark = pytest.mark.integration


def test_unreachable_broker_gives_503_then_recovers(stack) -> None:
    api = Api(stack)
    shop = f"fault-{uuid.uuid4().hex[:8]}"

    def event(i: int) -> dict:
        return {"event_id": f"f{i}", "shop_id": shop, "type": "chat.message", "ts": int(time.time() * 1000),
                "buyer_id": "b", "agent_id": "A", "sender": "buyer"}

    stack.stop_kafka()
    try:
        response = api.ingest([event(1)])
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "unavailable"
        assert api.http.get("/readyz").status_code == 503
    finally:
        stack.start_kafka()
    stack.wait_for(lambda: api.http.get("/readyz").status_code == 200, timeout=60, what="readyz")
    stack.wait_for(lambda: api.ingest([event(2)]).status_code == 202, timeout=60, what="ingest back")
    api.wait_processed(shop, timeout=120)
    agents = api.get(shop, "agents")["agents"]
    assert agents[0]["buyer_messages"] == 1  # only the event that was accepted
