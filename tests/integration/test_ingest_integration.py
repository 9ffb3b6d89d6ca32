"""The real stack end to end: ingest → Kafka → Faust worker → Redis → REST; bad input and dead letters."""

from __future__ import annotations

import asyncio
import time
import uuid

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.core.topics import CHAT_EVENTS, DEAD_LETTERS, partition_for
from tests.client import Api

pytestmark = pytest.mark.integration


def now_ms() -> int:
    return int(time.time() * 1000)


def message(shop: str, event_id: str, ts: int, buyer: str = "b1", agent: str | None = "A",
            sender: str = "buyer") -> dict:
    return {"event_id": event_id, "shop_id": shop, "type": "chat.message", "ts": ts, "buyer_id": buyer,
            "agent_id": agent, "sender": sender, "text": "在吗?"}


@pytest.fixture
def api(stack) -> Api:
    return Api(stack)


def test_accepted_events_reach_the_worker_and_the_figures(api: Api) -> None:
    shop = f"it-{uuid.uuid4().hex[:8]}"
    t = now_ms() - 60_000
    events = [message(shop, "e1", t), message(shop, "e2", t + 12_000, sender="agent"),
              {"event_id": "e3", "shop_id": shop, "type": "agent.status", "ts": t, "agent_id": "A",
               "status": "busy"}]
    response = api.ingest(events)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 3, "rejected": []}
    lag = api.wait_processed(shop)
    assert lag["watermark"] == t + 12_000
    agents = api.get(shop, "agents")["agents"]
    assert [(a["agent_id"], a["responses"], a["avg_response_s"]) for a in agents] == [("A", 1, 12.0)]
    live = api.get(shop, "live")
    assert live["agents"][0]["status"] == "busy"
    # The same events again (a client retry) change nothing.
    assert api.ingest(events).status_code == 202
    api.wait_processed(shop)
    assert api.get(shop, "agents")["agents"][0]["responses"] == 1


def test_bad_event_is_rejected_with_index_and_field(api: Api) -> None:
    shop = f"it-{uuid.uuid4().hex[:8]}"
    good = message(shop, "g1", now_ms())
    bad = {**message(shop, "g2", now_ms()), "sender": "customer"}
    response = api.ingest([good, bad])
    assert response.status_code == 202
    assert response.json()["rejected"] == [{"index": 1, "field": "sender", "error": "must be buyer, agent or robot"}]
    atomic = api.ingest([message(shop, "g3", now_ms()), bad], atomic=True)
    assert atomic.status_code == 422
    assert atomic.json()["accepted"] == 0 and atomic.json()["rejected"][0]["field"] == "sender"
    api.wait_processed(shop)
    assert api.get(shop, "agents")["agents"][0]["buyer_messages"] == 1  # g3 was not accepted


@pytest.mark.parametrize(("headers", "body", "status"), [
    ({"Content-Type": "text/plain"}, b"[]", 415),
    ({"Content-Type": "application/json"}, b"[{", 400),
    ({"Content-Type": "application/x-ndjson"}, b'{"a": 1}\n{oops', 400),
])
def test_malformed_requests(api: Api, headers: dict, body: bytes, status: int) -> None:
    response = api.http.post("/api/v1/events", content=body,
                             headers={"Authorization": f"Bearer {api.stack.ingest_token}", **headers})
    assert response.status_code == status
    assert set(response.json()) >= {"error", "message"}


def test_auth(api: Api) -> None:
    assert api.ingest([], token="nope").status_code == 401
    response = api.http.get("/api/v1/shops/x/live")
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"
    # An ingest token cannot read.
    response = api.http.get("/api/v1/shops/x/live", headers={"Authorization": f"Bearer {api.stack.ingest_token}"})
    assert response.status_code == 403


def test_body_over_the_limit_is_413(api: Api) -> None:
    response = api.ingest(None, raw=b"[" + b" " * (6 * 1024 * 1024) + b"]")
    assert response.status_code == 413


def test_garbage_on_kafka_goes_to_dead_letters(stack, api: Api) -> None:
    shop = f"dl-{uuid.uuid4().hex[:8]}"
    key = f"{shop}|b1"
    partitions = int(stack.process_env().get("KEFU_PARTITIONS", "8"))
    right = partition_for(key, partitions)
    wrong = (right + 1) % partitions
    marker = uuid.uuid4().hex

    async def scenario() -> list[dict]:
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
        await producer.start()
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest")
        await consumer.start()
        try:
            tp = TopicPartition(DEAD_LETTERS, 0)
            consumer.assign([tp])
            start = (await consumer.end_offsets([tp]))[tp]
            consumer.seek(tp, start)
            # Found by position: a dead letter keeps no bytes that are not JSON (they may hold message text).
            garbage = await producer.send_and_wait(CHAT_EVENTS, f"not json {marker}".encode(), partition=right)
            # An envelope with one good event and one whose key belongs to another partition.
            good = message(shop, f"ok-{marker}", now_ms())
            misplaced = message(shop, f"bad-{marker}", now_ms(), buyer="b1")
            envelope = await producer.send_and_wait(CHAT_EVENTS, orjson.dumps([misplaced]), partition=wrong)
            bad_positions = {(garbage.partition, garbage.offset), (envelope.partition, envelope.offset)}
            await producer.send_and_wait(CHAT_EVENTS, orjson.dumps([good]), key=key.encode(), partition=right)
            found: list[dict] = []
            deadline = time.monotonic() + 30
            while len(found) < 2 and time.monotonic() < deadline:
                batch = await consumer.getmany(tp, timeout_ms=500)
                for record in batch.get(tp, []):
                    letter = orjson.loads(record.value)
                    if (letter["partition"], letter["offset"]) in bad_positions:
                        found.append(letter)
            return found
        finally:
            await producer.stop()
            await consumer.stop()

    letters = asyncio.run(scenario())
    reasons = sorted(letter["reason"] for letter in letters)
    assert len(letters) == 2, letters
    assert reasons[0].startswith("key ") and "belongs to partition" in reasons[0]
    assert reasons[1].startswith("not valid JSON")
    assert all({"topic", "partition", "offset", "value", "value_bytes"} <= set(letter) for letter in letters)
    assert [letter["value"] is None for letter in sorted(letters, key=lambda d: d["reason"])] == [False, True]
    # The good event of that shop was processed all the same (it came straight to Kafka: no /lag).
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        agents = api.get(shop, "agents")["agents"]
        if agents and agents[0]["buyer_messages"] == 1:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"the good event did not reach the figures: {api.get(shop, 'agents')}")
