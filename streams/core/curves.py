"""The day's cumulative curve of the headline figures: "same time yesterday" and the pace's reference.

A worker samples, with each export of a (shop, partition) whose current day changed, that partition's
team counters of the day so far, reduced to CURVE_COUNTERS (the counters the HEADLINE_KEYS read), under
the minute of the shop's local day (0–1439) at which it exports. Over a day the samples of a partition
form a step curve: its value at minute m is its latest sample at or before m (nothing before its first
sample: its day bucket was still empty). The team's value at m is the sum over the partitions (a buyer
lives in one partition, so counters add up exactly) and its figures come from the same
`figures.figures` as today's, so yesterday's 客服销售额 at 14:05 is what the wall showed at 14:05.

Invariants:
- a sample is the partition's day bucket *as exported*: late events after the minute do not rewrite it
  (the curve is what was known then, the day figures are what is known now);
- a sample records only the counters; the open SLA clocks that ran out at read time (views.aged_open_sla)
  are not in it, so a past `sla_rate` on the curve counts only the buyers decided by then.
Pure: the Redis side is streams/readside/history.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from streams.core.figures import figures

# The figures compared with the same minute yesterday and shown on the wall's headline tiles.
HEADLINE_KEYS = ("sales", "shop_sales", "received_buyers", "inquiry_pay_rate", "sla_rate", "avg_response_s")
# The raw team counters HEADLINE_KEYS are computed from (figures.figures); a sample is these, in this
# order (tests/unit/test_curves.py checks the headline figures of the reduced counters equal the full).
CURVE_COUNTERS = ("sales_fen", "silent_fen", "received", "inquiry", "paid", "sla_buyers", "sla_met",
                  "response_ms", "responses")
QUARTER_MINUTES = 15


def minute_of_day(ts_ms: int, timezone: str) -> int:
    """The minute (0–1439) of the shop's local day at `ts_ms`."""
    local = datetime.fromtimestamp(ts_ms / 1000, ZoneInfo(timezone))
    return local.hour * 60 + local.minute


def sample(team_counters: Mapping[str, int]) -> list[int]:
    """A partition's team counters of the day, reduced to CURVE_COUNTERS (in that order)."""
    return [int(team_counters.get(name, 0)) for name in CURVE_COUNTERS]


def counters_of(samples: Iterable[Sequence[int] | None]) -> dict[str, int]:
    """The team's counters: the samples of the partitions (None: no sample yet) summed."""
    total = dict.fromkeys(CURVE_COUNTERS, 0)
    for values in samples:
        if values is not None:
            for name, value in zip(CURVE_COUNTERS, values, strict=True):
                total[name] += value
    return total


def latest_at(curve: Mapping[int, Sequence[int]], minute: int) -> Sequence[int] | None:
    """A partition's sample at `minute`: its latest sample at or before it, None before the first."""
    earlier = [m for m in curve if m <= minute]
    return curve[max(earlier)] if earlier else None


def headline(counters: Mapping[str, int]) -> dict[str, Any]:
    """The HEADLINE_KEYS figures of team counters (the same formulas as /summary)."""
    computed = figures(counters, team=True)
    return {key: computed[key] for key in HEADLINE_KEYS}


def change(today: float | None, before: float | None) -> float | None:
    """The relative change (today − before) ÷ before, None when there is nothing to compare with."""
    if today is None or before is None or before == 0:
        return None
    return (today - before) / abs(before)
