"""Pipeline throughput: real `python -m streams.worker` processes on the bench stack.

What is timed, precisely: the workers are started on a fresh consumer group (a new app id: new
changelog topics, empty tables) and empty source topics, and left to join until the group is Stable
with every worker a member; then they are frozen (SIGSTOP), the N pre-encoded envelopes are produced
(acks=all), and the workers are released (SIGCONT) — t0. The clock stops at the first poll (every
20 ms) at which the Redis snapshots of every (shop, partition) report all N events as `processed`,
i.e. every event went through buyer state → facts → agent tables → Redis export. Start-up, group
join and production are outside the timed span; the final export is inside.
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import redis.asyncio as aioredis

from bench.common import (
    BenchStack,
    cpu_seconds,
    flush_redis,
    produce_records,
    reset_topics,
    rss_bytes,
    say,
    stolen_cpu_s,
    stolen_share,
    wait_group_stable,
)
from bench.dataset import Dataset
from streams.readside.keys import agent_meta_key, meta_key


async def processed(client: Any, keys: list[str]) -> int:
    import orjson

    return sum(orjson.loads(v).get("processed", 0) for v in await client.mget(keys) if v is not None)


def meta_keys(shops: list[str], partitions: int) -> list[str]:
    return [k for shop in shops for p in range(partitions) for k in (meta_key(shop, p), agent_meta_key(shop, p))]


async def run_pipeline(stack: BenchStack, data: Dataset, workers: int, app_id: str,
                       timeout: float = 300) -> dict[str, Any]:
    await reset_topics(stack, app_id)
    await flush_redis(stack)
    env = {"KEFU_APP_ID": app_id, "KEFU_CLOCK": "event"}
    pids = stack.start_workers(workers, **env)
    try:
        await wait_group_stable(stack, app_id, workers)
        await asyncio.sleep(1.0)  # table recovery (empty changelogs) and the first idle fetch
        stack.signal_workers(workers, signal.SIGSTOP)
        try:
            produce_s = await produce_records(stack, data.records)
        finally:
            cpu0 = sum(cpu_seconds(p) for p in pids)
            kafka_pid = stack.pid("kafka")
            kafka_cpu0 = cpu_seconds(kafka_pid) if kafka_pid else 0.0
            stolen0 = stolen_cpu_s()
            stack.signal_workers(workers, signal.SIGCONT)
        t0 = time.monotonic()
        say(f"  {workers} worker(s): {data.count:,} events in {len(data.records):,} records produced in "
            f"{produce_s:.1f}s; workers released")
        client = aioredis.Redis.from_url(stack.redis_url)
        keys = meta_keys(data.shops, stack.partitions)
        done = 0
        last_report = t0
        marks: dict[int, float] = {}
        try:
            while True:
                done = await processed(client, keys)
                now = time.monotonic()
                for pct in (10, 50, 90):
                    if pct not in marks and done >= data.count * pct / 100:
                        marks[pct] = now - t0
                if done >= data.count:
                    break
                if now - t0 > timeout:
                    raise RuntimeError(f"pipeline with {workers} worker(s): only {done:,} of {data.count:,} "
                                       f"events processed after {timeout}s")
                if now - last_report > 5:
                    say(f"  … {done:,} / {data.count:,} processed ({done / (now - t0):,.0f}/s)")
                    last_report = now
                await asyncio.sleep(0.02)
        finally:
            await client.aclose()
        elapsed = time.monotonic() - t0
        stolen = stolen_cpu_s() - stolen0
        cpu = sum(cpu_seconds(p) for p in pids) - cpu0
        kafka_cpu = cpu_seconds(kafka_pid) - kafka_cpu0 if kafka_pid else 0.0
        rss = [rss_bytes(p) for p in pids]
    finally:
        stack.stop_workers(workers)
    eps = data.count / elapsed
    say(f"  {workers} worker(s): {data.count:,} events reflected in Redis in {elapsed:.2f}s = {eps:,.0f} events/s "
        f"(CPU per event: workers {cpu / data.count * 1e6:.0f} µs, Kafka {kafka_cpu / data.count * 1e6:.0f} µs; "
        f"stolen by the host: {stolen_share(stolen, elapsed):.0%} of the cores)")
    return {
        "workers": workers,
        "events": data.count,
        "records": len(data.records),
        "seconds": round(elapsed, 3),
        "eps": round(eps),
        "seconds_to_10_50_90_pct": [round(marks.get(p, elapsed), 3) for p in (10, 50, 90)],
        "worker_cpu_s": round(cpu, 2),
        "worker_cpu_us_per_event": round(cpu / data.count * 1e6, 1),
        "kafka_cpu_us_per_event": round(kafka_cpu / data.count * 1e6, 1),
        "worker_rss_mib": [round(r / 2**20, 1) for r in rss],
        "produce_s": round(produce_s, 2),
        "stolen_cpu_share": round(stolen_share(stolen, elapsed), 3),
    }


async def changelog_state(stack: BenchStack, app_id: str) -> dict[str, Any]:
    """The buyers' and agents' records as the table changelogs hold them (latest value per key)."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from bench.common import quiet_kafka_logs
    from streams.core.topics import AGENT_TABLE, BUYER_TABLE

    quiet_kafka_logs()
    sizes: dict[str, dict[bytes, int]] = {}
    for table in (BUYER_TABLE, AGENT_TABLE):
        topic = f"{app_id}-{table}-changelog"
        consumer = AIOKafkaConsumer(bootstrap_servers=stack.bootstrap, enable_auto_commit=False,
                                    max_partition_fetch_bytes=8 * 1024 * 1024)
        await consumer.start()
        latest: dict[bytes, int] = {}
        try:
            tps = [TopicPartition(topic, p) for p in range(stack.partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            end = await consumer.end_offsets(tps)
            remaining = sum(end.values())
            while remaining > 0:
                batches = await consumer.getmany(timeout_ms=2000, max_records=20_000)
                if not batches:
                    break
                for messages in batches.values():
                    for message in messages:
                        latest[message.key] = len(message.key) + len(message.value or b"")
                    remaining -= len(messages)
        finally:
            await consumer.stop()
        sizes[table] = latest
    buyers, agents = sizes[BUYER_TABLE], sizes[AGENT_TABLE]
    total = sum(buyers.values()) + sum(agents.values())
    return {
        "buyers": len(buyers),
        "agents": len(agents),
        "buyer_record_bytes_avg": round(sum(buyers.values()) / max(len(buyers), 1)),
        "agent_record_bytes_avg": round(sum(agents.values()) / max(len(agents), 1)),
        "changelog_bytes_per_buyer": round(total / max(len(buyers), 1)),
    }
