"""The one Redis client factory: every process (worker, API, alert runner, dispatcher) and the bench
get their clients here, a plain `Redis` or, with `KEFU_REDIS_CLUSTER=1`, a `RedisCluster` seeded with
the same address (it discovers the other nodes).

Invariant: code that uses these clients works on both. On a cluster that means (enforced by redis-py
and the server, tested against a real 3-node cluster): a transaction or Lua script touches keys of one
slot only (streams/readside/keys.py hash-tags them), PUBLISH is never queued in a pipeline (redis-py
refuses it in cluster pipelines), and pub/sub is the classic kind: a PUBLISH on any node reaches a
subscriber on any node, so one PSUBSCRIBE connection still hears every shop.
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

from streams.config import Config


def _cluster_url(dsn: str) -> str:
    # A cluster has database 0 only; RedisCluster refuses a URL naming another one, and "/0" is the default.
    return dsn.removesuffix("/0")


def async_redis(config: Config, **options: Any) -> Any:
    """An asyncio client for the configured Redis (`options`: socket timeouts and the like)."""
    if config.redis_cluster:
        return AsyncRedisCluster.from_url(_cluster_url(config.redis_dsn), **options)
    return aioredis.Redis.from_url(config.redis_dsn, **options)


def sync_redis(config: Config, **options: Any) -> Any:
    """A synchronous client for the configured Redis (the worker's settings cache)."""
    if config.redis_cluster:
        return RedisCluster.from_url(_cluster_url(config.redis_dsn), **options)
    return redis.Redis.from_url(config.redis_dsn, **options)


async def psubscribe(client: Any, pubsub: Any, *patterns: str) -> None:
    """`pubsub.psubscribe(*patterns)` for a `pubsub` of `client`, on a cluster too: a ClusterPubSub picks
    its node from the slot map, which a RedisCluster loads on its first command (before it, a KeyError)."""
    if isinstance(client, AsyncRedisCluster):
        await client.initialize()
    await pubsub.psubscribe(*patterns)
