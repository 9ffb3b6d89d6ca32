"""The hub's incremental frame build equals the full build (issue 16: builds proportional to what changed).

A shop's frames are built over an in-memory Redis (bench/frame_build.py MemoryRedis) through a random
walk of exports: agent rows changed, added and removed in random partitions (an agent's rows in
several partitions), group and team rows, live facts (activity, waiting buyers, open and aged SLA
clocks, "now" counters), status histories, "now" moving forward (KEFU_CLOCK=event: "now" is the
watermark, so the test sets it), across the shop's midnight, and settings changes (an agent moves to
another group, the active window changes). After each step the snapshot built with the shop's
FrameCache (streams/readside/frame_cache.py) equals, JSON for JSON, the snapshot built from scratch,
and so does the delta from the previous frame; and the cache did reuse rows (the test would otherwise
prove nothing).
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import orjson
import pytest

from bench.frame_build import MemoryRedis
from streams.config import Config
from streams.core.agent_time import day_bounds
from streams.core.frame_delta import ShopFrames, apply_delta
from streams.core.shop_settings import DEFAULT_SETTINGS, ShopSettings
from streams.core.snapshot import merge_buckets
from streams.readside.frame_cache import DayRows, FrameCache, fields_of
from streams.readside.keys import day_key, live_key, meta_key, status_key
from streams.readside.reader import ReadModel
from streams.readside.settings_store import SETTINGS_DOCUMENTS
from streams.readside.snapshots import bucket_from_fields

SHOP = "memo-shop"
PARTITIONS = 3
DAY = "2026-11-11"
MIDNIGHT = day_bounds(DAY, DEFAULT_SETTINGS.timezone)[1]  # the end of DAY: the next day begins
COUNTER_NAMES = ("consult", "received", "replied", "buyer_messages", "agent_messages", "responses", "response_ms",
                 "sla_buyers", "sla_met", "inquiry", "ordered", "paid", "sales_fen")


class Shop:
    """The shop's state in Redis, changed step by step at random."""

    def __init__(self, rng: random.Random, redis: MemoryRedis) -> None:
        self.rng = rng
        self.redis = redis
        self.agents = [f"a{i:02d}" for i in range(30)]
        self.now = MIDNIGHT - 40 * 60_000  # 40 minutes before midnight: the walk crosses it
        self.settings_version = 0
        self.rows: list[dict[str, dict[str, int]]] = [{} for _ in range(PARTITIONS)]  # p → field → counters
        self.activity: dict[str, list[int]] = {}
        self.pending: dict[str, list[int]] = {}
        self.open_sla: list[list[Any]] = []
        self.aged_sla: list[list[Any]] = []
        self.now_counters: dict[str, dict[str, int]] = {}
        self.statuses: dict[str, dict[str, Any]] = {}
        for agent in self.agents:
            for _ in range(rng.randrange(1, 3)):
                self.rows[rng.randrange(PARTITIONS)][f"a:{agent}"] = self.counters()
            self.activity[agent] = [self.now - rng.randrange(0, 900_000)]
        for p in range(PARTITIONS):
            self.rows[p]["t"] = self.counters()
            self.rows[p]["g:default"] = self.counters()

    def counters(self) -> dict[str, int]:
        return {name: self.rng.randrange(0, 50) for name in self.rng.sample(COUNTER_NAMES, 8)}

    def day(self) -> str:
        return DAY if self.now < MIDNIGHT else "2026-11-12"

    def step(self) -> None:
        rng = self.rng
        self.now += rng.choice([0, 1, 500, 30_000, 120_000])
        changed = rng.sample(self.agents, rng.randrange(0, 4))
        for agent in changed:
            p = rng.randrange(PARTITIONS)
            action = rng.random()
            if action < 0.6:
                self.rows[p][f"a:{agent}"] = self.counters()
            elif action < 0.8:
                self.rows[p].pop(f"a:{agent}", None)  # the row left this partition's hash (agent maybe gone)
            else:
                self.activity[agent] = [self.now - rng.randrange(0, 700_000)] + self.activity.get(agent, [])[:2]
        if rng.random() < 0.1:
            self.agents.append(f"a{len(self.agents):02d}")  # a new agent (sorts last)
            self.rows[rng.randrange(PARTITIONS)][f"a:{self.agents[-1]}"] = self.counters()
        if rng.random() < 0.3:
            self.rows[rng.randrange(PARTITIONS)]["t"] = self.counters()
        if rng.random() < 0.2:
            self.rows[rng.randrange(PARTITIONS)][f"g:{rng.choice(['default', 'presale', 'after'])}"] = self.counters()
        if rng.random() < 0.2:
            agent = rng.choice(self.agents)
            self.pending[agent] = [] if self.pending.get(agent) else [self.now - rng.randrange(0, 60_000)]
        if rng.random() < 0.2:
            self.open_sla = [[rng.choice(self.agents), self.day(), "default", self.now - rng.randrange(0, 200_000),
                              180_000]]
        if rng.random() < 0.1:
            self.aged_sla = [[rng.choice(self.agents), self.day(), "default", rng.randrange(1, 3)]]
        if rng.random() < 0.2:
            self.now_counters[rng.choice(self.agents)] = {"balance_due": rng.randrange(0, 3)}
        if rng.random() < 0.15:
            agent = rng.choice(self.agents)
            history = self.statuses.get(agent, {}).get("history", [])
            status = rng.choice(["online", "busy", "away", "offline"])
            self.statuses[agent] = {"status": status, "ts": self.now, "history": [*history, [self.now, status]]}
        if rng.random() < 0.05:
            self.settings_version += 1
            groups = {a: rng.choice(["presale", "after"]) for a in rng.sample(self.agents, 5)}
            settings = ShopSettings(groups=groups, active_window_s=rng.choice([300, 600, 600.5]))
            self.redis.values[SETTINGS_DOCUMENTS.document_key(SHOP, self.settings_version)] = orjson.dumps(
                settings.to_json())
            self.redis.values[SETTINGS_DOCUMENTS.version_key(SHOP)] = str(self.settings_version).encode()
        self.write()

    def write(self) -> None:
        day = self.day()
        for p in range(PARTITIONS):
            # (the same bytes for an unchanged row, as the exporter's orjson.dumps of equal counters)
            self.redis.hashes[day_key(SHOP, p, day)] = {f.encode(): orjson.dumps(c) for f, c in self.rows[p].items()}
            mine = [a for i, a in enumerate(self.agents) if i % PARTITIONS == p]
            live = {"agents": {a: {"activity": self.activity.get(a, []), "pending": self.pending.get(a, [])}
                               for a in mine},
                    "open_sla": self.open_sla if p == 0 else [], "aged_sla": self.aged_sla if p == 0 else [],
                    "now": {"agents": {a: c for a, c in self.now_counters.items() if a in mine}, "team": {}}}
            self.redis.values[live_key(SHOP, p)] = orjson.dumps(live)
            self.redis.values[meta_key(SHOP, p)] = orjson.dumps(
                {"watermark": self.now, "processed": 1, "agents": mine, "days": [day]})
        self.redis.hashes[status_key(SHOP)] = {a.encode(): orjson.dumps(s) for a, s in self.statuses.items()}


