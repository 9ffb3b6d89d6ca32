"""Where each source partition stands against Kafka's end offset (the consumer's highwater).

- **Backlog** (`note_batch`, `backlog_by_partition`): after each batch, how many records of the partition
  wait in Kafka after it — counted only when the batch's newest record was produced more than
  FRESH_S ago. While a partition catches up (a backlog of more than catch_up.CATCH_UP_RECORDS) the
  exporter exports it less often, the worker's batches wait longer and retention's sweep waits
  (streams/worker/catch_up.py).
  A worker that keeps up processes records a fraction of a second old, however many its consumer has
  fetched ahead (a surge); a restart's or an overload's backlog is seconds to hours old. A partition
  starting or ending a catch-up is logged (INFO), with how many records wait and how old they are.
- **Stuck tails** (`seek_back_stuck_tails`): a partition whose offset cursor stays behind the end offset
  while no batch moves it lost its last records in Faust's hand-over during a rebalance (the lost message
  opens no hole while nothing follows it: streams/core/cursors.py `TailWatch`). The worker seeks back to
  the cursor; what was applied already comes back as replays that the records skip.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Collection
from typing import Any

from faust.types import TP

from streams.core.cursors import TailWatch
from streams.core.processor import SourceRecord
from streams.worker.catch_up import CATCH_UP_EXPORT_INTERVAL_S, catching_up

log = logging.getLogger("kefu.worker")
TAIL_CHECK_S = 1.0  # one TailWatch tick
# A batch whose newest record was produced at most this long ago is no backlog, whatever waits after it.
# At 80 % of the sustainable rate the end-to-end p99 is ~0.6 s, records are processed well inside this;
# counting the records waiting alone, a full `make bench` on a fast machine (S = 21,348 ev/s) put the
# surge at 80 % of S into one-second exports: p99 2,624 ms (docs/performance-journal.md).
FRESH_S = 2.0


class KafkaPositions:
    def __init__(self, consumer: Callable[[], Any], wall_clock: Callable[[], float] = time.time) -> None:
        self._consumer = consumer  # the app's consumer (Faust creates it lazily)
        self._backlog: dict[TP, int] = {}  # (topic, partition) → records late after its last batch
        self.tail_watch = TailWatch()
        self._wall_clock = wall_clock
        self._catching_up: set[int] = set()  # partitions whose last batch left a backlog (catch_up.catching_up)

    def note_batch(self, partition: int, records: list[SourceRecord]) -> None:
        """Per topic of the batch, the records waiting in Kafka after it (the consumer's highwater as of its
        last fetch, minus the batch's last offset + 1), or 0 when its newest record is fresh (FRESH_S)."""
        last: dict[str, int] = {}
        newest: dict[str, int] = {}
        for record in records:
            if record.offset > last.get(record.topic, -1):
                last[record.topic] = record.offset
            if record.produced_ms > newest.get(record.topic, 0):
                newest[record.topic] = record.produced_ms
        consumer = self._consumer()
        now_ms = self._wall_clock() * 1000
        fresh_since = now_ms - FRESH_S * 1000
        for topic, offset in last.items():
            tp = TP(topic, partition)
            if newest.get(topic, 0) >= fresh_since:
                self._backlog[tp] = 0
                continue
            try:
                highwater = consumer.highwater(tp)
            except Exception:  # noqa: BLE001 - not assigned any more (a rebalance): it no longer counts
                highwater = None
            self._backlog[tp] = max(0, highwater - offset - 1) if highwater else 0
        waiting = self.backlog_of(partition)
        behind = catching_up(waiting)
        if behind and partition not in self._catching_up:
            self._catching_up.add(partition)
            age_s = (now_ms - max(newest.values(), default=0)) / 1000
            log.info("partition %d is catching up: %d records wait after a batch whose newest record is %.1f s "
                     "old; its shops are exported every %.0f s until it has caught up", partition, waiting,
                     age_s, CATCH_UP_EXPORT_INTERVAL_S)
        elif not behind and partition in self._catching_up:
            self._catching_up.discard(partition)
            log.info("partition %d has caught up", partition)

    def behind(self) -> bool:
        """Whether a partition of this worker is catching up (its last batch left a backlog):
        catch_up.batch_window."""
        return bool(self._catching_up)

    def keep_only(self, partitions: Collection[int]) -> None:
        """Forget the partitions not in `partitions` (after a rebalance took them away): a partition
        revoked while catching up must not keep the worker's batches in the catch-up window."""
        for tp in [tp for tp in self._backlog if tp.partition not in partitions]:
            del self._backlog[tp]
        self._catching_up &= set(partitions)

    def backlog_of(self, partition: int) -> int:
        """The partition's backlog over its topics after their last batch (note_batch)."""
        return sum(count for tp, count in self._backlog.items() if tp.partition == partition)

    def backlog_by_partition(self) -> dict[int, int]:
        """Per partition, its topics' backlog after their last batch (note_batch)."""
        backlog: dict[int, int] = defaultdict(int)
        for tp, count in self._backlog.items():
            backlog[tp.partition] += count
        return backlog

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
