"""The worker's export of agent statuses (streams/worker/exporter.py): each status entry carries the
agent's status history (agent time is derived from it at read time), so only changed agents are written,
and everything again when Redis lost what was written."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from streams.config import Config
from streams.core.processor import SourceRecord, process_agent_events
from streams.worker.exporter import AgentPartition, Exporter

T = 1_794_362_400_000


class FakePipeline:
    def __init__(self, redis: FakeRedis) -> None:
        self.redis = redis

    def hset(self, key: str, mapping: dict[str, bytes]) -> None:
        self.redis.hashes.append(mapping)

    def set(self, key: str, value: bytes) -> None:
        pass

    # No sadd or publish: a Redis Cluster pipeline cannot carry PUBLISH, nor a key of another slot.

    async def execute(self) -> None:
        pass


class FakeRedis:
    def __init__(self) -> None:
        self.hashes: list[dict[str, bytes]] = []
        self.kept = True

    async def exists(self, key: str) -> int:
        return int(self.kept)

    async def set(self, key: str, value: bytes, ex: int) -> None:
        self.kept = True

    async def sadd(self, key: str, value: str) -> None:
        pass

    async def publish(self, channel: str, message: bytes) -> None:
        pass

    def pipeline(self, transaction: bool) -> FakePipeline:
        return FakePipeline(self)


def status(event_id: str, agent: str, ts: int, value: str, offset: int) -> SourceRecord:
    return SourceRecord("agent-events", 0, offset, orjson.dumps({
        "event_id": event_id, "shop_id": "s", "type": "agent.status", "ts": ts, "agent_id": agent,
        "status": value}))


def test_only_changed_agents_are_written_with_their_history() -> None:
    redis = FakeRedis()
    exporter = Exporter(redis, Config(), settings=None)  # type: ignore[arg-type]  # statuses need no settings
    partition = AgentPartition()
    store: dict[str, bytes] = {}

    def apply(*records: SourceRecord) -> None:
        for key, value in process_agent_events(list(records), 1, store).changed.items():
            partition.update(key, value)

    apply(status("1", "A", T, "online", 0), status("2", "B", T, "online", 1))
    asyncio.run(exporter.export({}, {0: partition}))
    assert set(redis.hashes[-1]) == {"A", "B"}
    apply(status("3", "A", T + 60_000, "away", 2))
    asyncio.run(exporter.export({}, {0: partition}))
    written: dict[str, Any] = {k: orjson.loads(v) for k, v in redis.hashes[-1].items()}
    assert written == {"A": {"status": "away", "ts": T + 60_000,
                             "history": [[T, "online"], [T + 60_000, "away"]]}}
    redis.kept = False  # Redis restarted empty: every agent again
    exporter._marker_checked = 0.0
    asyncio.run(exporter.export({}, {0: partition}))
    assert set(redis.hashes[-1]) == {"A", "B"}
