"""Offset cursors: per source (topic, partition), the next Kafka offset to apply, kept with the records.

Our source topics are written by non-transactional producers, so their offsets have no holes: a
record beyond the cursor means records in between never reached us. Seen with Faust 0.15.3: when a
rebalance suspends the flow while a message is being handed to the stream, the message is dropped,
its offset still counts as read, the next message opens a "gap" that Faust treats as acked — and the
commit passes the lost message. The cursor is written to the table changelog after the batch's
records (same changelog partition, so it is never durable before them); on a gap the worker seeks
back to the cursor, and what was already applied comes back as replays that the records skip.

A hole is seen only when a later record of the partition arrives. When the lost message was the
partition's last one so far, nothing follows it: `TailWatch` notices a partition whose cursor stays
behind Kafka's end offset while it does not move, and the worker seeks back to the cursor as well.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the processor imports this module (is_cursor_key)
    from streams.core.processor import SourceRecord

CURSOR_PREFIX = "\x00offset|"


def cursor_key(topic: str, partition: int) -> str:
    return f"{CURSOR_PREFIX}{topic}|{partition}"


def is_cursor_key(key: str) -> bool:
    return key.startswith(CURSOR_PREFIX)


def stored_cursor(store: Mapping[str, bytes], topic: str, partition: int) -> int | None:
    """The partition's cursor for `topic` as the table's store holds it (None: no record applied yet)."""
    raw = store.get(cursor_key(topic, partition))
    return None if raw is None else int(raw)


@dataclass(slots=True)
class Split:
    ready: list[SourceRecord] = field(default_factory=list)  # replays and the run without holes
    gaps: dict[str, int] = field(default_factory=dict)  # topic → the offset to seek back to
    cursors: dict[str, int] = field(default_factory=dict)  # topic → the cursor after `ready`
    held_back: int = 0  # records beyond a gap (they come again after the seek)


def split_at_gaps(records: list[SourceRecord], cursors: Mapping[str, int]) -> Split:
    """Records of one partition: what can be applied now, and where offsets jump past the cursor."""
    by_topic: dict[str, list[SourceRecord]] = defaultdict(list)
    for record in records:
        by_topic[record.topic].append(record)
    split = Split()
    for topic, topic_records in by_topic.items():
        expected = cursors.get(topic, 0)
        for record in sorted(topic_records, key=lambda r: r.offset):
            if record.offset > expected:
                split.gaps[topic] = expected
                split.held_back += sum(1 for r in topic_records if r.offset > expected)
                break
            split.ready.append(record)
            expected = max(expected, record.offset + 1)
        if expected != cursors.get(topic, 0):
            split.cursors[topic] = expected
    split.ready.sort(key=lambda r: (r.offset, r.topic))
    return split


# Ticks of the worker's tail check (one a second) that a partition's cursor must stay behind Kafka's end
# offset without moving before the worker seeks back to it. Counted in ticks, not seconds: an event loop
# blocked for a while (a large checkpoint) delays the ticks too, so it never makes every partition look
# stuck at once. A busy partition moves its cursor with every batch, many times a second.
TAIL_STALL_TICKS = 10


@dataclass(slots=True)
class TailWatch:
    """Per source partition, how long its cursor has stayed behind the end offset without moving."""

    stall_ticks: int = TAIL_STALL_TICKS
    _stalled: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)  # → (cursor, ticks)

    def stuck(self, topic: str, partition: int, cursor: int, end_offset: int | None) -> bool:
        """One tick: True when records up to `end_offset` (Kafka's next offset to be written) exist beyond
        `cursor` and the cursor has not moved for `stall_ticks` ticks. Counting starts again after a True,
        so a seek that does not help is repeated only every `stall_ticks` ticks."""
        tp = (topic, partition)
        if end_offset is None or end_offset <= cursor:
            self._stalled.pop(tp, None)
            return False
        last_cursor, ticks = self._stalled.get(tp, (cursor, 0))
        ticks = ticks + 1 if last_cursor == cursor else 1
        if ticks >= self.stall_ticks:
            self._stalled.pop(tp, None)
            return True
        self._stalled[tp] = (cursor, ticks)
        return False
