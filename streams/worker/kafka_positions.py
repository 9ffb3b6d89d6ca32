"""Where each source partition stands against Kafka's end offset (the consumer's highwater).

- **Records waiting** (`note_batch`, `records_waiting_by_partition`): after each batch, how many records
  of the partition wait in Kafka after it. While a partition catches up the exporter exports it less
  often and retention's sweep waits (streams/worker/exporter.py `catching_up`).
- **Stuck tails** (`seek_back_stuck_tails`): a partition whose offset cursor stays behind the end offset
  while no batch moves it lost its last records in Faust's hand-over during a rebalance (the lost message
  opens no hole while nothing follows it: streams/core/cursors.py `TailWatch`). The worker seeks back to
  the cursor; what was applied already comes back as replays that the records skip.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection
from typing import Any

from faust.types import TP

from streams.core.cursors import TailWatch
from streams.core.processor import SourceRecord

log = logging.getLogger("kefu.worker")
TAIL_CHECK_S = 1.0  # one TailWatch tick


class KafkaPositions:
    def __init__(self, consumer: Callable[[], Any], tail_watch: TailWatch | None = None) -> None:
        self._consumer = consumer  # the app's consumer (Faust creates it lazily)
        self._records_waiting: dict[TP, int] = {}  # (topic, partition) → records after its last batch
        self.tail_watch = tail_watch or TailWatch()

    def note_batch(self, partition: int, records: list[SourceRecord]) -> None:
        """How many records of each topic of the batch wait in Kafka after it (the consumer's highwater as
        of its last fetch, minus the batch's last offset + 1)."""
        last: dict[str, int] = {}
        for record in records:
            if record.offset > last.get(record.topic, -1):
                last[record.topic] = record.offset
        consumer = self._consumer()
        for topic, offset in last.items():
            tp = TP(topic, partition)
            try:
                highwater = consumer.highwater(tp)
            except Exception:  # noqa: BLE001 - not assigned any more (a rebalance): it no longer counts
                highwater = None
            self._records_waiting[tp] = max(0, highwater - offset - 1) if highwater else 0

    def records_waiting_by_partition(self) -> dict[int, int]:
        """Per partition, the records of all its topics waiting in Kafka after their last batch."""
        waiting: dict[int, int] = defaultdict(int)
        for tp, count in self._records_waiting.items():
            waiting[tp.partition] += count
        return waiting

    async def seek_back_stuck_tails(self, topics: Collection[str], cursor_of: Callable[[TP], int]) -> list[TP]:
        """One tick of the tail check over the assigned partitions of `topics`; `cursor_of(tp)` is the
        partition's offset cursor (0 without one). Returns the partitions sought back."""
        consumer = self._consumer()
        sought = []
        for tp in sorted(consumer.assignment()):
            if tp.topic not in topics:
                continue
            try:
                end_offset = consumer.highwater(tp)
            except Exception:  # noqa: BLE001 - revoked meanwhile
                continue
            cursor = cursor_of(tp)
            if self.tail_watch.stuck(tp.topic, tp.partition, cursor, end_offset):
                log.warning("%s[%d]: offsets %d…%d never reached the worker; seeking back to %d", tp.topic,
                            tp.partition, cursor, end_offset - 1, cursor)
                await consumer.seek(tp, cursor)
                sought.append(tp)
        return sought
