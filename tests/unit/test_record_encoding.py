"""BuyerRecord.to_bytes() encodes only the events added since its last call (the earlier ones' encoding is
kept), and gives exactly the bytes of encoding the whole record, whatever the arrival order: a late event
put before encoded ones makes it encode the timeline again. Stored records keep their format, so records
written before this change (on the changelog, in RocksDB) decode as before."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.buyer_state import ENCODE_WHOLE_BELOW, BuyerRecord, apply, right_sized
from streams.core.events import parse_event
from streams.core.facts import TS
from streams.core.shop_settings import ShopSettings

NOW = 1_795_000_000_000
T = 1_794_362_400_000  # 2026-11-11 10:00 Asia/Shanghai


def _whole(record: BuyerRecord) -> bytes:
    """The record encoded in one go, as to_bytes() did before it kept encodings (the stored format)."""
    return right_sized(orjson.dumps({
        "t": [list(event) for event in record.timeline], "ids": sorted(record.event_ids),
        "at": record.applied_through, "n": record.ingest_events, "s": record.next_seq,
    }))


def _event(index: int, ts: int, sender: str) -> object:
    return parse_event({"event_id": f"e{index}", "shop_id": "s", "type": "chat.message", "ts": ts,
                        "buyer_id": "b", "agent_id": "A", "sender": sender, "settings_version": 1}, NOW)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(-20, 20), st.sampled_from(["buyer", "agent"]), st.booleans()),
                min_size=1, max_size=30))
def test_to_bytes_equals_the_whole_encoding_after_every_change(steps: list[tuple[int, str, bool]]) -> None:
    record = BuyerRecord()
    for index, (minutes, sender, write) in enumerate(steps):
        apply(record, _event(index, T + minutes * 60_000, sender), 1, ShopSettings(), "chat-events", (index, 0))
        if write:  # a record is written once per batch: several events may come between two writes
            assert record.to_bytes() == _whole(record)
    assert record.to_bytes() == _whole(record)
    assert BuyerRecord.from_bytes(record.to_bytes()) == record


def test_a_late_event_before_encoded_ones_is_encoded_in_its_place() -> None:
    record = BuyerRecord()
    count = ENCODE_WHOLE_BELOW + 2  # long enough for to_bytes() to keep its encoding
    for index in range(count):
        apply(record, _event(index, T + index * 10 * 60_000, "buyer"), 1, ShopSettings(), "chat-events", (index, 0))
    record.to_bytes()
    apply(record, _event(count, T + 25 * 60_000, "agent"), 1, ShopSettings(), "chat-events", (count, 0))
    assert record.timeline[3][TS] == T + 25 * 60_000
    assert record.to_bytes() == _whole(record)


def test_a_record_stored_before_is_read_and_written_back_unchanged() -> None:
    """Bytes as the earlier to_bytes() wrote them (one whole encoding) decode, and encode again the same."""
    record = BuyerRecord()
    for index, minutes in enumerate([3, 1, 2]):
        apply(record, _event(index, T + minutes * 60_000, "buyer"), 1, ShopSettings(), "chat-events", (index, 0))
    stored = _whole(record)
    again = BuyerRecord.from_bytes(stored)
    assert again == record
    assert again.to_bytes() == stored
