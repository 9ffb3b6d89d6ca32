"""Processing one batch of Kafka records of one partition: decode → validate → buyer records → facts.

No Faust and no I/O here: the Faust agent (streams/worker/app.py) feeds batches and writes the changed
records to the table changelog; the batch engine (streams/tools/engine.py) and replays use it directly.
Records are written per batch; derivations are settled later. A batch applies its events to the buyers'
records and writes them (the store and the changelog see every batch); the buyers it touched wait,
decoded, until their shop's tables are read (`settle`: the exporter, before each export of the shop;
`tables`, for everything else). A buyer touched in several batches in between is derived once, whatever
its event count; buyers touched recently stay decoded with their derivation, so settling resumes it
(facts.advance).

Invariant: the tables always equal what the derivations of the buyers not waiting give, and a waiting
buyer's `derivation` is what the tables hold for it (its record may be ahead). So a waiting buyer is
never read again from the store (the stored record is ahead of the tables) and never dropped before it
is settled.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol

import orjson

from streams.core.agent_tables import PartitionTables, ShopTables
from streams.core.agent_time import add_status
from streams.core.buyer_state import (
    KEY_APPLIED_THROUGH,
    KEY_EVENT_IDS,
    KEY_INGEST_EVENTS,
    BuyerRecord,
    Outcome,
    Position,
    apply,
    right_sized,
)
from streams.core.checkpoint import FINAL_PREFIX
from streams.core.events import AGENT_TYPES, EVENT_TYPES, Event, InvalidEvent, parse_event
from streams.core.facts import TS, Derivation, advance
from streams.core.retention import apply_final, expired_through
from streams.core.shop_settings import ShopSettings
from streams.core.topics import partition_for, topic_for_type

_TOPIC_OF_TYPE = {kind: topic_for_type(kind) for kind in EVENT_TYPES}
# The key → partition rule (murmur2 in pure Python, ~8 µs) for keys seen again and again, per partition
# count: a plain dict emptied when full rather than an LRU, whose bookkeeping (moving the key's node to the
# front) costs another cache miss per lookup among a large shop's 145,000 keys (0.9 against 0.45 µs).
PARTITION_CACHE_MAX = 1 << 18
_known_partitions: dict[int, dict[str, int]] = {}


def partition_of(key: str, partitions: int) -> int:
    known = _known_partitions.get(partitions)
    if known is None:
        known = _known_partitions[partitions] = {}
    partition = known.get(key)
    if partition is None:
        if len(known) >= PARTITION_CACHE_MAX:
            known.clear()
        partition = known[key] = partition_for(key, partitions)
    return partition


class SettingsSource(Protocol):
    def latest_version(self, shop_id: str) -> int: ...
    def get(self, shop_id: str, version: int) -> ShopSettings: ...


@dataclass(frozen=True, slots=True)
class SourceRecord:
    topic: str
    partition: int
    offset: int
    value: bytes | None
    produced_ms: int = 0  # the Kafka record's timestamp (when ingest produced it); 0 when not known


REDACTED = "[redacted]"


def _redact(value: Any) -> tuple[Any, bool]:
    """`value` with every "text" member's value replaced by REDACTED, at any depth (also inside a JSON
    string that itself holds a JSON object or array: a producer that encoded twice); and whether any was."""
    if isinstance(value, dict):
        changed = False
        out = {}
        for key, member in value.items():
            if key == "text" and member is not None:
                out[key], changed = REDACTED, True
            else:
                out[key], member_changed = _redact(member)
                changed = changed or member_changed
        return out, changed
    if isinstance(value, list):
        items = [_redact(item) for item in value]
        return [item for item, _ in items], any(changed for _, changed in items)
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            inner = orjson.loads(value)
        except orjson.JSONDecodeError:
            return value, False
        inner, changed = _redact(inner)
        return (orjson.dumps(inner).decode(), True) if changed else (value, False)
    return value, False


def redact_message_text(raw: bytes | None) -> bytes | None:
    """A bad record's bytes as a dead letter keeps them: every message `text` redacted (events.md: text is
    never stored past processing). Bytes that are not JSON give None: text in them cannot be found, so
    none of them is kept (the dead letter still has the reason, the position and the size).
    Untouched when there is no text; else re-encoded (same members and order, compact)."""
    try:
        decoded = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        return None
    redacted, changed = _redact(decoded)
    if not changed:
        return raw
    try:
        return orjson.dumps(redacted)
    except orjson.JSONEncodeError:  # not representable again: keep nothing rather than the text
        return None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A bad event or record, for the `dead-letters` topic. `value` is the record's bytes with message text
    redacted (None when they are not JSON: see redact_message_text); `size` the original byte count."""

    topic: str
    partition: int
    offset: int
    index: int | None  # the event's index inside an envelope (None: the whole record)
    reason: str
    value: bytes | None
    size: int = 0

    def to_json(self) -> bytes:
        return orjson.dumps({
            "topic": self.topic, "partition": self.partition, "offset": self.offset, "index": self.index,
            "reason": self.reason,
            "value": None if self.value is None else self.value.decode("utf-8", "backslashreplace"),
            "value_bytes": self.size,
        })


