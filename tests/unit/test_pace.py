"""Targets and pace (streams/core/pace.py): hand-worked curves, and the `targets` setting's validation."""

import pytest

from streams.core.pace import (
    BASIS_FLAT,
    BASIS_LAST_WEEK,
    BASIS_SERVICE_HOURS,
    BASIS_YESTERDAY,
    Reference,
    expected_by_now,
    pace,
    parse_targets,
    service_share,
)
from streams.core.shop_settings import InvalidSettings, parse_settings

NINE_TO_23 = (9 * 60, 23 * 60)


def test_service_share_is_the_elapsed_part_of_the_opening_hours() -> None:
    assert service_share(8 * 60, NINE_TO_23) == 0.0  # before opening
    assert service_share(16 * 60, NINE_TO_23) == 0.5  # 7 of 14 hours
    assert service_share(23 * 60 + 30, NINE_TO_23) == 1.0  # after closing
    assert service_share(6 * 60, None) == 0.25  # all day: 6 of 24 hours


def test_last_weeks_curve_sets_the_expected_share() -> None:
    # Last Tuesday: ¥40,000 sold by 14:00 of ¥100,000 for the day -> 40 % of today's ¥500,000 target.
    last_week = Reference(BASIS_LAST_WEEK, at_minute=40_000, final=100_000)
    yesterday = Reference(BASIS_YESTERDAY, at_minute=10, final=20)
    assert expected_by_now("sales", 500_000, 14 * 60, [last_week, yesterday], NINE_TO_23) == (200_000, BASIS_LAST_WEEK)


def test_yesterday_when_last_week_is_missing_or_empty() -> None:
    missing = Reference(BASIS_LAST_WEEK, at_minute=None, final=None)
    empty = Reference(BASIS_LAST_WEEK, at_minute=0, final=0)
    yesterday = Reference(BASIS_YESTERDAY, at_minute=3_000, final=12_000)  # a quarter through
    for first in (missing, empty):
        assert expected_by_now("sales", 80_000, 600, [first, yesterday], None) == (20_000, BASIS_YESTERDAY)


def test_no_history_sales_follow_the_service_hours_and_rates_are_flat() -> None:
    # 09:00–23:00, at 12:30: 3.5 of 14 hours = 25 % of ¥80,000.
    assert expected_by_now("sales", 80_000, 12 * 60 + 30, [], NINE_TO_23) == (20_000, BASIS_SERVICE_HOURS)
    assert expected_by_now("sla_rate", 0.9, 12 * 60 + 30, [], NINE_TO_23) == (0.9, BASIS_FLAT)


def test_a_rate_follows_its_reference_shape() -> None:
    # Conversion last week: 30 % at 10:00, 45 % at the end -> expect 2/3 of the 0.48 target.
    reference = Reference(BASIS_LAST_WEEK, at_minute=0.30, final=0.45)
    expected, basis = expected_by_now("inquiry_pay_rate", 0.48, 600, [reference], None)
    assert expected == pytest.approx(0.32) and basis == BASIS_LAST_WEEK


def test_a_reference_above_its_own_final_expects_no_more_than_the_target() -> None:
    # sla_rate at 10:00 was 0.98 and the day ended at 0.92: capped at 100 % of the target.
    reference = Reference(BASIS_YESTERDAY, at_minute=0.98, final=0.92)
    assert expected_by_now("sla_rate", 0.9, 600, [reference], None) == (0.9, BASIS_YESTERDAY)


def test_pace_status_ahead_near_behind() -> None:
    hours_only: list[Reference] = []
    at_16 = 16 * 60  # half of 09:00–23:00: expected ¥50,000 of ¥100,000
    assert pace("sales", 100_000, 50_000, at_16, hours_only, NINE_TO_23)["status"] == "ahead"
    assert pace("sales", 100_000, 48_000, at_16, hours_only, NINE_TO_23)["status"] == "near"  # 4 % below
    behind = pace("sales", 100_000, 40_000, at_16, hours_only, NINE_TO_23)
    assert behind == {"target": 100_000, "progress": 0.4, "expected": 50_000, "basis": BASIS_SERVICE_HOURS,
                      "status": "behind"}
    assert pace("sla_rate", 0.9, None, at_16, hours_only, NINE_TO_23)["status"] is None


def test_targets_setting_is_validated_with_the_field_named() -> None:
    parsed = parse_settings({"targets": {"sales": 1_000_000, "sla_rate": 0.9,
                                         "agents": {"a1": {"sales": 80_000, "inquiry_pay_rate": 0.5}}}})
    assert parsed.targets == {"sales": 1_000_000, "sla_rate": 0.9,
                              "agents": {"a1": {"sales": 80_000, "inquiry_pay_rate": 0.5}}}
    assert parse_settings(parsed.to_json()).targets == parsed.targets  # stored and read back
    assert parse_settings({}).targets == {}
    bad = [
        ({"targets": [1]}, "targets"),
        ({"targets": {"sales": 0}}, "targets.sales"),
        ({"targets": {"sales": "lots"}}, "targets.sales"),
        ({"targets": {"sla_rate": 90}}, "targets.sla_rate"),
        ({"targets": {"inquiry_pay_rate": True}}, "targets.inquiry_pay_rate"),
        ({"targets": {"gmv": 1}}, "targets.gmv"),
        ({"targets": {"agents": []}}, "targets.agents"),
        ({"targets": {"agents": {"a1": {"sales": -5}}}}, "targets.agents.a1.sales"),
        ({"targets": {"agents": {"a1": 5}}}, "targets.agents.a1"),
    ]
    for document, field in bad:
        with pytest.raises(InvalidSettings) as caught:
            parse_settings(document)
        assert caught.value.field == field, document


def test_parse_targets_accepts_null_as_none() -> None:
    assert parse_targets(None) == {}
