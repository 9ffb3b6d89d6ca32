"""Retention through the real worker (streams/core/retention.py, docs/reliability.md "Retention"): buyers idle
for longer than the horizon expire once the shop's event time has moved on; their final records and the
deletes go to the buyers changelog as one record batch (streams/worker/app.py write_expiry); a worker
restored from that changelog alone (its local state removed) serves the same figures, equal to the
oracle's for every day, the expired buyers' day included."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from streams.core.topics import BUYER_TABLE
from streams.readside.keys import shop_key
from tests.client import Api, assert_same_figures
from tests.stack import LocalStack

pytestmark = pytest.mark.integration

DAY_MS = 86_400_000
NOW = int(time.time() * 1000) - 3600_000  # an hour ago: event time of the recent traffic
OLD = NOW - 5 * DAY_MS  # beyond the horizon: inquiry_valid_days (2) + 1 days


def conversation(shop: str, buyer: str, ts: int) -> list[dict[str, Any]]:
    """A buyer asks, the agent answers: nothing of it stays open."""
    return [{"event_id": f"{buyer}-q", "shop_id": shop, "type": "chat.message", "ts": ts, "buyer_id": buyer,
             "agent_id": "A", "sender": "buyer"},
            {"event_id": f"{buyer}-a", "shop_id": shop, "type": "chat.message", "ts": ts + 20_000,
             "buyer_id": buyer, "agent_id": "A", "sender": "agent"}]


async def deleted_keys(stack: LocalStack, prefix: str) -> set[str]:
    """Keys starting with `prefix` whose last message on the buyers changelog is a delete."""
    topic = f"{stack.env.get('KEFU_APP_ID', 'kefu-pulse')}-{BUYER_TABLE}-changelog"
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    try:
        last: dict[str, bytes | None] = {}
        while batch := await consumer.getmany(timeout_ms=1000):
            for records in batch.values():
                for record in records:
                    key = record.key.decode()
                    if key.startswith(prefix):
                        last[key] = record.value
        return {key for key, value in last.items() if value is None}
    finally:
        await consumer.stop()


def forget_exports(stack: LocalStack, shop: str) -> None:
    """Delete the shop's figures the workers exported to Redis (not its accepted count, settings, rules)."""
    client = stack.redis_client()
    try:
        for pattern in (f"{shop_key(shop, 'p')}*", f"{shop_key(shop, 'ap')}*"):
            for key in list(client.scan_iter(match=pattern)):
                client.delete(key)
    finally:
        client.close()


def test_idle_buyers_expire_and_a_restore_from_the_changelog_serves_the_same_figures(stack: LocalStack) -> None:
    api = Api(stack)
    shop = f"ret-{uuid.uuid4().hex[:8]}"
    old = [event for i in range(40) for event in conversation(shop, f"old{i}", OLD + i * 60_000)]
    recent = [event for i in range(40) for event in conversation(shop, f"new{i}", NOW + i * 1000)]
    assert api.ingest(old).status_code == 202
    api.wait_processed(shop, timeout=120)
    assert api.ingest(recent).status_code == 202
    api.wait_processed(shop, timeout=120)
    events = old + recent
    # Each partition sweeps after a batch, at most every 5 s: keep recent traffic coming until every old
    # buyer's delete is on the changelog.
    old_keys = {f"{shop}|old{i}" for i in range(40)}
    deadline, round_ = time.monotonic() + 300, 0  # a sweep pass over the shared stack's other shops too
    while not old_keys <= asyncio.run(deleted_keys(stack, f"{shop}|")):
        assert time.monotonic() < deadline, "old buyers not expired within 300 s"
        round_ += 1
        trickle = [event for i in range(8) for event in conversation(shop, f"t{round_}-{i}", NOW + 60_000 + round_)]
        assert api.ingest(trickle).status_code == 202
        events += trickle
        time.sleep(2)
    api.wait_processed(shop, timeout=120)
    assert asyncio.run(deleted_keys(stack, f"{shop}|new")) == set()  # recent buyers are kept
    assert_same_figures(api, shop, events, None)

    stack.kill_worker(1)
    for state in stack.data_dir.glob("faust-*-worker-1"):
        shutil.rmtree(state)  # restored from the changelog alone: final records, deletes, kept records
    forget_exports(stack, shop)  # what is served next comes from the restored worker
    assert api.get(shop, "lag")["processed_events"] == 0
    stack.start_worker(1)
    api.wait_processed(shop, timeout=120)
    lag = api.get(shop, "lag")
    assert lag["processed_events"] == lag["accepted_events"] == len(events)
    assert_same_figures(api, shop, events, None)