@dataclass(slots=True)
class BatchResult:
    changed: dict[str, bytes] = field(default_factory=dict)  # store key → new record bytes
    dead_letters: list[DeadLetter] = field(default_factory=list)
    applied: int = 0
    duplicates: int = 0
    replayed: int = 0


def decode_record(record: SourceRecord, partitions: int, now_ms: int | None = None,
                  ) -> tuple[list[tuple[int, Any]], list[DeadLetter]]:
    """The valid events of a record (single event or envelope) with their index, and the bad ones."""
    events, bad = decode_keyed(record, partitions, now_ms)
    return [(index, event) for index, event, _ in events], bad


def decode_keyed(record: SourceRecord, partitions: int, now_ms: int | None = None,
                 ) -> tuple[list[tuple[int, Event, str]], list[DeadLetter]]:
    """decode_record() with each valid event's Kafka key (computed once: the processor needs it too)."""
    kept: list[bytes | None] = []  # the record's redacted bytes, computed once for all its dead letters

    def dead(index: int | None, reason: str) -> DeadLetter:
        if not kept:
            kept.append(redact_message_text(record.value))
        return DeadLetter(record.topic, record.partition, record.offset, index, reason, kept[0],
                          len(record.value or b""))

    try:
        decoded = orjson.loads(record.value or b"")
    except orjson.JSONDecodeError as exc:
        return [], [dead(None, f"not valid JSON: {exc}")]
    items = decoded if isinstance(decoded, list) else [decoded]
    if not items:
        return [], [dead(None, "empty envelope")]
    events: list[tuple[int, Event, str]] = []
    bad: list[DeadLetter] = []
    if now_ms is None:  # one wall-clock reading for the record, not one per event
        now_ms = int(time.time() * 1000)
    topic, partition = record.topic, record.partition
    for index, item in enumerate(items):
        try:
            event = parse_event(item, now_ms)
        except InvalidEvent as exc:
            bad.append(dead(index, f"{exc.field}: {exc.error}"))
            continue
        kind = event.type
        if _TOPIC_OF_TYPE[kind] != topic:
            bad.append(dead(index, f"type: {kind} does not belong on topic {topic}"))
            continue
        key = f"{event.shop_id}|{event.agent_id if kind in AGENT_TYPES else event.buyer_id}"
        expected = partition_of(key, partitions)
        if expected != partition:
            bad.append(dead(index, f"key {key!r} belongs to partition {expected}, not {partition}"))
            continue
        events.append((index, event, key))
    return events, bad


@dataclass(slots=True, eq=False)
class _Buyer:
    """A buyer as the processor keeps it between batches: the decoded record (equal to the stored bytes)
    and its derivation (what the agent tables hold for it, and the fold to resume)."""

    record: BuyerRecord
    derivation: Derivation | None
    shop_id: str
    buyer_id: str
    existed: bool = True  # the store had a record before this batch
    # This batch: an event of the buyer that was not a replay (so its applied_through moved on; apply()
    # changes applied_through for exactly those), and the record's ingest count before the batch.
    applied_any: bool = False
    ingest_before: int = 0


_APPLIED, _DUPLICATE = Outcome.APPLIED, Outcome.DUPLICATE


