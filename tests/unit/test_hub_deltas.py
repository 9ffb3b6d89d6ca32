"""Delta frames through the hub (issue 16): a screen that asked for deltas ends up with exactly the frames a
full-frame screen gets, and never applies a delta to a frame it does not hold.

- api.hub.Hub with the real ReadModel over an in-memory Redis (tests/unit/test_hub_ageing.py): one
  full-frame client and one delta client on one shop while the export changes (agents appear, buyers
  wait, the clock ages the waits): the delta client's snapshot followed by its deltas, applied, equals
  the full client's frame of the same sequence number, every time;
- the keep-latest slot skipped a frame, or the screen asked to resync → the next thing sent is the
  snapshot, never a delta whose base the screen does not hold;
- every screen of a shop gets the very same encoded text (encoded once per shop and change).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from api.frame_pace import ShopPace
from api.hub import Client, Hub
from api.state import ApiCounters
from streams.config import Config
from streams.core.frame_delta import ShopFrames, apply_delta
from streams.readside.reader import ReadModel
from streams.readside.snapshots import live_key, meta_key
from tests.unit.test_hub_ageing import SHOP, MemoryRedis, RecordingSocket


def export(now_ms: int, agents: dict[str, list[int]]) -> dict[str, bytes]:
    """Partition 0's export: each agent with its waiting buyers' clock starts."""
    live = {"agents": {a: {"activity": p, "pending": p} for a, p in agents.items()}, "open_sla": [], "aged_sla": []}
    meta = {"watermark": now_ms, "processed": sum(map(len, agents.values())), "agents": sorted(agents), "days": []}
    return {live_key(SHOP, 0): orjson.dumps(live), meta_key(SHOP, 0): orjson.dumps(meta)}


async def test_a_delta_screen_sees_what_a_full_frame_screen_sees() -> None:
    now = int(time.time() * 1000)
    values = export(now, {"a1": [now - 5_000]})
    redis = MemoryRedis(values)
    hub = Hub(redis, ReadModel(redis, Config(partitions=1, clock="wall", _env_file=None)), ApiCounters())
    full_socket, delta_socket = RecordingSocket(), RecordingSocket()
    full, delta = Client(full_socket), Client(delta_socket, deltas=True)  # type: ignore[arg-type]
    hub.add(SHOP, full)
    hub.add(SHOP, delta)
    tasks = [asyncio.create_task(hub._build_loop()), asyncio.create_task(full.send_loop(hub.counters)),
             asyncio.create_task(delta.send_loop(hub.counters))]
    try:
        delta.offer(await hub.current(SHOP))
        changes = [{"a1": [now - 5_000], "a0": [now - 1_000]},  # an agent that sorts first appears
                   {"a0": [now - 1_000], "a2": []},  # a1 leaves the live rows, a2 appears idle
                   {"a0": [], "a2": [now - 2_000, now - 3_000]}]
        for agents in changes:
            await asyncio.sleep(0.7)  # the clock's re-sends in between: waits grow
            values.update(export(int(time.time() * 1000), agents))
            # a change without a notice (as after a reconnect): the clock's re-sends are not postponed
            hub.pace.setdefault(SHOP, ShopPace()).mark_changed(time.monotonic())
            hub._wake.set()
        await asyncio.sleep(0.7)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    kinds = [f["type"] for f in delta_socket.frames]
    assert kinds[0] == "snapshot" and set(kinds[1:]) == {"delta"}, kinds
    assert len(kinds) >= 4, kinds
    full_by_seq = {f["seq"]: {k: v for k, v in f.items() if k not in ("type", "seq")} for f in full_socket.frames}
    screen = {k: v for k, v in delta_socket.frames[0].items() if k not in ("type", "seq")}
    seq = delta_socket.frames[0]["seq"]
    compared = 0
    for frame in delta_socket.frames[1:]:
        assert frame["base"] == seq and frame["seq"] == seq + 1, (frame["base"], frame["seq"], seq)
        screen, seq = apply_delta(screen, frame["changes"]), frame["seq"]
        if seq in full_by_seq:
            assert orjson.dumps(screen) == orjson.dumps(full_by_seq[seq]), seq
            compared += 1
        assert len(orjson.dumps(frame)) < len(orjson.dumps(screen))
    assert compared >= 3, compared
    assert [a["agent_id"] for a in screen["live"]["agents"]] == ["a0", "a2"]  # a1 appeared, then left


def numbered(count: int) -> list[ShopFrames]:
    frames, previous = [], None
    for i in range(count):
        frame = {"shop_id": SHOP, "live": {"now": i}, "agents": [{"agent_id": "a1", "n": i}]}
        previous = ShopFrames.next(previous, frame)
        frames.append(previous)
    return frames


def test_a_skipped_frame_brings_the_snapshot_not_a_delta() -> None:
    one, two, three = numbered(3)
    client = Client(None, deltas=True)  # type: ignore[arg-type]
    assert orjson.loads(client.text_of(one))["type"] == "snapshot"
    assert orjson.loads(client.text_of(two)) == {"type": "delta", "seq": 2, "base": 1,
                                                 "changes": {"live": {"now": 1},
                                                             "agents": {"$key": "agent_id", "$rows": {"a1": {"n": 1}}}}}
    client.screen_seq = 1  # frame 2 was overwritten in the slot before it was sent
    sent = orjson.loads(client.text_of(three))
    assert sent["type"] == "snapshot" and sent["seq"] == 3 and sent["agents"] == [{"agent_id": "a1", "n": 2}]
    assert client.text_of(three) is None  # it holds it already


def test_a_resync_request_brings_the_snapshot() -> None:
    one, two = numbered(2)
    client = Client(None, deltas=True)  # type: ignore[arg-type]
    client.text_of(one)
    client.resync(one)
    assert client.latest is one
    assert orjson.loads(client.text_of(one))["type"] == "snapshot"
    assert orjson.loads(client.text_of(two))["type"] == "delta"


def test_an_older_frame_never_replaces_a_newer_one_in_the_slot() -> None:
    one, two = numbered(2)
    client = Client(None, deltas=True)  # type: ignore[arg-type]
    client.offer(two)
    client.offer(one)  # a joining screen's snapshot, built before frame 2 was offered
    assert client.latest is two


def test_every_screen_gets_the_same_text_encoded_once() -> None:
    one, two = numbered(2)
    screens: list[Any] = [Client(None, deltas=True) for _ in range(3)]  # type: ignore[arg-type]
    for screen in screens:
        screen.text_of(one)
    deltas = [screen.text_of(two) for screen in screens]
    assert all(text is deltas[0] for text in deltas)
    fulls = [Client(None).text_of(two) for _ in range(3)]  # type: ignore[arg-type]
    assert all(text is fulls[0] for text in fulls) and orjson.loads(fulls[0])["type"] == "update"


async def test_a_joining_screen_gets_a_recent_frame_and_the_others_get_it_too() -> None:
    now = int(time.time() * 1000)
    values = export(now, {"a1": []})
    redis = MemoryRedis(values)
    hub = Hub(redis, ReadModel(redis, Config(partitions=1, clock="wall", _env_file=None)), ApiCounters())
    first = Client(None, deltas=True)  # type: ignore[arg-type]
    hub.add(SHOP, first)
    one = await hub.current(SHOP)
    first.text_of(first.latest)  # (sent: the screen holds frame 1)
    joiner = Client(None, deltas=True)  # type: ignore[arg-type]
    hub.add(SHOP, joiner)
    assert await hub.current(SHOP) is one  # recent: no new build for each joining screen
    hub._frames_at[SHOP] -= 5  # nothing changed for 5 s: frame 1's "now" is 5 s old
    two = await hub.current(SHOP)
    assert two.seq == 2 and two.frame["live"]["now"] >= one.frame["live"]["now"]
    assert first.latest is two and joiner.latest is two
    assert orjson.loads(first.text_of(two))["type"] == "delta"  # the screen that held frame 1: a delta
