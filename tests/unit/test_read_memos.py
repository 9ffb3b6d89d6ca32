"""The read side's memos (streams/readside/snapshots.py), kept by the alert runner between evaluations:
read_minutes_at parses and merges only the minutes whose raw values changed, read_live_and_meta parses
only the live documents that changed; either gets what a read without the memo gets."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from streams.readside.keys import live_key, minutes_key
from streams.readside.snapshots import MinuteMemo, read_live_and_meta, read_minutes_at

SHOP = "s"
PARTITIONS = 3


class MinutesRedis:
    """Just what the two reads use: a pipeline of HMGETs over hashes, and MGET, kept here."""

    def __init__(self) -> None:
        self.hashes: dict[str, dict[str, bytes]] = {}
        self.values: dict[str, bytes] = {}

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        return [self.values.get(key) for key in keys]

    def pipeline(self, transaction: bool = False) -> Any:
        hashes, queued = self.hashes, []

        class Pipeline:
            def hmget(self, key: str, fields: list[str]) -> None:
                queued.append([hashes.get(key, {}).get(field) for field in fields])

            async def execute(self) -> list[Any]:
                return queued

        return Pipeline()

    def put(self, partition: int, minute: int, bucket: dict[str, Any]) -> None:
        self.hashes.setdefault(minutes_key(SHOP, partition), {})[str(minute)] = orjson.dumps(bucket)


def bucket(agent: str, responses: int) -> dict[str, Any]:
    return {"agents": {agent: {"responses": responses}}, "team": {"responses": responses}}


def read(redis: MinutesRedis, minutes: list[int], memo: MinuteMemo | None) -> dict[int, Any]:
    return asyncio.run(read_minutes_at(redis, SHOP, PARTITIONS, minutes, memo))


def test_unchanged_minutes_are_reused_and_every_read_equals_a_read_without_the_memo() -> None:
    redis, memo = MinutesRedis(), {}
    for minute in (0, 60_000, 120_000):
        for partition in range(PARTITIONS):
            redis.put(partition, minute, bucket(f"a{partition}", minute // 60_000 + partition + 1))
    window = [0, 60_000, 120_000, 180_000]  # the last minute has no data yet
    first = read(redis, window, memo)
    assert first == read(redis, window, None) and set(first) == {0, 60_000, 120_000}
    assert first[60_000]["team"] == {"responses": 2 + 3 + 4}

    redis.put(1, 120_000, bucket("a1", 10))  # one partition's export changed the newest minute
    redis.put(0, 180_000, bucket("a0", 5))  # and a new minute began
    second = read(redis, window, memo)
    assert second == read(redis, window, None)
    assert second[0] is first[0] and second[60_000] is first[60_000]  # not parsed or merged again
    assert second[120_000]["team"] == {"responses": 3 + 10 + 5} and second[180_000]["team"] == {"responses": 5}

    slid = [60_000, 120_000, 180_000, 240_000]  # the window slides: the memo keeps only its minutes
    assert read(redis, slid, memo) == read(redis, slid, None)
    assert set(memo) == {60_000, 120_000, 180_000}


def live_document(agent: str, activity: list[int]) -> bytes:
    return orjson.dumps({"agents": {agent: {"activity": activity, "pending": []}}, "open_sla": [], "queue": [],
                         "now": {"agents": {}, "team": {}}, "unpaid_orders": []})


def test_unchanged_live_documents_are_not_parsed_again() -> None:
    redis, memo = MinutesRedis(), {}
    for partition in range(PARTITIONS):
        redis.values[live_key(SHOP, partition)] = live_document(f"a{partition}", [partition])

    def read_live(memo: dict | None) -> Any:
        return asyncio.run(read_live_and_meta(redis, SHOP, PARTITIONS, memo))[0]

    first = read_live(memo)
    assert first == read_live(None) and first.activity == {"a0": [0], "a1": [1], "a2": [2]}
    parsed = {partition: entry[1] for partition, entry in memo.items()}
    redis.values[live_key(SHOP, 1)] = live_document("a1", [1, 7])  # partition 1 exported its live facts
    del redis.values[live_key(SHOP, 2)]  # partition 2's expired
    second = read_live(memo)
    assert second == read_live(None) and second.activity == {"a0": [0], "a1": [1, 7]}
    assert memo[0][1] is parsed[0] and memo[1][1] is not parsed[1] and 2 not in memo
