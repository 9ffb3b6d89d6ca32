"""The Faust app: agents, timers and paced tasks are plumbing around the pure processor.

- `buyer_events` takes chat-events and order-events (co-partitioned by shop|buyer) in batches, runs
  each partition's batch through its PartitionProcessor, writes the changed buyer records to RocksDB in
  one WriteBatch per batch (state_store.BufferedStore), and hands them to the `buyers` table changelog,
  coalesced: a buyer changed in several batches between two offset commits is sent once, always before
  the commit (streams/worker/changelog.py).
- `agent_events` keeps each agent's last status in the `agents` table.
- Fetched records reach both agents' streams through `delivery.FastDrainConsumer`: Faust's own loop with
  no asyncio tasks per record when a record's delivery does not have to wait.
- After every recovery/rebalance the agent tables are rebuilt from the records and fully re-exported.
- A paced task on every worker (`paced`: app.timer's pace without its overlap warnings) exports changed
  figures to Redis.
- A timer seeks a source partition back to its offset cursor when its last records never reached the
  worker (streams/worker/kafka_positions.py).

Processing is at-least-once; exactness comes from the records (ids and Kafka positions applied), and
Faust flushes the changelog before it commits offsets.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import NamedTuple

import faust
from faust.types import TP
from redis.exceptions import RedisError

from streams.config import get_config
from streams.core.checkpoint import JournaledStore
from streams.core.cursors import Split, cursor_key, is_cursor_key, split_at_gaps, stored_cursor
from streams.core.processor import DeadLetter, PartitionProcessor, SourceRecord, process_agent_events
from streams.core.topics import (
    AGENT_EVENTS,
    AGENT_TABLE,
    BUYER_TABLE,
    CHAT_EVENTS,
    DEAD_LETTERS,
    ORDER_EVENTS,
    partition_for,
)
from streams.readside.client import async_redis, sync_redis
from streams.readside.ownership import PUBLISH_INTERVAL_S, OwnershipPublisher
from streams.readside.settings_store import SettingsCache
from streams.worker.catch_up import BATCH_MAX, batch_window, catching_up
from streams.worker.changelog import CoalescedChangelog, install, send_as_one_batch
from streams.worker.delivery import FastDrainTransport, take_batches
from streams.worker.exporter import AgentPartition, Exporter
from streams.worker.kafka_positions import TAIL_CHECK_S, KafkaPositions
from streams.worker.prometheus import WorkerMetrics, install_metrics_server
from streams.worker.recovery import PartitionUpkeep, journal_restored, recover, upkeep
from streams.worker.state_store import ROCKSDB_OPTIONS, BufferedStore, EstimatedKeys, PartitionStore

log = logging.getLogger("kefu.worker")
config = get_config()
EXPORT_TICK_S = 0.05  # the export tick; each (shop, partition) at most every config.export_interval_s

app = faust.App(
    config.app_id,
    broker=f"kafka://{config.bootstrap_servers}",
    store="rocksdb://",  # streams/worker/state_store.py
    topic_partitions=config.partitions,
    topic_allow_declare=False,  # topics are created up front by `python -m streams.kafka`
    topic_disable_leader=True,
    table_standby_replicas=0,
    processing_guarantee="at_least_once",
    producer_acks=-1,
    producer_linger=0.02,
    producer_max_batch_size=1_048_576,
    broker_commit_interval=1.0,
    # A killed worker's partitions move after this, not after Faust's default of 60 s.
    broker_session_timeout=10.0,
    broker_heartbeat_interval=2.0,
    # Also the rebalance timeout: a worker killed mid-rebalance stalls the group this long (default 1000 s).
    broker_max_poll_interval=30.0,
    stream_buffer_maxsize=20_000,
    consumer_auto_offset_reset="earliest",
    web_enabled=False,
    # RocksDB state per app and worker: another app id (the benchmark's runs) must not see this one's.
    datadir=f"{config.data_dir}/faust-{config.app_id}-worker-{config.worker_index}",
)

# Records reach the streams without Faust's four asyncio tasks per record (streams/worker/delivery.py). Set
# before anything asks for the transport: declaring the topics below does.
app.transport = FastDrainTransport(app.conf.broker_consumer, app)

raw = faust.Schema(key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")
buyer_topic = app.topic(CHAT_EVENTS, ORDER_EVENTS, partitions=config.partitions, schema=raw)
agent_topic = app.topic(AGENT_EVENTS, partitions=config.partitions, schema=raw)
dead_letter_topic = app.topic(DEAD_LETTERS, partitions=1, schema=raw)
# Not `schema=raw` for tables: with it faust-streaming 0.15.3 silently never feeds the agent's stream.
buyers = app.Table(BUYER_TABLE, default=None, partitions=config.partitions, key_type=bytes, value_type=bytes,
                   options=dict(ROCKSDB_OPTIONS))
agents = app.Table(AGENT_TABLE, default=None, partitions=config.partitions, key_type=bytes, value_type=bytes,
                   options=dict(ROCKSDB_OPTIONS))
for table in (buyers, agents):  # records are bytes we encode ourselves (orjson)
    table.key_serializer = table.value_serializer = "raw"

settings_cache = SettingsCache(sync_redis(config, socket_timeout=5))
redis_client = async_redis(config)
exporter = Exporter(redis_client, config, settings_cache)
processors: dict[int, PartitionProcessor] = {}
upkeeps: dict[int, PartitionUpkeep] = {}  # checkpoint and retention per buyer partition (worker/recovery.py)
agent_partitions: dict[int, AgentPartition] = {}
# How far behind Kafka's end each source partition is (records waiting; stuck tails).
positions = KafkaPositions(lambda: app.consumer)
# ---- worker metrics (streams/worker/prometheus.py; served only when KEFU_WORKER_METRICS_PORT is set) ----
metrics = WorkerMetrics(config.worker_name or f"worker-{config.worker_index}")
install_metrics_server(app, metrics, config, (CHAT_EVENTS, ORDER_EVENTS, AGENT_EVENTS),
                       (EstimatedKeys(buyers, lambda: assigned_partitions(CHAT_EVENTS)),
                        EstimatedKeys(agents, lambda: assigned_partitions(AGENT_EVENTS))))
# ---- end worker metrics ----


def validation_clock() -> int | None:
    return None  # events are validated against the wall clock (ts ≤ now + 1 day)


def processor_for(partition: int) -> PartitionProcessor:
    processor = processors.get(partition)
    if processor is None:
        # The worker's cache budget, shared by the partitions it owns (at least 1,000 buyers each).
        share = config.buyer_cache_size // max(1, len(assigned_partitions(CHAT_EVENTS)))
        store = upkeep_for(partition).store
        processor = processors[partition] = PartitionProcessor(
            partition, config.partitions, store, settings_cache,
            cache_size=max(1_000, share), clock=validation_clock)
        log.info("buyer partition %d: %s", partition, recover(processor, store))
    return processor


def upkeep_for(partition: int) -> PartitionUpkeep:
    state = upkeeps.get(partition)
    if state is None:
        state = upkeeps[partition] = PartitionUpkeep(JournaledStore(BufferedStore(PartitionStore(buyers, partition))))
    return state


def flush_local_writes() -> None:
    """The buyer stores' buffered puts to RocksDB (one WriteBatch per partition)."""
    for state in upkeeps.values():
        state.store.store.flush()


