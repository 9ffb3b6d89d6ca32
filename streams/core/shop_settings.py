"""Per-shop settings of metrics.md: defaults, validation, and local-day arithmetic.

Settings are versioned: the ingest API stamps each event with the version in force when it was
accepted, and every decision about that event uses that version, so a settings change never rewrites
figures already computed and is in force for every event accepted after the PUT answers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from streams.core.errors import Invalid
from streams.core.kpi_score import InvalidWeights, parse_weights
from streams.core.pace import InvalidTargets, parse_targets

ATTRIBUTIONS = ("order", "payment", "order_first")
DEFAULT_GROUP = "presale"


@dataclass(frozen=True)
class ShopSettings:
    timezone: str = "Asia/Shanghai"
    slow_response_s: float = 60
    sla_s: float = 180
    inquiry_valid_days: int = 2
    attribution: str = "order_first"
    active_window_s: float = 600
    filter_buyers: frozenset[str] = field(default_factory=frozenset)
    filter_phrases: frozenset[str] = field(default_factory=frozenset)
    groups: dict[str, str] = field(default_factory=dict)
    # The groups whose agents take pre-sale inquiries: their received buyers are 询单 buyers.
    presale_groups: frozenset[str] = frozenset({DEFAULT_GROUP})
    # Service hours (streams/core/service_hours.py): (start, end) in minutes of the local day, or None (all day).
    service_hours: tuple[int, int] | None = None
    # Buyers one agent serves at once, for the staffing now-cast (None: measured from the live load).
    max_concurrent: float | None = None
    # 客服主动跟进不算询单流失: a conversation the agent opens is a follow-up, not an inquiry, and the
    # agent's human messages count as contacts for crediting orders (metrics.md, Follow-ups).
    followup_not_lost: bool = False
    # The day's targets (streams/core/pace.py): team sales / inquiry_pay_rate / sla_rate, and per agent.
    targets: dict[str, Any] = field(default_factory=dict)
    # KPI score weights, term → percent (streams/core/kpi_score.py); empty: its DEFAULT_WEIGHTS.
    kpi_weights: dict[str, float] = field(default_factory=dict)

    def group_of(self, agent_id: str) -> str:
        return self.groups.get(agent_id, DEFAULT_GROUP)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["filter_buyers"] = sorted(self.filter_buyers)
        data["filter_phrases"] = sorted(self.filter_phrases)
        data["presale_groups"] = sorted(self.presale_groups)
        data["service_hours"] = None if self.service_hours is None else {
            "start": _hhmm(self.service_hours[0]), "end": _hhmm(self.service_hours[1])}
        return data

    def __hash__(self) -> int:  # groups is a dict; settings are cached by version, not hashed
        return id(self)


DEFAULT_SETTINGS = ShopSettings()


class InvalidSettings(Invalid):
    """Shop settings that break a rule of their contract (the shop cannot save them)."""


def _number(data: dict[str, Any], name: str, default: float, *, minimum: float = 0) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise InvalidSettings(name, f"must be a number ≥ {minimum}")
    return value


def _strings(data: dict[str, Any], name: str) -> frozenset[str]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidSettings(name, "must be a list of strings")
    return frozenset(v.strip() if name == "filter_phrases" else v for v in value)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _minutes(text: Any) -> int | None:
    """Minutes of the day of "HH:MM" (00:00–24:00), None if it is not such a time."""
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":" or not (text[:2] + text[3:]).isdigit():
        return None
    hours, minutes = int(text[:2]), int(text[3:])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes


def _service_hours(data: dict[str, Any]) -> tuple[int, int] | None:
    value = data.get("service_hours")
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"start", "end"}:
        raise InvalidSettings("service_hours", 'must be null or {"start": "HH:MM", "end": "HH:MM"}')
    start, end = _minutes(value["start"]), _minutes(value["end"])
    if start is None or end is None:
        raise InvalidSettings("service_hours", "start and end must be times HH:MM (00:00–24:00)")
    if not start < end:
        raise InvalidSettings("service_hours", "start must be before end")
    return start, end


def parse_settings(data: Any) -> ShopSettings:
    """Validate a settings document (missing keys take their defaults)."""
    if not isinstance(data, dict):
        raise InvalidSettings("(settings)", "must be a JSON object")
    known = set(ShopSettings.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidSettings(unknown[0], "is not a setting")
    timezone = data.get("timezone", DEFAULT_SETTINGS.timezone)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise InvalidSettings("timezone", "must be an IANA time zone such as Asia/Shanghai") from None
    valid_days = data.get("inquiry_valid_days", DEFAULT_SETTINGS.inquiry_valid_days)
    if isinstance(valid_days, bool) or not isinstance(valid_days, int) or not 1 <= valid_days <= 15:
        raise InvalidSettings("inquiry_valid_days", "must be an integer 1–15")
    attribution = data.get("attribution", DEFAULT_SETTINGS.attribution)
    if attribution not in ATTRIBUTIONS:
        raise InvalidSettings("attribution", "must be one of order, payment, order_first")
    groups = data.get("groups", {})
    if not isinstance(groups, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in groups.items()
    ):
        raise InvalidSettings("groups", "must map agent ids to non-empty group names")
    presale_groups = data.get("presale_groups", sorted(DEFAULT_SETTINGS.presale_groups))
    if not isinstance(presale_groups, list) or not all(isinstance(g, str) and g for g in presale_groups):
        raise InvalidSettings("presale_groups", "must be a list of non-empty group names")
    followup_not_lost = data.get("followup_not_lost", DEFAULT_SETTINGS.followup_not_lost)
    if not isinstance(followup_not_lost, bool):
        raise InvalidSettings("followup_not_lost", "must be true or false")
    try:
        targets = parse_targets(data.get("targets"))
        kpi_weights = parse_weights(data.get("kpi_weights"))
    except (InvalidTargets, InvalidWeights) as exc:
        raise InvalidSettings(exc.field, exc.error) from None
    return ShopSettings(
        timezone=timezone,
        slow_response_s=_number(data, "slow_response_s", DEFAULT_SETTINGS.slow_response_s),
        sla_s=_number(data, "sla_s", DEFAULT_SETTINGS.sla_s),
        inquiry_valid_days=valid_days,
        attribution=attribution,
        active_window_s=_number(data, "active_window_s", DEFAULT_SETTINGS.active_window_s, minimum=1),
        filter_buyers=_strings(data, "filter_buyers"),
        filter_phrases=_strings(data, "filter_phrases"),
        groups=dict(groups),
        presale_groups=frozenset(presale_groups),
        service_hours=_service_hours(data),
        max_concurrent=None if data.get("max_concurrent") is None else _number(data, "max_concurrent", 1, minimum=1),
        followup_not_lost=followup_not_lost,
        targets=targets,
        kpi_weights=kpi_weights,
    )


QUARTER_HOUR_MS = 900_000


@lru_cache(maxsize=131_072)
def _day_of_quarter_hour(timezone: str, quarter: int) -> str:
    return datetime.fromtimestamp(quarter * 900, ZoneInfo(timezone)).date().isoformat()


def local_day(ts_ms: int, timezone: str) -> str:
    """The shop-local calendar day (YYYY-MM-DD) of an epoch-ms timestamp.

    Cached per UTC quarter hour: every zone's offset, and so every local midnight and every DST
    change, falls on a quarter-hour boundary, so all instants of one quarter share a local day.
    """
    return _day_of_quarter_hour(timezone, ts_ms // QUARTER_HOUR_MS)


@lru_cache(maxsize=4096)
def day_offset(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()
