"""The per-buyer record: the single source of truth of a buyer's story in one shop.

Pure: `apply(record, event, ...)` puts one event into the record. The record keeps the buyer's
timeline (what the figures need, never message text) in `facts.timeline_order`, the event ids
already applied (a duplicate delivery counts once) and, per source topic, the Kafka position last
applied (a replay of the same record after a crash is recognised and skipped, without counting it as
processed twice).
"""

from __future__ import annotations

import sys
from bisect import insort
from dataclasses import dataclass, field
from enum import Enum

import orjson

from streams.core.events import Event
from streams.core.facts import TS, TimelineRow, timeline_order
from streams.core.shop_settings import ShopSettings, local_day

Position = tuple[int, int]  # (Kafka offset, index of the event inside the record's envelope)

# Keys of the stored records (RocksDB, the table changelogs): short because every record carries them, and
# a stored format, so the values never change (existing data must read). The agent records
# (streams/core/processor.py agent_state) use the same keys for the same things.
KEY_TIMELINE = "t"  # the buyer's timeline rows (facts.TimelineRow) as lists, in timeline order
KEY_EVENT_IDS = "ids"  # event ids applied (a duplicate delivery counts once)
KEY_APPLIED_THROUGH = "at"  # buyer: topic → last Position applied; agent: the last Position applied
KEY_INGEST_EVENTS = "n"  # events that came through the ingest API (for /lag)
KEY_NEXT_SEQ = "s"  # the seq the next timeline row gets (arrival order among equal ts)
KEY_ARRIVED = "r"  # buyer: the partition's event clock at the last arrival (retention); absent when 0

# Timelines shorter than this are encoded whole at each write (measured: keeping and joining the earlier
# encoding costs more than it saves below ~8 events); longer ones encode only their new events.
ENCODE_WHOLE_BELOW = 8

_ORDER_KINDS = {"order.created": "created", "order.deposit_paid": "deposit", "order.paid": "paid",
                "order.closed": "closed", "order.refunded": "refunded"}
# A row's strings that repeat from buyer to buyer (the sender, agent ids) are shared objects rather than
# the decoded event's own copies, which a kept buyer would otherwise hold one of per row: 2.3 % less memory
# per kept buyer (4,624 → 4,518 B, 1,200-agent shop); no speed change measured (side by side 0.96–1.07×).
_SENDER_KIND = {"buyer": "buyer", "agent": "agent", "robot": "robot"}


def _shared(agent: str | None) -> str | None:
    return None if agent is None else sys.intern(agent)