def run_walk(seed: int, steps: int) -> tuple[FrameCache, int]:
    async def walk() -> tuple[FrameCache, int]:
        rng = random.Random(seed)
        redis = MemoryRedis()
        shop = Shop(rng, redis)
        shop.write()
        readmodel = ReadModel(redis, Config(partitions=PARTITIONS, clock="event", _env_file=None))
        cache = FrameCache()
        cached_frames: ShopFrames | None = None
        full_frames: ShopFrames | None = None
        days = set()
        for _ in range(steps):
            shop.step()
            full, _ = await readmodel.snapshot_until(SHOP)
            cached, _ = await readmodel.snapshot_until(SHOP, cache)
            assert orjson.dumps(cached) == orjson.dumps(full)
            days.add(full["day"])
            previous = cached_frames
            cached_frames = ShopFrames.next(cached_frames, cached)
            full_frames = ShopFrames.next(full_frames, full)
            assert cached_frames.delta_text() == full_frames.delta_text()
            if previous is not None:  # the delta applied to the screen's frame gives the new frame
                delta = orjson.loads(cached_frames.delta_text())["changes"]
                assert orjson.dumps(apply_delta(previous.frame, delta)) == orjson.dumps(full)
        assert days == {DAY, "2026-11-12"}, days  # the walk crossed midnight
        return cache, shop.settings_version
    return asyncio.run(walk())


@pytest.mark.parametrize("seed", range(6))
def test_the_cached_build_equals_the_full_build(seed: int) -> None:
    cache, settings_versions = run_walk(seed, 120)
    assert cache.rows.reused > cache.rows.built  # most rows were reused: the test exercised the memo
    assert settings_versions >= 1


def test_day_rows_merge_like_a_full_read() -> None:
    rng = random.Random(7)
    rows = DayRows()
    partitions: list[dict[bytes, bytes]] = [{} for _ in range(4)]
    decoded_before = 0
    for step in range(300):
        p = rng.randrange(4)
        field = rng.choice([b"t", b"g:x", b"g:y"] + [f"a:agent-{i}".encode() for i in range(12)])
        if rng.random() < 0.25:
            partitions[p].pop(field, None)
        else:
            partitions[p][field] = orjson.dumps({"n": rng.randrange(5), "m": rng.randrange(3)})
        if rng.random() < 0.05:
            partitions[rng.randrange(4)] = {}  # a partition's hash expired
        day = "d1" if step < 200 else "d2"
        fresh = [dict(f) for f in partitions]  # (HGETALL answers a new dict every time)
        merged = rows.merge(day, fresh)
        assert merged == merge_buckets([bucket_from_fields(f) for f in fresh if f])
        assert rows.decoded - decoded_before <= 2 or step in (0, 200)  # only what changed was decoded
        decoded_before = rows.decoded


def test_a_changed_agent_gets_new_counters_the_old_ones_stay() -> None:
    rows = DayRows()
    first = rows.merge("d", [{b"a:x": b'{"n":1}', b"a:y": b'{"n":2}'}])
    held = first["agents"]["x"]
    second = rows.merge("d", [{b"a:x": b'{"n":5}', b"a:y": b'{"n":2}'}])
    assert held == {"n": 1} and second["agents"]["x"] == {"n": 5}
    assert second["agents"]["y"] is first["agents"]["y"]  # unchanged: the very same counters


def test_the_day_rows_scripts_answer_decodes_to_the_hash() -> None:
    """DAY_ROWS_SCRIPT answers the hash as a JSON array (cjson escapes "/" as "\\/"), or {} when empty."""
    assert fields_of(b"{}") == {}
    assert fields_of(rb'["a:x\/y","{\"n\":1}","t","{\"n\":2}"]') == {"a:x/y": '{"n":1}', "t": '{"n":2}'}
    rows = DayRows()
    fields = fields_of(rb'["a:x\/y","{\"n\":1}","t","{\"n\":2}"]')
    assert rows.merge("d", [fields, {}]) == merge_buckets([bucket_from_fields(fields)])
