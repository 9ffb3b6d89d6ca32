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

    # A broker restart of a running system: the worker has joined its group and processes events.
    # (A Kafka restart in the very first seconds of a worker's start-up can leave it with no partitions;
    # see docs/reliability.md.)
    warm_up = f"warm-{uuid.uuid4().hex[:8]}"
    assert api.ingest([{**event(0), "shop_id": warm_up}]).status_code == 202
    api.wait_processed(warm_up, timeout=120)
    stack.stop_kafka()
    try:
        response = api.ingest([event(1)])
        assert response.status_code == 503, response.text
        assert response.json()["error"] == "unavailable"
        assert api.http.get("/readyz").status_code == 503
    finally:
        stack.start_kafka()
    stack.wait_for(lambda: api.http.get("/readyz").status_code == 200, timeout=60, what="readyz")
    # The client retries what got 503 (same event ids). An event answered 503 may still have reached
    # Kafka (the broker went away before acking); the retry is then a duplicate and counts once.
    stack.wait_for(lambda: api.ingest([event(1), event(2)]).status_code == 202, timeout=60, what="ingest back")
    api.wait_processed(shop, timeout=120)
    agents = api.get(shop, "agents")["agents"]
    assert agents[0]["buyer_messages"] == 2  # nothing lost, nothing doubled


def test_redis_restart_and_loss_recover_by_themselves(stack) -> None:
    """Redis down: ingest 503 (it cannot stamp settings), screens' data comes back; Redis emptied:
    the workers notice and export every figure again from their state."""
    import redis as redis_client

    api = Api(stack)
    shop = f"redis-{uuid.uuid4().hex[:8]}"
    t = int(time.time() * 1000) - 60_000
    events = [{"event_id": f"r{i}", "shop_id": shop, "type": "chat.message", "ts": t + i, "buyer_id": f"b{i}",
               "agent_id": "A", "sender": "buyer"} for i in range(5)]
    assert api.ingest(events).status_code == 202
    api.wait_processed(shop)
    stack.stop_redis()
    try:
        assert api.ingest(events).status_code == 503
        assert api.http.get("/readyz").status_code == 503
    finally:
        stack.start_redis()
    stack.wait_for(lambda: api.http.get("/readyz").status_code == 200, timeout=60, what="readyz after Redis")
    assert api.get(shop, "agents")["agents"][0]["consult_buyers"] == 5  # appendonly: nothing lost

    redis_client.Redis.from_url(stack.redis_url).flushall()

    def consult_buyers() -> int:
        agents = api.http.get(f"/api/v1/shops/{shop}/agents", headers={
            "Authorization": f"Bearer {stack.viewer_token}"}).json()["agents"]
        return agents[0]["consult_buyers"] if agents else 0

    # Every partition's figures come back (the 5 buyers live in several partitions).
    stack.wait_for(lambda: consult_buyers() == 5, timeout=30, what="full re-export")


def test_api_restart_under_websocket_clients(stack) -> None:
    import asyncio

    import orjson
    import websockets

    api = Api(stack)
    shop = f"ws-{uuid.uuid4().hex[:8]}"
    ingested = api.ingest([{"event_id": "w1", "shop_id": shop, "type": "chat.message",
                            "ts": int(time.time() * 1000), "buyer_id": "b", "agent_id": "A", "sender": "buyer"}])
    assert ingested.status_code == 202
    api.wait_processed(shop)
    url = stack.api_url.replace("http", "ws", 1) + f"/api/v1/shops/{shop}/stream?token={stack.viewer_token}"

    async def first_frame() -> dict:
        async with websockets.connect(url, open_timeout=10) as ws:
            return orjson.loads(await asyncio.wait_for(ws.recv(), 10))

    async def closed_by_restart() -> bool:
        """The connection is closed within 15 s of the API's stop. Frames the API sent before it closed
        (the waiting buyer's screens age: a frame every 0.5 s or so) may still be read first."""
        async with websockets.connect(url, open_timeout=10) as ws:
            await ws.recv()
            await asyncio.to_thread(stack.stop_api, 1)
            try:
                async with asyncio.timeout(15):
                    async for _ in ws:  # ends at a clean close, raises at another
                        pass
            except websockets.ConnectionClosed:
                return True
            except TimeoutError:
                return False
            return True

    assert asyncio.run(first_frame())["type"] == "snapshot"
    try:
        assert asyncio.run(closed_by_restart())
    finally:
        stack.start_api(1)
    frame = asyncio.run(first_frame())  # a client reconnecting gets the complete state at once
    assert frame["type"] == "snapshot" and frame["team"]["buyer_messages"] == 1
