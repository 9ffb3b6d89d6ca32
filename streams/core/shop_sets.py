"""A set of shops on one screen (the multi-shop 作战大屏): one row per shop and the totals across them.

The inputs are the per-shop snapshots the hub already builds for each shop's own wall (ReadModel.snapshot:
`team` = today's team figures, `live.team` = the load at now) and the count of alerts firing per shop;
nothing here reads Redis or recomputes a figure from events.

Invariants (tests/unit/test_shop_sets.py):
- a row's figures are the shop's own team figures, unchanged (the same numbers as its wall);
- totals sum the counts and money of the rows (money rounded to the cent, as the API's figures are);
- a ratio's total is the sum of its catalogue numerator ÷ the sum of its catalogue denominator (None when
  that sum is 0), never an average of the shops' ratios; the numerator and denominator come from the
  metric catalogue (streams/core/catalogue.py), so the rows always carry what the totals need;
- the longest waits are the maximum over the shops;
- rows come in the order of the set as asked; each shop's day is its own "today" (shops may be in
  different timezones), so totals add each shop's day so far.

Pure: imports nothing beyond the standard library and the core.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from streams.core.catalogue import BY_KEY, YUAN
from streams.core.figures import ratio

MAX_SHOPS = 100  # a 作战大屏 shows up to 100 shops (生意参谋 主店版's limit)

# Today's team figures on the board (summary `team`): summed across shops, or ratios recomputed.
DAY_SUMS = ("sales", "shop_sales", "received_buyers")
DAY_RATIOS = ("inquiry_pay_rate", "sla_rate")
# The load at now (the live `team` line).
LIVE_SUMS = ("active_conversations", "waiting_buyers", "queued_now")
LIVE_MAXIMA = ("longest_wait_s", "longest_queue_wait_s")
ALERTS_FIRING = "alerts_firing"


def ratio_parts(key: str) -> tuple[str, str]:
    """The catalogue's numerator and denominator of a ratio figure."""
    figure = BY_KEY[key]
    if figure.numerator is None or figure.denominator is None:
        raise ValueError(f"{key} is not a ratio in the catalogue")
    return figure.numerator, figure.denominator


def _day_keys() -> tuple[str, ...]:
    keys = list(DAY_SUMS)
    for key in DAY_RATIOS:
        for part in ratio_parts(key):
            if part not in keys:
                keys.append(part)
    return tuple(keys)


SUMMED_DAY_KEYS = _day_keys()  # every day figure a row carries and the totals sum
ROW_KEYS = (*SUMMED_DAY_KEYS, *DAY_RATIOS, *LIVE_SUMS, *LIVE_MAXIMA, ALERTS_FIRING)


class InvalidShopSet(ValueError):
    """The set of shops asked for is not a set we serve (empty, too many, a bad id)."""


def parse_shop_set(raw: str | Iterable[str], shop_id_re: Any, limit: int = MAX_SHOPS) -> tuple[str, ...]:
    """`a,b,c` (or a list) → the shops in the order given, duplicates dropped; InvalidShopSet otherwise."""
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    shops = tuple(dict.fromkeys(s.strip() for s in items if s.strip()))
    if not shops:
        raise InvalidShopSet("name at least one shop: ?shops=a,b,c")
    if len(shops) > limit:
        raise InvalidShopSet(f"at most {limit} shops in a set ({len(shops)} asked)")
    for shop in shops:
        if not shop_id_re.fullmatch(shop):
            raise InvalidShopSet(f"not a shop id: {shop[:70]!r}")
    return shops


def _value(figures: Mapping[str, Any], key: str) -> Any:
    value = figures.get(key)
    return 0 if value is None and not BY_KEY[key].can_be_null else value


def shop_row(snapshot: Mapping[str, Any], alerts_firing: int) -> dict[str, Any]:
    """One shop's line on the board, from its snapshot (summary + live) as its own wall gets it."""
    team = snapshot.get("team") or {}
    live_team = (snapshot.get("live") or {}).get("team") or {}
    row: dict[str, Any] = {"shop_id": snapshot["shop_id"], "day": snapshot.get("day")}
    for key in (*SUMMED_DAY_KEYS, *DAY_RATIOS):
        row[key] = _value(team, key)
    for key in (*LIVE_SUMS, *LIVE_MAXIMA):
        row[key] = _value(live_team, key)
    row[ALERTS_FIRING] = alerts_firing
    return row


def set_totals(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The totals across the rows: sums, ratios of the summed parts, maxima of the waits."""
    totals: dict[str, Any] = {"shops": len(rows)}
    for key in (*SUMMED_DAY_KEYS, *LIVE_SUMS, ALERTS_FIRING):
        total = sum(row[key] or 0 for row in rows)
        if key != ALERTS_FIRING and BY_KEY[key].unit is YUAN:
            total = round(total, 2)  # float sums of cents drift in the last bits
        totals[key] = total
    for key in DAY_RATIOS:
        numerator, denominator = ratio_parts(key)
        totals[key] = ratio(totals[numerator], totals[denominator])
    for key in LIVE_MAXIMA:
        totals[key] = max((row[key] or 0 for row in rows), default=0)
    return totals


def shop_set_payload(shops: Sequence[str], snapshots: Mapping[str, Mapping[str, Any]],
                     alerts_firing: Mapping[str, int], now_ms: int) -> dict[str, Any]:
    """What the set's REST answer and stream frames carry: the set, its totals and a row per shop."""
    rows = [shop_row(snapshots[shop], alerts_firing.get(shop, 0)) for shop in shops]
    return {"shops": list(shops), "now": now_ms, "totals": set_totals(rows), "rows": rows}


def firing_count(alert_state: Mapping[str, Any]) -> int:
    """Alerts firing now in a shop's alert state (`{"firing": {rule: {subject: entry}}}`)."""
    return sum(len(subjects) for subjects in (alert_state.get("firing") or {}).values())
