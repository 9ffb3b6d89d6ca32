"""WebSocket fan-out: one Redis pub/sub subscription per API replica, one frame built per shop and
change (at most every 0.5 s), and per client a keep-latest slot: a slow client gets the newest state,
never a backlog, never slows another client; a client that stops reading is dropped.

Screens age between events: a frame's figures also change with the clock alone (a buyer's wait
grows, an open SLA clock runs out, a conversation leaves the active window, the day ends). Each
built frame says until when it holds (ReadModel.snapshot_until); at that time the hub builds the
shop's frame again and sends it as an update, so while a buyer waits the screens get fresh figures
every second without new events. A shop where nothing waits or runs out costs nothing until then,
and with KEFU_CLOCK=event ("now" moves only with events) only events bring frames.

Delta frames (issue 16; docs/websocket.md): each build is numbered (streams.core.frame_delta.ShopFrames)
and encoded at most once per form — full update, snapshot, delta — however many screens take it. A
screen that asked for deltas (`?deltas=1`) gets a snapshot, then for each frame the delta from the one
it holds; when it does not hold the previous frame (its keep-latest slot skipped one, or it asked to
resync) it gets the current snapshot instead, so a delta never applies to the wrong frame. Screens
that did not ask get full update frames, as before."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from redis.exceptions import RedisError
from starlette.websockets import WebSocket, WebSocketDisconnect

from api.errors import ApiError
from api.frame_pace import ShopPace
from api.state import ApiCounters
from streams.core.frame_delta import ShopFrames
from streams.readside.client import psubscribe
from streams.readside.frame_cache import FrameCache
from streams.readside.keys import ALERTS, UPDATES, channel_pattern, parse_channel
from streams.readside.reader import ReadModel

log = logging.getLogger("kefu.hub")
HEARTBEAT_S = 10.0
SEND_TIMEOUT_S = 10.0  # ≥ HEARTBEAT_S (Client._arm)
MAX_PENDING_ALERTS = 100
FRESH_FOR_JOINING_S = 1.0  # a joining delta screen gets the shop's last frame if it is this recent
RESTART_AFTER_S = 1.0  # a hub loop that failed starts again after this long (supervised)


class Client:
    def __init__(self, websocket: WebSocket, deltas: bool = False) -> None:
        self.websocket = websocket
        self.deltas = deltas  # asked for delta frames (?deltas=1)
        # Newest frame not yet sent (older ones are dropped): a ready text, or a shop's numbered frame.
        self.latest: str | ShopFrames | None = None
        self.screen_seq: int | None = None  # (delta screens) the frame the screen holds; None: none yet
        self.alerts: deque[bytes] = deque(maxlen=MAX_PENDING_ALERTS)
        self.wakeup = asyncio.Event()
        # send_loop's clocks (loop time): one timer per client for the heartbeat and the send timeout
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_sent = 0.0
        self._sending_since: float | None = None
        self._heartbeat_due = False
        self._timed_out = False

    def offer(self, frame: str | ShopFrames) -> None:
        if isinstance(frame, ShopFrames) and isinstance(self.latest, ShopFrames) and frame.seq < self.latest.seq:
            return  # (a joining screen's snapshot built before a frame the build loop offered meanwhile)
        self.latest = frame
        self.wakeup.set()

    def resync(self, frames: ShopFrames | None) -> None:
        """The screen asked for a snapshot (it saw a gap in the sequence numbers)."""
        self.screen_seq = None
        if frames is not None and self.latest is None:
            self.offer(frames)

    def offer_alert(self, frame: bytes) -> None:
        self.alerts.append(frame)
        self.wakeup.set()

    def text_of(self, frame: str | ShopFrames) -> str | None:
        """What this screen gets for `frame`: the full update, or (delta screens) the delta from the frame
        it holds, or the snapshot when it does not hold the previous one; None when it has this one."""
        if isinstance(frame, str):
            return frame
        if not self.deltas:
            return frame.update_text()
        held = self.screen_seq
        if held is not None and held >= frame.seq:
            return None
        self.screen_seq = frame.seq
        if held == frame.seq - 1 and (delta := frame.delta_text()) is not None:
            return delta
        return frame.snapshot_text()

    async def send_loop(self, counters: ApiCounters) -> None:
        """Send what is pending; a heartbeat when nothing was sent for HEARTBEAT_S; TimeoutError when a
        send did not complete within SEND_TIMEOUT_S (a client that cannot take a frame is gone for our
        purposes).

        Both clocks are one timer per client, re-armed about every HEARTBEAT_S (_on_timer), not an
        asyncio.timeout per wait and per send: those cost ~9 µs each, ~18 ms of CPU per frame with 1,000
        screens (docs/performance-journal.md, "Frame builds from what changed")."""
        loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._last_sent = loop.time()
        self._arm(loop)
        try:
            while True:
                await self.wakeup.wait()
                self.wakeup.clear()
                if self._heartbeat_due:
                    self._heartbeat_due = False
                    await self._send(orjson.dumps({"type": "heartbeat", "now": int(time.time() * 1000)}), loop)
                while self.alerts:
                    await self._send(self.alerts.popleft(), loop)
                frame, self.latest = self.latest, None
                if frame is not None and (text := self.text_of(frame)) is not None:
                    await self._send(text, loop)
                    counters.ws_frames_sent += 1
        except asyncio.CancelledError:
            if not self._timed_out:
                raise
            self._task.uncancel()  # (our own cancel, as asyncio.timeout does: the caller sees TimeoutError)
            raise TimeoutError(f"a frame not taken within {SEND_TIMEOUT_S} s") from None
        finally:
            if self._timer is not None:
                self._timer.cancel()

    async def _send(self, frame: bytes | str, loop: asyncio.AbstractEventLoop) -> None:
        self._sending_since = loop.time()
        try:
            await self.websocket.send_text(frame if isinstance(frame, str) else frame.decode())
        finally:
            self._sending_since = None
        self._last_sent = loop.time()

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        """The timer at the next moment a clock may run out: the send's deadline while one is under way,
        else when a heartbeat is due. (A send that starts meanwhile is checked then, and its deadline,
        SEND_TIMEOUT_S ≥ HEARTBEAT_S after it started, is never earlier.)"""
        if self._sending_since is not None:
            due = self._sending_since + SEND_TIMEOUT_S
        else:
            due = self._last_sent + HEARTBEAT_S
        self._timer = loop.call_at(due, self._on_timer, loop)

    def _on_timer(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        if self._sending_since is not None:
            if now >= self._sending_since + SEND_TIMEOUT_S:
                self._timer, self._timed_out = None, True
                if self._task is not None:
                    self._task.cancel()
                return
        elif now >= self._last_sent + HEARTBEAT_S:
            self._heartbeat_due = True
            self._last_sent = now  # (the heartbeat is on its way: the next one HEARTBEAT_S after it)
            self.wakeup.set()
        self._arm(loop)


async def supervised(name: str, loop: Callable[[], Awaitable[None]], counters: ApiCounters) -> None:
    """Run one of the hub's loops for good: an unexpected error is logged, counted
    (kefu_hub_loop_restarts_total) and the loop started again a second later, rather than leaving this
    replica's screens without frames until it is restarted."""
    while True:
        try:
            await loop()
        except Exception:  # noqa: BLE001 - logged, and the loop goes on
            log.exception("the hub's %s failed; starting it again in %s s", name, RESTART_AFTER_S)
            counters.hub_loop_restarts += 1
        await asyncio.sleep(RESTART_AFTER_S)


