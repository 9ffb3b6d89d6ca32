"""No message text in any Kafka topic after processing (events.md: text is "used only for the filter rules;
never stored past processing"), on the real stack, and the filter-phrase figures still right.

Chat messages with text go through ingest (filter phrases among them); a bad event with text and bytes
that are not JSON go straight onto `chat-events` (ingest rejects bad events itself, so only a direct
producer can make dead letters), and so does a good event with a filter phrase. Then every record of
every topic is read: the text is only in the records the test itself produced straight to Kafka.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.core.topics import CHAT_EVENTS, DEAD_LETTERS, partition_for
from tests.client import Api

pytestmark = pytest.mark.integration


def chat(shop: str, buyer: str, text: str, sender: str = "buyer", ts: int | None = None) -> dict:
    return {"event_id": uuid.uuid4().hex, "shop_id": shop, "type": "chat.message",
            "ts": ts or int(time.time() * 1000) - 60_000, "buyer_id": buyer, "agent_id": "A", "sender": sender,
            "text": text}


async def produce_direct(stack, records: list[tuple[bytes, str]], partitions: int) -> set[tuple[str, int, int]]:
    """(value, key) records straight onto chat-events (partition by key); their (topic, partition, offset)."""
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    try:
        positions = set()
        for value, key in records:
            meta = await producer.send_and_wait(CHAT_EVENTS, value, key=key.encode(),
                                                partition=partition_for(key, partitions))
            positions.add((meta.topic, meta.partition, meta.offset))
        return positions
    finally:
        await producer.stop()


async def read_every_topic(stack) -> list[tuple[str, int, int, bytes]]:
    """Every record (topic, partition, offset, value) of every topic of the stack's broker, from the start."""
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)  # partitions_for: the topic's metadata
    await consumer.start()
    await producer.start()
    try:
        tps = [TopicPartition(topic, p) for topic in sorted(await consumer.topics()) if not topic.startswith("__")
               for p in await producer.partitions_for(topic)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[tuple[str, int, int, bytes]] = []
        remaining = {tp for tp in tps if ends[tp] > 0}
        deadline = time.monotonic() + 60
        while remaining and time.monotonic() < deadline:
            for tp, batch in (await consumer.getmany(*remaining, timeout_ms=500)).items():
                records += [(tp.topic, tp.partition, r.offset, r.value or b"") for r in batch]
                if batch and batch[-1].offset + 1 >= ends[tp]:
                    remaining.discard(tp)
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        assert not remaining, f"could not read {remaining} to their end"
        return records
    finally:
        await consumer.stop()
        await producer.stop()


def test_topics_hold_no_message_text_and_filter_figures_are_right(stack) -> None:
    api = Api(stack)
    run = uuid.uuid4().hex[:8]
    shop = f"text-{run}"
    partitions = int(stack.process_env().get("KEFU_PARTITIONS", "8"))
    phrase, question, reply = f"在吗{run}", f"有货吗{run}", f"有的亲{run}"
    dead_text, garbage_text = f"dead-{run}", f"garbage-{run}"
    api.put_settings(shop, {"filter_phrases": [phrase]})

    ts = int(time.time() * 1000) - 60_000
    through_ingest = [
        chat(shop, "b1", phrase, ts=ts),  # only a filter phrase: filtered
        chat(shop, "b2", f"  {phrase} ", ts=ts),  # trimmed, a filter phrase too, then a real question
        chat(shop, "b2", question, ts=ts + 1000),
        chat(shop, "b2", reply, sender="agent", ts=ts + 5000),
    ]
    response = api.ingest(through_ingest)
    assert response.status_code == 202 and response.json()["rejected"] == [], response.text
    bad = {**chat(shop, "b9", dead_text, ts=ts), "sender": "customer"}
    assert api.ingest([bad]).json()["rejected"][0]["field"] == "sender"  # ingest never produces it

    direct_event = chat(shop, "b3", phrase, ts=ts)  # straight to Kafka with its text: filtered from the text
    direct = asyncio.run(produce_direct(stack, [
        (orjson.dumps(direct_event), f"{shop}|b3"),
        (orjson.dumps([bad]), f"{shop}|b9"),
        (f'{{"shop_id": "{shop}", "text": "{garbage_text}"'.encode(), f"{shop}|b9"),  # cut short: not JSON
    ], partitions))

    day = datetime.fromtimestamp(ts / 1000, ZoneInfo("Asia/Shanghai")).date().isoformat()
    deadline = time.monotonic() + 30
    while True:
        agents = api.get(shop, "agents", day=day)["agents"]
        if agents and agents[0]["consult_buyers"] == 3 and agents[0]["responses"] == 1:
            break
        assert time.monotonic() < deadline, f"figures not complete: {agents}"
        time.sleep(0.2)
    (agent,) = agents
    assert (agent["consult_buyers"], agent["received_buyers"], agent["filtered_buyers"]) == (3, 1, 2), agent

    deadline = time.monotonic() + 30
    while True:  # the two dead letters are written after the batch that met them
        records = asyncio.run(read_every_topic(stack))
        letters = [orjson.loads(value) for topic, _, _, value in records if topic == DEAD_LETTERS]
        mine = [d for d in letters if (d["topic"], d["partition"], d["offset"]) in direct]
        if len(mine) == 2:
            break
        assert time.monotonic() < deadline, f"dead letters missing: {mine}"
        time.sleep(0.5)

    texts = [phrase, question, reply, dead_text, garbage_text]
    holding_text = [(topic, partition, offset) for topic, partition, offset, value in records
                    if any(text.encode() in value for text in texts)]
    assert set(holding_text) <= direct, f"message text kept in {sorted(set(holding_text) - direct)}"
    # What ingest produced for this shop: every chat message, with its flag and without its text.
    produced = [event for topic, partition, offset, value in records
                if topic == CHAT_EVENTS and (topic, partition, offset) not in direct and shop.encode() in value
                for event in orjson.loads(value)]
    assert sorted((e["buyer_id"], e["filter_phrase"]) for e in produced) == \
        [("b1", True), ("b2", False), ("b2", False), ("b2", True)]
    assert all("text" not in e for e in produced)
    assert sorted(d["reason"].split(":")[0] for d in mine) == ["not valid JSON", "sender"]
    assert all(d["value_bytes"] > 0 for d in mine)
