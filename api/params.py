"""Query parameters checked the same way by every route: a bad one is a 422 naming the parameter."""

from __future__ import annotations

import re
from datetime import date

from api.errors import ApiError

DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


def checked_day(value: str | None, field: str = "day") -> str | None:
    """A day YYYY-MM-DD as given (None if not given), or 422 naming the parameter."""
    if value is None:
        return None
    try:
        if DAY_RE.fullmatch(value):
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise ApiError(422, f"{field} must be a date YYYY-MM-DD", field=field)
