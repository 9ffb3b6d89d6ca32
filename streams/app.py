"""The Faust app: agents and timers are plumbing around the pure processor.

- `buyer_events` takes chat-events and order-events (co-partitioned by shop|buyer) in batches, runs
  each partition's batch through its PartitionProcessor and writes every changed buyer record once
  to the `buyers` table changelog (one write per buyer per batch, not per event).
- `agent_events` keeps each agent's last status in the `agents` table.
- After every recovery/rebalance the agent tables are rebuilt from the records and fully re-exported.
- A timer on every worker exports changed figures to Redis.

Processing is at-least-once; exactness comes from the records (ids and Kafka positions applied), and
Faust flushes the changelog before it commits offsets.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterator, MutableMapping

import faust
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from streams.config import get_config
from streams.exporter import AgentPartition, Exporter
from streams.processor import PartitionProcessor, SourceRecord, process_agent_events
from streams.settings_store import SettingsCache
from streams.topics import (
    AGENT_EVENTS,
    AGENT_TABLE,
    BUYER_TABLE,
    CHAT_EVENTS,
    DEAD_LETTERS,
    ORDER_EVENTS,
    partition_for,
)

log = logging.getLogger("kefu.worker")
config = get_config()
BATCH_MAX = 2000
BATCH_WITHIN_S = 0.02
EXPORT_TICK_S = 0.1

app = faust.App(
    config.app_id,
    broker=f"kafka://{config.bootstrap_servers}",
    store="memory://",
    topic_partitions=config.partitions,
    topic_allow_declare=False,  # topics are created up front by `python -m streams.topics`
    topic_disable_leader=True,
    table_standby_replicas=0,
    processing_guarantee="at_least_once",
    producer_acks=-1,
    producer_linger=0.005,
    broker_commit_interval=1.0,
    # A killed worker's partitions move after this, not after Faust's default of 60 s.
    broker_session_timeout=10.0,
    broker_heartbeat_interval=2.0,
    # Also the rebalance timeout: a worker killed mid-rebalance stalls the group this long (default 1000 s).
    broker_max_poll_interval=30.0,
    stream_buffer_maxsize=20_000,
    consumer_auto_offset_reset="earliest",
    web_enabled=False,
    datadir=f"{config.data_dir}/faust-worker-{config.worker_index}",
)

raw = faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
buyer_topic = app.topic(CHAT_EVENTS, ORDER_EVENTS, partitions=config.partitions, schema=raw)
agent_topic = app.topic(AGENT_EVENTS, partitions=config.partitions, schema=raw)
dead_letter_topic = app.topic(DEAD_LETTERS, partitions=1, schema=raw)
# Not `schema=raw` for tables: with it faust-streaming 0.15.3 silently never feeds the agent's stream.
buyers = app.Table(BUYER_TABLE, default=None, partitions=config.partitions, key_type=bytes, value_type=bytes)
agents = app.Table(AGENT_TABLE, default=None, partitions=config.partitions, key_type=bytes, value_type=bytes)
for table in (buyers, agents):  # records are bytes we encode ourselves (orjson)
    table.key_serializer = table.value_serializer = "raw"

settings_cache = SettingsCache(config.redis_dsn)
redis_client = aioredis.Redis.from_url(config.redis_dsn)
exporter = Exporter(redis_client, config, settings_cache)
processors: dict[int, PartitionProcessor] = {}
agent_partitions: dict[int, AgentPartition] = {}


class TableStore(MutableMapping[str, bytes]):
    """A table's data with str keys (the processor's view); the changelog is written by the agent."""

    def __init__(self, table: faust.Table) -> None:
        self.data = table.data

    def __getitem__(self, key: str) -> bytes:
        return self.data[key.encode()]

    def get(self, key: str, default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        return self.data.get(key.encode(), default)

    def __setitem__(self, key: str, value: bytes) -> None:
        self.data[key.encode()] = value

    def __delitem__(self, key: str) -> None:
        del self.data[key.encode()]

    def __iter__(self) -> Iterator[str]:
        return (key.decode() for key in list(self.data.keys()))

    def __len__(self) -> int:
        return len(self.data)


def validation_clock() -> int | None:
    return None  # events are validated against the wall clock (ts ≤ now + 1 day)


def processor_for(partition: int) -> PartitionProcessor:
    processor = processors.get(partition)
    if processor is None:
        processor = processors[partition] = PartitionProcessor(
            partition, config.partitions, TableStore(buyers), settings_cache, clock=validation_clock)
        processor.rebuild()
    return processor


async def send_dead_letters(dead_letters: list) -> None:
    for dead in dead_letters:
        log.warning("dead letter %s[%d]@%d: %s", dead.topic, dead.partition, dead.offset, dead.reason)
        await dead_letter_topic.send(value=dead.to_json())


@app.agent(buyer_topic)
async def buyer_events(stream: faust.StreamT) -> None:
    async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
        by_partition: dict[int, list[SourceRecord]] = defaultdict(list)
        for event in events:
            message = event.message
            by_partition[message.partition].append(
                SourceRecord(message.topic, message.partition, message.offset, message.value))
        for partition, records in by_partition.items():
            log.debug("batch of %d records for partition %d", len(records), partition)
            records.sort(key=lambda r: (r.offset, r.topic))
            while True:
                try:
                    result = processor_for(partition).process(records)
                    break
                except RedisError as exc:  # settings unreadable: nothing was changed, try again
                    log.warning("settings unavailable (%s); retrying batch", exc)
                    await asyncio.sleep(1)
            for key, value in result.changed.items():
                buyers.send_changelog(partition, key.encode(), value)
            await send_dead_letters(result.dead_letters)


@app.agent(agent_topic)
async def agent_events(stream: faust.StreamT) -> None:
    async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
        by_partition: dict[int, list[SourceRecord]] = defaultdict(list)
        for event in events:
            message = event.message
            by_partition[message.partition].append(
                SourceRecord(message.topic, message.partition, message.offset, message.value))
        for partition, records in by_partition.items():
            result = process_agent_events(records, config.partitions, TableStore(agents))
            agent_partition = agent_partitions.setdefault(partition, AgentPartition())
            for key, value in result.changed.items():
                agents.send_changelog(partition, key.encode(), value)
                agent_partition.update(key, value)
            await send_dead_letters(result.dead_letters)


def assigned_partitions(topic: str) -> set[int]:
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}


@buyers.on_recover
async def rebuild_buyer_tables() -> None:
    """After recovery/rebalance: agent tables rebuilt from the records, then re-exported in full."""
    assigned = assigned_partitions(CHAT_EVENTS)
    for partition in list(processors):
        if partition not in assigned:
            del processors[partition]
    for partition in assigned:
        processors.pop(partition, None)
        processor_for(partition)
    log.info("buyer tables rebuilt for partitions %s", sorted(assigned))


@agents.on_recover
async def rebuild_agent_tables() -> None:
    assigned = assigned_partitions(AGENT_EVENTS)
    agent_partitions.clear()
    for key, value in list(agents.data.items()):
        partition = partition_for(key.decode(), config.partitions)
        if partition in assigned:
            agent_partitions.setdefault(partition, AgentPartition()).update(key.decode(), value)
    for partition in assigned:
        agent_partitions.setdefault(partition, AgentPartition())


@app.timer(interval=EXPORT_TICK_S)
async def export_snapshots() -> None:
    try:
        await exporter.export(processors, agent_partitions)
    except RedisError as exc:
        log.warning("snapshot export failed (%s); will retry", exc)
