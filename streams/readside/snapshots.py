"""Snapshots in Redis: a worker's export written in one transaction, and the merged reads.

A worker writes, per (shop, partition), what changed (streams/core/snapshot.py decides what) in one
Redis transaction, then publishes on the shop's updates channel; readers never see half an export.
The transaction holds the shop's keys only (one hash slot on a Redis Cluster); the shop's entry in the
global set of shops and the notice follow it as separate commands (a cluster pipeline cannot carry
either), so a subscriber woken by the notice always finds the export.
Readers (API replicas, the hub, the alert runner, the batch engine) read every partition and merge.
Keys: streams/readside/keys.py.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import orjson

from streams.core.agent_tables import Bucket
from streams.core.snapshot import MergedLive, ShopExport, merge_buckets, merge_live, merge_meta
from streams.readside.expiry import DAY_KEEP_S, add_curve_sample
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

TEAM_FIELD = "t"
_TABLE_PREFIX = {"agents": "a:", "groups": "g:"}
_TABLE_OF_PREFIX = {"a": "agents", "g": "groups"}


def day_fields(bucket: Bucket) -> dict[str, bytes]:
    """A day bucket (or the changed rows of one) as fields of the day's hash: one per row, so an export
    writes only the rows that changed, whatever the number of agents."""
    fields = {f"{_TABLE_PREFIX[table]}{name}": orjson.dumps(counters)
              for table in ("agents", "groups") for name, counters in bucket.get(table, {}).items()}
    if "team" in bucket:
        fields[TEAM_FIELD] = orjson.dumps(bucket["team"])
    return fields


def bucket_from_fields(fields: dict[Any, bytes]) -> Bucket:
    bucket: Bucket = {"agents": {}, "groups": {}, "team": {}}
    for field, raw in fields.items():
        name = field.decode() if isinstance(field, bytes) else field
        if name == TEAM_FIELD:
            bucket["team"] = orjson.loads(raw)
        else:
            prefix, _, row = name.partition(":")
            bucket[_TABLE_OF_PREFIX[prefix]][row] = orjson.loads(raw)
    return bucket


async def write_export(redis: Any, shop: str, partition: int, export: ShopExport,
                       curve: tuple[str, int, list[int], bool] | None = None, *, register: bool = True) -> None:
    """One transaction per (shop, partition): readers never see half an export. `curve`: (day, minute
    of the day, sample, renew its TTLs) of the headline curve (streams/core/curves.py; retention:
    expiry.py). `register`: also add the shop to the set of shops (the caller may skip it once it
    knows the shop is there)."""
    pipe = redis.pipeline(transaction=True)
    for day, bucket in export.days.items():
        key = day_key(shop, partition, day)
        if day in export.whole_days:
            pipe.delete(key)
        fields = day_fields(bucket)
        if fields:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, DAY_KEEP_S)
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
    await pipe.execute()
    await announce_export(redis, shop, register=register)


async def announce_export(redis: Any, shop: str, *, register: bool = True) -> None:
    """After an export's transaction: the shop joins the set of shops (when `register`), then "changed"."""
    if register:
        await redis.sadd(SHOPS_KEY, shop)
    await redis.publish(updates_channel(shop), b"changed")


def _loads_all(values: list[bytes | None]) -> list[Any]:
    return [orjson.loads(v) for v in values if v is not None]


async def read_day(redis: Any, shop: str, partitions: int, day: str) -> Bucket:
    return (await read_days(redis, shop, partitions, [day]))[0]


async def read_days(redis: Any, shop: str, partitions: int, days: list[str]) -> list[Bucket]:
    """The merged buckets of several days, in one round trip."""
    pipe = redis.pipeline(transaction=False)
    for day in days:
        for p in range(partitions):
            pipe.hgetall(day_key(shop, p, day))
    rows = await pipe.execute()
    per_day = (rows[i * partitions:(i + 1) * partitions] for i in range(len(days)))
    return [merge_buckets([bucket_from_fields(fields) for fields in day_rows if fields]) for day_rows in per_day]


async def read_live(redis: Any, shop: str, partitions: int) -> MergedLive:
    return merge_live(_loads_all(await redis.mget([live_key(shop, p) for p in range(partitions)])))


async def read_meta(redis: Any, shop: str, partitions: int) -> dict[str, Any]:
    """Watermark, processed count, agents and days over every partition of every source topic."""
    keys = [meta_key(shop, p) for p in range(partitions)]
    keys += [agent_meta_key(shop, p) for p in range(partitions)]
    return merge_meta(_loads_all(await redis.mget(keys)))


# Parsed live documents a reader keeps between calls: partition → (raw value, parsed). A large shop's are
# megabytes, and a partition's changes only at its live exports (every 0.5–5 s), so a reader that asks
# again and again (the alert runner) parses only the ones that changed.
LiveMemo = dict[int, tuple[bytes, Any]]


async def read_live_and_meta(redis: Any, shop: str, partitions: int, memo: LiveMemo | None = None,
                             ) -> tuple[MergedLive, dict[str, Any]]:
    """The merged live facts and meta in one round trip: one MGET (the shop's keys share a cluster slot;
    a cluster pipeline refuses MGET). With `memo` (the caller's, one per shop): a live document equal to
    the last call's is not parsed again."""
    keys = [live_key(shop, p) for p in range(partitions)]
    keys += [meta_key(shop, p) for p in range(partitions)] + [agent_meta_key(shop, p) for p in range(partitions)]
    values = await redis.mget(keys)
    memo = {} if memo is None else memo
    lives = []
    for partition, raw in enumerate(values[:partitions]):
        if raw is None:
            memo.pop(partition, None)
            continue
        before = memo.get(partition)
        if before is None or before[0] != raw:
            before = memo[partition] = (raw, orjson.loads(raw))
        lives.append(before[1])
    return merge_live(lives), merge_meta(_loads_all(values[partitions:]))


# Merged minute buckets a reader keeps between calls: minute → (every partition's raw value, the merged
# bucket). A sliding window read again and again (the alert runner's, every 0.2 s) then parses and merges
# only the minutes whose raw values changed: past minutes seldom do.
MinuteMemo = dict[int, tuple[tuple[bytes | None, ...], Bucket]]


async def read_minutes_at(redis: Any, shop: str, partitions: int, minutes: list[int],
                          memo: MinuteMemo | None = None) -> dict[int, Bucket]:
    """Only these minute buckets (HMGET), merged over the partitions. With `memo` (the caller's, one per
    shop and window; it then keeps only these minutes): a minute whose raw values equal the last call's
    is not parsed or merged again, and its bucket is the same object, so callers must not change one."""
    fields = [str(m) for m in minutes]
    pipe = redis.pipeline(transaction=False)
    for p in range(partitions):
        pipe.hmget(minutes_key(shop, p), fields)
    rows = await pipe.execute()
    memo = {} if memo is None else memo
    merged: dict[int, Bucket] = {}
    kept: MinuteMemo = {}
    for index, minute in enumerate(minutes):
        raws = tuple(values[index] for values in rows)
        before = memo.get(minute)
        if before is not None and before[0] == raws:
            bucket = before[1]
        else:
            buckets = [orjson.loads(raw) for raw in raws if raw is not None]
            if not buckets:
                continue
            bucket = merge_buckets(buckets)
        merged[minute] = bucket
        kept[minute] = (raws, bucket)
    memo.clear()
    memo.update(kept)
    return merged


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
