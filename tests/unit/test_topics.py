"""The pure key → partition rule (streams/core/topics.py) equals Kafka's, as aiokafka computes it."""

from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from streams.core.topics import CHAT_EVENTS, ORDER_EVENTS, murmur2, partition_for, topic_for_type


@given(st.binary(max_size=64))
def test_murmur2_equals_aiokafka(data: bytes) -> None:
    assert murmur2(data) == aiokafka_murmur2(data)


def test_known_partitions() -> None:
    # Values of the Java client's default partitioner (murmur2), shared by every producer of ours.
    assert [partition_for(key, 8) for key in ("demo-shop|b1", "demo-shop|买家-7", "")] == [
        (aiokafka_murmur2(key.encode()) & 0x7FFFFFFF) % 8 for key in ("demo-shop|b1", "demo-shop|买家-7", "")]
    assert topic_for_type("chat.message") == CHAT_EVENTS
    assert topic_for_type("order.paid") == ORDER_EVENTS
