"""Targets and pace: where the team should be by now, and whether it is ahead or behind.

The `targets` setting (metrics.md) gives the day's team targets: `sales` (yuan), `inquiry_pay_rate`
and `sla_rate` (0–1). Our extension: `agents` maps an agent id to that agent's own targets (the same
keys), used by the KPI score (streams/core/kpi_score.py) and shown in the console.

Pace of a figure at minute `m` of the shop's day ("expected by now"):

- with a reference day whose curve is known (the same weekday last week, else yesterday): the target
  times the share of its final value that the reference day had reached by the same minute,
  `target × ref(m) / ref(final)`. A sales curve that is 40 % through at 14:00 last Tuesday expects
  40 % of today's target at 14:00. A rate curve's shape is used the same way (a conversion rate that
  is lower in the morning because inquiries have not converted yet expects less in the morning);
- with no usable reference (none kept, or its final value is 0 or unknown): sales grow in proportion
  to the service hours elapsed (all day when `service_hours` is not set); a rate is expected to be at
  its target all day.

Status: `ahead` when the value is at or above the expected value, `near` when it is within 5 % below
it, `behind` otherwise; None when there is no value yet. Pure: numbers in, numbers out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TARGET_KEYS = ("sales", "inquiry_pay_rate", "sla_rate")
RATE_KEYS = frozenset({"inquiry_pay_rate", "sla_rate"})
NEAR_SHARE = 0.95  # within 5 % below the expected value is "near", not yet "behind"
DAY_MINUTES = 1440

BASIS_LAST_WEEK = "last_week"
BASIS_YESTERDAY = "yesterday"
BASIS_SERVICE_HOURS = "service_hours"
BASIS_FLAT = "flat"  # a rate with no reference curve: its target holds all day


class InvalidTargets(ValueError):
    """`field: error` of a targets document (the caller wraps it into InvalidSettings)."""

    def __init__(self, field: str, error: str) -> None:
        super().__init__(f"{field}: {error}")
        self.field = field
        self.error = error


def _target_values(value: Any, where: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise InvalidTargets(where, "must be an object with any of sales, inquiry_pay_rate, sla_rate")
    parsed: dict[str, float] = {}
    for key, number in value.items():
        field = f"{where}.{key}"
        if key not in TARGET_KEYS:
            raise InvalidTargets(field, "is not a target (sales, inquiry_pay_rate, sla_rate)")
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise InvalidTargets(field, "must be a number")
        if key in RATE_KEYS and not 0 < number <= 1:
            raise InvalidTargets(field, "must be a ratio 0–1 (e.g. 0.45 for 45 %), above 0")
        if key == "sales" and not number > 0:
            raise InvalidTargets(field, "must be an amount in yuan above 0")
        parsed[key] = float(number)
    return parsed


def parse_targets(value: Any) -> dict[str, Any]:
    """Validate a `targets` document: {"sales": yuan, "inquiry_pay_rate": 0–1, "sla_rate": 0–1,
    "agents": {agent_id: {same keys}}}, every key optional. Raises InvalidTargets naming the field."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidTargets("targets", "must be an object with any of sales, inquiry_pay_rate, sla_rate, agents")
    team = _target_values({k: v for k, v in value.items() if k != "agents"}, "targets")
    agents = value.get("agents", {})
    if not isinstance(agents, dict):
        raise InvalidTargets("targets.agents", "must map agent ids to targets")
    parsed: dict[str, Any] = dict(team)
    if agents:
        parsed["agents"] = {}
        for agent, targets in agents.items():
            if not isinstance(agent, str) or not agent:
                raise InvalidTargets("targets.agents", "agent ids must be non-empty strings")
            parsed["agents"][agent] = _target_values(targets, f"targets.agents.{agent}")
    return parsed


def service_share(minute: float, service_hours: tuple[int, int] | None) -> float:
    """The share (0–1) of the day's service time elapsed at `minute` of the local day."""
    start, end = service_hours if service_hours is not None else (0, DAY_MINUTES)
    return min(max((minute - start) / (end - start), 0.0), 1.0)


@dataclass(frozen=True)
class Reference:
    """A past day's curve as the pace needs it: its value at the same minute and its final value."""

    basis: str  # BASIS_LAST_WEEK or BASIS_YESTERDAY
    at_minute: float | None
    final: float | None

    @property
    def usable(self) -> bool:
        return self.at_minute is not None and self.final is not None and self.final > 0


def expected_by_now(key: str, target: float, minute: float, references: list[Reference],
                    service_hours: tuple[int, int] | None) -> tuple[float, str]:
    """(expected value at `minute`, the basis it came from): the first usable reference, else hours or flat."""
    for reference in references:
        if reference.usable:
            assert reference.at_minute is not None and reference.final is not None
            return target * min(reference.at_minute / reference.final, 1.0), reference.basis
    if key in RATE_KEYS:
        return target, BASIS_FLAT
    return target * service_share(minute, service_hours), BASIS_SERVICE_HOURS


def pace_status(value: float | None, expected: float) -> str | None:
    if value is None:
        return None
    if value >= expected:
        return "ahead"
    return "near" if value >= expected * NEAR_SHARE else "behind"


def pace(key: str, target: float, value: float | None, minute: float, references: list[Reference],
         service_hours: tuple[int, int] | None) -> dict[str, Any]:
    """Progress and pace of one figure against its target (the `pace` object of /progress)."""
    expected, basis = expected_by_now(key, target, minute, references, service_hours)
    return {
        "target": target,
        "progress": None if value is None else value / target,
        "expected": expected,
        "basis": basis,
        "status": pace_status(value, expected),
    }
