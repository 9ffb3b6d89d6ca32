"""The hub goes on when something goes wrong around it: a screen leaving mid-build, one shop's frame
that cannot be built, one of its loops failing. Without this a single bad document or bug would leave
every screen of the replica without frames until it is restarted."""

from __future__ import annotations

import asyncio
from typing import Any

from api import hub as hub_module
from api.frame_pace import MIN_UPDATE_INTERVAL_S
from api.hub import Client, Hub
from api.state import ApiCounters
from tests.unit.test_hub_pace import TimedSocket


async def test_a_shop_whose_last_screen_leaves_while_another_frame_is_built() -> None:
    """The build loop goes on (a shop's pace is dropped with its last screen, also while the loop awaits
    another shop's frame and still has the first shop on its list)."""
    hub = Hub(None, None, ApiCounters())  # type: ignore[arg-type]
    first, second = Client(TimedSocket()), Client(TimedSocket())  # type: ignore[arg-type]
    hub.add("shop-a", first)
    hub.add("shop-b", second)
    built: list[str] = []

    async def advance(shop: str) -> Any:
        built.append(shop)
        if shop == "shop-a":
            hub.remove("shop-b", second)
        return object()

    hub.advance = advance  # type: ignore[method-assign]
    hub.changed("shop-a")
    hub.changed("shop-b")
    loop_task = asyncio.create_task(hub._build_loop())
    try:
        await asyncio.sleep(0.05)
        hub.changed("shop-a")
        await asyncio.sleep(MIN_UPDATE_INTERVAL_S + 0.1)
        assert not loop_task.done(), loop_task.exception()
        assert built == ["shop-a", "shop-a"] and "shop-b" not in hub.pace
    finally:
        loop_task.cancel()
        await asyncio.gather(loop_task, return_exceptions=True)


async def test_a_shop_whose_frames_cannot_be_built_does_not_stop_the_others(caplog: Any) -> None:
    """An unexpected error building one shop's frame (bad data) is logged once, and the other shops'
    screens keep getting frames; the shop gets frames again once a build succeeds."""
    hub = Hub(None, None, ApiCounters())  # type: ignore[arg-type]
    hub.add("shop-a", Client(TimedSocket()))  # type: ignore[arg-type]
    hub.add("shop-b", Client(TimedSocket()))  # type: ignore[arg-type]
    built: list[str] = []
    broken = {"shop-a"}

    async def advance(shop: str) -> Any:
        if shop in broken:
            raise ValueError("a malformed snapshot document")
        built.append(shop)
        return object()

    hub.advance = advance  # type: ignore[method-assign]
    loop_task = asyncio.create_task(hub._build_loop())
    try:
        for _ in range(3):
            hub.changed("shop-a")
            hub.changed("shop-b")
            await asyncio.sleep(MIN_UPDATE_INTERVAL_S + 0.05)
        assert not loop_task.done()
        assert built == ["shop-b"] * 3
        assert sum("could not build frame for shop-a" in r.getMessage() for r in caplog.records) == 1
        assert hub.counters.frame_build_failures >= 3  # each failed build counted, logged once
        broken.clear()
        hub.changed("shop-a")
        await asyncio.sleep(MIN_UPDATE_INTERVAL_S + 0.1)  # (a failed build keeps the pace, as a built one)
        assert "shop-a" in built
    finally:
        loop_task.cancel()
        await asyncio.gather(loop_task, return_exceptions=True)


async def test_a_frame_that_failed_once_is_built_again_without_a_new_change() -> None:
    """A one-off failure (the shop then quiet: no new change) is retried after the pace's interval, so
    the screens do not keep a stale frame until the shop's next change."""
    hub = Hub(None, None, ApiCounters())  # type: ignore[arg-type]
    hub.add("shop-a", Client(TimedSocket()))  # type: ignore[arg-type]
    attempts: list[float] = []

    async def advance(shop: str) -> Any:
        attempts.append(asyncio.get_running_loop().time())
        if len(attempts) == 1:
            raise ValueError("a one-off failure")
        return object()

    hub.advance = advance  # type: ignore[method-assign]
    loop_task = asyncio.create_task(hub._build_loop())
    try:
        hub.changed("shop-a")
        await asyncio.sleep(MIN_UPDATE_INTERVAL_S + 0.2)
        assert len(attempts) == 2 and hub.counters.frame_build_failures == 1
        assert attempts[1] - attempts[0] >= MIN_UPDATE_INTERVAL_S - 0.01  # not at once: after the interval
        await asyncio.sleep(MIN_UPDATE_INTERVAL_S + 0.1)
        assert len(attempts) == 2  # built: nothing due any more
    finally:
        loop_task.cancel()
        await asyncio.gather(loop_task, return_exceptions=True)


async def test_a_hub_loop_that_fails_is_started_again(monkeypatch: Any) -> None:
    monkeypatch.setattr(hub_module, "RESTART_AFTER_S", 0.01)
    calls: list[int] = []
    again = asyncio.Event()

    async def loop() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise KeyError("a bug")
        again.set()
        await asyncio.sleep(3600)

    counters = ApiCounters()
    task = asyncio.create_task(hub_module.supervised("test loop", loop, counters))
    try:
        await asyncio.wait_for(again.wait(), 1)
        assert len(calls) == 2 and counters.hub_loop_restarts == 1
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
