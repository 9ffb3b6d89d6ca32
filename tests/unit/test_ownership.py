"""Partition ownership in Redis (streams/readside/ownership.py): the union of what live workers publish is what
`/readyz?processing=true` requires to cover every source partition."""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

from streams.readside.keys import owner_key
from streams.readside.ownership import OWNER_TTL_S, OwnershipPublisher, owners_key, read_ownership, unowned, worker_id

TOPICS = ("chat-events", "order-events", "agent-events")


class FakeRedis:
    """The few async commands ownership uses; `expire(key)` plays a TTL running out."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.sets: dict[str, set[str]] = {}
        self.ttls: dict[str, int] = {}

    async def sadd(self, key: str, *members: str) -> None:
        self.sets.setdefault(key, set()).update(members)

    async def srem(self, key: str, *members: str) -> None:
        self.sets.get(key, set()).difference_update(members)

    async def smembers(self, key: str) -> set[bytes]:
        return {m.encode() for m in self.sets.get(key, set())}

    async def set(self, key: str, value: bytes, ex: int | None = None) -> None:
        self.values[key] = value
        if ex is not None:
            self.ttls[key] = ex

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        return [self.values.get(k) for k in keys]

    async def delete(self, key: str) -> None:
        self.values.pop(key, None)

    def expire(self, key: str) -> None:
        self.values.pop(key, None)

    def pipeline(self, transaction: bool = True) -> Any:
        redis, calls = self, []

        class Pipe:
            def __getattr__(self, name: str) -> Any:
                return lambda *args, **kwargs: calls.append(getattr(redis, name)(*args, **kwargs))

            async def execute(self) -> None:
                for call in calls:
                    await call

        return Pipe()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def owned(redis: FakeRedis, app: str = "app") -> dict[str, set[int]]:
    return run(read_ownership(redis, app)).partitions


def test_readiness_needs_every_partition_of_every_source_topic() -> None:
    redis = FakeRedis()
    one, two = OwnershipPublisher(redis, "app", "worker-1"), OwnershipPublisher(redis, "app", "worker-2")
    assert unowned(owned(redis), TOPICS, 4) == {t: [0, 1, 2, 3] for t in TOPICS}
    run(one.publish(True, {t: {0, 1} for t in TOPICS}))
    assert unowned(owned(redis), TOPICS, 4) == {t: [2, 3] for t in TOPICS}
    run(two.publish(True, {"chat-events": {2, 3}, "order-events": {2, 3}}))
    assert unowned(owned(redis), TOPICS, 4) == {"agent-events": [2, 3]}
    run(two.publish(True, {t: {2, 3} for t in TOPICS}))
    assert unowned(owned(redis), TOPICS, 4) == {}
    assert redis.ttls[next(k for k in redis.values if "worker-1" in k)] == OWNER_TTL_S


def test_a_withdrawn_or_expired_worker_no_longer_counts_and_is_pruned() -> None:
    redis = FakeRedis()
    one, two = OwnershipPublisher(redis, "app", "worker-1"), OwnershipPublisher(redis, "app", "worker-2")
    run(one.publish(True, {t: {0} for t in TOPICS}))
    run(two.publish(True, {t: {1} for t in TOPICS}))
    run(one.withdraw())  # a rebalance revoked its partitions
    assert owned(redis) == {t: {1} for t in TOPICS}
    assert redis.sets[owners_key("app")] == {two.worker_id}
    redis.expire(owner_key("app", two.worker_id))  # killed: its key ran out
    assert owned(redis) == {}
    assert redis.sets[owners_key("app")] == set()


def test_nothing_is_published_after_the_final_withdraw() -> None:
    redis = FakeRedis()
    worker = OwnershipPublisher(redis, "app", "worker-1")
    run(worker.publish(True, {t: {0} for t in TOPICS}))
    run(worker.withdraw(final=True))  # shutting down; a timer tick may still come
    run(worker.publish(True, {t: {0} for t in TOPICS}))
    assert owned(redis) == {}


def test_apps_and_processes_do_not_share_keys() -> None:
    redis = FakeRedis()
    run(OwnershipPublisher(redis, "bench", "worker-1").publish(True, {t: {0} for t in TOPICS}))
    assert owned(redis) == {}
    # Processes with the same label (every container is worker 1) keep their own keys: host and pid.
    assert worker_id("worker-1") == f"worker-1@{socket.gethostname()}:{os.getpid()}"


def test_only_workers_that_process_count() -> None:
    """A worker that has not joined yet, or is rebalancing, lists nothing and is not counted: `workers=n`
    then waits for it (a worker joining just after "ready" would rebalance the group)."""
    redis = FakeRedis()
    one, two = OwnershipPublisher(redis, "app", "worker-1"), OwnershipPublisher(redis, "app", "worker-2")
    run(one.publish(True, {t: {0, 1} for t in TOPICS}))
    run(two.publish(False, {t: {0, 1} for t in TOPICS}))  # assigned, tables not restored yet
    ownership = run(read_ownership(redis, "app"))
    assert ownership.ready_workers == 1 and ownership.partitions == {t: {0, 1} for t in TOPICS}
    run(one.publish(False, {t: {0} for t in TOPICS}))  # a rebalance started
    ownership = run(read_ownership(redis, "app"))
    assert ownership.ready_workers == 0 and ownership.partitions == {}
