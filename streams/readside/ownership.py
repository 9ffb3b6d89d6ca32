"""Which source partitions the workers process now, published in Redis: what "ready" waits for.

Kafka and Redis being reachable does not mean events are processed: a worker that just started has
not joined its consumer group, been assigned its partitions or restored its tables yet (measured: the
first event after `make up` took 2.3 s to reach the screens, the next ones 0.18 s). So each worker
process publishes whether it processes (joined, tables restored, no rebalance under way) and which
partitions, and `/readyz?processing=true` answers 200 only when they cover every partition of every
source topic; `&workers=n` also wants n workers processing (`make up` and the tests' stack ask for
all they started: a worker joining later would rebalance the group just after "ready").

Keys (per Faust app id, so the benchmark's app beside a developer's never mixes with it):

  kefu:{app}:owners           set of worker ids that published (pruned by readers when their key is gone)
  kefu:{app}:owner:{worker}   JSON {"worker": label, "ready": bool, "partitions": {topic: [partition, ...]}},
                              TTL OWNER_TTL_S

Invariants:
- a worker is ready, and lists partitions, only while Faust processes them: its table recovery ended
  and no rebalance is under way (`streams/worker/app.py` decides; this module only stores and reads);
- a worker withdraws its key when a rebalance revokes partitions and when it shuts down, and refreshes
  it every PUBLISH_INTERVAL_S; a worker killed with SIGKILL vanishes after at most OWNER_TTL_S, so a
  dead worker's partitions never count as processed for longer than that.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from streams.readside.keys import owner_key, owners_key

PUBLISH_INTERVAL_S = 0.5
OWNER_TTL_S = 5


def worker_id(label: str) -> str:
    """Unique per process: containers all run worker index 1, restarts must not inherit a dead key."""
    return f"{label}@{socket.gethostname()}:{os.getpid()}"


class OwnershipPublisher:
    """A worker's side: `publish` the partitions it processes now, `withdraw` them (async Redis client)."""

    def __init__(self, redis: Any, app_id: str, label: str) -> None:
        self.redis = redis
        self.app_id = app_id
        self.label = label
        self.worker_id = worker_id(label)
        self.closed = False  # after the final withdraw (shutdown) nothing is published again

    async def publish(self, ready: bool, partitions: Mapping[str, Iterable[int]]) -> None:
        if self.closed:
            return
        document = orjson.dumps({"worker": self.label, "ready": ready,
                                 "partitions": {topic: sorted(ps) for topic, ps in partitions.items()} if ready
                                 else {}})
        pipe = self.redis.pipeline(transaction=True)
        pipe.sadd(owners_key(self.app_id), self.worker_id)
        pipe.set(owner_key(self.app_id, self.worker_id), document, ex=OWNER_TTL_S)
        await pipe.execute()

    async def withdraw(self, final: bool = False) -> None:
        self.closed = self.closed or final
        await self.redis.delete(owner_key(self.app_id, self.worker_id))


@dataclass
class Ownership:
    """What the live workers published: partitions processed per topic (their union) and how many
    workers are processing (ready), whether they own partitions or not."""

    partitions: dict[str, set[int]] = field(default_factory=dict)
    ready_workers: int = 0


async def read_ownership(redis: Any, app_id: str) -> Ownership:
    """The union of what every live worker published (async Redis client)."""
    ids = sorted(member.decode() if isinstance(member, bytes) else member
                 for member in await redis.smembers(owners_key(app_id)))
    ownership = Ownership()
    if not ids:
        return ownership
    documents = await redis.mget([owner_key(app_id, i) for i in ids])
    gone = [i for i, document in zip(ids, documents, strict=True) if document is None]
    if gone:  # expired or withdrawn for good: keep the set as small as the live workers
        await redis.srem(owners_key(app_id), *gone)
    for document in documents:
        if document is None:
            continue
        published = orjson.loads(document)
        if not published.get("ready"):
            continue
        ownership.ready_workers += 1
        for topic, partitions in published.get("partitions", {}).items():
            ownership.partitions.setdefault(topic, set()).update(int(p) for p in partitions)
    return ownership


def unowned(owned: Mapping[str, set[int]], topics: Iterable[str], partitions: int) -> dict[str, list[int]]:
    """Per topic, the partitions nobody processes now (empty: every partition of every topic is covered)."""
    missing = {topic: sorted(set(range(partitions)) - owned.get(topic, set())) for topic in topics}
    return {topic: ps for topic, ps in missing.items() if ps}
