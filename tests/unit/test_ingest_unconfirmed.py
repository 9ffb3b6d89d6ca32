"""Ingest's 503 when Kafka fails: some of the request's records may be in Kafka all the same, so the
answer says the request was not confirmed and is to be resent (the copies are recognised by event_id),
never that nothing was accepted; no event of it counts as accepted."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.main import create_app
from api.publisher import KafkaUnavailable
from streams.config import Config


class NoSettingsRedis:
    """Redis with no settings versions stored (every shop on the defaults)."""

    def pipeline(self, transaction: bool = True) -> NoSettingsRedis:
        self.queued = 0
        return self

    def get(self, key: str) -> None:
        self.queued += 1

    async def execute(self) -> list[None]:
        return [None] * self.queued


class FailingPublisher:
    async def publish(self, items: list[Any]) -> None:
        raise KafkaUnavailable("broker down")

    async def reset(self) -> None:
        pass


def test_kafka_failure_asks_to_resend_and_counts_nothing() -> None:
    config = Config(ingest_token="tok", kafka_port=1, redis_port=1)
    with TestClient(create_app(config)) as client:
        state = client.app.state.kefu
        state.redis, state.publisher = NoSettingsRedis(), FailingPublisher()
        event = {"event_id": "e1", "shop_id": "s1", "type": "order.created", "ts": 1_700_000_000_000,
                 "buyer_id": "b1", "order_id": "o1", "amount": 10, "items": 1}
        response = client.post("/api/v1/events", json=[event], headers={"Authorization": "Bearer tok"})
        assert response.status_code == 503
        body = response.json()
        assert body["error"] == "unavailable"
        assert "nothing was accepted" not in body["message"]
        assert "not confirmed" in body["message"] and "resend" in body["message"]
        assert "event_id" in body["message"]
        assert state.counters.ingest_events_accepted == 0
