"""The ceiling: a raw aiokafka consumer reading the same pre-loaded envelopes, decode only
(getmany + orjson.loads of each record, counting the events), no group, no state, one process.

Timed from the first record received to the last; the topics hold exactly the run's events."""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.common import BenchStack, quiet_kafka_logs
from streams.core.topics import AGENT_EVENTS, CHAT_EVENTS, ORDER_EVENTS


async def run_ceiling(stack: BenchStack, expected: int) -> dict[str, Any]:
    quiet_kafka_logs()
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", max_partition_fetch_bytes=4 * 1024 * 1024,
                                fetch_max_bytes=64 * 1024 * 1024)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in (CHAT_EVENTS, ORDER_EVENTS, AGENT_EVENTS)
                      for p in range(stack.partitions)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        remaining = sum(end.values())
        events = records = 0
        t0: float | None = None
        loads = orjson.loads
        while remaining > 0:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            if t0 is None and batches:
                t0 = time.perf_counter()
            for messages in batches.values():
                for message in messages:
                    decoded = loads(message.value)
                    events += len(decoded) if isinstance(decoded, list) else 1
                remaining -= len(messages)
                records += len(messages)
        elapsed = time.perf_counter() - (t0 or time.perf_counter())
    finally:
        await consumer.stop()
    if events != expected:
        raise RuntimeError(f"ceiling consumer read {events} events, expected {expected}")
    return {"events": events, "records": records, "seconds": round(elapsed, 3), "eps": round(events / elapsed)}
