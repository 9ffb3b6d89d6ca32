"""Faust's delivery of fetched Kafka records to the streams, without four asyncio tasks per record.

faust-streaming's `Consumer._drain_messages` hands each fetched record to the conductor with
`await self.wait_first(callback(message), self.suspend_flow.wait())`: mode's `wait_first` wraps the
callback, the flow-suspension wait and the service's stopped and crashed events in four tasks, waits for
the first to finish and cancels the rest — ~30 µs per record (measured with uvloop), while the callback
itself nearly always finishes without waiting (it puts the event into the stream's queue unless flow
control, a full producer buffer or a full queue makes it wait).

`FastDrainConsumer._drain_messages` is the same loop with one change: the callback is started at once,
as a direct call would run it. If it finishes without waiting — the usual case — no task is made. If
it has to wait, the rest of it runs exactly as before: raced by `wait_first` against the flow's
suspension, the consumer's stop and its crash (`_resumed` drives the already started coroutine as an
asyncio Task would). A record is therefore delivered, or abandoned, in the same cases as with Faust's
own loop: Faust's too delivers every record whose callback finishes without waiting, since the callback's
task runs before the other three are looked at.

Invariants kept from Faust's loop (copied from faust-streaming 0.15.3, faust/transport/consumer.py):
read offsets and gaps per partition, the commit every `commit_every` acks, a yield to the event loop every
100 records.

`take_batches` is Faust's `Stream.take_events` (same version) with one change: how long a batch waits for
records is asked before each batch (`within()`), not fixed for the stream's life, so the worker can wait
longer while it catches up (streams/worker/catch_up.py). As in Faust's: at most `max_` events per batch,
handed over when that many came or the wait ended; the batch's events are acknowledged only after the
loop's body returns (so offsets are never committed past what was processed); while the body runs, the
stream adds nothing to the buffer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Coroutine, Sequence
from typing import Any

from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import EventT, StreamT
from mode import Service
from mode.utils.aiter import aiter
from mode.utils.futures import notify


async def _resumed(coroutine: Coroutine[Any, Any, Any], waiting_on: Any) -> Any:
    """Run `coroutine` to its end as an asyncio Task would, given that its first step already ran and gave
    the event loop `waiting_on` (None: a bare yield; else the future it awaits). Cancelling this cancels
    what the coroutine waits on, so the coroutine sees the cancellation where it waits, as in a Task."""
    while True:
        try:
            if waiting_on is None:
                await asyncio.sleep(0)
            elif getattr(waiting_on, "_asyncio_future_blocking", None) is not None:
                waiting_on._asyncio_future_blocking = False
                await asyncio.wait((waiting_on,))  # until it is done; its result is the coroutine's to read
            else:
                raise RuntimeError(f"coroutine yielded {waiting_on!r}, which is not a future")
        except asyncio.CancelledError as cancelled:
            if waiting_on is None or not waiting_on.cancel():
                # Nothing to cancel (a bare yield, or the future is already done): the cancellation goes into
                # the coroutine where it waits, as a Task throws it in at its next step.
                try:
                    waiting_on = coroutine.throw(cancelled)
                except StopIteration as done:
                    return done.value
                continue
            # The future is cancelled: the coroutine's `await` raises CancelledError when resumed below.
        try:
            waiting_on = coroutine.send(None)
        except StopIteration as done:
            return done.value


async def deliver(consumer: Service, suspend_flow: Any, coroutine: Coroutine[Any, Any, Any]) -> None:
    """`await consumer.wait_first(coroutine, suspend_flow.wait())`, without its tasks when the coroutine
    finishes without waiting."""
    try:
        waiting_on = coroutine.send(None)
    except StopIteration:
        return
    await consumer.wait_first(_resumed(coroutine, waiting_on), suspend_flow.wait())


class FastDrainConsumer(faust_aiokafka.Consumer):
    """The aiokafka driver's consumer, its drain loop delivering records through `deliver`."""

    async def _drain_messages(self, fetcher: Service) -> None:  # pragma: no cover - run by the worker
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for
        suspend_flow = self.suspend_flow
        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(CONSUMER_FETCHING)
                records = getmany(timeout=1.0)
                await self.sleep(0)  # as Faust: getmany may be called in a loop that never yields otherwise
                if not self.should_stop:
                    async for tp, message in records:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0
                        offset = message.offset
                        read_offset = get_read_offset(tp)
                        if read_offset is None or offset >= read_offset:
                            gap = offset - (read_offset or 0)
                            if gap > 1 and read_offset and acks_enabled_for(message.topic):
                                await self._add_gap(tp, read_offset + 1, offset)
                            if commit_every is not None and self._n_acked >= commit_every:
                                self._n_acked = 0
                                await self.commit()
                            await deliver(self, suspend_flow, callback(message))
                            set_read_offset(tp, offset)
                    unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(CONSUMER_FETCHING)


class FastDrainTransport(faust_aiokafka.Transport):
    Consumer = FastDrainConsumer


def take_batches(stream: StreamT, max_: int, within: Callable[[], float]) -> AsyncGenerator[Sequence[EventT], None]:
    """`stream.take_events(max_, within)`, with `within()` read before each batch (see the module's
    docstring); the rest is Faust's, line for line. Registered with the stream as Faust registers its
    own, so the stream's stop closes it (and acks what it holds) even when nobody iterates it any more."""
    batches = _take_batches(stream, max_, within)
    stream._active_agens.add(batches)  # type: ignore[attr-defined]
    return batches


async def _take_batches(stream: StreamT, max_: int, within: Callable[[], float],
                        ) -> AsyncGenerator[Sequence[EventT], None]:
    buffer: list[Any] = []
    events: list[EventT] = []
    buffer_add = buffer.append
    event_add = events.append
    buffer_size = buffer.__len__
    buffer_full = asyncio.Event()
    buffer_consumed = asyncio.Event()
    stream_enable_acks: bool = stream.enable_acks
    buffer_consuming: asyncio.Future | None = None
    channel_it = aiter(stream.channel)

    # The processor that fills the buffer while the stream is consumed in the background (passively).
    async def add_to_buffer(value: Any) -> Any:
        try:
            nonlocal buffer_consuming
            if buffer_consuming is not None:  # the loop's body runs: wait until it returned
                try:
                    await buffer_consuming
                finally:
                    buffer_consuming = None
            buffer_add(value)
            event = stream.current_event
            if event is None:
                raise RuntimeError("Take buffer found current_event is None")
            event_add(event)
            if buffer_size() >= max_:
                buffer_full.set()
                buffer_consumed.clear()
                await stream.wait(buffer_consumed)  # never more than max_ in a batch
        except asyncio.CancelledError:  # pragma: no cover
            raise
        except Exception as exc:
            stream.log.exception("Error adding to take buffer: %r", exc)
            await stream.crash(exc)
        return value

    stream.enable_acks = False  # acknowledged here, once the loop's body is done with them
    stream.add_processor(add_to_buffer)
    stream._enable_passive(channel_it)  # type: ignore[attr-defined]
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(buffer_full, timeout=within())  # type: ignore[arg-type]
            if buffer:
                buffer_consuming = stream.loop.create_future()
                try:
                    yield list(events)
                finally:
                    buffer.clear()
                    for event in events:
                        await stream.ack(event)
                    events.clear()
                    notify(buffer_consuming)
                    buffer_full.clear()
                    buffer_consumed.set()
    finally:
        stream.enable_acks = stream_enable_acks
        stream._processors.remove(add_to_buffer)  # type: ignore[attr-defined]