# Faust's changelog recovery writes records straight into the DBs: journal what they change first.
_apply_changelog_batch = buyers.apply_changelog_batch


def apply_changelog_batch(batch: list[faust.EventT]) -> None:
    batch = list(batch)
    journal_restored(lambda partition: upkeep_for(partition).store, batch)
    flush_local_writes()  # the journal entries are in RocksDB before the records they save are overwritten
    _apply_changelog_batch(batch)


buyers.apply_changelog_batch = apply_changelog_batch  # type: ignore[method-assign]


async def write_changelog(table: faust.Table, partition: int, changed: dict[str, bytes | None]) -> None:
    """Changed keys to the table's changelog: the buyers table's coalesced until the next offset commit
    (streams/worker/changelog.py), the agents table's (a few keys a batch) sent at once."""
    if table is buyers:
        install(app.producer, buyer_changelog)  # before anything waits: Faust's commits flush it first
        await buyer_changelog.add(partition, changed)
    else:
        await send_changelog(table, partition, changed)


async def send_changelog(table: faust.Table, partition: int, changed: dict[str, bytes | None]) -> None:
    """Changed keys to the table's changelog, straight through the producer: what Table.send_changelog does
    minus its per-message future, queue hop and callback (~150 µs a key here; the callback only records
    offsets for RocksDB stores, not the memory store). Faust flushes the producer before it commits
    offsets, so at-least-once is unchanged. Waits only when the producer's buffer is full."""
    topic = table.changelog_topic.get_topic_name()
    send = app.producer.send
    sent = None
    for key, value in changed.items():
        sent = await send(topic, key.encode(), value, partition, None, None)
    persist_offset_when_acknowledged(table, partition, sent)


