"""OpenAPI models of the figure payloads (/agents, /summary, /live, /series), built from the metric catalogue.

One field per catalogue row of the payload's scope, in catalogue (= API) order, titled with its 中文 and
English label and described by its definition; nothing is listed by hand. The models document the
responses only (`responses={200: …}` on the routes): the routes still return the views' dicts through
orjson, so no figure is re-validated, converted or reordered on the way out.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, create_model

from streams.core.catalogue import AGENT, GROUP, LIVE, LIVE_TEAM, SERIES, TEAM, Figure, scope_figures


def _annotation(figure: Figure) -> Any:
    kind: Any = Literal[figure.choices] if figure.choices else figure.unit.json_type
    return kind | None if figure.can_be_null else kind


def _field(figure: Figure) -> tuple[Any, Any]:
    description = f"{figure.definition('en')} · {figure.definition('zh')} ({figure.unit.doc})"
    return _annotation(figure), Field(title=f"{figure.zh} · {figure.en}", description=description)


def figures_model(name: str, scope: str, doc: str, **leading: Any) -> type[BaseModel]:
    """A model with the `leading` fields first, then one field per figure of `scope`."""
    fields = {**leading, **{f.key: _field(f) for f in scope_figures(scope)}}
    return create_model(name, __doc__=doc, **fields)


AGENT_ID = (str, Field(description="the agent (客服)"))
GROUP_ID = (str, Field(description="the agent's group (分组) from the shop's `groups` setting"))

AgentFigures = figures_model("AgentFigures", AGENT, "One agent's figures of the day.",
                             agent_id=AGENT_ID, group=GROUP_ID)
GroupFigures = figures_model("GroupFigures", GROUP, "The figures of one group's agents for the day.")
TeamFigures = figures_model("TeamFigures", TEAM, "The whole team's figures of the day.")
AgentLiveLoad = figures_model("AgentLiveLoad", LIVE, "One agent's load at now.", agent_id=AGENT_ID, group=GROUP_ID)
TeamLiveLoad = figures_model("TeamLiveLoad", LIVE_TEAM,
                             "The team's load at now: counts summed, longest wait the maximum, balances due "
                             "counting each buyer once.")
SeriesPoint = figures_model("SeriesPoint", SERIES, "The figures of one minute.",
                            minute=(int, Field(description="the minute's start, epoch ms")))
SeriesFigures = figures_model("SeriesFigures", SERIES, "The figures over the last few minutes.")

SHOP_ID = (str, Field(description="the shop (tenant)"))
DAY = (str, Field(description="the statistics day (统计日), YYYY-MM-DD in the shop's timezone"))
NOW_MS = (int, Field(description='"now" used for live load and SLA, epoch ms'))


class SlidingFigures(BaseModel):
    last_5m: SeriesFigures
    last_15m: SeriesFigures
    last_60m: SeriesFigures


AgentsResponse = create_model("AgentsResponse", shop_id=SHOP_ID, day=DAY, agents=(list[AgentFigures], ...))
SummaryResponse = create_model("SummaryResponse", shop_id=SHOP_ID, day=DAY, team=(TeamFigures, ...),
                               groups=(dict[str, GroupFigures], Field(description="group id → its figures")))
class GroupStaffing(BaseModel):
    """The staffing now-cast of one group (预计响应率, 需增派人数): an Erlang C model, not a count
    (docs/metrics.md, "Staffing now-cast")."""

    arrival_per_min: float = Field(description="new consulting buyers per minute over the last 15 minutes")
    handle_s: float = Field(description="estimated handling time per buyer, seconds (Little's law on the live load)")
    agents_online: int = Field(description="the group's agents online or busy")
    concurrency: float = Field(description="buyers one agent serves at once (`max_concurrent`, or measured)")
    predicted_sla_rate: float = Field(title="预计响应率 · Predicted SLA rate",
                                      description="Erlang C share of buyers answered within `sla_s`")
    agents_needed: int = Field(title="需增派人数 · Agents needed",
                               description="the fewest extra agents reaching the 0.9 target")


LiveResponse = create_model("LiveResponse", shop_id=SHOP_ID, now=NOW_MS, agents=(list[AgentLiveLoad], ...),
                            team=(TeamLiveLoad, ...),
                            groups=(dict[str, GroupStaffing], Field(description="group → staffing now-cast")))
SeriesResponse = create_model(
    "SeriesResponse", shop_id=SHOP_ID,
    agent_id=(str | None, Field(description="the agent asked for; null for the team")), now=NOW_MS,
    points=(list[SeriesPoint], Field(description="one per minute, oldest first, empty minutes included")),
    sliding=(SlidingFigures, ...),
)



class UnpaidOrder(BaseModel):
    """One open unpaid order (待催付): created, no deposit, no payment, no close."""

    order_id: str
    buyer_id: str
    order_agent: str | None = Field(description="下单客服; null when silent (静默)")
    created_ts: int = Field(description="the order's creation, epoch ms")
    age_s: float = Field(description="now − created_ts, seconds")
    amount: float = Field(description="the order.created amount, yuan")
    chased: bool = Field(description="an agent has sent the buyer a human message since the order was created (催付)")


UnpaidOrdersResponse = create_model(
    "UnpaidOrdersResponse", shop_id=SHOP_ID, now=NOW_MS,
    total=(int, Field(description="open unpaid orders in all (the list stops at `limit`)")),
    total_amount=(float, Field(description="their amounts in all, yuan")),
    orders=(list[UnpaidOrder], Field(description="oldest first (sort=age) or largest first (sort=amount)")),
)


def documented(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route answering `model` (documented, not validated)."""
    return {200: {"model": model, "description": "Successful Response"}}
