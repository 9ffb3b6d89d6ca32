"""What the hub keeps of a shop between two of its frames, so a frame's build costs what changed.

- `DayRows`: the day bucket's rows as last read (per partition, field → raw JSON text as Redis
  returned it, and decoded), and the merged bucket. A new read decodes only the rows whose bytes
  differ (an unchanged row string means unchanged counters) and re-merges only the agents whose rows
  changed; groups and the team (a handful of rows) are merged again whole.
- `FrameCache`: a DayRows and the rows' memo (streams/core/frame_memo.py) of one shop.

Invariants (tests/unit/test_frame_memo.py):
- `DayRows.merge(day, partitions)` equals `merge_buckets([bucket_from_fields(f) for f in partitions if f])`
  (streams/readside/snapshots.py read_days) for every sequence of reads: rows added, changed, removed,
  a partition emptied, another day;
- a merged agent's counters dict is never changed after it is returned: a changed agent gets a new
  dict, so a caller may keep the old one (the memo compares counters by identity first).
"""

from __future__ import annotations

from typing import Any

import orjson

from streams.core.agent_tables import Bucket
from streams.core.figures import add_counters
from streams.core.frame_memo import FrameMemo
from streams.readside.keys import day_key
from streams.readside.snapshots import TEAM_FIELD


def _name(field: Any) -> str:
    return field.decode() if isinstance(field, bytes) else field


class DayRows:
    __slots__ = ("day", "_raw", "_rows", "_agents", "decoded")

    def __init__(self) -> None:
        self.day: str | None = None
        self._raw: list[dict[Any, bytes]] = []  # per partition: field → raw row, as last read
        self._rows: list[dict[str, Any]] = []  # per partition: field name → decoded row
        self._agents: dict[str, dict[str, int]] = {}  # agent → counters merged over the partitions
        self.decoded = 0  # rows decoded so far (tests, bench)

    def merge(self, day: str, partitions: list[dict[Any, bytes]]) -> Bucket:
        """The merged bucket of `day` from each partition's HGETALL of its day hash (in partition order)."""
        if day != self.day or len(partitions) != len(self._raw):
            self.day = day
            self._raw = [{} for _ in partitions]
            self._rows = [{} for _ in partitions]
            self._agents = {}
        changed_agents: set[str] = set()
        for p, fields in enumerate(partitions):
            raw, rows = self._raw[p], self._rows[p]
            for field, value in fields.items():
                if raw.get(field) != value:
                    name = _name(field)
                    rows[name] = orjson.loads(value)
                    self.decoded += 1
                    if name != TEAM_FIELD and name.startswith("a:"):
                        changed_agents.add(name)
            for field in raw.keys() - fields.keys():  # rows the hash no longer has
                name = _name(field)
                del rows[name]
                if name.startswith("a:"):
                    changed_agents.add(name)
            self._raw[p] = fields
        for name in changed_agents:
            merged: dict[str, int] = {}
            found = False
            for rows in self._rows:
                row = rows.get(name)
                if row is not None:
                    add_counters(merged, row)
                    found = True
            if found:
                self._agents[name[2:]] = merged  # a new dict: the old one may be held by the memo
            else:
                self._agents.pop(name[2:], None)
        groups: dict[str, dict[str, int]] = {}
        team: dict[str, int] = {}
        for rows in self._rows:
            for name, row in rows.items():
                if name == TEAM_FIELD:
                    add_counters(team, row)
                elif name.startswith("g:"):
                    add_counters(groups.setdefault(name[2:], {}), row)
        return {"agents": dict(self._agents), "groups": groups, "team": team}


class FrameCache:
    """One shop's DayRows and row memo, kept by the hub while the shop has screens."""

    __slots__ = ("days", "rows")

    def __init__(self) -> None:
        self.days = DayRows()
        self.rows = FrameMemo()


# The day hash as one JSON array [field, value, field, value, ...], encoded by Redis: one bulk string
# per partition instead of 2 × rows of them, which redis-py's pure-Python parser read at ~4 µs each
# (~10–20 ms per frame for 1,200 agents; docs/performance-journal.md "Frame builds from what changed").
# An empty hash encodes as {} (cjson cannot tell an empty array from an empty object). One key:
# cluster-safe.
DAY_ROWS_SCRIPT = "return cjson.encode(redis.call('HGETALL', KEYS[1]))"


def fields_of(encoded: bytes | str) -> dict[str, str]:
    """DAY_ROWS_SCRIPT's answer as field → row JSON text."""
    flat = orjson.loads(encoded)
    return dict(zip(flat[::2], flat[1::2], strict=True)) if flat else {}


async def read_day_cached(redis: Any, shop: str, partitions: int, day: str, days: DayRows) -> Bucket:
    """read_day (streams/readside/snapshots.py) through `days`: the same round trip, the same bucket."""
    pipe = redis.pipeline(transaction=False)
    for p in range(partitions):
        pipe.eval(DAY_ROWS_SCRIPT, 1, day_key(shop, p, day))
    return days.merge(day, [fields_of(encoded) for encoded in await pipe.execute()])
