"""How long the read side keeps history, and the curve's writes (docs/operations.md, "History").

Every key below is bounded by a TTL renewed on each write:
- day buckets `kefu:{shop}:p{p}:days:{day}` (hashes of rows): DAY_KEEP_S, 401 days after the day's last write (next
  Double 11 compares with this one);
- the minute curve `…:curve:{day}`: CURVE_KEEP_S, 3 days after its last write, which is at the latest
  in the day's last minute: so ≥ 48 hours after the day ended ("same time yesterday" all day);
- the quarter-hour curve `…:curveq:{day}`: QUARTER_CURVE_KEEP_S, 9 days (the same weekday last week,
  the pace's first reference, is there all day).

A curve is a sorted set per (shop, partition, day): score = minute of the shop's local day, member =
JSON [minute, *sample] (streams/core/curves.py). The minute set holds one sample per minute (the
minute's last export), the quarter set one per quarter hour (its last).
"""

from __future__ import annotations

from typing import Any

import orjson

from streams.core.curves import QUARTER_MINUTES
from streams.readside.keys import curve_key, quarter_curve_key

DAY_S = 86_400
DAY_KEEP_S = 401 * DAY_S
CURVE_KEEP_S = 3 * DAY_S
QUARTER_CURVE_KEEP_S = 9 * DAY_S


def add_curve_sample(pipe: Any, shop: str, partition: int, day: str, minute: int, values: list[int],
                     renew_ttl: bool = True) -> None:
    """Queue a sample's writes on the export's transaction: replace the minute's (and the quarter's)
    sample; with `renew_ttl` (the exporter's first sample of a minute) also renew the TTLs, which a
    day-long curve needs only once a minute (2 commands saved per export)."""
    member = orjson.dumps([minute, *values])
    quarter_start = minute - minute % QUARTER_MINUTES
    for key, low, keep in ((curve_key(shop, partition, day), minute, CURVE_KEEP_S),
                           (quarter_curve_key(shop, partition, day), quarter_start, QUARTER_CURVE_KEEP_S)):
        pipe.zremrangebyscore(key, low, minute)
        pipe.zadd(key, {member: minute})
        if renew_ttl:
            pipe.expire(key, keep)
