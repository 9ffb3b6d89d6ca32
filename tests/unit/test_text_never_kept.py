"""Message text is never kept (events.md: "used only for the filter rules; never stored past processing").

- ingest decides the filter-phrase flag under the pinned settings version and sends no `text` to Kafka;
- the worker uses that flag when present, and decides from the text only for events produced straight
  to Kafka;
- dead letters keep reason, position and the bytes with every `text` value redacted (also inside
  envelopes and twice-encoded JSON); bytes that are not JSON are not kept at all.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from api.routes.ingest import filter_settings, to_wire
from streams.core.buyer_state import to_timeline_row
from streams.core.events import InvalidEvent, parse_event
from streams.core.facts import TimelineEvent
from streams.core.processor import REDACTED, SourceRecord, decode_record, redact_message_text
from streams.core.shop_settings import DEFAULT_SETTINGS, ShopSettings
from streams.core.topics import partition_for
from streams.readside.settings_store import SETTINGS_DOCUMENTS

document_key = SETTINGS_DOCUMENTS.document_key

TS = 1_731_283_200_000  # 2024-11-11 08:00 +08:00
SECRET = "我的手机号是13800000000"


def chat(event_id: str = "e1", sender: str = "buyer", text: str | None = SECRET, **extra: Any) -> dict[str, Any]:
    event = {"event_id": event_id, "shop_id": "s", "type": "chat.message", "ts": TS, "buyer_id": "b1",
             "agent_id": "A", "sender": sender, **extra}
    if text is not None:
        event["text"] = text
    return event


# ------------------------------------------------------------------------------------ dead letters

def test_text_is_redacted_in_a_single_event_and_in_every_event_of_an_envelope() -> None:
    single = orjson.dumps(chat())
    assert orjson.loads(redact_message_text(single)) == {**chat(), "text": REDACTED}
    envelope = orjson.dumps([chat("e1"), chat("e2", text="在吗"), {"event_id": "e3", "nested": {"text": "x"}}])
    kept = redact_message_text(envelope)
    assert SECRET.encode() not in kept and "在吗".encode() not in kept and b'"x"' not in kept
    assert [e["event_id"] for e in orjson.loads(kept)] == ["e1", "e2", "e3"]  # all else is kept, in order


def test_text_inside_a_twice_encoded_record_is_redacted() -> None:
    twice = orjson.dumps(orjson.dumps(chat()).decode())
    kept = redact_message_text(twice)
    assert SECRET.encode() not in kept
    assert orjson.loads(orjson.loads(kept))["event_id"] == "e1"


def test_records_without_text_are_kept_byte_for_byte() -> None:
    raw = b'{"event_id": "e1",  "text": null, "amount": 1.50}'
    assert redact_message_text(raw) is raw


def test_bytes_that_are_not_json_are_not_kept() -> None:
    assert redact_message_text(f'{{"text": "{SECRET}"'.encode()) is None  # cut short: cannot be parsed
    assert redact_message_text(b"\xff\xfe garbage") is None


def test_dead_letters_keep_reason_position_and_size_but_no_text() -> None:
    partitions = 4
    right = partition_for("s|b1", partitions)
    bad = chat(sender="customer")
    records = [SourceRecord("chat-events", right, 7, orjson.dumps([chat("ok"), bad])),
               SourceRecord("chat-events", right, 8, f"not json {SECRET}".encode()),
               SourceRecord("chat-events", (right + 1) % partitions, 9, orjson.dumps(chat("misplaced")))]
    letters = []
    for record in records:
        events, dead = decode_record(record, partitions, now_ms=TS)
        letters += [orjson.loads(d.to_json()) for d in dead]
        assert all(event.text == SECRET for _, event in events)  # processing still sees it (filter rules)
    assert [(d["offset"], d["index"]) for d in letters] == [(7, 1), (8, None), (9, 0)]
    assert letters[0]["reason"].startswith("sender") and letters[1]["reason"].startswith("not valid JSON")
    assert [d["value_bytes"] for d in letters] == [len(r.value) for r in records]
    assert letters[1]["value"] is None
    assert orjson.loads(letters[0]["value"])[1] == {**bad, "text": REDACTED}
    assert all(SECRET not in orjson.dumps(d).decode() for d in letters)


# ------------------------------------------------------------------------------- filter-phrase flag

def test_the_flag_must_be_a_boolean() -> None:
    assert parse_event(chat(filter_phrase=True), TS).filter_phrase is True
    assert parse_event(chat(), TS).filter_phrase is None
    with pytest.raises(InvalidEvent) as error:
        parse_event(chat(filter_phrase="yes"), TS)
    assert error.value.field == "filter_phrase"


@pytest.mark.parametrize(("event", "expected"), [
    (chat(text="在吗"), True),  # straight to Kafka: decided from the text
    (chat(text=" 在吗 "), True),
    (chat(text="有货吗"), False),
    (chat(text=None, filter_phrase=True), True),  # through ingest: the flag, no text
    (chat(text=None, filter_phrase=False), False),
    (chat(text="在吗", filter_phrase=False), False),  # the flag wins (decided under the pinned version)
    (chat(sender="agent", text=None, filter_phrase=True), False),  # only buyer messages are filter phrases
])
def test_the_worker_uses_the_flag_and_else_the_text(event: dict, expected: bool) -> None:
    settings = ShopSettings(filter_phrases=frozenset({"在吗"}))
    assert TimelineEvent(*to_timeline_row(parse_event(event, TS), 0, 1, settings)).filter_phrase is expected


# ------------------------------------------------------------------------------------------- ingest

class FakeRedis:
    def __init__(self, documents: dict[str, bytes]) -> None:
        self.documents = documents
        self.reads: list[str] = []

    async def get(self, key: str) -> bytes | None:
        self.reads.append(key)
        return self.documents.get(key)


def ingest_wire(items: list[dict], pinned: dict[str, int], redis: FakeRedis, cache: dict) -> list[dict]:
    state = SimpleNamespace(redis=redis, settings_versions=cache)
    events = [parse_event(item, TS) for item in items]
    settings = asyncio.run(filter_settings(state, events, pinned))  # type: ignore[arg-type]
    return [to_wire(event, item, pinned[event.shop_id], settings) for event, item in zip(events, items, strict=True)]


def test_ingest_sends_no_text_and_decides_the_flag_under_the_pinned_version() -> None:
    redis = FakeRedis({document_key("s", 3): orjson.dumps({"filter_phrases": ["在吗"]})})
    items = [chat("e1", text="在吗"), chat("e2", text="有货吗"), chat("e3", text=None),
             chat("e4", sender="agent", text="在吗"), chat("e5", text="在吗", filter_phrase=False),
             {"event_id": "o1", "shop_id": "s", "type": "order.closed", "ts": TS, "buyer_id": "b1",
              "order_id": "o1", "text": SECRET}]
    wire = ingest_wire(items, {"s": 3}, redis, {})
    assert all("text" not in w for w in wire)
    assert [w.get("filter_phrase") for w in wire] == [True, False, False, False, True, None]
    assert all(w["settings_version"] == 3 for w in wire)
    assert {k: v for k, v in wire[0].items() if k not in ("filter_phrase", "settings_version")} == \
        {k: v for k, v in items[0].items() if k != "text"}


def test_ingest_reads_each_settings_version_once_and_none_for_the_defaults() -> None:
    redis = FakeRedis({document_key("s", 2): orjson.dumps({"filter_phrases": ["你好"]})})
    cache: dict = {}
    assert [w["filter_phrase"] for w in ingest_wire([chat(text="你好")], {"s": 0}, redis, cache)] == [False]
    assert redis.reads == [] and cache == {("s", 0): DEFAULT_SETTINGS}
    for _ in range(2):
        assert [w["filter_phrase"] for w in ingest_wire([chat(text="你好")], {"s": 2}, redis, cache)] == [True]
    assert redis.reads == [document_key("s", 2)]
    # A request without buyer text needs no settings at all.
    ingest_wire([chat(text=None)], {"s": 5}, redis, cache)
    assert redis.reads == [document_key("s", 2)]
