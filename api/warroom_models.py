"""OpenAPI models of /progress (same time yesterday, targets and pace) and /period (ranges and scores).

Documented only, like api/figure_models.py: the routes return the read side's dicts through orjson.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, create_model

from api.figure_models import AGENT_ID, DAY, GROUP_ID, NOW_MS, SHOP_ID, GroupFigures, TeamFigures, figures_model
from streams.core.catalogue import AGENT


class HeadlineComparison(BaseModel):
    """One headline figure now and at the same minute of yesterday's curve (▲ / ▼ %)."""

    value: float | None = Field(description="today's value now (as /summary)")
    yesterday: float | None = Field(description="yesterday's value at the same minute of the day; null when "
                                                "yesterday's curve is not kept or was empty")
    change: float | None = Field(description="(value − yesterday) ÷ yesterday; null when either is null or 0")


class Pace(BaseModel):
    """Progress against a `targets` value and where the team should be by now (docs/metric-rules.md, Pace)."""

    value: float | None = Field(description="today's value now")
    target: float = Field(description="the day's target (`targets` setting)")
    progress: float | None = Field(description="value ÷ target")
    expected: float = Field(description="where the team should be by now")
    basis: Literal["last_week", "yesterday", "service_hours", "flat"] = Field(
        description="what `expected` came from: the same weekday last week's curve, yesterday's, the share of "
                    "service hours elapsed (no history), or the target itself (a rate with no history)")
    status: Literal["ahead", "near", "behind"] | None = Field(
        description="ahead: value ≥ expected; near: within 5 % below; behind: further below")


ProgressResponse = create_model(
    "ProgressResponse", shop_id=SHOP_ID, day=DAY, now=NOW_MS,
    minute_of_day=(int, Field(description="minutes since the shop's local midnight at now (0–1439)")),
    yesterday=(str, Field(description="the day compared with, YYYY-MM-DD")),
    figures=(dict[str, HeadlineComparison], Field(
        description="sales, shop_sales, received_buyers, inquiry_pay_rate, sla_rate, avg_response_s")),
    pace=(dict[str, Pace], Field(description="one entry per key of the `targets` setting that is set")),
)

PeriodAgentFigures = figures_model(
    "PeriodAgentFigures", AGENT, "One agent's figures over the period (counts summed over the days, ratios "
    "from the summed numerator and denominator).", agent_id=AGENT_ID, group=GROUP_ID,
    score=(float, Field(title="绩效得分 · KPI score", description="0–100 under the shop's `kpi_weights`")))


class KpiFormula(BaseModel):
    weights: dict[str, float] = Field(description="term → percent (the `kpi_weights` setting, or the default)")
    formula_zh: str
    formula_en: str


PeriodResponse = create_model(
    "PeriodResponse", shop_id=SHOP_ID,
    start=(str, Field(description="first day, YYYY-MM-DD")), end=(str, Field(description="last day, included")),
    days=(int, Field(description="number of days (at most 92)")),
    team=(TeamFigures, ...), groups=(dict[str, GroupFigures], ...), agents=(list[PeriodAgentFigures], ...),
    kpi=(KpiFormula, ...),
)
