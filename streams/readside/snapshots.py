"""Snapshots in Redis: a worker's export written in one transaction, and the merged reads.

A worker writes, per (shop, partition), what changed (streams/core/snapshot.py decides what) in one
Redis transaction, then publishes on the shop's updates channel; readers never see half an export.
Readers (API replicas, the hub, the alert runner, the batch engine) read every partition and merge.
Keys: streams/readside/keys.py.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson

from streams.core.agent_tables import Bucket
from streams.core.snapshot import MergedLive, ShopExport, merge_buckets, merge_live, merge_meta
from streams.readside.keys import (
    SHOPS_KEY,
    agent_meta_key,
    day_key,
    live_key,
    meta_key,
    minutes_key,
    status_key,
    updates_channel,
)
from streams.readside.retention import DAY_KEEP_S, add_curve_sample


async def write_export(redis: Any, shop: str, partition: int, export: ShopExport,
                       curve: tuple[str, int, list[int], bool] | None = None) -> None:
    """One transaction per (shop, partition): readers never see half an export. `curve`: (day, minute
    of the day, sample, renew its TTLs) of the headline curve (streams/core/curves.py). Retention:
    retention.py."""
    pipe = redis.pipeline(transaction=True)
    for day, bucket in export.days.items():
        pipe.set(day_key(shop, partition, day), orjson.dumps(bucket), ex=DAY_KEEP_S)
    if curve is not None:
        add_curve_sample(pipe, shop, partition, *curve)
    if export.minutes:
        pipe.hset(minutes_key(shop, partition),
                  mapping={str(m): orjson.dumps(b) for m, b in export.minutes.items()})
    if export.dropped_minutes:
        pipe.hdel(minutes_key(shop, partition), *[str(m) for m in export.dropped_minutes])
    if export.live is not None:
        pipe.set(live_key(shop, partition), orjson.dumps(export.live))
    pipe.set(meta_key(shop, partition), orjson.dumps(export.meta))
    pipe.sadd(SHOPS_KEY, shop)
    pipe.publish(updates_channel(shop), b"changed")
    await pipe.execute()


def _loads_all(values: list[bytes | None]) -> list[Any]:
    return [orjson.loads(v) for v in values if v is not None]


async def read_day(redis: Any, shop: str, partitions: int, day: str) -> Bucket:
    return merge_buckets(_loads_all(await redis.mget([day_key(shop, p, day) for p in range(partitions)])))


async def read_live(redis: Any, shop: str, partitions: int) -> MergedLive:
    return merge_live(_loads_all(await redis.mget([live_key(shop, p) for p in range(partitions)])))


async def read_meta(redis: Any, shop: str, partitions: int) -> dict[str, Any]:
    """Watermark, processed count, agents and days over every partition of every source topic."""
    keys = [meta_key(shop, p) for p in range(partitions)]
    keys += [agent_meta_key(shop, p) for p in range(partitions)]
    return merge_meta(_loads_all(await redis.mget(keys)))


async def read_live_and_meta(redis: Any, shop: str, partitions: int) -> tuple[MergedLive, dict[str, Any]]:
    """The merged live facts and meta in one round trip."""
    pipe = redis.pipeline(transaction=False)
    pipe.mget([live_key(shop, p) for p in range(partitions)])
    pipe.mget([meta_key(shop, p) for p in range(partitions)] + [agent_meta_key(shop, p) for p in range(partitions)])
    lives, metas = await pipe.execute()
    return merge_live(_loads_all(lives)), merge_meta(_loads_all(metas))


async def read_minutes_at(redis: Any, shop: str, partitions: int, minutes: list[int]) -> dict[int, Bucket]:
    """Only these minute buckets (HMGET), merged over the partitions."""
    fields = [str(m) for m in minutes]
    pipe = redis.pipeline(transaction=False)
    for p in range(partitions):
        pipe.hmget(minutes_key(shop, p), fields)
    by_minute: dict[int, list[Bucket]] = defaultdict(list)
    for values in await pipe.execute():
        for minute, raw in zip(minutes, values, strict=True):
            if raw is not None:
                by_minute[minute].append(orjson.loads(raw))
    return {minute: merge_buckets(buckets) for minute, buckets in by_minute.items()}


async def read_minutes(redis: Any, shop: str, partitions: int, since_ms: int) -> dict[int, Bucket]:
    pipe = redis.pipeline(transaction=False)
    for p in range(partitions):
        pipe.hgetall(minutes_key(shop, p))
    by_minute: dict[int, list[Bucket]] = defaultdict(list)
    for result in await pipe.execute():
        for minute, bucket in result.items():
            if int(minute) >= since_ms:
                by_minute[int(minute)].append(orjson.loads(bucket))
    return {minute: merge_buckets(buckets) for minute, buckets in by_minute.items()}


async def read_statuses(redis: Any, shop: str) -> dict[str, dict[str, Any]]:
    raw = await redis.hgetall(status_key(shop))
    return {(k.decode() if isinstance(k, bytes) else k): orjson.loads(v) for k, v in raw.items()}
