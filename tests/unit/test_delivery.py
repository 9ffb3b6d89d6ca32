"""The worker's record delivery (streams/worker/delivery.py): the same outcome as Faust's
`wait_first(callback(message), suspend_flow.wait())`, without tasks when the callback does not wait."""

from __future__ import annotations

import asyncio
import hashlib
import inspect

import pytest
from faust.transport import consumer as faust_consumer
from mode import Service
from mode.utils.locks import Event

from streams.worker.delivery import FastDrainConsumer, _resumed, deliver

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
