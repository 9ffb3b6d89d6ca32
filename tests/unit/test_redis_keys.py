"""Redis key names (streams/readside/keys.py) on a Redis Cluster: every key of one shop in one slot, the
keys a transaction or script of ours touches together in one slot, channels parsed back, and the key
names exactly as documented (values are unchanged: tests/unit/test_stored_formats.py)."""

from __future__ import annotations

import asyncio
import fnmatch
from typing import Any

import orjson
from redis.cluster import key_slot

from streams.core.snapshot import ShopExport
from streams.readside import keys
from streams.readside.expiry import DAY_KEEP_S
from streams.readside.snapshots import write_export


def slot(key: str) -> int:
    return key_slot(key.encode())


def every_shop_key(shop: str) -> list[str]:
    partitions = range(8)
    return [
        *(keys.day_key(shop, p, "2026-11-11") for p in partitions),
        *(keys.minutes_key(shop, p) for p in partitions),
        *(keys.live_key(shop, p) for p in partitions),
        *(keys.meta_key(shop, p) for p in partitions),
        *(keys.agent_meta_key(shop, p) for p in partitions),
        keys.status_key(shop), keys.accepted_key(shop), keys.state_key(shop), keys.alerts_key(shop),
        keys.outbox_key(shop),
        *(keys.version_key(shop, kind) for kind in (keys.SETTINGS, keys.ALERT_RULES)),
        *(f"{keys.document_prefix(shop, kind)}{v}" for kind in (keys.SETTINGS, keys.ALERT_RULES) for v in (1, 99)),
    ]


def test_every_key_of_a_shop_is_in_one_slot() -> None:
    for shop in ("demo-shop", "s", "shop.1", "A_b-9", "x" * 64):
        assert len({slot(k) for k in every_shop_key(shop)}) == 1, shop


def test_shops_spread_over_the_slots() -> None:
    assert len({slot(keys.live_key(f"shop-{i}", 0)) for i in range(200)}) > 150


def test_the_dispatchers_keys_share_one_slot_with_its_job_queue() -> None:
    # SCHEDULE_SCRIPT (sent mark, jobs, due) and the finish/retry transactions (jobs, due, deliveries).
    together = [keys.ALERT_JOBS_KEY, keys.ALERT_JOBS_DUE_KEY, keys.sent_mark_key("a", "alert-1", "firing"),
                keys.sent_mark_key("b", "alert-2", "resolved"), keys.deliveries_key("a"), keys.deliveries_key("b")]
    assert len({slot(k) for k in together}) == 1


def test_a_workers_ownership_keys_share_one_slot() -> None:
    assert slot(keys.owners_key("kefu-pulse")) == slot(keys.owner_key("kefu-pulse", "worker-1@h:12"))


def test_key_names() -> None:
    assert keys.day_key("s", 3, "2026-11-11") == "kefu:{s}:p3:days:2026-11-11"
    assert keys.minutes_key("s", 0) == "kefu:{s}:p0:min"
    assert keys.live_key("s", 1) == "kefu:{s}:p1:live"
    assert keys.meta_key("s", 2) == "kefu:{s}:p2:meta"
    assert keys.agent_meta_key("s", 2) == "kefu:{s}:ap2:meta"
    assert keys.status_key("s") == "kefu:{s}:status"
    assert keys.accepted_key("s") == "kefu:{s}:accepted"
    assert keys.state_key("s") == "kefu:{s}:alert-state"
    assert keys.alerts_key("s") == "kefu:{s}:alerts"
    assert keys.outbox_key("s") == "kefu:{s}:alert-outbox"
    assert keys.version_key("s", keys.SETTINGS) == "kefu:{s}:settings:version"
    assert keys.document_prefix("s", keys.ALERT_RULES) == "kefu:{s}:alert-rules:"
    assert keys.deliveries_key("s") == "kefu:{alert-jobs}:deliveries:s"
    assert keys.sent_mark_key("s", "a1", "firing") == "kefu:{alert-jobs}:sent:s:a1:firing"
    assert (keys.ALERT_JOBS_KEY, keys.ALERT_JOBS_DUE_KEY, keys.SHOPS_KEY) == (
        "kefu:{alert-jobs}", "kefu:{alert-jobs}:due", "kefu:shops")
    assert keys.owner_key("app", "w") == "kefu:{app}:owner:w"
    assert keys.owners_key("app") == "kefu:{app}:owners"