async def write_expiry(table: faust.Table, partition: int, expired: dict[str, bytes | None]) -> None:
    """Retention's expiry to the changelog in one record batch: the final records and the deletes of the
    records they freeze land together or not at all (sent apart, a kill between them left a changelog
    that a fresh restore counted the buyer twice from). What the coalesced changelog holds goes first:
    it may hold an older value of a record the expiry deletes."""
    await buyer_changelog.flush()
    producer = app.producer._ensure_producer()  # aiokafka's own: Faust's Producer has no batch API
    sent = await send_as_one_batch(producer, table.changelog_topic.get_topic_name(), partition, expired)
    persist_offset_when_acknowledged(table, partition, sent)


buyer_changelog = CoalescedChangelog(lambda partition, changed: send_changelog(buyers, partition, changed),
                                     is_cursor_key)


def persist_offset_when_acknowledged(table: faust.Table, partition: int, sent: asyncio.Future | None) -> None:
    """Once the last write of a send (`sent`; None: nothing was sent) is acknowledged: persist_offset."""
    if sent is not None:
        sent.add_done_callback(lambda done: persist_offset(table, partition, done))


def persist_offset(table: faust.Table, partition: int, done: asyncio.Future) -> None:
    """The changelog's offset of an acknowledged write, as Faust's persisted offset of the partition's DB:
    every record up to it is in the DB (written locally before it was sent), so Faust's recovery
    after a restart re-reads only what follows (streams/worker/recovery.py)."""
    if done.cancelled() or done.exception() is not None:
        return
    offset = done.result().offset
    tp = TP(table.changelog_topic.get_topic_name(), partition)
    store = table.data
    if offset > (store.persisted_offset(tp) or -1):
        store.set_persisted_offset(tp, offset)


_last_seek: dict[tuple[str, int], tuple[int, float]] = {}


async def without_gaps(store: PartitionStore, partition: int, records: list[SourceRecord]) -> Split:
    """The records that can be applied now; over a hole in the offsets, seek back (streams/core/cursors.py)."""
    cursors = {}
    for topic in {record.topic for record in records}:
        cursor = stored_cursor(store, topic, partition)
        if cursor is not None:
            cursors[topic] = cursor
    split = split_at_gaps(records, cursors)
    for topic, offset in split.gaps.items():
        tp = TP(topic, partition)
        earliest = (await app.consumer.earliest_offsets(tp)).get(tp, 0) or 0
        if earliest > offset:  # the missing records are gone (retention): nothing to go back to
            log.error("%s[%d]: offsets %d…%d were deleted before they were applied", topic, partition, offset,
                      earliest - 1)
            store[cursor_key(topic, partition)] = str(earliest).encode()
            return await without_gaps(store, partition, records)
        last = _last_seek.get((topic, partition))
        if last is None or last[0] != offset or time.monotonic() - last[1] > 5:
            log.warning("%s[%d]: offsets jump past %d (%d records held back); seeking back", topic, partition,
                        offset, split.held_back)
            await app.consumer.seek(tp, offset)
            _last_seek[(topic, partition)] = (offset, time.monotonic())
    return split


def advance_cursors(store: PartitionStore, partition: int, split: Split) -> dict[str, bytes]:
    """The batch's new cursors (written to the changelog after its records)."""
    changed = {cursor_key(topic, partition): str(offset).encode() for topic, offset in split.cursors.items()}
    for key, value in changed.items():
        store[key] = value
    return changed


async def send_dead_letters(dead_letters: list[DeadLetter]) -> None:
    for dead in dead_letters:
        log.warning("dead letter %s[%d]@%d: %s", dead.topic, dead.partition, dead.offset, dead.reason)
        await dead_letter_topic.send(value=dead.to_json())


class Applied(NamedTuple):
    """What one partition's batch changed, handed back to the batch loop (apply_in_partition_batches)."""

    changed: dict[str, bytes | None]  # table key → new record (None: deleted): to the table's changelog
    dead_letters: list[DeadLetter]
    after_changelog: Callable[[], None] | None = None  # in-memory follow-up, once the changelog writes are sent
    expired: dict[str, bytes | None] | None = None  # retention's final records and deletes (write_expiry)


