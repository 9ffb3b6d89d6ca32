"""Where simulated events go: the ingest API (http), Kafka directly (kafka), or NDJSON (file)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

import httpx
import orjson

from streams.core.topics import partition_for, topic_for_type

INGEST_PATH = "/api/v1/events"
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RECORD_BYTES = 900_000  # stay under Kafka's default 1 MiB max.request.size


class SinkError(Exception):
    """An expected failure: printed as a message (no traceback), the run exits with `exit_code`."""

    exit_code = 2


class SinkRejected(SinkError):
    exit_code = 1


class SinkUnavailable(SinkError):
    exit_code = 2


class SinkClosed(SinkError):
    """The reader went away (e.g. `| head`): not an error."""

    exit_code = 0


class Sink(Protocol):
    retries: int

    async def start(self) -> None: ...
    async def send(self, events: list[dict[str, Any]]) -> None: ...
    async def close(self) -> None: ...


def event_key(event: dict[str, Any]) -> str:
    """Kafka key (events.md): `shop|agent` for agent events, `shop|buyer` for chats and orders."""
    if event["type"].startswith("agent."):
        return f"{event['shop_id']}|{event['agent_id']}"
    return f"{event['shop_id']}|{event['buyer_id']}"


@dataclass(slots=True)
class Envelope:
    topic: str
    partition: int
    key: str  # the first event's key
    events: list[dict[str, Any]] = field(default_factory=list)


def group_envelopes(events: list[dict[str, Any]], partitions: int) -> list[Envelope]:
    """One envelope per (topic, partition), in first-seen order; events keep their order inside."""
    groups: dict[tuple[str, int], Envelope] = {}
    for event in events:
        key = event_key(event)
        topic = topic_for_type(event["type"])
        slot = (topic, partition_for(key, partitions))
        envelope = groups.get(slot)
        if envelope is None:
            envelope = groups[slot] = Envelope(topic, slot[1], key)
        envelope.events.append(event)
    return list(groups.values())


def _encode(envelope: Envelope) -> list[tuple[str, bytes]]:
    """(key, value) records; an oversized envelope is split in halves (each half keeps its own first key)."""
    value = orjson.dumps(envelope.events)
    if len(value) <= MAX_RECORD_BYTES or len(envelope.events) == 1:
        return [(envelope.key, value)]
    half = len(envelope.events) // 2
    parts = (envelope.events[:half], envelope.events[half:])
    return [rec for part in parts for rec in _encode(Envelope(envelope.topic, envelope.partition,
                                                               event_key(part[0]), part))]


class HttpSink:
    """POSTs JSON arrays to the ingest API; retries 5xx/429/connection errors with backoff, never drops."""

    def __init__(
        self, url: str, token: str, max_retry_s: float, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.retries = 0
        self._max_retry_s = max_retry_s
        self._client = httpx.AsyncClient(
            base_url=self.url, timeout=httpx.Timeout(30.0, connect=5.0), transport=transport,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )

    async def start(self) -> None:
        return None

    async def send(self, events: list[dict[str, Any]]) -> None:
        body = orjson.dumps(events)
        delay, failing_since = 0.2, time.monotonic()
        while True:
            try:
                response = await self._client.post(INGEST_PATH, content=body)
            except httpx.TransportError as exc:
                problem = f"{self.url} unreachable ({type(exc).__name__}: {exc or 'no detail'})"
            else:
                if response.status_code < 300:
                    self._check_rejections(response, events)
                    return
                if response.status_code not in RETRY_STATUSES:
                    raise SinkRejected(_describe_refusal(response, events))
                problem = f"{self.url} answered HTTP {response.status_code}"
            if time.monotonic() - failing_since > self._max_retry_s:
                raise SinkUnavailable(f"{problem}; gave up after {self._max_retry_s:g}s of retries")
            self.retries += 1
            await asyncio.sleep(delay)  # the same body again: event_ids make a duplicate harmless
            delay = min(delay * 2, 5.0)

    @staticmethod
    def _check_rejections(response: httpx.Response, events: list[dict[str, Any]]) -> None:
        try:
            rejected = response.json().get("rejected") or []
        except (ValueError, AttributeError):
            return
        if rejected:
            lines = [_rejection_line(r, events) for r in rejected[:10]]
            more = f"\n  … and {len(rejected) - 10} more" if len(rejected) > 10 else ""
            raise SinkRejected(f"the API rejected {len(rejected)} of {len(events)} events:\n  "
                               + "\n  ".join(lines) + more)

    async def close(self) -> None:
        await self._client.aclose()


def _rejection_line(rejection: Any, events: list[dict[str, Any]]) -> str:
    if not isinstance(rejection, dict):
        return str(rejection)
    index = rejection.get("index")
    event = events[index] if isinstance(index, int) and 0 <= index < len(events) else {}
    return (f"#{index} {event.get('type', '?')} {event.get('event_id', '?')}: "
            f"{rejection.get('field')}: {rejection.get('error')}")


def _describe_refusal(response: httpx.Response, events: list[dict[str, Any]]) -> str:
    code = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text[:500]}
    if isinstance(body, dict) and body.get("rejected"):
        lines = "\n  ".join(_rejection_line(r, events) for r in body["rejected"][:10])
        return f"the API refused the batch (HTTP {code}):\n  {lines}"
    hint = {401: " — check --token / KEFU_INGEST_TOKEN", 403: " — the token may not cover this --shop",
            413: " — lower --batch"}.get(code, "")
    message = body.get("message") or body.get("error") if isinstance(body, dict) else body
    return f"the API refused the batch: HTTP {code} {message or ''}{hint}".rstrip()


class KafkaSink:
    """Straight to Kafka: one record per (topic, partition) of a batch, value = JSON array (envelope)."""

    def __init__(self, bootstrap: str, partitions: int) -> None:
        self.bootstrap = bootstrap
        self.partitions = partitions
        self.retries = 0  # the producer retries internally (idempotent), nothing to count here
        self._producer: Any = None

    async def start(self) -> None:
        from aiokafka.errors import KafkaError

        from streams.core.topics import SOURCE_TOPICS
        from streams.kafka import start_producer

        try:
            producer = await start_producer(self.bootstrap, linger_ms=5, request_timeout_ms=30_000)
        except (KafkaError, OSError) as exc:
            raise SinkUnavailable(f"Kafka at {self.bootstrap} unreachable: {exc}") from None
        self._producer = producer
        for topic in SOURCE_TOPICS:  # explicit partitions must exist
            try:
                found = await asyncio.wait_for(producer.partitions_for(topic), 10)
            except (TimeoutError, KafkaError):
                found = None
            if not found:
                raise SinkUnavailable(f"topic {topic} not found at {self.bootstrap} (create topics first)")
            if len(found) != self.partitions:
                raise SinkUnavailable(f"topic {topic} has {len(found)} partitions but --partitions is "
                                      f"{self.partitions}; keys would land on the wrong partition")

    async def send(self, events: list[dict[str, Any]]) -> None:
        from aiokafka.errors import KafkaError

        try:
            futures = []
            for envelope in group_envelopes(events, self.partitions):
                for key, value in _encode(envelope):
                    futures.append(await self._producer.send(envelope.topic, value, key=key.encode(),
                                                             partition=envelope.partition))
            await asyncio.gather(*futures)
        except KafkaError as exc:
            raise SinkUnavailable(f"Kafka send failed: {exc}") from None

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.stop()


class FileSink:
    """NDJSON, one event a line, to a file or stdout (`-`)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.retries = 0
        self._out: IO[bytes] | None = None

    async def start(self) -> None:
        try:
            self._out = sys.stdout.buffer if self.path == "-" else open(self.path, "wb")  # noqa: SIM115
        except OSError as exc:
            raise SinkUnavailable(f"cannot write {self.path}: {exc.strerror}") from None

    async def send(self, events: list[dict[str, Any]]) -> None:
        assert self._out is not None
        dumps, opt = orjson.dumps, orjson.OPT_APPEND_NEWLINE
        try:
            self._out.write(b"".join(dumps(e, option=opt) for e in events))
        except BrokenPipeError:
            # Quiet exit when the reader stops early; keep Python's final stdout flush from complaining.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise SinkClosed("") from None
        except OSError as exc:
            raise SinkUnavailable(f"cannot write {self.path}: {exc.strerror}") from None

    async def close(self) -> None:
        if self._out is None:
            return
        try:
            self._out.flush()
            if self._out is not sys.stdout.buffer:
                self._out.close()
        except OSError:
            pass
