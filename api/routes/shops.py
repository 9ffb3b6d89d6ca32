"""Per-shop REST: figures (agents, summary, live, series, lag) and settings."""

from __future__ import annotations

from typing import Any, Literal

import orjson
from fastapi import APIRouter, Query, Request

from api.deps import AdminDep, StateDep, ViewerDep
from api.errors import AUTHORIZED_ERRORS, ApiError, error_responses
from api.figure_models import (
    AgentsResponse,
    LiveResponse,
    SeriesResponse,
    SummaryResponse,
    UnpaidOrdersResponse,
    documented,
)
from api.params import checked_day
from api.responses import JsonResponse
from api.state import AppState
from streams.core.shop_settings import InvalidSettings, parse_settings
from streams.readside.settings_store import current_version, put_settings

router = APIRouter(prefix="/api/v1/shops/{shop_id}", tags=["figures"], default_response_class=JsonResponse,
                   responses=error_responses(*AUTHORIZED_ERRORS))


@router.get("/agents", summary="Per-agent figures of a day", responses=documented(AgentsResponse))
async def agents(shop_id: ViewerDep, state: StateDep, day: str | None = Query(None)):
    return await state.readmodel.agents(shop_id, checked_day(day))


@router.get("/summary", summary="Team and group figures of a day", responses=documented(SummaryResponse))
async def summary(shop_id: ViewerDep, state: StateDep, day: str | None = Query(None)):
    return await state.readmodel.summary(shop_id, checked_day(day))


@router.get("/live", summary="Live load per agent and for the team", responses=documented(LiveResponse))
async def live(shop_id: ViewerDep, state: StateDep):
    return await state.readmodel.live(shop_id)


@router.get("/unpaid-orders", summary="待催付: open unpaid orders, oldest (or largest) first",
            responses=documented(UnpaidOrdersResponse))
async def unpaid_orders(
    shop_id: ViewerDep,
    state: StateDep,
    sort: Literal["age", "amount"] = Query("age", description="age: oldest first; amount: largest first"),
    limit: int = Query(200, ge=1, le=2000),
):
    return await state.readmodel.unpaid_orders(shop_id, sort, limit)


@router.get("/series", summary="Per-minute buckets, oldest first, with sliding 5/15/60-minute figures",
            responses=documented(SeriesResponse))
async def series(
    shop_id: ViewerDep,
    state: StateDep,
    agent_id: str | None = Query(None, max_length=128),
    minutes: int = Query(60, ge=1, le=1440),
):
    return await state.readmodel.series(shop_id, agent_id or None, minutes)


@router.get("/lag", summary="How far processing is behind ingest for this shop")
async def lag(shop_id: ViewerDep, state: StateDep):
    return await state.readmodel.lag(shop_id)


async def settings_payload(state: AppState, shop_id: str) -> dict[str, Any]:
    version = await current_version(state.redis, shop_id)
    settings = await state.readmodel.settings(shop_id)
    return {**settings.to_json(), "shop_id": shop_id, "version": version}


@router.get("/settings", summary="The shop's settings (metrics.md)")
async def get_settings(shop_id: ViewerDep, state: StateDep):
    return await settings_payload(state, shop_id)


@router.put(
    "/settings",
    summary="Replace the shop's settings (admin); in force for every event accepted after the answer",
)
async def put_shop_settings(request: Request, shop_id: AdminDep, state: StateDep):
    try:
        document = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"body is not valid JSON: {exc}", "malformed_json") from None
    if isinstance(document, dict):
        document = {k: v for k, v in document.items() if k not in ("shop_id", "version")}
    try:
        settings = parse_settings(document)
    except InvalidSettings as exc:
        raise ApiError(422, f"{exc.field}: {exc.error}", field=exc.field) from None
    await put_settings(state.redis, shop_id, settings)
    return await settings_payload(state, shop_id)
