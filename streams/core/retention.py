"""Retention: a buyer's record expires once its last event is older than inquiry_valid_days + 1 days.

Before a record is deleted, what it adds to day figures is frozen into the partition's final records
(FINAL_PREFIX keys, on the changelog like the buyer records): per (shop, day) the counters of the day
scopes, per shop the ingest events (/lag's processed count), the agents named and the watermark. A
rebuild adds the final records to what the remaining records derive to, so expiring changes no day
figure, and no rebuild can lower one ("final days").

A record expires only when nothing it holds can still change a figure (metrics.md):
- its last event is older than now − (N + 1) days, N the largest inquiry_valid_days among the settings
  versions its events use and the shop's newest: no later event can find one of its contacts inside
  the N-day window, and every inquiry cohort it belongs to has closed;
- it is live in nothing: no pending clock, no open SLA clock, no open queue wait, no activity inside
  the active window;
- it has no order still open (neither paid, closed nor refunded) and no "now" counter (待付尾款, the
  open unpaid orders): a presale balance paid weeks later keeps its buyer.
Minute buckets of an expired buyer are taken out of the tables (they are older than the 25 h the
series keeps, so no export carries them any more), which is what a rebuild without the record gives.

The horizon runs from the record's newest event's ts and from its last arrival (BuyerRecord.arrived, the
partition's event clock then), whichever is later: an event dated days back that arrives within the
horizon of its buyer's last arrival finds the record, so its figures equal the oracle's over the whole
log whatever the arrival order. Replays of an expired record's Kafka positions (a restart, a seek) are
skipped (KEY_EXPIRED_THROUGH).

What a record that expired cannot do any more (docs/reliability.md, "Retention"): recognise a late
duplicate of one of its event ids, or give a refund arriving after expiry its order's credit; an event
of the buyer arriving after expiry starts a new record.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, MutableMapping
from typing import Any

import orjson

from streams.core.agent_tables import DAY_SCOPES, PartitionTables
from streams.core.buyer_state import KEY_ARRIVED, KEY_TIMELINE, BuyerRecord, Position, right_sized
from streams.core.checkpoint import FINAL_PREFIX
from streams.core.facts import SETTINGS_VERSION, TS, Counters, Delta, Derivation, advance, derived_counters
from streams.core.scopes import SCOPE_AGENT_MINUTE, SCOPE_TEAM_MINUTE
from streams.core.shop_settings import ShopSettings

DAY_MS = 86_400_000
MINUTE_SCOPES = (SCOPE_AGENT_MINUTE, SCOPE_TEAM_MINUTE)
KEY_COUNTERS = "c"  # a day's final record: [[scope as a list, {counter: value}], ...]
KEY_PROCESSED, KEY_WATERMARK, KEY_AGENTS = "n", "w", "agents"  # a shop's final record
# ... and per source topic the largest Kafka position any expired record of the shop had applied: a new
# record of the shop starts from it, so a replay (after a kill -9, a seek) of an expired buyer's events
# is skipped as a replay instead of starting a record that counts them again. Sound because a partition
# applies its positions in order: every position up to it was applied before, to a record since expired
# if the buyer has none.
KEY_EXPIRED_THROUGH = "p"


def final_day_key(shop_id: str, day: str) -> str:
    return f"{FINAL_PREFIX}{shop_id}|{day}"


def final_shop_key(shop_id: str) -> str:
    return f"{FINAL_PREFIX}{shop_id}|"


def expired_through(store: MutableMapping[str, bytes], shop_id: str) -> dict[str, Position]:
    """Per source topic, the largest position an expired record of the shop had applied ({} if none)."""
    raw = store.get(final_shop_key(shop_id))
    if not raw:
        return {}
    return {topic: (pos[0], pos[1]) for topic, pos in orjson.loads(raw).get(KEY_EXPIRED_THROUGH, {}).items()}


def apply_final(tables: PartitionTables, key: str, raw: bytes | None, sign: int) -> None:
    """Add (sign +1) or take out (−1) a final record's contribution to the tables. The watermark and the
    agents only grow, as they do for buyer records."""
    if not raw:
        return
    shop_id, _, day = key[len(FINAL_PREFIX):].partition("|")
    shop = tables.shop(shop_id)
    data = orjson.loads(raw)
    if day:
        shop.add("", [(tuple(scope), name, sign * value) for scope, counters in data[KEY_COUNTERS]
                      for name, value in counters.items()])
        return
    shop.processed += sign * data[KEY_PROCESSED]
    if sign > 0:
        shop.agents |= set(data[KEY_AGENTS])
        shop.watermark = max(shop.watermark, data[KEY_WATERMARK])
        shop.dirty_live = True


def expiry_cutoff(record: BuyerRecord, settings_for: Callable[[int], ShopSettings], latest: int,
                  now_ms: int) -> int:
    """A record whose last event is before this may expire (if nothing of it is open)."""
    versions = {event[SETTINGS_VERSION] for event in record.timeline} | {latest}
    valid_days = max(settings_for(version).inquiry_valid_days for version in versions)
    return now_ms - (valid_days + 1) * DAY_MS


def last_seen(record: BuyerRecord) -> int:
    """Where the record's horizon starts: its newest event's ts, or the partition's event clock when an
    event of it last arrived if that is later (an event dated days before it arrived)."""
    return max(record.timeline[-1][TS], record.arrived)


def expirable_counters(record: BuyerRecord, derivation: Derivation, settings_for: Callable[[int], ShopSettings],
                       settings: ShopSettings, now_ms: int, cutoff: int) -> Counters | None:
    """The buyer's whole counters if its record may expire (nothing of it open, every counter in a
    day or minute scope), else None."""
    if not record.timeline or last_seen(record) >= cutoff:
        return None
    live = derivation.live
    if live.pending_since or live.open_sla or live.queue_wait is not None:
        return None
    oldest_active = now_ms - settings.active_window_s * 1000
    if any(ts >= oldest_active for ts in live.activity.values()):
        return None
    if any(order.paid is None and order.closed is None and order.refund is None
           for order in derivation.fold.orders.values()):
        return None
    counters = derived_counters(derivation, record.timeline, settings_for)
    if all(scope[0] in DAY_SCOPES or scope[0] in MINUTE_SCOPES for scope in counters):
        return counters
    return None


def scan_from(store: MutableMapping[str, bytes], start: str) -> Iterator[tuple[str, bytes]]:
    """The store's items in key order from `start` (a RocksDB store seeks to it)."""
    scan = getattr(store, "items_from", None)
    if scan is not None:
        yield from scan(start)
        return
    for key in sorted(key for key in store if key >= start):
        yield key, store[key]


