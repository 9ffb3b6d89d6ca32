"""Publishing accepted events to Kafka: one record per (topic, partition) per request (an envelope,
events.md), idempotent producer with acks=all, and the answer only after every record is acked."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from streams.core.events import Event
from streams.core.topics import partition_for
from streams.kafka import start_producer

SEND_TIMEOUT_S = 10.0


class KafkaUnavailable(Exception):
    pass


class Publisher:
    def __init__(self, bootstrap_servers: str, partitions: int) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.partitions = partitions
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _ready_producer(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                try:
                    self._producer = await asyncio.wait_for(start_producer(
                        self.bootstrap_servers, linger_ms=2, request_timeout_ms=int(SEND_TIMEOUT_S * 1000),
                        max_request_size=8 * 1024 * 1024), SEND_TIMEOUT_S)
                except (KafkaError, OSError, TimeoutError) as exc:
                    raise KafkaUnavailable(str(exc) or type(exc).__name__) from exc
            return self._producer

    async def publish(self, items: list[tuple[Event, dict[str, Any]]]) -> None:
        """Send (event, wire object) pairs; raises KafkaUnavailable unless every record is acked."""
        groups: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
        keys: dict[tuple[str, int], str] = {}
        for event, wire in items:
            group = (event.topic, partition_for(event.key, self.partitions))
            groups[group].append(wire)
            keys.setdefault(group, event.key)
        producer = await self._ready_producer()
        try:
            futures = [
                await producer.send(topic, orjson.dumps(batch), key=keys[(topic, p)].encode(), partition=p)
                for (topic, p), batch in groups.items()
            ]
            await asyncio.wait_for(asyncio.gather(*futures), SEND_TIMEOUT_S)
        except (KafkaError, OSError, TimeoutError) as exc:
            await self.reset()
            raise KafkaUnavailable(str(exc) or type(exc).__name__) from exc

    async def reset(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):  # a broken producer is dropped either way
                await asyncio.wait_for(producer.stop(), 5)

    async def ping(self) -> bool:
        try:
            producer = await self._ready_producer()
            await asyncio.wait_for(producer.client.fetch_all_metadata(), 3)
            return True
        except (KafkaUnavailable, KafkaError, OSError, TimeoutError):
            await self.reset()
            return False
