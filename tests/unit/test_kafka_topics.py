"""Topic creation (streams/kafka.py) for the two Kafka deployments: one broker (replication factor 1,
topic configs as before) and three brokers (replication factor 3, min.insync.replicas 2 on every topic,
so an acks=all write survives one broker's loss and writes go on while one is down)."""

from __future__ import annotations

from streams.config import Config
from streams.kafka import all_topics


def test_one_broker_topics_are_unreplicated_with_their_old_configs() -> None:
    topics = all_topics(Config(replication_factor=1))
    assert {t.replication_factor for t in topics} == {1}
    assert all("min.insync.replicas" not in t.topic_configs for t in topics)


def test_three_broker_topics_are_replicated_thrice_and_need_two_in_sync() -> None:
    topics = all_topics(Config(replication_factor=3, partitions=8))
    assert {t.replication_factor for t in topics} == {3}
    assert {t.topic_configs["min.insync.replicas"] for t in topics} == {"2"}
    changelogs = [t for t in topics if t.name.endswith("-changelog")]
    assert changelogs and all(t.topic_configs["cleanup.policy"] == "compact" for t in changelogs)