class Expiry:
    """What one sweep expired: the changes for the changelog (None deletes) and how many buyers."""

    def __init__(self) -> None:
        self.changed: dict[str, bytes | None] = {}
        self.expired = 0
        self.examined = 0


def expire_buyer(tables: PartitionTables, store: MutableMapping[str, bytes], key: str, record: BuyerRecord,
                 derivation: Derivation, counters: Counters, expiry: Expiry) -> None:
    """Freeze the buyer's day counters (of its whole `counters`) into the final records, take its minute
    counters and live entry out of the tables, delete the record."""
    shop_id, _, buyer_id = key.partition("|")
    by_day: dict[str, list[tuple[tuple, dict[str, int]]]] = defaultdict(list)
    minutes: list[Delta] = []
    for scope, values in counters.items():
        if scope[0] in DAY_SCOPES:
            by_day[scope[1]].append((scope, values))
        else:
            minutes += [(scope, name, -value) for name, value in values.items()]
    puts: dict[str, bytes] = {}
    for day, entries in by_day.items():
        day_key = final_day_key(shop_id, day)
        raw = store.get(day_key)
        merged: dict[tuple, dict[str, int]] = {}
        if raw:
            merged = {tuple(scope): values for scope, values in orjson.loads(raw)[KEY_COUNTERS]}
        for scope, values in entries:
            target = merged.setdefault(scope, {})
            for name, value in values.items():
                target[name] = target.get(name, 0) + value
        puts[day_key] = right_sized(orjson.dumps({KEY_COUNTERS: [[list(scope), values]
                                                               for scope, values in merged.items()]}))
    shop_key = final_shop_key(shop_id)
    raw = store.get(shop_key)
    shop_final: dict[str, Any] = orjson.loads(raw) if raw else {KEY_PROCESSED: 0, KEY_WATERMARK: 0,
                                                                   KEY_AGENTS: []}
    shop_final[KEY_PROCESSED] += record.ingest_events
    shop_final[KEY_WATERMARK] = max(shop_final[KEY_WATERMARK], derivation.max_ts)
    shop_final[KEY_AGENTS] = sorted(set(shop_final[KEY_AGENTS]) | derivation.live.agents)
    through = shop_final.setdefault(KEY_EXPIRED_THROUGH, {})
    for topic, position in record.applied_through.items():
        if topic not in through or tuple(through[topic]) < position:
            through[topic] = list(position)
    puts[shop_key] = right_sized(orjson.dumps(shop_final))
    # The final records and the delete in one store write: a kill -9 between them would leave the
    # buyer both frozen and derived (counted twice) or neither. (The changelog gets them in this order.)
    write_many = getattr(store, "write_many", None)
    if write_many is not None:
        write_many(puts, [key])
    else:
        store.update(puts)
        del store[key]
    expiry.changed.update(puts)
    expiry.changed[key] = None
    shop = tables.shop(shop_id)
    if minutes:
        shop.add(buyer_id, minutes)
    shop.live.pop(buyer_id, None)
    expiry.expired += 1


