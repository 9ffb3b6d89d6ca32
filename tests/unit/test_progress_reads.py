"""/progress's history reads (streams/readside/history.read_curves_at): yesterday's minute curve and
last week's quarter-hour curve come back in one pipelined round trip, every command naming one key of
the shop's hash slot (Redis Cluster), and each day's counters are its partitions' latest samples summed."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.crc import key_slot

from streams.core.curves import CURVE_COUNTERS
from streams.readside.expiry import add_curve_sample
from streams.readside.history import read_curves_at

SHOP = "s1"
PARTITIONS = 2


class MemoryZsets:
    """The few sorted-set commands involved, in memory; counts round trips (`execute` calls)."""

    def __init__(self) -> None:
        self.zsets: dict[str, dict[bytes, float]] = {}
        self.round_trips = 0
        self.keys_read: list[str] = []

    def pipeline(self, transaction: bool = True) -> MemoryPipeline:
        return MemoryPipeline(self)


class MemoryPipeline:
    def __init__(self, redis: MemoryZsets) -> None:
        self.redis = redis
        self.queued: list[Any] = []

    def zremrangebyscore(self, key: str, low: float, high: float) -> None:
        def remove(z: dict[str, dict[bytes, float]]) -> None:
            z[key] = {m: s for m, s in z.get(key, {}).items() if not low <= s <= high}
        self.queued.append(remove)

    def zadd(self, key: str, mapping: dict[bytes, float]) -> None:
        self.queued.append(lambda z: z.setdefault(key, {}).update(mapping))

    def expire(self, key: str, seconds: int) -> None:
        self.queued.append(lambda z: True)

    def exists(self, key: str) -> None:
        self.redis.keys_read.append(key)
        self.queued.append(lambda z: int(bool(z.get(key))))

    def zrevrangebyscore(self, key: str, high: float, low: str, start: int, num: int) -> None:
        self.redis.keys_read.append(key)
        self.queued.append(lambda z: [m for m, s in sorted(z.get(key, {}).items(), key=lambda i: -i[1])
                                      if s <= high][start:start + num])

    async def execute(self) -> list[Any]:
        self.redis.round_trips += 1
        return [command(self.redis.zsets) for command in self.queued]


def values(n: int) -> list[int]:
    return [n] * len(CURVE_COUNTERS)


def test_yesterday_and_last_week_in_one_round_trip_of_one_slot() -> None:
    redis = MemoryZsets()
    writes = redis.pipeline()
    # Yesterday: partition 0 sampled at 09:00 and 10:05, partition 1 at 09:30. Last week: partition 1 at 09:58.
    for partition, day, minute, n in ((0, "2026-11-10", 540, 1), (0, "2026-11-10", 605, 50),
                                      (1, "2026-11-10", 570, 2), (1, "2026-11-04", 598, 7)):
        add_curve_sample(writes, SHOP, partition, day, minute, values(n))
    asyncio.run(writes.execute())
    # The last-week sample stored only in the quarter curve (the minute curve is gone by then).
    for key in [k for k in redis.zsets if ":curve:2026-11-04" in k]:
        del redis.zsets[key]
    redis.round_trips, redis.keys_read = 0, []

    yesterday, last_week, none = asyncio.run(read_curves_at(
        redis, SHOP, PARTITIONS, 600, [("2026-11-10", False), ("2026-11-04", True), ("2026-11-03", True)]))

    assert redis.round_trips == 1
    assert yesterday == dict(zip(CURVE_COUNTERS, values(1 + 2), strict=True))  # 10:05 is after 10:00
    assert last_week == dict(zip(CURVE_COUNTERS, values(7), strict=True))  # the quarter curve's 09:58 sample
    assert none is None
    assert len({key_slot(key.encode()) for key in redis.keys_read}) == 1
    assert all(":curveq:" in key for key in redis.keys_read if "2026-11-04" in key)
