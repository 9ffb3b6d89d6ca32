"""Kafka topics: names, the key → partition rule, and explicit creation before any worker starts.

Faust must find every topic (sources and table changelogs, same partition count) already there:
with auto-creation it ignores missing topics or crashes with PartitionsMismatch.
"""

from __future__ import annotations

import argparse
import asyncio

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2

from streams.config import Config, get_config

CHAT_EVENTS = "chat-events"
ORDER_EVENTS = "order-events"
AGENT_EVENTS = "agent-events"
DEAD_LETTERS = "dead-letters"
ALERTS = "alerts"

# Faust changelog topics: "<app id>-<table name>-changelog".
BUYER_TABLE = "buyers"
AGENT_TABLE = "agents"


def topic_for_type(event_type: str) -> str:
    if event_type.startswith("chat."):
        return CHAT_EVENTS
    if event_type.startswith("order."):
        return ORDER_EVENTS
    return AGENT_EVENTS


def partition_for(key: str, partitions: int) -> int:
    """Kafka's default (murmur2) partitioner, as the Java client and aiokafka compute it."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def changelog_topic(config: Config, table: str) -> str:
    return f"{config.app_id}-{table}-changelog"


def all_topics(config: Config) -> list[NewTopic]:
    compacted = {"cleanup.policy": "compact"}
    week = {"retention.ms": str(7 * 86_400_000)}
    n = config.partitions
    rf = config.replication_factor  # KEFU_REPLICATION_FACTOR: 1 locally, 3 on a 3-broker cluster
    return [
        NewTopic(CHAT_EVENTS, n, rf, topic_configs=week),
        NewTopic(ORDER_EVENTS, n, rf, topic_configs=week),
        NewTopic(AGENT_EVENTS, n, rf, topic_configs=week),
        NewTopic(DEAD_LETTERS, 1, rf, topic_configs=week),
        NewTopic(ALERTS, 1, rf, topic_configs=week),
        NewTopic(changelog_topic(config, BUYER_TABLE), n, rf, topic_configs=compacted),
        NewTopic(changelog_topic(config, AGENT_TABLE), n, rf, topic_configs=compacted),
    ]


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
