"""Console periods (streams/core/periods.py): counts summed over the days, ratios from the summed parts
of the metric catalogue, at most 92 days."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.catalogue import AGENT, BY_KEY, COUNT, TEAM, YUAN, scope_figures
from streams.core.figures import figures
from streams.core.periods import MAX_PERIOD_DAYS, InvalidPeriod, period_bounds, period_days, period_view
from streams.core.shop_settings import parse_settings
from streams.core.snapshot import MergedLive
from tests.unit.test_catalogue import COUNTERS

SETTINGS = parse_settings({})
TODAY = "2026-12-01"


def test_bounds_of_a_day_week_and_month() -> None:
    assert period_bounds("day", "2026-11-11") == ("2026-11-11", "2026-11-11")
    assert period_bounds("week", "2026-11-11") == ("2026-11-09", "2026-11-15")  # Monday–Sunday
    assert period_bounds("month", "2026-02-14") == ("2026-02-01", "2026-02-28")
    assert period_bounds("month", "2026-12-31") == ("2026-12-01", "2026-12-31")
    with pytest.raises(InvalidPeriod, match="must be one of day, week, month"):
        period_bounds("year", "2026-11-11")
    with pytest.raises(InvalidPeriod, match="out of range"):
        period_bounds("week", "9999-12-31")  # its Sunday is beyond the calendar
    with pytest.raises(InvalidPeriod, match="out of range"):
        period_bounds("month", "9999-12-31")


def test_a_period_is_at_most_92_days() -> None:
    assert len(period_days("2026-09-01", "2026-12-01")) == MAX_PERIOD_DAYS  # Sep 1 – Dec 1: 92 days
    with pytest.raises(InvalidPeriod, match="at most 92 days \\(this one is 93\\)"):
        period_days("2026-08-31", "2026-12-01")
    with pytest.raises(InvalidPeriod, match="before start"):
        period_days("2026-12-02", "2026-12-01")


def _bucket(team: dict[str, int]) -> dict:
    return {"agents": {"a1": team}, "groups": {"presale": team}, "team": team}


def test_a_buyer_on_two_days_counts_on_each_and_rates_come_from_the_summed_parts() -> None:
    # Day 1: 1 inquiry, paid (100 %). Day 2: the same buyer and 3 more, 1 paid (25 %).
    day1 = _bucket({"received": 1, "inquiry": 1, "paid": 1, "sales_fen": 10_000, "sales_buyers": 1})
    day2 = _bucket({"received": 4, "inquiry": 4, "paid": 1, "sales_fen": 30_000, "sales_buyers": 1})
    view = period_view("s", ["2026-11-10", "2026-11-11"], [day1, day2], MergedLive(), set(), SETTINGS,
                       0, TODAY)
    team = view["team"]
    assert team["received_buyers"] == 5 and team["inquiry_buyers"] == 5 and team["paid_buyers"] == 2
    assert team["inquiry_pay_rate"] == 2 / 5  # not the mean of the days' rates (62.5 %)
    assert team["avg_buyer_value"] == 200.0
    assert view["agents"][0]["agent_id"] == "a1" and view["agents"][0]["sales"] == 400.0
    assert (view["start"], view["end"], view["days"]) == ("2026-11-10", "2026-11-11", 2)


day_counters = st.fixed_dictionaries({name: st.integers(0, 40) for name in COUNTERS})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(day_counters, day_counters), min_size=1, max_size=5))
def test_every_catalogue_row_follows_the_period_rule(days: list) -> None:
    buckets = [{"agents": {"a1": a1, "a2": a2}, "groups": {}, "team": {k: a1[k] + a2[k] for k in a1}}
               for a1, a2 in days]
    names = [f"2026-11-{i + 1:02d}" for i in range(len(days))]
    view = period_view("s", names, buckets, MergedLive(), set(), SETTINGS, 0, TODAY)
    daily_team = [figures(b["team"], team=True) for b in buckets]
    daily_a1 = [figures(b["agents"]["a1"]) for b in buckets]
    for scope, period, daily in ((TEAM, view["team"], daily_team), (AGENT, view["agents"][0], daily_a1)):
        for f in scope_figures(scope):
            if f.key not in daily[0]:
                continue  # agent time: from the status history, not the counters
            if f.is_ratio:  # from the catalogue's numerator and denominator, summed over the days
                numerator = sum(d[f.numerator] for d in daily)
                denominator = sum(d[f.denominator] for d in daily)
                expected = numerator / denominator if denominator else None
                assert period[f.key] == pytest.approx(expected, rel=1e-12), f.key
            elif f.unit in (COUNT, YUAN):
                assert period[f.key] == pytest.approx(sum(d[f.key] for d in daily), rel=1e-12), f.key
    assert BY_KEY["inquiry_pay_rate"].numerator == "paid_buyers"  # the catalogue drives the check above


def test_agent_time_is_summed_and_first_last_are_the_periods() -> None:
    hour = 3_600_000
    day1 = 1_762_790_400_000  # 2025-11-11 00:00 Shanghai
    history = [[day1 + 9 * hour, "online"], [day1 + 17 * hour, "offline"],
               [day1 + 24 * hour + 10 * hour, "online"], [day1 + 24 * hour + 12 * hour, "offline"]]
    view = period_view("s", ["2025-11-11", "2025-11-12"], [_bucket({}), _bucket({})], MergedLive(), set(),
                       SETTINGS, day1 + 3 * 24 * hour, "2025-11-14", {"a1": {"history": history}})
    row = view["agents"][0]
    assert row["online_s"] == 10 * 3600
    assert row["first_online_ts"] == day1 + 9 * hour
    assert row["last_offline_ts"] == day1 + 36 * hour
