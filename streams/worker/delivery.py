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
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka
from mode import Service


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