def may_expire(keys: list[tuple[str, bytes]], settings: Any, now_at_least: Callable[[str], int],
               cached: Callable[[str], tuple[BuyerRecord, Derivation] | None]) -> list[tuple[str, bytes]]:
    """The keys among `keys` that sweep() must examine, found without decoding a record whole, deriving
    one or settling the tables: those whose last_seen is before the shop's cutoff under its newest
    settings at `now_at_least(shop)`, a now no earlier than the one sweep() will use. A record's own
    cutoff (expiry_cutoff: the largest inquiry_valid_days of its versions and the newest) is never later
    than that, so every record left out here sweep() would leave alone too. Most records are recent,
    and this is what a sweep costs for them."""
    cutoffs: dict[str, int] = {}
    kept = []
    for key, raw in keys:
        shop_id = key.partition("|")[0]
        cutoff = cutoffs.get(shop_id)
        if cutoff is None:
            newest = settings.get(shop_id, settings.latest_version(shop_id))
            cutoff = cutoffs[shop_id] = now_at_least(shop_id) - (newest.inquiry_valid_days + 1) * DAY_MS
        hit = cached(key)
        if hit is not None:
            record = hit[0]
            if record.timeline and last_seen(record) < cutoff:
                kept.append((key, raw))
            continue
        stored = orjson.loads(raw)  # only the newest row and the arrival: no record built, no sort
        timeline = stored[KEY_TIMELINE]
        if timeline and max(timeline[-1][TS], stored.get(KEY_ARRIVED, 0)) < cutoff:
            kept.append((key, raw))
    return kept


def sweep(tables: PartitionTables, store: MutableMapping[str, bytes], keys: list[tuple[str, bytes]],
          settings: Any, now_ms: Callable[[str], int], cached: Callable[[str], tuple[BuyerRecord, Derivation] | None],
          ) -> Expiry:
    """Expire what may expire among `keys` (buyer keys with their records). `settings`: latest_version
    and get (the processor's SettingsSource); `now_ms(shop)`: the shop's now; `cached(key)`: the
    processor's decoded buyer if it has it."""
    expiry = Expiry()
    for key, raw in keys:
        expiry.examined += 1
        shop_id = key.partition("|")[0]
        hit = cached(key)
        record = hit[0] if hit is not None else BuyerRecord.from_bytes(raw)
        latest = settings.latest_version(shop_id)

        def settings_for(version: int, shop_id: str = shop_id) -> ShopSettings:
            return settings.get(shop_id, version)

        now = now_ms(shop_id)
        cutoff = expiry_cutoff(record, settings_for, latest, now)
        if not record.timeline or last_seen(record) >= cutoff:
            continue  # the usual case: decoded, not derived
        derivation = hit[1] if hit is not None and hit[1] is not None else \
            advance(None, record.timeline, settings_for)[0]
        counters = expirable_counters(record, derivation, settings_for, settings.get(shop_id, latest), now, cutoff)
        if counters is not None:
            expire_buyer(tables, store, key, record, derivation, counters, expiry)
    return expiry
