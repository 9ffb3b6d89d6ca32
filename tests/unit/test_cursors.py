"""Offset cursors: replays pass, a contiguous run advances the cursor, a hole stops it."""

from __future__ import annotations

from streams.core.cursors import cursor_key, is_cursor_key, split_at_gaps
from streams.core.processor import SourceRecord


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
