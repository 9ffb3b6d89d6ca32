"""WebSocket fan-out: one Redis pub/sub subscription per API replica, one frame built per shop and
change (at most every 0.5 s), and per client a keep-latest slot: a slow client gets the newest state,
never a backlog, never slows another client; a client that stops reading is dropped.

Screens age between events: a frame's figures also change with the clock alone (a buyer's wait
grows, an open SLA clock runs out, a conversation leaves the active window, the day ends). Each
built frame says until when it holds (ReadModel.snapshot_until); at that time the hub builds the
shop's frame again and sends it as an update, so while a buyer waits the screens get fresh figures
every second without new events. A shop where nothing waits or runs out costs nothing until then,
and with KEFU_CLOCK=event ("now" moves only with events) only events bring frames."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

import orjson
from redis.exceptions import RedisError
from starlette.websockets import WebSocket

from api.state import ApiCounters
from streams.readside.client import psubscribe
from streams.readside.keys import ALERTS, UPDATES, channel_pattern, parse_channel
from streams.readside.reader import ReadModel

log = logging.getLogger("kefu.hub")
MIN_UPDATE_INTERVAL_S = 0.5
HEARTBEAT_S = 10.0
SEND_TIMEOUT_S = 10.0
MAX_PENDING_ALERTS = 100


class Client:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.latest: str | None = None  # newest update frame not yet sent (older ones are dropped)
        self.alerts: deque[bytes] = deque(maxlen=MAX_PENDING_ALERTS)
        self.wakeup = asyncio.Event()

    def offer(self, frame: str) -> None:
        self.latest = frame
        self.wakeup.set()

    def offer_alert(self, frame: bytes) -> None:
        self.alerts.append(frame)
        self.wakeup.set()

    async def send_loop(self, counters: ApiCounters) -> None:
        """Send what is pending; a heartbeat when nothing was sent for HEARTBEAT_S."""
        while True:
            try:
                async with asyncio.timeout(HEARTBEAT_S):  # (not wait_for: no task per wake-up)
                    await self.wakeup.wait()
            except TimeoutError:
                await self._send(orjson.dumps({"type": "heartbeat", "now": int(time.time() * 1000)}))
                continue
            self.wakeup.clear()
            while self.alerts:
                await self._send(self.alerts.popleft())
            frame, self.latest = self.latest, None
            if frame is not None:
                await self._send(frame)
                counters.ws_frames_sent += 1

    async def _send(self, frame: bytes | str) -> None:
        # A client that cannot take a frame within SEND_TIMEOUT_S is gone for our purposes.
        async with asyncio.timeout(SEND_TIMEOUT_S):
            await self.websocket.send_text(frame if isinstance(frame, str) else frame.decode())


class Hub:
    def __init__(self, redis: Any, readmodel: ReadModel, counters: ApiCounters) -> None:
        self.redis = redis
        self.readmodel = readmodel
        self.counters = counters
        self.clients: dict[str, set[Client]] = {}
        self._dirty: dict[str, float] = {}  # shop → monotonic time of the first unsent change
        self._clock_due: dict[str, float] = {}  # shop → monotonic time at which the clock changes its frame
        self._last_built: dict[str, float] = {}
        self._wake = asyncio.Event()  # set on each change: the build loop looks again
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def client_count(self) -> int:
        return sum(len(c) for c in self.clients.values())

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._build_loop())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def add(self, shop: str, client: Client) -> None:
        self.clients.setdefault(shop, set()).add(client)

    def remove(self, shop: str, client: Client) -> None:
        clients = self.clients.get(shop)
        if clients is not None:
            clients.discard(client)
            if not clients:
                del self.clients[shop]

    async def frame(self, shop: str, kind: str) -> bytes:
        """The shop's frame now; also schedules the update for when the clock alone changes it."""
        snapshot, until_ms = await self.readmodel.snapshot_until(shop)
        if until_ms is None:
            self._clock_due.pop(shop, None)
        else:
            delay_s = max(0.0, until_ms / 1000 - time.time())  # wall → monotonic (the loop's clock)
            self._clock_due[shop] = time.monotonic() + delay_s
            self._wake.set()
        return orjson.dumps({"type": kind, **snapshot})

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis.pubsub()
            try:
                await psubscribe(self.redis, pubsub, channel_pattern(UPDATES), channel_pattern(ALERTS))
                for shop in self.clients:  # (re)connected: whatever we missed, screens get it now
                    self._dirty.setdefault(shop, time.monotonic())
                self._wake.set()
                async for message in pubsub.listen():
                    if message["type"] != "pmessage":
                        continue
                    shop, name = parse_channel(message["channel"])
                    if shop not in self.clients:
                        continue
                    if name == ALERTS:
                        frame = orjson.dumps({"type": "alert", **orjson.loads(message["data"])})
                        for client in list(self.clients.get(shop, ())):
                            client.offer_alert(frame)
                    else:
                        self._dirty.setdefault(shop, time.monotonic())
                        self._wake.set()
            except (RedisError, OSError) as exc:
                log.warning("pub/sub lost (%s); reconnecting", exc)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):  # already broken
                    await pubsub.aclose()

    def _build_due(self, shop: str) -> float | None:
        """When the shop's next update frame may be built (monotonic), or None: none is wanted."""
        wanted = [t for t in (self._dirty.get(shop), self._clock_due.get(shop)) if t is not None]
        if not wanted:
            return None
        return max(min(wanted), self._last_built.get(shop, 0) + MIN_UPDATE_INTERVAL_S)

    async def _build_loop(self) -> None:
        """Build each shop's frame as soon as it may: when it changed or the clock changes it, at once
        or 0.5 s after its last frame.

        Woken by each change and timed to the next due shop (no polling tick: a polling tick added its
        overshoot to every frame and let the phase drift, delaying frames by up to 0.5 s for nothing)."""
        while True:
            now = time.monotonic()
            for shop in list(self._dirty.keys() | self._clock_due.keys()):
                if shop not in self.clients:
                    self._dirty.pop(shop, None)
                    self._clock_due.pop(shop, None)
                    continue
                due = self._build_due(shop)
                if due is None or now < due:
                    continue
                since = self._dirty.pop(shop, None)  # None: only the clock changed the figures
                clock_due = self._clock_due.pop(shop, None)
                self._last_built[shop] = now
                try:
                    frame = await self.frame(shop, "update")
                except (RedisError, OSError) as exc:
                    log.warning("could not build frame for %s (%s)", shop, exc)
                    if since is not None:
                        self._dirty[shop] = since
                    if clock_due is not None:
                        self._clock_due.setdefault(shop, clock_due)
                    continue
                if since is not None:  # push latency is event → screen; the clock's re-sends have none
                    self.counters.push_latency_ms.append((time.monotonic() - since) * 1000)
                    del self.counters.push_latency_ms[:-1000]
                text = frame.decode()  # once per frame, not once per client
                for client in list(self.clients.get(shop, ())):
                    client.offer(text)
                now = time.monotonic()
            now = time.monotonic()
            dues = [due for shop in self._dirty.keys() | self._clock_due.keys()
                    if (due := self._build_due(shop)) is not None]
            if dues and min(dues) <= now:
                continue  # due already (changed while a frame was built): go round again
            self._wake.clear()
            wait = min(dues) - now if dues else None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
