"""api/params.checked_day, shared by the figure routes (?day=) and the war-room routes (?day=, ?start=,
?end=): a real calendar day in YYYY-MM-DD passes as given, anything else is a 422 naming the parameter."""

from __future__ import annotations

import pytest

from api.errors import ApiError
from api.params import checked_day


def test_a_calendar_day_passes_and_none_stays_none() -> None:
    assert checked_day("2026-11-11") == "2026-11-11"
    assert checked_day("2024-02-29", "start") == "2024-02-29"
    assert checked_day(None, "end") is None


@pytest.mark.parametrize("value", ["2026-02-30", "2026-13-01", "20261111", "2026-11-11T00:00", "2026-1-1", ""])
@pytest.mark.parametrize("field", ["day", "start"])
def test_anything_else_is_a_422_naming_the_parameter(value: str, field: str) -> None:
    with pytest.raises(ApiError) as raised:
        checked_day(value, field)
    assert (raised.value.status, raised.value.message, raised.value.details) == (
        422, f"{field} must be a date YYYY-MM-DD", {"field": field})
