"""Where an event goes in Kafka: topic names, the event type → topic rule, the key → partition rule.

Pure (the Kafka module, streams/kafka.py, creates the topics and builds producers). One buyer's whole
story lands in one partition: chats and orders are keyed `shop|buyer` on co-partitioned topics, and
the partition is Kafka's default partitioner (murmur2 of the key), exactly as the Java client and
aiokafka compute it — tests/unit/test_topics.py checks it against aiokafka's own.
"""

from __future__ import annotations

from struct import unpack_from

CHAT_EVENTS = "chat-events"
ORDER_EVENTS = "order-events"
AGENT_EVENTS = "agent-events"
DEAD_LETTERS = "dead-letters"
ALERTS = "alerts"
SOURCE_TOPICS = (CHAT_EVENTS, ORDER_EVENTS, AGENT_EVENTS)

# Faust changelog topics: "<app id>-<table name>-changelog".
BUYER_TABLE = "buyers"
AGENT_TABLE = "agents"

_MASK = 0xFFFFFFFF
_SEED = 0x9747B28C
_MIX = 0x5BD1E995


def topic_for_type(event_type: str) -> str:
    if event_type.startswith("chat."):
        return CHAT_EVENTS
    if event_type.startswith("order."):
        return ORDER_EVENTS
    return AGENT_EVENTS


def changelog_topic(app_id: str, table: str) -> str:
    return f"{app_id}-{table}-changelog"


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), 32-bit unsigned."""
    length = len(data)
    h = (_SEED ^ length) & _MASK
    # The 4-byte little-endian words, read in C (struct caches the compiled format per word count)
    for k in unpack_from(f"<{length >> 2}I", data):
        k = (k * _MIX) & _MASK
        k ^= k >> 24
        k = (k * _MIX) & _MASK
        h = ((h * _MIX) & _MASK) ^ k
    tail = length & ~3
    extra = length % 4
    if extra >= 3:
        h ^= data[tail + 2] << 16
    if extra >= 2:
        h ^= data[tail + 1] << 8
    if extra >= 1:
        h ^= data[tail]
        h = (h * _MIX) & _MASK
    h ^= h >> 13
    h = (h * _MIX) & _MASK
    h ^= h >> 15
    return h


def partition_for(key: str, partitions: int) -> int:
    """Kafka's default partitioner for a keyed record."""
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
