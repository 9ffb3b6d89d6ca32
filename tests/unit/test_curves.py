"""The cumulative curve of the headline figures (streams/core/curves.py)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.curves import (
    CURVE_COUNTERS,
    HEADLINE_KEYS,
    change,
    counters_of,
    headline,
    latest_at,
    minute_of_day,
    sample,
)
from streams.core.figures import figures
from tests.unit.test_catalogue import COUNTERS


@settings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({name: st.integers(0, 10**6) for name in COUNTERS}))
def test_a_sample_keeps_every_counter_the_headline_figures_read(c: dict[str, int]) -> None:
    full = figures(c, team=True)
    assert headline(counters_of([sample(c)])) == {key: full[key] for key in HEADLINE_KEYS}


def test_the_team_at_a_minute_sums_each_partitions_latest_sample() -> None:
    def s(sales_fen: int, paid: int, inquiry: int) -> list[int]:
        return sample({"sales_fen": sales_fen, "paid": paid, "inquiry": inquiry})

    p0 = {600: s(10_000, 1, 2), 610: s(30_000, 2, 4)}
    p1 = {605: s(5_000, 1, 1)}
    at = {m: headline(counters_of([latest_at(p0, m), latest_at(p1, m)])) for m in (599, 600, 607, 700)}
    assert at[599]["sales"] == 0 and at[599]["inquiry_pay_rate"] is None  # before any sample
    assert at[600]["sales"] == 100.0 and at[600]["inquiry_pay_rate"] == 0.5
    assert at[607]["sales"] == 150.0 and at[607]["inquiry_pay_rate"] == pytest.approx(2 / 3)
    assert at[700]["sales"] == 350.0 and at[700]["inquiry_pay_rate"] == 0.6


def test_minute_of_day_is_the_shops_local_clock() -> None:
    ts = 1_762_790_400_000 + (14 * 60 + 5) * 60_000 + 59_000  # 2025-11-11 14:05:59 in Shanghai
    assert minute_of_day(ts, "Asia/Shanghai") == 14 * 60 + 5
    assert minute_of_day(ts, "UTC") == 6 * 60 + 5


def test_change_against_yesterday() -> None:
    assert change(120.0, 100.0) == pytest.approx(0.2)
    assert change(0.45, 0.5) == pytest.approx(-0.1)
    assert change(10.0, 0) is None and change(None, 5.0) is None and change(5.0, None) is None
    assert len(CURVE_COUNTERS) == len(set(CURVE_COUNTERS))