class PartitionProcessor:
    """Buyer records and agent tables of one partition of chat-events/order-events.

    Keeps the buyers it touched last (up to `cache_size`) decoded, with their derivation, so a batch
    neither decodes their records again nor derives them from scratch: facts.advance() resumes the
    derivation and gives the agent tables' changes directly. A batch takes its buyers out of that cache
    and puts them back only once it completed: a batch that fails half-way (settings unreadable) leaves
    nothing changed behind (a waiting buyer's record is read back from the store, which holds it as the
    last complete batch left it), and is simply processed again from the stored records.
    """

    def __init__(self, partition: int, partitions: int, store: MutableMapping[str, bytes],
                 settings: SettingsSource, cache_size: int = 20_000,
                 clock: Callable[[], int | None] = lambda: None) -> None:
        self.partition = partition
        self.partitions = partitions
        self.store = store
        self.settings = settings
        self._tables = PartitionTables()
        self.clock = clock  # validation's "now" (None: wall clock)
        # Least recently kept first: a plain dict, not an OrderedDict (a buyer is taken out and put back at
        # the end, so insertion order is recency). Unlinking a buyer from the OrderedDict's list reads its
        # neighbours too: a take and keep among 145,000 kept buyers cost 1.42 µs against the dict's 0.88.
        self._buyers: dict[str, _Buyer] = {}
        self._cache_size = cache_size
        self._expired_through: dict[str, dict[str, Position]] = {}  # per shop (retention.expired_through)
        # Per shop, the buyers whose record changed since they were last derived (key → buyer).
        self._waiting: dict[str, dict[str, _Buyer]] = {}
        # Per shop, its event clock in the partition: the largest event ts of the batches so far (the
        # tables' watermark lags it while buyers wait to be derived).
        self._event_clock: dict[str, int] = {}

    @property
    def tables(self) -> PartitionTables:
        """The agent tables with every buyer processed so far derived into them."""
        self.settle()
        return self._tables

    def tables_as_derived(self) -> PartitionTables:
        """The agent tables as they are, buyers waiting to be derived left out (for the exporter, which
        settles one shop before exporting it, and for counting)."""
        return self._tables

    def waiting_shops(self) -> list[str]:
        """Shops with buyers waiting to be derived."""
        return [shop_id for shop_id, waiting in self._waiting.items() if waiting]

    def settle(self, shop_id: str | None = None) -> None:
        """Derive the buyers waiting (of `shop_id`, else of every shop) into the agent tables."""
        if not self._waiting:
            return
        for shop in ([shop_id] if shop_id is not None else list(self._waiting)):
            waiting = self._waiting.pop(shop, None)
            if not waiting:
                continue
            tables, settings_for = self._tables.shop(shop), self._settings_for(shop)
            apply_entry = tables.apply_entry
            for buyer in waiting.values():
                derivation, deltas = advance(buyer.derivation, buyer.record.timeline, settings_for)
                entry, agents = derivation.live_entry()
                apply_entry(buyer.buyer_id, deltas, entry, agents, derivation.fold.max_ts)
                buyer.derivation = derivation

    def _settings_for(self, shop_id: str) -> Callable[[int], ShopSettings]:
        get = self.settings.get
        return lambda version: get(shop_id, version)

    def _take(self, key: str, shop_id: str, buyer_id: str) -> _Buyer:
        """The buyer out of the cache or the buyers waiting, else from the store (derived as the agent
        tables hold it)."""
        buyer = self._buyers.pop(key, None)
        if buyer is None:
            waiting = self._waiting.get(shop_id)
            buyer = waiting.get(key) if waiting else None
        if buyer is None:
            raw = self.store.get(key)
            if raw is None:  # a new buyer, or one whose record expired: replays of its events are skipped
                through = self._expired_through.get(shop_id)
                if through is None:
                    through = self._expired_through[shop_id] = expired_through(self.store, shop_id)
                # (ingest count and timeline length before the batch: 0, the defaults)
                return _Buyer(BuyerRecord(applied_through=dict(through)), None, shop_id, buyer_id, False)
            record = BuyerRecord.from_bytes(raw)
            derivation, _ = advance(None, record.timeline, self._settings_for(shop_id))
            buyer = _Buyer(record, derivation, shop_id, buyer_id)
        else:
            buyer.applied_any = False
        buyer.ingest_before = buyer.record.ingest_events
        return buyer

    def _keep(self, key: str, buyer: _Buyer) -> None:
        buyer.existed = True
        buyers = self._buyers
        buyers[key] = buyer
        if len(buyers) > self._cache_size:
            # Down to 15/16 of the cache at once: the oldest entries are found by iterating from the dict's
            # start, past the slots of every buyer taken out since it last compacted, so that walk is paid
            # once per many evictions rather than once each.
            for old in list(islice(buyers, len(buyers) - self._cache_size * 15 // 16)):
                del buyers[old]

    def process(self, records: list[SourceRecord]) -> BatchResult:
        """Apply a batch to the buyer records and write the changed ones (`BatchResult.changed`, and the
        store); its buyers wait to be derived (`settle`)."""
        touched: dict[str, _Buyer] = {}
        try:
            return self._process(records, touched)
        except BaseException:
            # Nothing of a failed batch stays: a waiting buyer it changed gets its record back as the store
            # holds it, or stops waiting if the store has none (the other buyers it took are out of the
            # cache: they are read again when next seen).
            for key, buyer in touched.items():
                waiting = self._waiting.get(buyer.shop_id)
                if waiting is not None and waiting.get(key) is buyer:
                    raw = self.store.get(key)
                    if raw is None:
                        del waiting[key]
                    else:
                        buyer.record = BuyerRecord.from_bytes(raw)
            raise

    def _process(self, records: list[SourceRecord], touched: dict[str, _Buyer]) -> BatchResult:
        result = BatchResult()
        now_ms = self.clock()
        settings = self.settings
        applied = duplicates = replayed = 0
        for source in records:
            events, bad = decode_keyed(source, self.partitions, now_ms)
            if bad:
                result.dead_letters.extend(bad)
            topic, offset = source.topic, source.offset
            for index, event, key in events:
                buyer = touched.get(key)
                if buyer is None:
                    buyer = touched[key] = self._take(key, event.shop_id, event.buyer_id or "")
                version = event.settings_version
                if version is None:  # straight to Kafka, not through ingest: the newest settings known
                    version = settings.latest_version(event.shop_id)
                outcome = apply(buyer.record, event, version, settings.get(event.shop_id, version),
                                topic, (offset, index))
                if outcome is _APPLIED:
                    applied += 1
                    buyer.applied_any = True
                elif outcome is _DUPLICATE:
                    duplicates += 1
                    buyer.applied_any = True
                else:
                    replayed += 1
        result.applied, result.duplicates, result.replayed = applied, duplicates, replayed
        # Every settings version the buyers' timelines use has been read by now (a settings read that
        # fails, fails before any change): the new events' versions by apply(), the older events' when
        # their facts were derived (here, or in an earlier batch: versions are cached for good).
        # The shop's event clock in the partition once this batch is in (its largest event ts): each
        # buyer written is stamped with it (BuyerRecord.arrived, for retention), whatever its own ts.
        event_clock = self._event_clock
        batch_clock: dict[str, int] = {}
        for buyer in touched.values():
            timeline = buyer.record.timeline
            if timeline:
                newest = timeline[-1][TS]
                if newest > batch_clock.get(buyer.shop_id, 0):
                    batch_clock[buyer.shop_id] = newest
        # Per shop of the batch, looked up once (not once per buyer): its tables, its buyers waiting, its
        # event clock.
        shops: dict[str, tuple[ShopTables, dict[str, _Buyer], int]] = {}
        store, changed = self.store, result.changed
        for key, buyer in touched.items():
            record = buyer.record
            if not buyer.applied_any:
                # Every event was a replay: no figure changes. The record is written again all the same: a
                # worker killed after writing its local store but before the changelog got the record
                # would otherwise never send it (its events now look applied). Replays of an expired
                # record's events leave no record.
                if buyer.existed:
                    changed[key] = store[key]
                    self._keep(key, buyer)
                continue
            shop_id = buyer.shop_id
            shop = shops.get(shop_id)
            if shop is None:
                tables = self._tables.shop(shop_id)
                clock = max(event_clock.get(shop_id, 0), tables.watermark, batch_clock.get(shop_id, 0))
                event_clock[shop_id] = clock
                shop = shops[shop_id] = (tables, self._waiting.setdefault(shop_id, {}), clock)
            tables, waiting, clock = shop
            tables.processed += record.ingest_events - buyer.ingest_before
            derivation = buyer.derivation
            if derivation is None or derivation.fold.count != len(record.timeline):
                waiting[key] = buyer  # its timeline changed (duplicates change none): derived when settled
            tables.dirty_live = True  # processed count changed at least
            # Retention's horizon runs from this arrival as well as from the newest event's ts (a late
            # event's ts can be days old).
            record.arrived = max(record.arrived, clock)
            data = record.to_bytes()
            store[key] = data
            changed[key] = data
            self._keep(key, buyer)
        return result

    def cached(self, key: str) -> tuple[BuyerRecord, Derivation | None] | None:
        """The buyer's decoded record and derivation if the processor keeps them (for retention's sweep)."""
        buyer = self._buyers.get(key)
        return None if buyer is None else (buyer.record, buyer.derivation)

    def event_clock(self, shop_id: str) -> int:
        """The shop's event clock in the partition: the largest event ts of its batches so far. Settling
        the buyers waiting never moves the tables' watermark past it."""
        return self._event_clock.get(shop_id, 0)

    def evict(self, key: str) -> None:
        """Forget a buyer whose record was deleted (expired: streams/core/retention.py; settled before)."""
        self._buyers.pop(key, None)
        self._expired_through.pop(key.partition("|")[0], None)  # its shop's final record changed

    def belongs(self, key: str) -> bool:
        """A buyer key of this partition (not bookkeeping, not another partition's)."""
        return not key.startswith("\x00") and partition_of(key, self.partitions) == self.partition

    def restored(self, tables: PartitionTables) -> None:
        """Take tables restored from a checkpoint (streams/core/checkpoint.py) instead of rebuilding."""
        self._tables = tables
        self._buyers.clear()
        self._expired_through.clear()
        self._waiting.clear()
        self._event_clock.clear()

    def rebuild(self) -> None:
        """Rebuild the agent tables from the buyer records and the final records of expired buyers
        (streams/core/retention.py), after recovery or a rebalance."""
        self._tables = PartitionTables()
        self._buyers.clear()
        self._expired_through.clear()
        self._waiting.clear()
        self._event_clock.clear()
        for key, raw in list(self.store.items()):
            if key.startswith(FINAL_PREFIX):
                apply_final(self._tables, key, raw, +1)
                continue
            if not self.belongs(key):
                continue  # bookkeeping (offset cursors, checkpoint), not a buyer
            shop_id, _, buyer_id = key.partition("|")
            record = BuyerRecord.from_bytes(raw)
            derivation, deltas = advance(None, record.timeline, self._settings_for(shop_id))
            tables = self._tables.shop(shop_id)
            entry, agents = derivation.live_entry()
            tables.apply_entry(buyer_id, deltas, entry, agents, derivation.max_ts)
            tables.processed += record.ingest_events
            if len(self._buyers) < self._cache_size:
                self._buyers[key] = _Buyer(record, derivation, shop_id, buyer_id)
        for tables in self._tables.shops.values():
            tables.mark_all_dirty()


@dataclass(slots=True)
class AgentStatusResult:
    changed: dict[str, bytes] = field(default_factory=dict)
    dead_letters: list[DeadLetter] = field(default_factory=list)


KEY_STATUS_HISTORY = "hist"


def agent_state(raw: bytes | None) -> dict[str, Any]:
    """An agent's record: last status by ts, its status history (streams/core/agent_time), ids applied,
    last Kafka position, ingest events seen."""
    if raw:
        state = orjson.loads(raw)
        if KEY_STATUS_HISTORY not in state:  # stored before the history was kept: its last status
            state[KEY_STATUS_HISTORY] = [[state["ts"], state["status"]]] if state["status"] is not None else []
        return state
    return {"status": None, "ts": 0, KEY_STATUS_HISTORY: [], KEY_EVENT_IDS: [], KEY_APPLIED_THROUGH: None,
            KEY_INGEST_EVENTS: 0}


def process_agent_events(records: list[SourceRecord], partitions: int, store: MutableMapping[str, bytes],
                         now_ms: int | None = None) -> AgentStatusResult:
    """agent.status events: the agent's status history and last status by ts, deduplicated by event id."""
    result = AgentStatusResult()
    for source in records:
        events, bad = decode_keyed(source, partitions, now_ms)
        result.dead_letters.extend(bad)
        for index, event, key in events:
            raw = result.changed.get(key) or store.get(key)
            state = agent_state(raw)
            position = [source.offset, index]
            applied_through = state[KEY_APPLIED_THROUGH]
            if raw is not None and applied_through is not None and position <= applied_through:
                # A replay of a record applied before: sent to the changelog again as it is (the local
                # store may be ahead of the changelog after a crash; see PartitionProcessor.process).
                result.changed[key] = raw
                continue
            state[KEY_APPLIED_THROUGH] = position
            state[KEY_INGEST_EVENTS] += event.settings_version is not None
            if event.event_id not in state[KEY_EVENT_IDS]:
                state[KEY_EVENT_IDS] = [*state[KEY_EVENT_IDS][-999:], event.event_id]
                add_status(state[KEY_STATUS_HISTORY], event.ts, event.status)
                state["ts"], state["status"] = state[KEY_STATUS_HISTORY][-1]
            data = right_sized(orjson.dumps(state))
            store[key] = data
            result.changed[key] = data
    return result