class Outcome(Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # same event_id seen before: counted as processed, changes no figure
    REPLAYED = "replayed"  # this Kafka record was applied before a crash/rebalance: skipped entirely


@dataclass(slots=True)
class BuyerRecord:
    timeline: list[TimelineRow] = field(default_factory=list)
    event_ids: set[str] = field(default_factory=set)
    applied_through: dict[str, Position] = field(default_factory=dict)  # topic → last position
    ingest_events: int = 0  # events that came through the ingest API (for /lag)
    next_seq: int = 0
    # The shop's event clock in the partition (its largest event ts) when an event of the buyer last
    # arrived: retention keeps the record for its horizon after this too, not only after the newest
    # event's own ts, so an event that arrives late still finds the record (streams/core/retention.py).
    # 0 for records written before it was kept (their newest event's ts decides alone).
    arrived: int = 0
    # to_bytes()'s encoding of the first `_encoded_count` timeline events (a JSON array), the last of
    # them kept to check the prefix is still there: events mostly arrive in ts order, so a record is
    # written again and again with only new events at the end, and only those are encoded (timelines
    # of ENCODE_WHOLE_BELOW events or more; shorter ones keep nothing).
    _encoded_timeline: bytes = field(default=b"[]", repr=False, compare=False)
    _encoded_count: int = field(default=0, repr=False, compare=False)
    _encoded_last: TimelineRow | None = field(default=None, repr=False, compare=False)

    def to_bytes(self) -> bytes:
        timeline: object
        if len(self.timeline) < ENCODE_WHOLE_BELOW:  # one call to orjson is cheaper for a short timeline
            timeline, self._encoded_count = self.timeline, 0
        else:
            timeline = orjson.Fragment(self._timeline_json())
        data = {
            KEY_TIMELINE: timeline, KEY_EVENT_IDS: sorted(self.event_ids),
            KEY_APPLIED_THROUGH: self.applied_through, KEY_INGEST_EVENTS: self.ingest_events,
            KEY_NEXT_SEQ: self.next_seq,
        }
        if self.arrived:
            data[KEY_ARRIVED] = self.arrived
        return right_sized(orjson.dumps(data))

    def _timeline_json(self) -> bytes:
        """The timeline as to_bytes() stores it: the same bytes as encoding it whole (orjson is compact
        and deterministic, so an array's encoding is its rows' encodings joined by commas)."""
        timeline = self.timeline
        count = self._encoded_count
        if count and (len(timeline) < count or timeline[count - 1] is not self._encoded_last):
            count = 0  # an event was put before the encoded ones (late or out of order): encode it all
        if count == len(timeline):
            return self._encoded_timeline if count else b"[]"
        rows = orjson.dumps(timeline[count:])
        encoded = rows if count == 0 else self._encoded_timeline[:-1] + b"," + rows[1:]
        self._encoded_timeline, self._encoded_count, self._encoded_last = encoded, len(timeline), timeline[-1]
        return encoded

    @classmethod
    def from_bytes(cls, data: bytes) -> BuyerRecord:
        raw = orjson.loads(data)
        timeline = [tuple(row) for row in raw[KEY_TIMELINE]]
        # Records written before equal-ts buyer messages sorted first hold them after their reply; a
        # stable sort of an already ordered list is one linear pass.
        timeline.sort(key=timeline_order)
        return cls(
            timeline=timeline,
            event_ids=set(raw[KEY_EVENT_IDS]),
            applied_through={topic: (pos[0], pos[1]) for topic, pos in raw[KEY_APPLIED_THROUGH].items()},
            ingest_events=raw[KEY_INGEST_EVENTS],
            next_seq=raw[KEY_NEXT_SEQ],
            arrived=raw.get(KEY_ARRIVED, 0),
        )


def right_sized(data: bytes) -> bytes:
    """A copy of orjson's output that owns only its length: orjson ≥ 3.12 returns bytes whose buffer
    keeps 4 KB or more (orjson#483), which the store would keep for every buyer."""
    return bytes(memoryview(data))


def is_filter_phrase(sender: str | None, text: str | None, settings: ShopSettings) -> bool:
    """A buyer message that is one of the shop's filter phrases (metrics.md). Decided by the ingest API
    under the event's pinned settings (it then sends no text to Kafka), else here from the text."""
    return sender == "buyer" and text is not None and text.strip() in settings.filter_phrases


def to_timeline_row(event: Event, seq: int, settings_version: int, settings: ShopSettings) -> TimelineRow:
    """Reduce an event to its timeline row (facts.TimelineRow), taking every settings decision now (at
    apply time). The message text is used for the filter-phrase decision only (when ingest did not
    decide it)."""
    kind = event.type
    internal = event.buyer_id in settings.filter_buyers
    ts = event.ts
    day = local_day(ts, settings.timezone)
    if kind == "chat.message":
        if event.filter_phrase is not None:  # decided by ingest under the same settings version
            filter_phrase = event.sender == "buyer" and event.filter_phrase
        else:  # produced straight to Kafka, with its text
            filter_phrase = is_filter_phrase(event.sender, event.text, settings)
        sender = _SENDER_KIND.get(event.sender, event.sender or "")
        return (ts, seq, sender, settings_version, day, internal, _shared(event.agent_id), None, filter_phrase, 0, 0)
    if kind == "chat.transfer":
        return (ts, seq, "transfer", settings_version, day, internal, _shared(event.to_agent),
                _shared(event.from_agent), False, 0, 0)
    if kind == "chat.queued":
        return (ts, seq, "queued", settings_version, day, internal, None, None, False, 0, 0)
    if kind == "chat.rating":
        return (ts, seq, "rating", settings_version, day, internal, _shared(event.agent_id), None, False,
                event.score or 0, 0)
    return (ts, seq, _ORDER_KINDS[kind], settings_version, day, internal, None, event.order_id, False,
            event.amount_fen or 0, event.items or 0)


def apply(
    record: BuyerRecord,
    event: Event,
    settings_version: int,
    settings: ShopSettings,
    topic: str | None = None,
    position: Position | None = None,
) -> Outcome:
    """Apply one event to the buyer's record (in place). `topic`/`position` locate the Kafka record."""
    if topic is not None and position is not None:
        last = record.applied_through.get(topic)
        if last is not None and position <= last:
            return Outcome.REPLAYED
        record.applied_through[topic] = position
    if event.settings_version is not None:
        record.ingest_events += 1
    if event.event_id in record.event_ids:
        return Outcome.DUPLICATE
    record.event_ids.add(event.event_id)
    row = to_timeline_row(event, record.next_seq, settings_version, settings)
    timeline = record.timeline
    # The usual case: after every event so far (keys are unique: seq). A later ts alone decides it.
    if not timeline or timeline[-1][TS] < row[TS] \
            or timeline_order(timeline[-1]) < timeline_order(row):
        timeline.append(row)
    else:
        insort(timeline, row, key=timeline_order)
    record.next_seq += 1
    return Outcome.APPLIED
