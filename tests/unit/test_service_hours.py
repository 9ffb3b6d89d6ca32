"""Service hours (streams/core/service_hours.py, the `service_hours` setting): where a response clock starts."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from streams.core.errors import Invalid
from streams.core.service_hours import clock_start, is_after_hours
from streams.core.shop_settings import parse_settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
JD = parse_settings({"service_hours": {"start": "09:00", "end": "23:00"}})


def at(day: int, h: int, m: int = 0, s: int = 0, zone: ZoneInfo = SHANGHAI, month: int = 11) -> int:
    return int(datetime(2026, month, day, h, m, s, tzinfo=zone).timestamp() * 1000)


@pytest.mark.parametrize(("ts", "start"), [
    (at(11, 2), at(11, 9)),  # the night: the same day's opening
    (at(11, 8, 59, 59), at(11, 9)),
    (at(11, 9), at(11, 9)),  # the opening itself is inside
    (at(11, 15, 30), at(11, 15, 30)),
    (at(11, 22, 59, 59), at(11, 22, 59, 59)),
    (at(11, 23), at(12, 9)),  # the end is outside: the next day's opening
    (at(11, 23, 59), at(12, 9)),
])
def test_a_clock_start_outside_the_hours_moves_to_the_next_opening(ts: int, start: int) -> None:
    assert clock_start(ts, JD) == start
    assert is_after_hours(ts, JD) == (start != ts)


def test_without_service_hours_every_instant_is_inside() -> None:
    assert clock_start(at(11, 2), parse_settings({})) == at(11, 2)


def test_hours_to_midnight_and_in_a_zone_that_changes_its_clocks() -> None:
    late = parse_settings({"service_hours": {"start": "08:00", "end": "24:00"}})
    assert clock_start(at(11, 23, 59, 59), late) == at(11, 23, 59, 59)
    assert clock_start(at(12, 0), late) == at(12, 8)
    # New York leaves daylight saving on 2026-11-01 at 02:00: that day has 25 hours, the opening is 08:00 local.
    york = ZoneInfo("America/New_York")
    shop = parse_settings({"timezone": "America/New_York", "service_hours": {"start": "08:00", "end": "20:00"}})
    assert clock_start(at(1, 1, 30, zone=york), shop) == at(1, 8, zone=york)
    assert clock_start(at(31, 21, zone=york, month=10), shop) == at(1, 8, zone=york)


@pytest.mark.parametrize("value", [
    {"start": "09:00"}, {"start": "9:00", "end": "23:00"}, {"start": "09:60", "end": "23:00"},
    {"start": "23:00", "end": "09:00"}, {"start": "09:00", "end": "09:00"}, {"start": "24:00", "end": "24:00"},
    {"start": "09:00", "end": "24:01"}, "09:00-23:00", {"start": 9, "end": 23},
    {"start": "09:00", "end": "23:00", "days": "all"},
])
def test_invalid_service_hours_are_refused(value: object) -> None:
    with pytest.raises(Invalid) as error:
        parse_settings({"service_hours": value})
    assert error.value.field == "service_hours"


def test_service_hours_round_trip() -> None:
    assert JD.service_hours == (9 * 60, 23 * 60)
    assert JD.to_json()["service_hours"] == {"start": "09:00", "end": "23:00"}
    assert parse_settings(JD.to_json()) == JD
    assert parse_settings({}).to_json()["service_hours"] is None
    assert parse_settings({"service_hours": None}).service_hours is None
