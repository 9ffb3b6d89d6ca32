"""The KPI score (绩效得分) of each agent: a weighted sum of normalised terms, 0–100.

Weights are the shop's `kpi_weights` setting (our extension of metrics.md): term → percent, adding up
to 100. A term is `sales_target` (销售额目标完成) or an agent figure of the metric catalogue that has a
direction (higher or lower is better). Each term is normalised to 0–1 among the agents ranked together:

- `sales_target`: the agent's sales ÷ the agent's sales target for the period, capped at 1. The target
  is the agent's own `targets.agents[a].sales`, else the team's `targets.sales` divided equally among
  the ranked agents, times the number of days of the period; with no target at all, the agent's sales ÷
  the top seller's;
- a percentage figure (reply rate, conversion, …): its value (already 0–1);
- any other figure where higher is better (客单价, 在线时长, …): value ÷ the best agent's value;
- a figure where lower is better (平均响应时长, …): the best (lowest) agent's value ÷ the agent's value
  (a value of 0 scores 1);
- a figure with no value (null: nothing to divide) scores 0.

score = Σ weight × normalised term (weights in percent, so the score is 0–100). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from streams.core.catalogue import AGENT, BY_KEY, PERCENT, scope_keys

SALES_TARGET = "sales_target"
DEFAULT_WEIGHTS: dict[str, float] = {
    SALES_TARGET: 30, "inquiry_pay_rate": 20, "avg_buyer_value": 20, "reply_rate": 20,
    "avg_response_s": 5, "online_s": 5,
}
TERM_NAMES = {SALES_TARGET: ("销售额目标完成", "Sales target met")}


def scorable_keys() -> tuple[str, ...]:
    """The terms a weight may name: sales_target and every agent figure with a direction."""
    return (SALES_TARGET,) + tuple(k for k in scope_keys(AGENT) if BY_KEY[k].higher_is_better is not None)


def term_name(key: str, lang: str = "zh") -> str:
    if key in TERM_NAMES:
        return TERM_NAMES[key][0 if lang == "zh" else 1]
    figure = BY_KEY[key]
    return figure.zh if lang == "zh" else figure.en


class InvalidWeights(ValueError):
    def __init__(self, field: str, error: str) -> None:
        super().__init__(f"{field}: {error}")
        self.field = field
        self.error = error


def parse_weights(value: Any) -> dict[str, float]:
    """Validate `kpi_weights`: {term: percent ≥ 0}, adding up to 100. Empty or null: DEFAULT_WEIGHTS."""
    if value is None or value == {}:
        return {}
    if not isinstance(value, dict):
        raise InvalidWeights("kpi_weights", "must map terms to percentages, e.g. {\"sales_target\": 30, ...}")
    allowed = scorable_keys()
    for key, weight in value.items():
        if key not in allowed:
            raise InvalidWeights(f"kpi_weights.{key}", "is not a scorable term (sales_target or an agent figure "
                                                       "where higher or lower is better)")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise InvalidWeights(f"kpi_weights.{key}", "must be a percentage ≥ 0")
    total = sum(value.values())
    if abs(total - 100) > 1e-6:
        raise InvalidWeights("kpi_weights", f"must add up to 100 (they add up to {total:g})")
    return {key: float(weight) for key, weight in value.items()}


def sales_targets(agents: Sequence[str], targets: Mapping[str, Any], days: int) -> dict[str, float | None]:
    """Each ranked agent's sales target over `days` days (None: no target applies)."""
    own = targets.get("agents", {})
    team = targets.get("sales")
    shared = team / len(agents) if team and agents else None
    result: dict[str, float | None] = {}
    for agent in agents:
        per_day = own.get(agent, {}).get("sales", shared)
        result[agent] = None if per_day is None else per_day * days
    return result


def normalised_terms(rows: Sequence[Mapping[str, Any]], weights: Mapping[str, float],
                     targets: Mapping[str, Any], days: int = 1) -> dict[str, dict[str, float]]:
    """agent_id → term → its 0–1 value (see the module doc)."""
    agents = [row["agent_id"] for row in rows]
    goal = sales_targets(agents, targets, days)
    top_sales = max((row.get("sales") or 0 for row in rows), default=0)
    best: dict[str, float | None] = {}
    for key in weights:
        if key == SALES_TARGET:
            continue
        values = [row.get(key) for row in rows if row.get(key) is not None]
        best[key] = (max(values) if BY_KEY[key].higher_is_better else min(values)) if values else None
    result: dict[str, dict[str, float]] = {}
    for row in rows:
        terms: dict[str, float] = {}
        for key in weights:
            if key == SALES_TARGET:
                sales, target = row.get("sales") or 0, goal[row["agent_id"]]
                terms[key] = min(sales / target, 1.0) if target else (sales / top_sales if top_sales else 0.0)
                continue
            value, top = row.get(key), best[key]
            if value is None or top is None:
                terms[key] = 0.0
            elif BY_KEY[key].unit == PERCENT:
                terms[key] = min(max(value, 0.0), 1.0)
            elif BY_KEY[key].higher_is_better:
                terms[key] = value / top if top > 0 else 0.0
            else:
                terms[key] = top / value if value > 0 else 1.0
        result[row["agent_id"]] = terms
    return result


def scores(rows: Sequence[Mapping[str, Any]], weights: Mapping[str, float] | None,
           targets: Mapping[str, Any], days: int = 1) -> dict[str, float]:
    """agent_id → score 0–100 under `weights` (DEFAULT_WEIGHTS when empty)."""
    weights = weights or DEFAULT_WEIGHTS
    terms = normalised_terms(rows, weights, targets, days)
    return {agent: sum(weights[k] * value for k, value in agent_terms.items())
            for agent, agent_terms in terms.items()}


def formula(weights: Mapping[str, float] | None, lang: str = "zh") -> str:
    """The formula as the console shows it beside the ranking, e.g. "销售额目标完成 × 30% + …"."""
    weights = weights or DEFAULT_WEIGHTS
    return " + ".join(f"{term_name(k, lang)} × {weights[k]:g}%" for k in weights if weights[k])
