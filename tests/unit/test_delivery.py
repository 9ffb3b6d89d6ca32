"""The worker's record delivery (streams/worker/delivery.py): the same outcome as Faust's
`wait_first(callback(message), suspend_flow.wait())`, without tasks when the callback does not wait."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import logging
import weakref
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from faust import streams as faust_streams
from faust.transport import consumer as faust_consumer
from mode import Service
from mode.utils.locks import Event

from streams.worker.delivery import FastDrainConsumer, _resumed, deliver, take_batches

# faust/transport/consumer.py Consumer._drain_messages of faust-streaming 0.15.3, which
# FastDrainConsumer._drain_messages copies: a Faust upgrade that changes it must be read again.
FAUST_DRAIN_SHA256 = "44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417"


class Consumer(Service):
    """Stands in for the Faust consumer: a mode Service, for its wait_first."""

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0

    async def wait_first(self, *coros, timeout=None):  # type: ignore[no-untyped-def, override]
        self.waits += 1
        return await super().wait_first(*coros, timeout=timeout)


async def test_a_callback_that_does_not_wait_runs_at_once_without_tasks() -> None:
    consumer, delivered = Consumer(), []

    async def callback(value: int) -> None:
        delivered.append(value)

    tasks_before = len(asyncio.all_tasks())
    for value in range(3):
        await deliver(consumer, Event(), callback(value))
    assert delivered == [0, 1, 2]
    assert consumer.waits == 0
    assert len(asyncio.all_tasks()) == tasks_before


async def test_a_callback_that_waits_is_finished_and_gets_what_it_waited_for() -> None:
    consumer, seen = Consumer(), []
    loop = asyncio.get_running_loop()
    ready = loop.create_future()

    async def callback() -> None:
        seen.append("started")
        await asyncio.sleep(0)  # a bare yield
        seen.append(await ready)

    loop.call_later(0.01, ready.set_result, "value")
    await deliver(consumer, Event(), callback())
    assert seen == ["started", "value"]
    assert consumer.waits == 1


async def test_a_waiting_callback_is_cancelled_where_it_waits_when_flow_is_suspended() -> None:
    consumer, seen = Consumer(), []
    suspend_flow = Event()
    never = asyncio.get_running_loop().create_future()

    async def callback() -> None:
        try:
            await never
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise
        seen.append("delivered")

    asyncio.get_running_loop().call_later(0.01, suspend_flow.set)
    await asyncio.wait_for(deliver(consumer, suspend_flow, callback()), 2)
    await asyncio.sleep(0.01)  # wait_first cancels the losers on its way out
    assert seen == ["cancelled"]
    assert never.cancelled()


async def test_errors_of_the_callback_reach_the_drain_loop_before_and_after_a_wait() -> None:
    consumer = Consumer()

    async def fails_at_once() -> None:
        raise ValueError("at once")

    async def fails_later() -> None:
        await asyncio.sleep(0.01)
        raise ValueError("later")

    with pytest.raises(ValueError, match="at once"):
        await deliver(consumer, Event(), fails_at_once())
    with pytest.raises(ValueError, match="later"):
        await deliver(consumer, Event(), fails_later())


async def test_a_cancellation_after_the_future_completed_still_reaches_the_callback() -> None:
    """As a Task does: the future it waited on is done, so the cancellation is thrown in at its next step."""
    seen = []
    done = asyncio.get_running_loop().create_future()

    async def callback() -> None:
        try:
            seen.append(await done)
            await asyncio.sleep(1)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    coroutine = callback()
    waiting_on = coroutine.send(None)
    task = asyncio.ensure_future(_resumed(coroutine, waiting_on))
    await asyncio.sleep(0)  # the driver waits on `done`
    done.set_result("result")
    task.cancel()  # before the driver saw `done` complete: too late to cancel it
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)
    assert seen == ["cancelled"]  # as a Task: thrown in where it waits, the result never read


def test_the_drain_loop_copied_is_fausts_of_the_pinned_version() -> None:
    source = inspect.getsource(faust_consumer.Consumer._drain_messages)
    assert hashlib.sha256(source.encode()).hexdigest() == FAUST_DRAIN_SHA256, (
        "faust-streaming's Consumer._drain_messages changed: compare it with "
        "streams/worker/delivery.py FastDrainConsumer._drain_messages and update both")
    assert "wait_first" not in inspect.getsource(FastDrainConsumer._drain_messages)


def test_the_worker_app_delivers_through_the_fast_drain() -> None:
    from streams.worker.app import app

    assert isinstance(app.transport.Consumer, type) and issubclass(app.transport.Consumer, FastDrainConsumer)


# faust/streams.py Stream.take_events of faust-streaming 0.15.3, which take_batches copies (with `within`
# read before each batch): a Faust upgrade that changes it must be read again.
FAUST_TAKE_EVENTS_SHA256 = "607d48aead118ba8ea868718a0df87de1c5fcecd10ec542c659b448796728e08"


def test_the_take_loop_copied_is_fausts_of_the_pinned_version() -> None:
    source = inspect.getsource(faust_streams.Stream.take_events)
    assert hashlib.sha256(source.encode()).hexdigest() == FAUST_TAKE_EVENTS_SHA256, (
        "faust-streaming's Stream.take_events changed: compare it with streams/worker/delivery.py "
        "take_batches and update both")


class TakingStream:
    """What take_batches uses of a Faust stream: values put in reach the processors through a passive
    drainer (as Faust's stream feeds them while the agent's loop waits), and acks are recorded."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[int] = asyncio.Queue()
        self.channel = self  # aiter(stream.channel)
        self.enable_acks = True
        self.should_stop = False
        self.current_event: SimpleNamespace | None = None
        self.loop = asyncio.get_running_loop()
        self.log = logging.getLogger("test")
        self._processors: list[Any] = []
        self.trail: list[tuple[str, int]] = []  # ("ack", value) in order (the test adds its own entries)
        self._drainer: asyncio.Task[None] | None = None
        self._active_agens: weakref.WeakSet[Any] = weakref.WeakSet()  # (Faust's: closed when the stream stops)

    def __aiter__(self) -> TakingStream:
        return self

    async def __anext__(self) -> int:
        return await self.queue.get()

    def add_processor(self, processor: Any) -> None:
        self._processors.append(processor)

    def _enable_passive(self, channel: TakingStream) -> None:
        async def drain() -> None:
            async for value in channel:
                self.current_event = SimpleNamespace(value=value)
                for processor in self._processors:
                    await processor(value)

        self._drainer = asyncio.ensure_future(drain())

    async def wait(self, event: asyncio.Event) -> None:
        await event.wait()

    async def wait_for_stopped(self, event: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def ack(self, event: SimpleNamespace) -> bool:
        self.trail.append(("ack", event.value))
        return True

    async def crash(self, exc: BaseException) -> None:  # pragma: no cover - not expected
        raise exc


async def _taken(stream: TakingStream, max_: int, within: Callable[[], float], batches: int) -> list[list[int]]:
    taken: list[list[int]] = []
    async for events in take_batches(stream, max_, within):  # type: ignore[arg-type]
        taken.append([event.value for event in events])
        stream.trail.append(("body", len(taken)))
        if len(taken) == batches:
            break
    return taken


async def test_each_batch_waits_as_long_as_within_says_when_it_starts() -> None:
    stream = TakingStream()
    windows = iter([0.05, 1.5, 0.05])
    asked = []

    def within() -> float:
        asked.append(None)
        return next(windows)

    async def feed() -> None:
        for value in (0, 1):
            stream.queue.put_nowait(value)
        await asyncio.sleep(0.3)  # after the first (short) window: the second batch's, 1.5 s long
        stream.queue.put_nowait(2)
        await asyncio.sleep(0.3)
        stream.queue.put_nowait(3)

    feeding = asyncio.ensure_future(feed())
    taken = await asyncio.wait_for(_taken(stream, 100, within, 2), 10)
    await feeding
    assert taken == [[0, 1], [2, 3]]  # with the first window for both, 2 and 3 would be batches of their own
    assert len(asked) == 2


async def test_a_batch_holds_at_most_max_events_and_is_acknowledged_after_the_loop_body() -> None:
    stream = TakingStream()
    for value in range(5):
        stream.queue.put_nowait(value)
    taken = await asyncio.wait_for(_taken(stream, 2, lambda: 0.2, 3), 10)
    assert taken == [[0, 1], [2, 3], [4]]
    other = TakingStream()
    batches = take_batches(other, 2, lambda: 0.2)  # type: ignore[arg-type]
    assert batches in other._active_agens  # registered as Faust registers its own: the stream's stop closes it
    await batches.aclose()
    assert stream.trail[:6] == [("body", 1), ("ack", 0), ("ack", 1), ("body", 2), ("ack", 2), ("ack", 3)]
    assert stream.enable_acks and not stream._processors  # restored when the loop left
