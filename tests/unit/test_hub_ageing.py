"""Screens age between events (issue 18): the clock alone changes live figures, and the hub re-sends them.

- streams.core.views.next_clock_change_ms: when the clock alone next changes a frame (a wait grows, an
  open SLA clock of the day runs out, a conversation leaves the active window, the day ends);
- api.hub.Hub with the real ReadModel over an in-memory Redis holding one worker export: one waiting
  buyer and no further change → an update frame about every second with a growing longest_wait_s;
  the SLA counts move when the open first-response clock runs out; nothing waiting → no update frame
  (until the day ends); KEFU_CLOCK=event → no update frame (the watermark moves only with events).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pytest

from api.hub import Client, Hub
from api.state import ApiCounters
from streams.config import Config
from streams.core.shop_settings import DEFAULT_SETTINGS
from streams.core.views import WAIT_REFRESH_MS, next_clock_change_ms
from streams.readside.reader import ReadModel
from streams.readside.snapshots import MergedLive, live_key, meta_key

SHOP = "ageing-shop"
DAY = "2024-11-11"
DAY_START = int(datetime(2024, 11, 11, tzinfo=ZoneInfo(DEFAULT_SETTINGS.timezone)).timestamp() * 1000)
NOON = DAY_START + 12 * 3_600_000
SLA_MS = int(DEFAULT_SETTINGS.sla_s * 1000)
WINDOW_MS = int(DEFAULT_SETTINGS.active_window_s * 1000)


def merged(pending: dict[str, list[int]] | None = None, activity: dict[str, list[int]] | None = None,
           open_sla: list[list[Any]] | None = None) -> MergedLive:
    return MergedLive(activity=defaultdict(list, activity or {}), pending=defaultdict(list, pending or {}),
                      open_sla=open_sla or [], aged_sla=[])


# ------------------------------------------------------------------------- next_clock_change_ms


def test_nothing_live_changes_at_the_end_of_the_day() -> None:
    assert next_clock_change_ms(merged(), DAY, DEFAULT_SETTINGS, NOON) == DAY_START + 86_400_000


def test_a_waiting_buyer_changes_the_frame_every_second() -> None:
    live = merged(pending={"a1": [NOON - 5_000]}, activity={"a1": [NOON - 5_000]})
    assert next_clock_change_ms(live, DAY, DEFAULT_SETTINGS, NOON) == NOON + WAIT_REFRESH_MS


def test_an_open_sla_clock_of_the_day_changes_the_frame_when_it_runs_out() -> None:
    first = NOON - 10_000
    live = merged(open_sla=[["a1", DAY, "presale", first, SLA_MS]])
    assert next_clock_change_ms(live, DAY, DEFAULT_SETTINGS, NOON) == first + SLA_MS + 1
    # one of another day counts in no figure of this day
    other = merged(open_sla=[["a1", "2024-11-10", "presale", first, SLA_MS]])
    assert next_clock_change_ms(other, DAY, DEFAULT_SETTINGS, NOON) == DAY_START + 86_400_000


def test_a_conversation_changes_the_frame_when_it_leaves_the_active_window() -> None:
    last = NOON - 60_000
    live = merged(activity={"a1": [last, NOON - 120_000]})
    assert next_clock_change_ms(live, DAY, DEFAULT_SETTINGS, NOON) == last - 120_000 + 60_000 + WINDOW_MS + 1
    # activity stamped ahead of now starts counting when now reaches it
    ahead = merged(activity={"a1": [NOON + 2_000]})
    assert next_clock_change_ms(ahead, DAY, DEFAULT_SETTINGS, NOON) == NOON + 2_000


# ------------------------------------------------------------------------------------ the hub


class MemoryRedis:
    """The read calls ReadModel makes (get, mget, hgetall, pipelined mget and hmget) over a dict; no pub/sub."""

    def __init__(self, values: dict[str, bytes]) -> None:
        self.values = values

    async def get(self, key: str) -> bytes | None:
        return self.values.get(key)

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        return [self.values.get(k) for k in keys]

    async def hgetall(self, key: str) -> dict[bytes, bytes]:
        return {}

    def pipeline(self, transaction: bool = True) -> MemoryPipeline:
        return MemoryPipeline(self.values)


class MemoryPipeline:
    """mget over the dict; hmget of minute buckets (the staffing now-cast's arrivals) and hgetall of day
    buckets: none are stored here."""

    def __init__(self, values: dict[str, bytes]) -> None:
        self.values = values
        self.results: list[list[bytes | None]] = []

    def mget(self, keys: list[str]) -> None:
        self.results.append([self.values.get(k) for k in keys])

    def hmget(self, key: str, fields: list[str]) -> None:
        self.results.append([None] * len(fields))

    def hgetall(self, key: str) -> None:  # day buckets (hashes of rows): none are stored here
        self.results.append({})

    def eval(self, script: str, numkeys: int, *keys: str) -> None:  # the hub's day rows script: no rows here
        self.results.append(b"{}")  # type: ignore[arg-type]

    async def execute(self) -> list[list[bytes | None]]:
        return self.results


class RecordingSocket:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def send_text(self, text: str) -> None:
        self.frames.append(orjson.loads(text))


def export(now_ms: int, pending: list[int], open_sla: list[list[Any]]) -> dict[str, bytes]:
    """One worker's export of partition 0: agent a1 with the given waiting buyers' clock starts."""
    live = {"agents": {"a1": {"activity": pending, "pending": pending}}, "open_sla": open_sla, "aged_sla": []}
    meta = {"watermark": now_ms, "processed": len(pending), "agents": ["a1"], "days": []}
    return {live_key(SHOP, 0): orjson.dumps(live), meta_key(SHOP, 0): orjson.dumps(meta)}


async def updates_without_events(values: dict[str, bytes], clock: str, seconds: float) -> list[dict[str, Any]]:
    """Frames a client gets, after its snapshot, in `seconds` without any change in Redis."""
    config = Config(partitions=1, clock=clock, _env_file=None)
    hub = Hub(MemoryRedis(values), ReadModel(MemoryRedis(values), config), ApiCounters())
    socket = RecordingSocket()
    client = Client(socket)  # type: ignore[arg-type]
    hub.add(SHOP, client)
    build = asyncio.create_task(hub._build_loop())  # no _listen: nothing is ever published
    sender = asyncio.create_task(client.send_loop(hub.counters))
    try:
        await socket.send_text((await hub.frame(SHOP, "snapshot")).decode())
        await asyncio.sleep(seconds)
    finally:
        for task in (build, sender):
            task.cancel()
        await asyncio.gather(build, sender, return_exceptions=True)
    assert socket.frames[0]["type"] == "snapshot"
    return socket.frames[1:]


async def test_a_waiting_buyer_ages_on_the_stream_without_events() -> None:
    now = int(time.time() * 1000)
    waits_since = now - 5_000
    # its first-response clock runs out about 1.5 s from now: sla_buyers 0 → 1, sla_rate None → 0
    sla_ms = 6_500
    day = datetime.fromtimestamp(now / 1000, ZoneInfo(DEFAULT_SETTINGS.timezone)).date().isoformat()
    values = export(now, [waits_since], [["a1", day, "presale", waits_since, sla_ms]])
    frames = await updates_without_events(values, "wall", 3.7)

    updates = [f for f in frames if f["type"] == "update"]
    assert len(updates) >= 3, frames  # at least once a second
    waits = [f["live"]["team"]["longest_wait_s"] for f in updates]
    assert waits == sorted(waits) and waits[-1] - waits[0] >= 2.0, waits
    for frame in updates:  # the wait is "now" of the frame minus the buyer's clock start
        assert frame["live"]["team"]["longest_wait_s"] == pytest.approx((frame["live"]["now"] - waits_since) / 1000)
        agent = next(a for a in frame["live"]["agents"] if a["agent_id"] == "a1")
        assert agent["longest_wait_s"] == frame["live"]["team"]["longest_wait_s"]
    sla = [(f["team"]["sla_buyers"], f["team"]["sla_rate"]) for f in updates]
    assert sla[0] == (0, None) and sla[-1] == (1, 0.0), sla
    assert [a["sla_buyers"] for a in updates[-1]["agents"] if a["agent_id"] == "a1"] == [1]


async def test_no_frames_while_nothing_waits() -> None:
    now = int(time.time() * 1000)
    frames = await updates_without_events(export(now, [], []), "wall", 1.5)
    assert [f for f in frames if f["type"] == "update"] == []


async def test_no_frames_by_the_clock_with_event_time() -> None:
    """KEFU_CLOCK=event: "now" is the watermark; without events nothing on the screen may move."""
    now = int(time.time() * 1000)
    frames = await updates_without_events(export(now, [now - 5_000], []), "event", 1.5)
    assert [f for f in frames if f["type"] == "update"] == []
