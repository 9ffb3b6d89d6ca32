"""Console periods: a day, a week, a month or any range of at most MAX_PERIOD_DAYS days.

Rule (docs/metric-rules.md, "Periods"): a period's figures are computed from the *sum of its days'
counters*, with the same formulas as a day (streams/core/figures.py). So

- every count and amount is the sum of its daily values: a buyer received on two days counts on each
  day, as 生意参谋 does (there is no period-distinct count);
- every ratio is recomputed from the summed numerator and summed denominator of the metric catalogue
  (`Figure.numerator` / `Figure.denominator`), never an average of daily ratios; averages (平均响应时长, …)
  likewise from the summed total and count;
- agent time (在线时长, 忙碌时长, 挂起时长) is summed over the days; 首次上线 is the period's first,
  末次下线 its last;
- today's open SLA clocks that have run out count as on a single day (views.aged_open_sla).

tests/unit/test_periods.py checks the first two against the catalogue, row by row. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from streams.core.agent_tables import Bucket
from streams.core.agent_time import day_figures
from streams.core.figures import figures
from streams.core.shop_settings import ShopSettings
from streams.core.snapshot import MergedLive, merge_buckets
from streams.core.views import abandoned_open_waits, aged_open_sla

MAX_PERIOD_DAYS = 92
PERIOD_KINDS = ("day", "week", "month")
SUMMED_TIME_KEYS = ("online_s", "busy_s", "away_s")


class InvalidPeriod(ValueError):
    def __init__(self, field: str, error: str) -> None:
        super().__init__(f"{field}: {error}")
        self.field = field
        self.error = error


def period_bounds(kind: str, day: str) -> tuple[str, str]:
    """(first, last) day of the day, ISO week (Monday–Sunday) or calendar month containing `day`."""
    if kind not in PERIOD_KINDS:
        raise InvalidPeriod("period", f"must be one of {', '.join(PERIOD_KINDS)}")
    try:
        return _bounds(kind, date.fromisoformat(day))
    except (OverflowError, ValueError):  # the week or month of 9999-12-31 ends beyond the calendar
        raise InvalidPeriod("day", "is out of range") from None


def _bounds(kind: str, anchor: date) -> tuple[str, str]:
    if kind == "day":
        first = last = anchor
    elif kind == "week":
        first = anchor - timedelta(days=anchor.weekday())
        last = first + timedelta(days=6)
    else:  # month
        first = anchor.replace(day=1)
        last = (first.replace(year=first.year + 1, month=1) if first.month == 12
                else first.replace(month=first.month + 1)) - timedelta(days=1)
    return first.isoformat(), last.isoformat()


def period_days(start: str, end: str) -> list[str]:
    """Every day from `start` to `end`, both included; at most MAX_PERIOD_DAYS."""
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    if last < first:
        raise InvalidPeriod("end", "must not be before start")
    count = (last - first).days + 1
    if count > MAX_PERIOD_DAYS:
        raise InvalidPeriod("end", f"a period is at most {MAX_PERIOD_DAYS} days (this one is {count})")
    return [(first + timedelta(days=i)).isoformat() for i in range(count)]


def agent_time_over(history: Sequence[Sequence[Any]] | None, days: Sequence[str], timezone: str,
                    now_ms: int) -> dict[str, Any]:
    """Agent time over the days: seconds summed, the first 首次上线 and the last 末次下线."""
    per_day = [day_figures(history, day, timezone, now_ms) for day in days]
    firsts = [d["first_online_ts"] for d in per_day if d["first_online_ts"] is not None]
    lasts = [d["last_offline_ts"] for d in per_day if d["last_offline_ts"] is not None]
    total: dict[str, Any] = {key: sum(d[key] for d in per_day) for key in SUMMED_TIME_KEYS}
    total["first_online_ts"] = min(firsts) if firsts else None
    total["last_offline_ts"] = max(lasts) if lasts else None
    return total


def period_view(shop_id: str, days: Sequence[str], buckets: Sequence[Bucket], live: MergedLive,
                known_agents: set[str], settings: ShopSettings, now_ms: int, today: str,
                statuses: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """Team, groups and agent rows of a period (the days' buckets summed; see the module doc)."""
    bucket = merge_buckets(list(buckets))
    statuses = statuses or {}
    in_range = today in days
    aged_agents, aged_groups, aged_team = aged_open_sla(live, today, now_ms) if in_range else ({}, {}, 0)
    names = sorted(set(bucket["agents"]) | set(aged_agents) | (known_agents if in_range else set()))
    agents = [
        {"agent_id": agent, "group": settings.group_of(agent),
         **figures(bucket["agents"].get(agent, {}), aged_agents.get(agent, 0)),
         **agent_time_over(statuses.get(agent, {}).get("history"), days, settings.timezone, now_ms)}
        for agent in names
    ]
    groups = set(bucket["groups"]) | set(aged_groups)
    return {
        "shop_id": shop_id,
        "start": days[0],
        "end": days[-1],
        "days": len(days),
        "team": figures(bucket["team"], aged_team, team=True,
                        abandoned_open_waits=abandoned_open_waits(live, today, now_ms) if in_range else 0),
        "groups": {g: figures(bucket["groups"].get(g, {}), aged_groups.get(g, 0)) for g in sorted(groups)},
        "agents": agents,
    }
