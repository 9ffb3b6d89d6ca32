"""Offset cursors: replays pass, a contiguous run advances the cursor, a hole stops it; a cursor that stays
behind the end offset without moving is a lost tail (TailWatch, and the worker's seek back to it)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from faust.types import TP

from streams.core.cursors import TAIL_STALL_TICKS, TailWatch, cursor_key, is_cursor_key, split_at_gaps
from streams.core.processor import SourceRecord
from streams.worker.catch_up import (
    BATCH_WITHIN_S,
    CATCH_UP_BATCH_WITHIN_S,
    CATCH_UP_EXPORT_INTERVAL_S,
    batch_window,
)
from streams.worker.kafka_positions import FRESH_S, KafkaPositions


def records(topic: str, *offsets: int) -> list[SourceRecord]:
    return [SourceRecord(topic, 3, offset, b"{}") for offset in offsets]


def test_contiguous_records_advance_the_cursor() -> None:
    split = split_at_gaps(records("chat-events", 5, 6, 7) + records("order-events", 0), {"chat-events": 5})
    assert [r.offset for r in split.ready] == [0, 5, 6, 7]
    assert split.cursors == {"chat-events": 8, "order-events": 1}
    assert not split.gaps


def test_replays_below_the_cursor_pass_and_do_not_move_it() -> None:
    split = split_at_gaps(records("chat-events", 2, 3), {"chat-events": 9})
    assert [r.offset for r in split.ready] == [2, 3] and split.cursors == {} and not split.gaps


def test_a_hole_holds_back_everything_after_it() -> None:
    split = split_at_gaps(records("chat-events", 10, 11, 14, 15), {"chat-events": 10})
    assert [r.offset for r in split.ready] == [10, 11]
    assert split.cursors == {"chat-events": 12}
    assert split.gaps == {"chat-events": 12} and split.held_back == 2
    assert split_at_gaps(records("chat-events", 14), {"chat-events": 12}).gaps == {"chat-events": 12}


def test_cursor_keys_never_look_like_buyers() -> None:
    assert is_cursor_key(cursor_key("chat-events", 3)) and not is_cursor_key("shop|buyer")


def test_a_cursor_behind_the_end_offset_is_stuck_only_after_it_stayed_still_for_the_stall() -> None:
    watch = TailWatch(stall_ticks=3)
    assert [watch.stuck("chat-events", 0, 7, 10) for _ in range(3)] == [False, False, True]
    # Counting starts again after a seek: a seek that does not help is repeated every stall, not every tick.
    assert [watch.stuck("chat-events", 0, 7, 10) for _ in range(3)] == [False, False, True]
    # A cursor that moves is a partition at work, however far behind.
    assert [watch.stuck("chat-events", 0, cursor, 100) for cursor in (1, 1, 2, 2, 3)] == [False] * 5
    # Caught up (or no end offset known yet): never stuck, and the count is forgotten.
    watch.stuck("chat-events", 1, 4, 9)
    watch.stuck("chat-events", 1, 4, 9)
    assert not watch.stuck("chat-events", 1, 9, 9) and not watch.stuck("chat-events", 1, 9, None)
    assert [watch.stuck("chat-events", 1, 9, 12) for _ in range(3)] == [False, False, True]
    # Partitions and topics are counted apart.
    assert not watch.stuck("order-events", 0, 7, 10)


class FakeConsumer:
    def __init__(self, end_offsets: dict[TP, int]) -> None:
        self.end_offsets = end_offsets
        self.seeks: list[tuple[TP, int]] = []

    def assignment(self) -> set[TP]:
        return set(self.end_offsets)

    def highwater(self, tp: TP) -> int:
        return self.end_offsets[tp]

    async def seek(self, tp: TP, offset: int) -> None:
        self.seeks.append((tp, offset))


def test_the_worker_seeks_a_stuck_source_partition_back_to_its_cursor_once_per_stall() -> None:
    stuck, caught_up, changelog = TP("chat-events", 2), TP("agent-events", 2), TP("kefu-buyers-changelog", 2)
    consumer = FakeConsumer({stuck: 10, caught_up: 5, changelog: 99})
    cursors = {stuck: 7, caught_up: 5, changelog: 0}
    positions = KafkaPositions(lambda: consumer)

    async def ticks(n: int) -> list[list[TP]]:
        return [await positions.seek_back_stuck_tails(("chat-events", "agent-events"), cursors.__getitem__)
                for _ in range(n)]

    sought = asyncio.run(ticks(TAIL_STALL_TICKS))
    assert sought == [[]] * (TAIL_STALL_TICKS - 1) + [[stuck]]
    assert consumer.seeks == [(stuck, 7)]  # never the changelog, never a partition that is caught up
    cursors[stuck] = 10  # the records came again and were applied
    assert asyncio.run(ticks(2 * TAIL_STALL_TICKS)) == [[]] * (2 * TAIL_STALL_TICKS)


def test_the_backlog_after_a_batch_counts_records_waiting_behind_records_no_longer_fresh() -> None:
    consumer = FakeConsumer({TP("chat-events", 1): 120, TP("order-events", 1): 40, TP("chat-events", 3): 9,
                             TP("chat-events", 2): 5_000})
    now_s = 1_800_000_000.0
    positions = KafkaPositions(lambda: consumer, wall_clock=lambda: now_s)
    old_ms = int((now_s - FRESH_S) * 1000) - 1
    positions.note_batch(1, [SourceRecord("chat-events", 1, offset, b"{}", old_ms) for offset in (17, 19, 18)]
                         + [SourceRecord("order-events", 1, 39, b"{}")])  # (no timestamp: not fresh)
    positions.note_batch(3, [SourceRecord("chat-events", 3, 8, b"{}", old_ms)])
    positions.note_batch(0, [SourceRecord("chat-events", 0, 5, b"{}", old_ms)])  # not assigned any more: 0
    # 4,899 records fetched ahead during a surge, but the batch's newest record is fresh: no backlog.
    positions.note_batch(2, [SourceRecord("chat-events", 2, 99, b"{}", old_ms),
                             SourceRecord("chat-events", 2, 100, b"{}", int(now_s * 1000) - 300)])
    assert positions.backlog_by_partition() == {1: 100, 3: 0, 0: 0, 2: 0}
    positions.note_batch(2, [SourceRecord("chat-events", 2, 101, b"{}", old_ms)])  # late again: counted
    assert positions.backlog_by_partition()[2] == 4_898
    assert [positions.backlog_of(p) for p in (0, 1, 2, 3, 5)] == [0, 100, 4_898, 0, 0]



def test_a_partition_starting_and_ending_a_catch_up_is_logged_once_each(caplog: pytest.LogCaptureFixture) -> None:
    tp = TP("chat-events", 4)
    consumer = FakeConsumer({tp: 5_000})
    now_s = 1_800_000_000.0
    positions = KafkaPositions(lambda: consumer, wall_clock=lambda: now_s)
    old_ms = int((now_s - 12.5) * 1000)
    caplog.set_level(logging.INFO, logger="kefu.worker")
    for offset in (10, 20, 30):  # behind for three batches: one line
        positions.note_batch(4, [SourceRecord("chat-events", 4, offset, b"{}", old_ms)])
    positions.note_batch(4, [SourceRecord("chat-events", 4, 4_999, b"{}", old_ms)])  # nothing waits now
    positions.note_batch(4, [SourceRecord("chat-events", 4, 4_999, b"{}", old_ms)])
    lines = [record.getMessage() for record in caplog.records]
    assert lines == ["partition 4 is catching up: 4989 records wait after a batch whose newest record is 12.5 s "
                     f"old; its shops are exported every {CATCH_UP_EXPORT_INTERVAL_S:.0f} s until it has caught up",
                     "partition 4 has caught up"]


def test_the_worker_is_behind_while_a_partition_it_still_owns_catches_up() -> None:
    consumer = FakeConsumer({TP("chat-events", 4): 5_000, TP("chat-events", 6): 5_000})
    now_s = 1_800_000_000.0
    positions = KafkaPositions(lambda: consumer, wall_clock=lambda: now_s)
    old_ms = int((now_s - 12.5) * 1000)
    assert not positions.behind()
    positions.note_batch(4, [SourceRecord("chat-events", 4, 10, b"{}", old_ms)])
    positions.note_batch(6, [SourceRecord("chat-events", 6, 10, b"{}", old_ms)])
    assert positions.behind()
    assert batch_window(positions.behind()) == CATCH_UP_BATCH_WITHIN_S
    positions.note_batch(4, [SourceRecord("chat-events", 4, 4_999, b"{}", old_ms)])  # 4 caught up, 6 not yet
    assert positions.behind()
    positions.keep_only({4, 5})  # a rebalance took 6 away while it was catching up
    assert not positions.behind() and positions.backlog_of(6) == 0
    assert batch_window(positions.behind()) == BATCH_WITHIN_S
