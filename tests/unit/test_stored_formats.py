"""Stored formats that named constants stand for must not move: existing RocksDB data, changelogs and
Redis snapshots have to read after an upgrade (streams/core/buyer_state.py, processor.py, facts.py)."""

from __future__ import annotations

import orjson

from streams.core import facts
from streams.core.buyer_state import BuyerRecord
from streams.core.facts import TimelineEvent
from streams.core.processor import SourceRecord, agent_state, process_agent_events

# A buyer record as written by the code before the keys got names: one paid order and one rating.
STORED_BUYER = (b'{"t":[[1700000000000,0,"rating",3,"2023-11-15",false,"A",null,false,5,0],'
                b'[1700000001000,1,"paid",3,"2023-11-15",false,null,"o-1",false,12345,2]],'
                b'"ids":["e1","e2"],"at":{"chat-events":[7,0],"order-events":[9,1]},"n":2,"s":2}')


def test_buyer_record_reads_and_writes_the_same_bytes() -> None:
    record = BuyerRecord.from_bytes(STORED_BUYER)
    rating, paid = map(TimelineEvent._make, record.timeline)
    assert all(type(row) is tuple for row in record.timeline)  # plain tuples: untracked by the collector
    assert (rating.kind, rating.score, paid.kind, paid.amount_fen, paid.items) == ("rating", 5, "paid", 12345, 2)
    assert record.applied_through == {"chat-events": (7, 0), "order-events": (9, 1)}
    assert (record.event_ids, record.ingest_events, record.next_seq) == ({"e1", "e2"}, 2, 2)
    assert record.to_bytes() == STORED_BUYER


def test_timeline_event_is_stored_as_the_same_tuple() -> None:
    event = TimelineEvent(1, 0, "paid", 3, "2023-11-15", False, None, "o-1", False, 990, 1)
    assert tuple(event) == (1, 0, "paid", 3, "2023-11-15", False, None, "o-1", False, 990, 1)
    assert event.value == event.amount_fen == event.score == 990  # one stored column, two readings


def test_agent_record_bytes() -> None:
    assert agent_state(None) == {"status": None, "ts": 0, "hist": [], "ids": [], "at": None, "n": 0}
    envelope = orjson.dumps([{"event_id": "s1", "shop_id": "shop", "type": "agent.status", "ts": 1700000000000,
                              "agent_id": "A", "status": "online"}])
    store: dict[str, bytes] = {}
    result = process_agent_events([SourceRecord("agent-events", 0, 4, envelope)], 1, store)
    assert not result.dead_letters
    assert list(store.values()) == [b'{"status":"online","ts":1700000000000,"hist":[[1700000000000,"online"]],'
                                    b'"ids":["s1"],"at":[4,0],"n":0}']


def test_an_agent_record_stored_before_the_history_starts_it_with_its_last_status() -> None:
    store = {"shop|A": b'{"status":"online","ts":1700000000000,"ids":["s1"],"at":[4,0],"n":0}'}
    assert agent_state(store["shop|A"])["hist"] == [[1700000000000, "online"]]
    later = orjson.dumps({"event_id": "s2", "shop_id": "shop", "type": "agent.status", "ts": 1700000060000,
                          "agent_id": "A", "status": "away"})
    process_agent_events([SourceRecord("agent-events", 0, 5, later)], 1, store)
    assert agent_state(store["shop|A"])["hist"] == [[1700000000000, "online"], [1700000060000, "away"]]


def test_scope_tags() -> None:
    assert (facts.SCOPE_AGENT_DAY, facts.SCOPE_GROUP_DAY, facts.SCOPE_TEAM_DAY, facts.SCOPE_AGENT_MINUTE,
            facts.SCOPE_TEAM_MINUTE) == ("a", "g", "t", "am", "tm")


def test_final_records_of_expired_buyers_read_as_stored() -> None:
    """streams/core/retention.py: the keys and members of the final records are on the changelog."""
    from streams.core.agent_tables import PartitionTables
    from streams.core.retention import apply_final, final_day_key, final_shop_key

    assert final_day_key("shop", "2026-11-11") == "\x00final|shop|2026-11-11"
    assert final_shop_key("shop") == "\x00final|shop|"
    tables = PartitionTables()
    apply_final(tables, "\x00final|shop|2026-11-11",
                b'{"c":[[["a","2026-11-11","A"],{"received":2}],[["t","2026-11-11"],{"received":2}]]}', +1)
    apply_final(tables, "\x00final|shop|", b'{"n":7,"w":1794362400000,"agents":["A","B"]}', +1)
    shop = tables.shop("shop")
    assert shop.days["2026-11-11"]["agents"]["A"] == {"received": 2}
    assert shop.days["2026-11-11"]["team"] == {"received": 2}
    assert (shop.processed, shop.watermark, shop.agents) == (7, 1794362400000, {"A", "B"})