def test_channels_round_trip_and_match_their_pattern() -> None:
    for shop in ("demo-shop", "s", "shop.1"):
        for name in (keys.UPDATES, keys.ALERTS, keys.ALERT_RULES):
            channel = keys.channel(shop, name)
            assert keys.parse_channel(channel) == keys.parse_channel(channel.encode()) == (shop, name)
            assert fnmatch.fnmatchcase(channel, keys.channel_pattern(name))
            others = {keys.UPDATES, keys.ALERTS, keys.ALERT_RULES} - {name}
            assert not any(fnmatch.fnmatchcase(channel, keys.channel_pattern(o)) for o in others)
    assert keys.updates_channel("s") == "kefu:{s}:updates"


class RecordingTransaction:
    """Records a pipeline's commands; like a Redis Cluster pipeline, it has no PUBLISH."""

    def __init__(self, log: list[tuple[Any, ...]]) -> None:
        self.log = log

    def set(self, key: str, value: bytes) -> None:
        self.log.append(("set", key, value))

    def hset(self, key: str, mapping: dict[str, bytes]) -> None:
        self.log.append(("hset", key, mapping))

    def hdel(self, key: str, *fields: str) -> None:
        self.log.append(("hdel", key, fields))

    def expire(self, key: str, seconds: int) -> None:
        self.log.append(("expire", key, seconds))

    async def execute(self) -> None:
        self.log.append(("exec",))


class RecordingRedis:
    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []

    def pipeline(self, transaction: bool) -> RecordingTransaction:
        assert transaction
        self.log.append(("multi",))
        return RecordingTransaction(self.log)

    async def sadd(self, key: str, member: str) -> None:
        self.log.append(("sadd", key, member))

    async def publish(self, channel: str, message: bytes) -> None:
        self.log.append(("publish", channel, message))


def test_an_export_is_one_single_slot_transaction_then_its_notice_and_writes_the_same_values() -> None:
    export = ShopExport(days={"2026-11-11": {"team": {"x": 1}}}, minutes={60_000: {"team": {"y": 2}}},
                        dropped_minutes=[0], live={"now": 1}, meta={"processed": 3})
    redis = RecordingRedis()
    asyncio.run(write_export(redis, "s", 2, export))
    multi, *writes, exec_, sadd, publish = redis.log
    assert (multi, exec_) == (("multi",), ("exec",))
    assert writes == [
        ("hset", "kefu:{s}:p2:days:2026-11-11", {"t": orjson.dumps({"x": 1})}),  # rows as they change
            ("expire", "kefu:{s}:p2:days:2026-11-11", DAY_KEEP_S),
        ("hset", "kefu:{s}:p2:min", {"60000": orjson.dumps({"team": {"y": 2}})}),
        ("hdel", "kefu:{s}:p2:min", ("0",)),
        ("set", "kefu:{s}:p2:live", orjson.dumps({"now": 1})),
        ("set", "kefu:{s}:p2:meta", orjson.dumps({"processed": 3})),
    ]
    assert len({slot(w[1]) for w in writes}) == 1
    assert (sadd, publish) == (("sadd", "kefu:shops", "s"), ("publish", "kefu:{s}:updates", b"changed"))
    redis.log.clear()
    asyncio.run(write_export(redis, "s", 2, export, register=False))
    assert redis.log[-1] == ("publish", "kefu:{s}:updates", b"changed") and not any(
        entry[0] == "sadd" for entry in redis.log)
