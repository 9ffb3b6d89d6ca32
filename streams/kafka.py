"""The Kafka module: topic creation before any worker starts, and the one producer factory.

Names and the key → partition rule are pure and live in streams/core/topics.py.

Faust must find every topic (sources and table changelogs, same partition count) already there:
with auto-creation it ignores missing topics or crashes with PartitionsMismatch.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from streams.config import Config, get_config
from streams.core.topics import (
    AGENT_EVENTS,
    AGENT_TABLE,
    ALERTS,
    BUYER_TABLE,
    CHAT_EVENTS,
    DEAD_LETTERS,
    ORDER_EVENTS,
    changelog_topic,
)


def all_topics(config: Config) -> list[NewTopic]:
    n = config.partitions
    rf = config.replication_factor  # KEFU_REPLICATION_FACTOR: 1 locally, 3 on a 3-broker cluster
    # With replicas, an acks=all write is on rf - 1 brokers at least (2 of 3) before it is acknowledged:
    # one broker may die without losing an acknowledged event, and without stopping writes.
    durable = {"min.insync.replicas": str(rf - 1)} if rf > 1 else {}
    compacted = {"cleanup.policy": "compact", **durable}
    week = {"retention.ms": str(7 * 86_400_000), **durable}
    return [
        NewTopic(CHAT_EVENTS, n, rf, topic_configs=week),
        NewTopic(ORDER_EVENTS, n, rf, topic_configs=week),
        NewTopic(AGENT_EVENTS, n, rf, topic_configs=week),
        NewTopic(DEAD_LETTERS, 1, rf, topic_configs=week),
        NewTopic(ALERTS, 1, rf, topic_configs=week),
        NewTopic(changelog_topic(config.app_id, BUYER_TABLE), n, rf, topic_configs=compacted),
        NewTopic(changelog_topic(config.app_id, AGENT_TABLE), n, rf, topic_configs=compacted),
    ]


async def start_producer(bootstrap_servers: str, *, linger_ms: int = 5, request_timeout_ms: int = 30_000,
                         **options: Any) -> AIOKafkaProducer:
    """A started idempotent producer with acks=all (every writer of ours needs both: a retried send must
    not count an event twice). A producer that fails to start is stopped before the error propagates."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True,
                                linger_ms=linger_ms, request_timeout_ms=request_timeout_ms, **options)
    try:
        await producer.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await producer.stop()
        raise
    return producer


async def create_topics(config: Config) -> list[str]:
    """Create every topic that does not exist yet; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=config.bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in all_topics(config) if t.name not in existing]
        created = []
        for topic in missing:  # one at a time: a concurrent creator must not fail the others
            try:
                await admin.create_topics([topic])
                created.append(topic.name)
            except TopicAlreadyExistsError:
                pass
        return created
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Create Kefu Pulse's Kafka topics")
    parser.parse_args()
    created = asyncio.run(create_topics(get_config()))
    print(f"topics created: {', '.join(created) if created else 'none (all exist)'}")


if __name__ == "__main__":
    main()
