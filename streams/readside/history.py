"""Reads that need history, and their payloads: /progress (same time yesterday, targets and pace) and
/period (a day, week, month or range, with KPI scores). What is kept and how long: expiry.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from streams.core.clock import today
from streams.core.curves import CURVE_COUNTERS, HEADLINE_KEYS, change, counters_of, headline
from streams.core.curves import minute_of_day as local_minute
from streams.core.kpi_score import DEFAULT_WEIGHTS, formula, scores
from streams.core.pace import TARGET_KEYS, Reference, pace
from streams.core.periods import period_days, period_view
from streams.core.shop_settings import day_offset
from streams.core.views import summary_view
from streams.readside.keys import curve_key, quarter_curve_key
from streams.readside.snapshots import read_days, read_live, read_meta, read_statuses

if TYPE_CHECKING:
    from streams.readside.reader import ReadModel

async def read_curves_at(redis: Any, shop: str, partitions: int, minute: int,
                         curves: Sequence[tuple[str, bool]]) -> list[dict[str, int] | None]:
    """For each (day, quarter) of `curves`, the team's curve counters of that day at `minute` (each
    partition's latest sample at or before it, summed; the quarter-hour curve when `quarter`); None for a
    day no partition has a curve of (not kept, or nothing happened). One pipelined round trip for all:
    every key carries the shop's hash tag (one Redis Cluster slot) and each command names one key."""
    pipe = redis.pipeline(transaction=False)
    for day, quarter in curves:
        key_of = quarter_curve_key if quarter else curve_key
        for p in range(partitions):
            pipe.exists(key_of(shop, p, day))
            pipe.zrevrangebyscore(key_of(shop, p, day), minute, "-inf", start=0, num=1)
    results = await pipe.execute()
    per_curve = 2 * partitions
    return [_curve_counters(results[i * per_curve:(i + 1) * per_curve]) for i in range(len(curves))]


def _curve_counters(results: list[Any]) -> dict[str, int] | None:
    """One day's [exists, latest sample] replies per partition, summed; None when no partition has the curve."""
    if not any(results[0::2]):
        return None
    samples = [orjson.loads(found[0])[1:] if found else None for found in results[1::2]]
    # A sample written by an older version with fewer counters: pad (counters only ever get added).
    return counters_of([s + [0] * (len(CURVE_COUNTERS) - len(s)) if s is not None else None for s in samples])


async def progress(model: ReadModel, shop: str) -> dict[str, Any]:
    """Today's headline figures against the same minute yesterday, and against the targets with pace."""
    settings, _, now = await model.context(shop)
    partitions = model.config.partitions
    redis = model.redis
    day = today(now, settings)
    minute = local_minute(now, settings.timezone)
    yesterday, last_week = day_offset(day, -1), day_offset(day, -7)
    bucket, yesterday_bucket, last_week_bucket = await read_days(redis, shop, partitions, [day, yesterday, last_week])
    live = await read_live(redis, shop, partitions)
    now_figures = summary_view(shop, day, bucket, live, now)["team"]
    # Yesterday's minute curve and last week's quarter-hour curve (the only one kept that long).
    yesterday_at, last_week_at = await read_curves_at(redis, shop, partitions, minute,
                                                      [(yesterday, False), (last_week, True)])
    before = headline(yesterday_at) if yesterday_at is not None else None
    finals = {"yesterday": headline(yesterday_bucket["team"]), "last_week": headline(last_week_bucket["team"])}
    at_minute = {"yesterday": before,
                 "last_week": headline(last_week_at) if last_week_at is not None else None}
    figures = {}
    for key in HEADLINE_KEYS:
        then = before[key] if before is not None else None
        figures[key] = {"value": now_figures[key], "yesterday": then, "change": change(now_figures[key], then)}
    paces = {}
    for key in TARGET_KEYS:
        target = settings.targets.get(key)
        if target is None:
            continue
        references = [Reference(basis, at_minute[basis][key] if at_minute[basis] else None, finals[basis][key])
                      for basis in ("last_week", "yesterday")]
        paces[key] = {"value": now_figures[key],
                      **pace(key, target, now_figures[key], minute, references, settings.service_hours)}
    return {"shop_id": shop, "day": day, "now": now, "minute_of_day": minute, "yesterday": yesterday,
            "figures": figures, "pace": paces}


async def period(model: ReadModel, shop: str, start: str, end: str) -> dict[str, Any]:
    """A period's team, groups and agents (streams/core/periods.py), each agent with its KPI score."""
    days = period_days(start, end)
    settings, _, now = await model.context(shop)
    partitions = model.config.partitions
    buckets = await read_days(model.redis, shop, partitions, days)
    live = await read_live(model.redis, shop, partitions)
    meta = await read_meta(model.redis, shop, partitions)
    statuses = await read_statuses(model.redis, shop)
    view = period_view(shop, days, buckets, live, meta["agents"], settings, now, today(now, settings), statuses)
    weights = settings.kpi_weights or DEFAULT_WEIGHTS
    by_agent = scores(view["agents"], weights, settings.targets, len(days))
    for row in view["agents"]:
        row["score"] = by_agent[row["agent_id"]]
    view["kpi"] = {"weights": weights, "formula_zh": formula(weights, "zh"), "formula_en": formula(weights, "en")}
    return view
