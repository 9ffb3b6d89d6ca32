"""A screen's two clocks in Client.send_loop (api/hub.py), kept by one timer per client rather than an
asyncio.timeout per wait and per send: a heartbeat when nothing was sent for HEARTBEAT_S (and none while
frames flow), and TimeoutError when a send does not complete within SEND_TIMEOUT_S (the route counts
the client as dropped), after which the loop is not left cancelled."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

import api.hub
from api.hub import Client
from api.state import ApiCounters


class Socket:
    def __init__(self, stall: bool = False) -> None:
        self.sent: list[tuple[float, dict]] = []
        self.stall = stall

    async def send_text(self, text: str) -> None:
        if self.stall:
            await asyncio.Event().wait()  # a client that never takes the frame
        self.sent.append((time.monotonic(), orjson.loads(text)))


@pytest.fixture
def short_clocks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.hub, "HEARTBEAT_S", 0.2)
    monkeypatch.setattr(api.hub, "SEND_TIMEOUT_S", 0.3)


def test_heartbeats_when_quiet_none_while_frames_flow(short_clocks: None) -> None:
    async def run() -> list[tuple[float, dict]]:
        socket = Socket()
        client = Client(socket)  # type: ignore[arg-type]
        task = asyncio.create_task(client.send_loop(ApiCounters()))
        await asyncio.sleep(0.5)  # quiet: heartbeats at ~0.2 and ~0.4 s
        for _ in range(6):  # frames every 0.1 s: no heartbeat in between
            client.offer('{"type":"update"}')
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return socket.sent

    sent = asyncio.run(run())
    kinds = [frame["type"] for _, frame in sent]
    assert kinds[:2] == ["heartbeat", "heartbeat"], kinds
    assert kinds[2:] == ["update"] * 6, kinds
    assert 0.15 < sent[1][0] - sent[0][0] < 0.35


def test_a_stalled_send_raises_timeout_error(short_clocks: None) -> None:
    async def run() -> tuple[BaseException | None, float]:
        client = Client(Socket(stall=True))  # type: ignore[arg-type]
        task = asyncio.create_task(client.send_loop(ApiCounters()))
        client.offer('{"type":"update"}')
        started = time.monotonic()
        await asyncio.wait({task}, timeout=2)
        assert task.done()
        return task.exception(), time.monotonic() - started

    exc, took = asyncio.run(run())
    assert isinstance(exc, TimeoutError), exc
    assert 0.25 < took < 1.0, took


def test_cancelling_the_loop_still_cancels_it(short_clocks: None) -> None:
    async def run() -> bool:
        client = Client(Socket())  # type: ignore[arg-type]
        task = asyncio.create_task(client.send_loop(ApiCounters()))
        await asyncio.sleep(0.05)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return task.cancelled()

    assert asyncio.run(run())
