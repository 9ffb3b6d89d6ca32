"""The buyer record: duplicates count once, Kafka replays are skipped, late events land in ts order,
settings are taken per event (a settings change never rewrites figures already computed)."""

from __future__ import annotations

import orjson

from streams.core.buyer_state import BuyerRecord, Outcome, apply
from streams.core.events import parse_event
from streams.core.facts import TimelineEvent, derive
from streams.core.scopes import SCOPE_AGENT_DAY
from streams.core.shop_settings import ShopSettings

NOW = 1_795_000_000_000
T = 1_794_362_400_000  # 2026-11-11 10:00 Asia/Shanghai


def event(event_id: str, ts: int, sender: str = "buyer", text: str | None = None, version: int | None = 1):
    return parse_event({"event_id": event_id, "shop_id": "s", "type": "chat.message", "ts": ts, "buyer_id": "b",
                        "agent_id": "A", "sender": sender, "text": text, "settings_version": version}, NOW)


def test_duplicate_counts_once_but_is_processed() -> None:
    record = BuyerRecord()
    assert apply(record, event("e1", T), 1, ShopSettings(), "chat-events", (0, 0)) is Outcome.APPLIED
    assert apply(record, event("e1", T), 1, ShopSettings(), "chat-events", (5, 0)) is Outcome.DUPLICATE
    assert len(record.timeline) == 1
    assert record.ingest_events == 2  # both deliveries were accepted by ingest: /lag must reach 0


def test_replayed_kafka_record_is_skipped_entirely() -> None:
    record = BuyerRecord()
    apply(record, event("e1", T), 1, ShopSettings(), "chat-events", (7, 0))
    apply(record, event("e2", T + 1), 1, ShopSettings(), "chat-events", (7, 1))
    before = record.to_bytes()
    assert apply(record, event("e2", T + 1), 1, ShopSettings(), "chat-events", (7, 1)) is Outcome.REPLAYED
    assert apply(record, event("e9", T + 2), 1, ShopSettings(), "chat-events", (6, 0)) is Outcome.REPLAYED
    assert record.to_bytes() == before
    # Positions are per topic: the order topic has its own offsets.
    assert apply(record, event("e3", T + 3), 1, ShopSettings(), "order-events", (0, 0)) is Outcome.APPLIED


def test_late_event_is_placed_by_ts_and_round_trips() -> None:
    record = BuyerRecord()
    apply(record, event("reply", T + 30_000, sender="agent"), 1, ShopSettings())
    apply(record, event("question", T), 1, ShopSettings())
    assert [TimelineEvent(*e).kind for e in record.timeline] == ["buyer", "agent"]
    copy = BuyerRecord.from_bytes(record.to_bytes())
    assert copy == record
    facts = derive(copy.timeline, lambda v: ShopSettings())
    assert facts.counters[(SCOPE_AGENT_DAY, "2026-11-11", "A")]["response_ms"] == 30_000


def test_settings_are_those_in_force_for_each_event() -> None:
    """A filter phrase added later does not turn an already received buyer into a filtered one."""
    old, new = ShopSettings(), ShopSettings(filter_phrases=frozenset({"在吗"}))
    record = BuyerRecord()
    apply(record, event("e1", T, text="在吗"), 1, old)
    apply(record, event("e2", T + 1000, text="在吗"), 2, new)
    settings = {1: old, 2: new}
    facts = derive(record.timeline, settings.__getitem__)
    assert facts.counters[(SCOPE_AGENT_DAY, "2026-11-11", "A")].get("received") == 1
    assert [TimelineEvent(*e).filter_phrase for e in record.timeline] == [False, True]


def test_rows_of_different_buyers_share_their_sender_and_agent_strings() -> None:
    """Kept buyers hold one copy of each agent id and sender, not the decoded event's own copy per row."""
    rows = []
    for buyer in ("b1", "b2"):
        raw = orjson.dumps({"event_id": f"e-{buyer}", "shop_id": "s", "type": "chat.message", "ts": T,
                            "buyer_id": buyer, "agent_id": "agent-" + "7" * 3, "sender": "agent"})
        record = BuyerRecord()
        apply(record, parse_event(orjson.loads(raw), NOW), 1, ShopSettings())
        rows.append(record.timeline[0])
    first, second = (TimelineEvent(*row) for row in rows)
    assert first.agent == second.agent == "agent-777" and first.agent is second.agent
    assert first.kind == second.kind == "agent" and first.kind is second.kind