async def refuse(websocket: WebSocket, exc: ApiError) -> None:
    """Close a stream that may not be served with 4400 + the HTTP status's last two digits (4401, 4403…)."""
    # Accept first: a close before the handshake reaches browsers as 1006, hiding why.
    await websocket.accept()
    await websocket.close(code=4400 + exc.status % 100, reason=exc.message[:120])


async def drain(websocket: WebSocket, resync: Callable[[], None] | None = None) -> None:
    """Read what a client sends, so a disconnect is noticed at once; `{"type": "resync"}` asks for a
    snapshot (when the stream has `resync`), anything else is ignored."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if resync is not None and _is_resync(message.get("text")):
                resync()
    except (WebSocketDisconnect, RuntimeError):
        return


def _is_resync(text: str | None) -> bool:
    if not text or len(text) > 100:
        return False
    try:
        return orjson.loads(text) == {"type": "resync"}
    except orjson.JSONDecodeError:
        return False


class Hub:
    def __init__(self, redis: Any, readmodel: ReadModel, counters: ApiCounters) -> None:
        self.redis = redis
        self.readmodel = readmodel
        self.counters = counters
        self.clients: dict[str, set[Client]] = {}
        self.latest: dict[str, dict[str, Any]] = {}  # shop → its newest snapshot, while it has clients
        self.pace: dict[str, ShopPace] = {}  # shop → when its next frame may be built (api/frame_pace.py)
        self.frames: dict[str, ShopFrames] = {}  # shop → its newest numbered frame (while it has screens)
        self._frames_at: dict[str, float] = {}  # shop → when that frame was built (monotonic)
        self._building: dict[str, asyncio.Lock] = {}
        self._caches: dict[str, FrameCache] = {}  # shop → what its next build can reuse (while it has clients)
        self._wake = asyncio.Event()  # set on each change: the build loop looks again
        self._failing: set[str] = set()  # shops whose last frame build failed with an unexpected error
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def client_count(self) -> int:
        return sum(len(c) for c in self.clients.values())

    def start(self) -> None:
        self._tasks = [asyncio.create_task(supervised("pub/sub listener", self._listen, self.counters)),
                       asyncio.create_task(supervised("frame builder", self._build_loop, self.counters))]

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
                self.frames.pop(shop, None)  # a later screen starts a new sequence
                self.pace.pop(shop, None)
                self._failing.discard(shop)
                self._frames_at.pop(shop, None)
                self._building.pop(shop, None)
                self._caches.pop(shop, None)
                self.latest.pop(shop, None)

    async def frame(self, shop: str, kind: str) -> bytes:
        """The shop's frame now (not numbered; see snapshot)."""
        return orjson.dumps({"type": kind, **await self.snapshot(shop)})

    async def snapshot(self, shop: str) -> dict[str, Any]:
        """The shop's snapshot now (its frame's figures), kept in `latest` for the multi-shop sets
        (api/shop_sets.py) while the shop has clients; also schedules the update for when the clock
        alone changes it."""
        cache = self._caches.setdefault(shop, FrameCache()) if shop in self.clients else None
        snapshot, until_ms = await self.readmodel.snapshot_until(shop, cache)
        if until_ms is None:
            if shop in self.pace:
                self.pace[shop].clock_due = None
        elif shop in self.clients:
            delay_s = max(0.0, until_ms / 1000 - time.time())  # wall → monotonic (the loop's clock)
            self.pace.setdefault(shop, ShopPace()).clock_due = time.monotonic() + delay_s
            self._wake.set()
        if shop in self.clients:
            self.latest[shop] = snapshot
        return snapshot

    async def advance(self, shop: str) -> ShopFrames:
        """Build the shop's next numbered frame (one at a time per shop: each is the delta base of the next)."""
        async with self._building.setdefault(shop, asyncio.Lock()):
            return await self._advance_locked(shop)

    async def _advance_locked(self, shop: str) -> ShopFrames:
        frames = ShopFrames.next(self.frames.get(shop), await self.snapshot(shop))
        if shop in self.clients:
            self.frames[shop] = frames
            self._frames_at[shop] = time.monotonic()
        return frames

    async def current(self, shop: str) -> ShopFrames:
        """The shop's newest numbered frame for a joining screen: the last one if it is recent (changes
        since are due to every screen of the shop within 0.5 s anyway), else a new one, which the
        shop's other screens get too (its "now" moved: they would otherwise show an older one)."""
        async with self._building.setdefault(shop, asyncio.Lock()):
            frames = self.frames.get(shop)
            if frames is not None and time.monotonic() - self._frames_at.get(shop, 0) <= FRESH_FOR_JOINING_S:
                return frames
            frames = await self._advance_locked(shop)
        for client in list(self.clients.get(shop, ())):
            client.offer(frames)
        return frames

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis.pubsub()
            try:
                await psubscribe(self.redis, pubsub, channel_pattern(UPDATES), channel_pattern(ALERTS))
                for shop in self.clients:  # (re)connected: whatever we missed, screens get it now
                    self.pace.setdefault(shop, ShopPace()).mark_changed(time.monotonic())
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
                        self.changed(shop)
            except (RedisError, OSError) as exc:
                log.warning("pub/sub lost (%s); reconnecting", exc)
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):  # already broken
                    await pubsub.aclose()

    def changed(self, shop: str) -> None:
        """The shop's figures changed (an exporter's update notice): its screens get a frame."""
        self.pace.setdefault(shop, ShopPace()).changed(time.monotonic())
        self._wake.set()

    async def _build_loop(self) -> None:
        """Build each shop's frame as soon as it may: when it changed or the clock changes it, at once
        or when the pace allows (api/frame_pace.py).

        Woken by each change and timed to the next due shop (no polling tick: a polling tick added its
        overshoot to every frame and let the phase drift, delaying frames by up to 0.5 s for nothing)."""
        while True:
            now = time.monotonic()
            for shop in list(self.pace):
                pace = self.pace.get(shop)  # (gone when its last screen left while a frame was built)
                if pace is None:
                    continue
                if shop not in self.clients:
                    del self.pace[shop]
                    continue
                due = pace.due()
                if due is None or now < due:
                    continue
                since, clock_due = pace.take(now)  # since None: only the clock changed the figures
                try:
                    frames = await self.advance(shop)
                except (RedisError, OSError) as exc:
                    log.warning("could not build frame for %s (%s)", shop, exc)
                    self.counters.frame_build_failures += 1
                    pace.untake(since, clock_due)  # due again after the pace's interval
                    continue
                except Exception:  # noqa: BLE001 - one shop's bad data must not stop every shop's screens
                    self.counters.frame_build_failures += 1
                    if shop not in self._failing:
                        log.exception("could not build frame for %s; its screens keep their last frame "
                                      "until a build succeeds (logged once until then)", shop)
                        self._failing.add(shop)
                    # Due again after the pace's interval, as for Redis errors: a one-off failure costs the
                    # screens half a second, not every frame until the shop's next change.
                    pace.untake(since, clock_due)
                    continue
                self._failing.discard(shop)
                if since is not None:  # push latency is event → screen; the clock's re-sends have none
                    self.counters.push_latency_ms.append((time.monotonic() - since) * 1000)
                    del self.counters.push_latency_ms[:-1000]
                for client in list(self.clients.get(shop, ())):
                    client.offer(frames)  # each form encoded once, by the first screen that takes it
                now = time.monotonic()
            now = time.monotonic()
            dues = [due for pace in self.pace.values() if (due := pace.due()) is not None]
            if dues and min(dues) <= now:
                continue  # due already (changed while a frame was built): go round again
            self._wake.clear()
            wait = min(dues) - now if dues else None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
