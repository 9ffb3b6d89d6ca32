"""Agent tables of one partition: the sums of its buyers' facts, per shop, day and minute.

Never stored as counters of their own: a buyer's new facts replace its old facts (delta), so the
tables can always be rebuilt from the buyer records (after recovery or a rebalance) and a replayed
event changes nothing. Layout per shop is what the snapshot exporter writes to Redis:
  days[day] = {"agents": {agent: counters}, "groups": {group: counters}, "team": counters}
  minutes[minute] = {"agents": {agent: counters}, "team": counters}
  now = {"agents": {agent: counters}, "team": counters}  (the buyers' state now, e.g. 待付尾款; exported
  with the live facts)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streams.core.facts import BuyerLive, Delta, OpenSla
from streams.core.queue import OpenQueueWait
from streams.core.scopes import (
    SCOPE_AGENT_DAY,
    SCOPE_AGENT_NOW,
    SCOPE_GROUP_DAY,
    SCOPE_TEAM_DAY,
    SCOPE_TEAM_MINUTE,
    SCOPE_TEAM_NOW,
    SCOPE_UNPAID_ORDER,
)

Bucket = dict[str, Any]
DAY_SCOPES = (SCOPE_AGENT_DAY, SCOPE_GROUP_DAY, SCOPE_TEAM_DAY)
NOW_SCOPES = (SCOPE_AGENT_NOW, SCOPE_TEAM_NOW)  # the others are minute scopes
TEAM_SCOPES = (SCOPE_TEAM_DAY, SCOPE_TEAM_MINUTE, SCOPE_TEAM_NOW)
# A buyer's live facts as the tables keep them: (activity, pending clocks, open SLA clocks, open queue
# wait) as tuples, a third of BuyerLive's memory. It matters: a buyer whose last message was never
# answered stays waiting, hence live, for good (metrics.md has no end of a conversation).
LiveEntry = tuple[tuple[tuple[str, int], ...], tuple[tuple[str, int], ...], tuple[OpenSla, ...],
                  OpenQueueWait | None]


def live_entry(live: BuyerLive) -> LiveEntry | None:
    """None when nothing of the buyer is live."""
    if live.is_idle:
        return None
    return tuple(live.activity.items()), tuple(live.pending_since.items()), tuple(live.open_sla), live.queue_wait


def _row_of(scope: tuple) -> tuple[str, str]:
    """A day scope's row in its bucket: ("agents", agent), ("groups", group) or ("team", "")."""
    kind = scope[0]
    return ("team", "") if kind == SCOPE_TEAM_DAY else ("groups", scope[2]) if kind == SCOPE_GROUP_DAY \
        else ("agents", scope[2])


def _empty_bucket() -> Bucket:
    return {"agents": {}, "groups": {}, "team": {}}