def records_by_partition(events: list[faust.EventT]) -> dict[int, list[SourceRecord]]:
    by_partition: dict[int, list[SourceRecord]] = defaultdict(list)
    for event in events:
        message = event.message
        by_partition[message.partition].append(
            SourceRecord(message.topic, message.partition, message.offset, message.value,
                         int(message.timestamp * 1000)))
    return by_partition


async def apply_in_partition_batches(
    stream: faust.StreamT, table: faust.Table,
    apply: Callable[[int, PartitionStore, list[SourceRecord], Split], Awaitable[Applied]],
) -> None:
    """The loop of both agents: batches of up to BATCH_MAX records (waiting longer for them while the worker
    catches up: streams/worker/catch_up.py), one partition at a time.

    Per partition, in this order: the records up to the first offset gap are applied (`apply`, which
    also updates the table's store), the changed records go to the table's changelog, then retention's
    expiry if the batch's sweep expired buyers (one record batch: write_expiry), then the
    partition's new cursors (same changelog partition, so never durable before the records they cover:
    streams/core/cursors.py), then the in-memory follow-up, then the dead letters. Faust flushes the producer
    before it commits offsets; what a crash or a seek brings back again, the records skip as replays."""
    async for events in take_batches(stream, BATCH_MAX, within=lambda: batch_window(positions.behind())):
        for partition, records in records_by_partition(events).items():
            store = PartitionStore(table, partition)
            split = await without_gaps(store, partition, records)
            applied = await apply(partition, store, records, split)
            await write_changelog(table, partition, applied.changed)
            if applied.expired:
                await write_expiry(table, partition, applied.expired)
            await write_changelog(table, partition, advance_cursors(store, partition, split))
            if applied.after_changelog is not None:
                applied.after_changelog()
            await send_dead_letters(applied.dead_letters)


async def apply_buyer_batch(partition: int, store: PartitionStore, records: list[SourceRecord],
                            split: Split) -> Applied:
    while True:
        try:
            result = processor_for(partition).process(split.ready)
            break
        except RedisError as exc:  # settings unreadable: nothing was changed, try again
            log.warning("settings unavailable (%s); retrying batch", exc)
            await asyncio.sleep(1)
    metrics.on_buyer_batch(split.ready, result)  # worker metrics
    positions.note_batch(partition, records)
    # Checkpoint, retention. Retention's sweep (reading 1,000 records per partition every 5 s) waits while
    # the partition catches up: records expire a little later, never earlier.
    behind = catching_up(positions.backlog_of(partition))
    expired = upkeep(processor_for(partition), upkeep_for(partition), config.clock,
                     retention=config.retention and not behind)
    flush_local_writes()  # the batch's records and the sweep's deletes, before any of them goes to the changelog
    if not expired:
        return Applied(result.changed, result.dead_letters)
    # A record this batch only rewrote (replays) and the sweep then expired: the delete supersedes it.
    changed = {key: value for key, value in result.changed.items() if key not in expired}
    return Applied(changed, result.dead_letters, expired=expired)


async def apply_agent_batch(partition: int, store: PartitionStore, records: list[SourceRecord],
                            split: Split) -> Applied:
    result = process_agent_events(split.ready, config.partitions, store)
    metrics.on_agent_batch(records, result)  # worker metrics
    # Taken before the changelog writes: if a rebalance rebuilds agent_partitions meanwhile, the follow-up
    # updates the replaced object, never a new one for a partition this worker may no longer own.
    agent_partition = agent_partitions.setdefault(partition, AgentPartition())

    def update_agent_partition() -> None:
        for key, value in result.changed.items():
            agent_partition.update(key, value)

    return Applied(result.changed, result.dead_letters, update_agent_partition)


@app.agent(buyer_topic)
async def buyer_events(stream: faust.StreamT) -> None:
    await apply_in_partition_batches(stream, buyers, apply_buyer_batch)


@app.agent(agent_topic)
async def agent_events(stream: faust.StreamT) -> None:
    await apply_in_partition_batches(stream, agents, apply_agent_batch)


def assigned_partitions(topic: str) -> set[int]:
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}


@buyers.on_recover
async def rebuild_buyer_tables() -> None:
    """After recovery/rebalance: agent tables rebuilt from the records, then re-exported in full."""
    assigned = assigned_partitions(CHAT_EVENTS)
    for partition in list(processors):
        if partition not in assigned:
            del processors[partition]
    positions.keep_only(assigned)
    for partition in assigned:
        processors.pop(partition, None)
        processor_for(partition)
    log.info("buyer tables rebuilt for partitions %s", sorted(assigned))


