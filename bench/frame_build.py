"""The hub's frame build for the bench's 1,200-agent shop, in one process, without the network.

`python -m bench.frame_build [--updates N] [--cache on|off|both] [--gc default|api] [--profile]`: fills
an in-memory Redis (MemoryRedis below) the way bench/fanout.py's LargeShop export does (5 % of the
agents change per update), then per update builds the shop's numbered frame as the hub does
(Hub.advance: ReadModel.snapshot_until, then ShopFrames) and encodes its delta, with the hub's
per-shop FrameCache and without it (the build before issue 16's incremental frames), and prints the
median, p95 and max CPU time per frame and stage, and the collector's pauses. `--profile` adds a
cProfile of the loop. Used to find where the fan-out's frame time goes (docs/performance-journal.md).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import statistics
import time
from typing import Any

import orjson
import redis.asyncio as aioredis

from api.hub import Hub
from api.state import ApiCounters
from bench.fanout import LargeShop
from streams.config import Config
from streams.readside.frame_cache import FrameCache
from streams.readside.reader import ReadModel


class MemoryRedis:
    """The read calls of ReadModel (get, mget, hgetall, pipelined hgetall/hmget/mget) over dicts, and the
    writes bench/fanout.py's export makes (hset, set, sadd, publish in a transaction pipeline)."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.hashes: dict[str, dict[bytes, bytes]] = {}

    async def get(self, key: str) -> bytes | None:
        return self.values.get(key)

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        return [self.values.get(k) for k in keys]

    async def hgetall(self, key: str) -> dict[bytes, bytes]:
        return dict(self.hashes.get(key, {}))

    def pipeline(self, transaction: bool = True) -> MemoryPipeline:
        return MemoryPipeline(self)


class MemoryPipeline:
    def __init__(self, redis: MemoryRedis) -> None:
        self.redis = redis
        self.calls: list[Any] = []

    def hgetall(self, key: str) -> None:
        self.calls.append(lambda: dict(self.redis.hashes.get(key, {})))

    def hmget(self, key: str, fields: list[str]) -> None:
        self.calls.append(lambda: [self.redis.hashes.get(key, {}).get(f.encode()) for f in fields])

    def mget(self, keys: list[str]) -> None:
        self.calls.append(lambda: [self.redis.values.get(k) for k in keys])

    def eval(self, script: str, numkeys: int, key: str) -> None:
        """Only streams/readside/frame_cache.py DAY_ROWS_SCRIPT (HGETALL as a JSON array; {} when empty)."""
        def day_rows() -> bytes:
            flat = [part.decode() for field, value in self.redis.hashes.get(key, {}).items() for part in (field, value)]
            return orjson.dumps(flat) if flat else b"{}"
        self.calls.append(day_rows)

    def hset(self, key: str, mapping: dict[str, bytes]) -> None:
        def write() -> None:
            self.redis.hashes.setdefault(key, {}).update({f.encode(): v for f, v in mapping.items()})
        self.calls.append(write)

    def hdel(self, key: str, *fields: str) -> None:
        def delete() -> None:
            for f in fields:
                self.redis.hashes.get(key, {}).pop(f.encode(), None)
        self.calls.append(delete)

    def delete(self, key: str) -> None:
        self.calls.append(lambda: self.redis.hashes.pop(key, None))

    def set(self, key: str, value: bytes) -> None:
        self.calls.append(lambda: self.redis.values.__setitem__(key, value))

    def sadd(self, key: str, member: str) -> None:
        self.calls.append(lambda: None)

    def publish(self, channel: str, message: bytes) -> None:
        self.calls.append(lambda: None)

    async def execute(self) -> list[Any]:
        return [call() for call in self.calls]


class UncachedReadModel(ReadModel):
    """The build without the hub's FrameCache: every row decoded, merged and built for each frame."""

    async def snapshot_until(self, shop: str, cache: FrameCache | None = None) -> tuple[dict[str, Any], int | None]:
        return await super().snapshot_until(shop)


async def measure(updates: int, profile: bool, cached: bool, redis_url: str | None = None) -> None:
    redis: Any = MemoryRedis() if redis_url is None else aioredis.Redis.from_url(redis_url)
    shop = f"bench-large-{time.time_ns()}"
    config = Config(partitions=8, clock="wall", _env_file=None)
    hub = Hub(redis, (ReadModel if cached else UncachedReadModel)(redis, config), ApiCounters())
    hub.clients[shop] = set()  # (the hub keeps a shop's frames only while it has screens)
    large = LargeShop()
    await large.publish(redis, shop, 0)
    frames = await hub.advance(shop)
    frames.snapshot_text()
    builds, deltas = [], []
    pauses: list[tuple[int, float]] = []  # (generation, ms) of each collection during the loop
    started: list[float] = []

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            pauses.append((info["generation"], (time.perf_counter() - started.pop()) * 1000))

    gc.callbacks.append(on_gc)
    profiler = cProfile.Profile() if profile else None
    for seq in range(1, updates + 1):
        await large.publish(redis, shop, seq)
        if profiler:
            profiler.enable()
        t0 = time.process_time()
        frames = await hub.advance(shop)
        t1 = time.process_time()
        frames.delta_text()
        t2 = time.process_time()
        if profiler:
            profiler.disable()
        builds.append((t1 - t0) * 1000)
        deltas.append((t2 - t1) * 1000)
    gc.callbacks.remove(on_gc)
    total = [b + d for b, d in zip(builds, deltas, strict=True)]
    where = "in-memory Redis" if redis_url is None else "real Redis"
    print(f"{'with' if cached else 'without'} the hub's FrameCache ({where}): {updates} frames of "
          f"{len(large.agents)} agents ({large.changed} changed each), gc {gc.get_threshold()}:")
    for name, values in (("build (read model → frame)", builds), ("delta + encode", deltas), ("total", total)):
        print(f"  {name:28s} median {statistics.median(values):6.2f} ms, p95 "
              f"{sorted(values)[int(len(values) * 0.95)]:6.2f} ms, max {max(values):6.2f} ms")
    for generation in range(3):
        times = [ms for g, ms in pauses if g == generation]
        print(f"  gc generation {generation}: {len(times)} collections, {sum(times):.1f} ms in all, "
              f"longest {max(times, default=0):.1f} ms")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--updates", type=int, default=60)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--cache", choices=["on", "off", "both"], default="both",
                        help="build with the hub's FrameCache, without, or both (off, on, off, on)")
    parser.add_argument("--redis", help="a Redis URL (a scratch server: the run writes a shop there) instead of "
                                            "the in-memory one, so the build includes the replies' parsing")
    parser.add_argument("--gc", choices=["default", "api"], default="default",
                        help="api: the API process's collector settings (api/__main__.py tune_gc)")
    args = parser.parse_args()
    if args.gc == "api":
        from api.__main__ import tune_gc

        tune_gc()
    modes = {"on": [True], "off": [False], "both": [False, True, False, True]}[args.cache]
    for cached in modes:
        asyncio.run(measure(args.updates, args.profile, cached, args.redis))


if __name__ == "__main__":
    main()