@dataclass(slots=True)
class ShopTables:
    days: dict[str, Bucket] = field(default_factory=dict)
    minutes: dict[int, Bucket] = field(default_factory=dict)
    live: dict[str, LiveEntry] = field(default_factory=dict)  # buyer → live facts
    now: Bucket = field(default_factory=lambda: {"agents": {}, "team": {}})  # counters of the "now" scopes
    # The open unpaid orders (待催付): (buyer, order id, order agent or "", created ts, amount fen, chased 0/1)
    unpaid_orders: set[tuple[Any, ...]] = field(default_factory=set)
    agents: set[str] = field(default_factory=set)
    watermark: int = 0  # largest event ts in this partition for the shop
    processed: int = 0  # ingest events reflected here (for /lag)
    # What the last export that included the live facts could vouch for: /lag and "now" must not run
    # ahead of the live facts in Redis (the exporter sends those less often than the counters).
    exported_processed: int = 0
    exported_watermark: int = 0
    dirty_days: set[str] = field(default_factory=set)
    # Per dirty day, the rows of its bucket that changed: (table, name) with table "agents" or "groups",
    # or ("team", "") — the export sends only these (a 1,200-agent day bucket is ~400 KB; one buyer's
    # events change a few rows). A day in dirty_days without an entry here is exported whole.
    dirty_rows: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    dirty_minutes: set[int] = field(default_factory=set)
    dirty_live: bool = False
    # scope → (its counters dict inside days/minutes/now, its day and row if a day scope, its minute if a
    # minute scope): apply() resolves each scope once, not per delta. The dicts stay where they are (a
    # counter back at zero is popped, its dict kept) until prune_minutes drops their minute, which drops
    # them here too.
    _scope_counters: dict[tuple, tuple[dict[str, int], str | None, tuple[str, str] | None, int | None]] = \
        field(default_factory=dict, repr=False)
    _minute_scopes: dict[int, list[tuple]] = field(default_factory=dict, repr=False)  # minute → its cached scopes

    @property
    def dirty(self) -> bool:
        return bool(self.dirty_days or self.dirty_minutes or self.dirty_live)

    def mark_all_dirty(self) -> None:
        self.dirty_days = set(self.days)
        self.dirty_rows = {}  # whole buckets
        self.dirty_minutes = set(self.minutes)
        self.dirty_live = True

    def take_dirty_days(self) -> tuple[dict[str, Bucket], set[str]]:
        """The changed part of each dirty day bucket (its changed rows; whole after mark_all_dirty), the
        days that go whole (a reader replaces what it has of them), and every day clean again."""
        out: dict[str, Bucket] = {}
        whole: set[str] = set()
        rows_of = self.dirty_rows
        for day in self.dirty_days:
            bucket = self.days[day]
            rows = rows_of.get(day)
            if rows is None:
                out[day] = bucket
                whole.add(day)
                continue
            part: Bucket = {"agents": {}, "groups": {}}
            for table, name in rows:
                if table == "team":
                    part["team"] = bucket["team"]
                else:
                    part[table][name] = bucket[table][name]
            out[day] = part
        self.dirty_days, self.dirty_rows = set(), {}
        return out, whole

    def _counters_of(self, scope: tuple) -> dict[str, int]:
        kind = scope[0]
        if kind in NOW_SCOPES:  # exported with the live facts, which every apply marks dirty
            bucket = self.now
            if kind == SCOPE_TEAM_NOW:
                return bucket["team"]
            counters = bucket["agents"].get(scope[1])
            if counters is None:
                counters = bucket["agents"][scope[1]] = {}
            return counters
        if kind in DAY_SCOPES:
            bucket = self.days.get(scope[1])
            if bucket is None:
                bucket = self.days[scope[1]] = _empty_bucket()
            self._mark_row(scope)
        else:
            bucket = self.minutes.get(scope[1])
            if bucket is None:
                bucket = self.minutes[scope[1]] = _empty_bucket()
            self.dirty_minutes.add(scope[1])
        if kind in TEAM_SCOPES:
            return bucket["team"]
        table = bucket["groups"] if kind == SCOPE_GROUP_DAY else bucket["agents"]
        counters = table.get(scope[2])
        if counters is None:
            counters = table[scope[2]] = {}
        return counters

    def _mark_row(self, scope: tuple) -> None:
        """A day scope's row changed: its day is dirty, and the row (unless the day goes whole)."""
        day = scope[1]
        if day in self.dirty_days and day not in self.dirty_rows:
            return  # the whole bucket goes (mark_all_dirty)
        self.dirty_days.add(day)
        rows = self.dirty_rows.get(day)
        if rows is None:
            rows = self.dirty_rows[day] = set()
        rows.add(_row_of(scope))

    def apply(self, buyer: str, deltas: list[Delta], live: BuyerLive, max_ts: int) -> None:
        """Add a buyer's counter changes (facts.advance: new facts minus old) and take its live facts.

        The same sums as taking the buyer's old facts out in full and putting the new ones in; a counter
        that comes back to zero is dropped, as if it had never been added."""
        self.apply_entry(buyer, deltas, live_entry(live), live.agents, max_ts)

    def apply_entry(self, buyer: str, deltas: list[Delta], entry: LiveEntry | None, agents: set[str],
                    max_ts: int) -> None:
        """apply() with the live facts already as the tables keep them (facts.Derivation.live_entry)."""
        self.add(buyer, deltas)
        if entry is None:
            self.live.pop(buyer, None)
        else:
            self.live[buyer] = entry
        self.agents |= agents
        if max_ts > self.watermark:
            self.watermark = max_ts
        self.dirty_live = True

    def add(self, buyer: str, deltas: list[Delta]) -> None:
        """Only the counter changes of apply() (also the final records of streams/core/retention.py)."""
        counters_of = self._counters_of
        cached = self._scope_counters
        dirty_minutes, dirty_rows, mark_row = self.dirty_minutes, self.dirty_rows, self._mark_row
        # Deltas of one scope mostly come one after the other, with the same scope object (facts builds a
        # scope once for its names): the scope is then resolved, and its row or minute marked, once.
        last_scope: tuple | None = None
        counters: dict[str, int] = {}
        for scope, name, change in deltas:
            if scope is last_scope:
                value = counters.get(name, 0) + change
                if value:
                    counters[name] = value
                else:
                    counters.pop(name, None)
                continue
            kind = scope[0]
            if kind == SCOPE_UNPAID_ORDER:  # an entry, not a sum: a buyer's order is in the list or not
                if change > 0:
                    self.unpaid_orders.add((buyer, *scope[1:]))
                else:
                    self.unpaid_orders.discard((buyer, *scope[1:]))
                continue
            last_scope = scope
            cached_scope = cached.get(scope)
            if cached_scope is None:
                counters = counters_of(scope)  # marks its day row or minute dirty
                if kind in DAY_SCOPES:
                    cached[scope] = (counters, scope[1], _row_of(scope), None)
                elif kind in NOW_SCOPES:
                    cached[scope] = (counters, None, None, None)
                else:
                    cached[scope] = (counters, None, None, scope[1])
                    self._minute_scopes.setdefault(scope[1], []).append(scope)
            else:
                counters, day, row, minute = cached_scope
                if day is not None:
                    rows = dirty_rows.get(day)
                    if rows is not None:
                        rows.add(row)
                    else:
                        mark_row(scope)
                elif minute is not None:
                    dirty_minutes.add(minute)
            value = counters.get(name, 0) + change
            if value:
                counters[name] = value
            else:
                counters.pop(name, None)

    def prune_minutes(self, oldest_kept: int) -> list[int]:
        """Forget minute buckets older than `oldest_kept` (the series keeps the last 24 h)."""
        dropped = [minute for minute in self.minutes if minute < oldest_kept]
        for minute in dropped:
            del self.minutes[minute]
            self.dirty_minutes.discard(minute)
        for minute in dropped:
            for scope in self._minute_scopes.pop(minute, ()):
                del self._scope_counters[scope]
        return dropped


class PartitionTables:
    """All shops' tables of one Kafka partition."""

    def __init__(self) -> None:
        self.shops: dict[str, ShopTables] = {}

    def shop(self, shop_id: str) -> ShopTables:
        tables = self.shops.get(shop_id)
        if tables is None:
            tables = self.shops[shop_id] = ShopTables()
        return tables