@agents.on_recover
async def rebuild_agent_tables() -> None:
    assigned = assigned_partitions(AGENT_EVENTS)
    agent_partitions.clear()
    for partition in assigned:
        agent_partition = agent_partitions[partition] = AgentPartition()
        for key, value in PartitionStore(agents, partition).items():
            if not is_cursor_key(key) and partition_for(key, config.partitions) == partition:
                agent_partition.update(key, value)


def paced(interval_s: float) -> Callable[[Callable[[], Awaitable[None]]], Callable[[], Awaitable[None]]]:
    """`@app.timer(interval=interval_s)` for the short ticks, without its warnings: `interval_s` of sleep,
    then a round, however long the round took (as mode's timer paces ticks ≤ 0.1 s). mode's timer logs a
    WARNING ("Timer … is overlapping") for every round longer than its tick, which settling a backlog or a
    large shop's live facts make many times a second under load: noise, not a fault."""

    def register(round_: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def rounds() -> None:
            while not app.should_stop:
                await asyncio.sleep(interval_s)
                await round_()

        app.task(rounds)
        return round_

    return register


@paced(EXPORT_TICK_S)
async def export_snapshots() -> None:
    started = time.perf_counter()  # worker metrics
    try:
        written = await exporter.export(processors, agent_partitions, positions.backlog_by_partition())
    except RedisError as exc:
        metrics.on_export_error()  # worker metrics
        log.warning("snapshot export failed (%s); will retry", exc)
    else:
        metrics.on_export(time.perf_counter() - started, written)  # worker metrics


def source_cursor(tp: TP) -> int:
    """The partition's offset cursor: the next offset of `tp` to apply (streams/core/cursors.py)."""
    store = PartitionStore(agents if tp.topic == AGENT_EVENTS else buyers, tp.partition)
    return stored_cursor(store, tp.topic, tp.partition) or 0


@app.timer(interval=TAIL_CHECK_S)
async def seek_back_stuck_tails() -> None:
    """Records at the end of a partition that Faust dropped in a rebalance's hand-over are fetched again
    (streams/worker/kafka_positions.py); not while a rebalance or a recovery runs."""
    if processing():
        await positions.seek_back_stuck_tails((CHAT_EVENTS, ORDER_EVENTS, AGENT_EVENTS), source_cursor)


# ---- alerts (issue 5; streams/alerts/runner.py): each shop evaluated by the owner of its home partition ----
from streams.alerts.runner import AlertRunner  # noqa: E402

alert_runner = AlertRunner(config, lambda: assigned_partitions(CHAT_EVENTS))


@paced(AlertRunner.TICK_S)
async def evaluate_alerts() -> None:
    await alert_runner.tick()


@app.on_before_shutdown.connect
async def close_alerts(sender: faust.App, **kwargs: object) -> None:
    await alert_runner.close()
# ---- end alerts ----


# ---- partition ownership (streams/readside/ownership.py): what `/readyz?processing=true` and `make up` wait for ----
SOURCE_TOPICS = (CHAT_EVENTS, ORDER_EVENTS, AGENT_EVENTS)
ownership = OwnershipPublisher(redis_client, config.app_id, config.worker_name or f"worker-{config.worker_index}")


def processing() -> bool:
    """False until the worker joined the group and restored its tables, and while a rebalance runs
    (Faust resumes the streams only once the recovery ended: "Worker ready")."""
    return not app.rebalancing and app.tables.actives_ready


@app.timer(interval=PUBLISH_INTERVAL_S)
async def publish_ownership() -> None:
    try:
        await ownership.publish(processing(), {topic: assigned_partitions(topic) for topic in SOURCE_TOPICS})
    except RedisError as exc:  # readiness only; processing goes on
        log.warning("partition ownership not published (%s)", exc)


async def withdraw_ownership(final: bool) -> None:
    try:
        await ownership.withdraw(final)
    except RedisError as exc:
        log.warning("partition ownership not withdrawn (%s); it expires by itself", exc)


@app.on_partitions_revoked.connect
async def withdraw_on_revoke(sender: faust.App, revoked: set[TP], **kwargs: object) -> None:
    """At once: until the next publish (after the rebalance), readiness must not count these partitions."""
    await withdraw_ownership(final=False)


@app.on_before_shutdown.connect
async def withdraw_on_shutdown(sender: faust.App, **kwargs: object) -> None:
    await withdraw_ownership(final=True)
# ---- end partition ownership ----
