"""War-room REST: same time yesterday with targets and pace (/progress), and console periods (/period)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from api.deps import StateDep, ViewerDep
from api.errors import AUTHORIZED_ERRORS, ApiError, error_responses
from api.figure_models import documented
from api.params import checked_day
from api.responses import JsonResponse
from api.warroom_models import PeriodResponse, ProgressResponse
from streams.core.clock import today
from streams.core.periods import InvalidPeriod, period_bounds
from streams.readside.history import period, progress

router = APIRouter(prefix="/api/v1/shops/{shop_id}", tags=["war room"], default_response_class=JsonResponse,
                   responses=error_responses(*AUTHORIZED_ERRORS))


@router.get("/progress", summary="Headline figures vs the same minute yesterday, and targets with pace",
            responses=documented(ProgressResponse))
async def get_progress(shop_id: ViewerDep, state: StateDep):
    return await progress(state.readmodel, shop_id)


@router.get("/period", summary="Figures and KPI scores of a day, week, month or range (≤ 92 days)",
            responses=documented(PeriodResponse))
async def get_period(
    shop_id: ViewerDep,
    state: StateDep,
    kind: Literal["day", "week", "month"] | None = Query(
        None, description="the day, ISO week (Mon–Sun) or month containing `day` (default today); "
                          "leave out and give start and end for a range"),
    day: str | None = Query(None, description="YYYY-MM-DD, with `kind`"),
    start: str | None = Query(None, description="first day of a range, YYYY-MM-DD"),
    end: str | None = Query(None, description="last day of a range (included), YYYY-MM-DD; at most 92 days"),
):
    try:
        if kind is not None:
            if start or end:
                raise ApiError(422, "give either kind (with day) or start and end", field="kind")
            anchor = checked_day(day, "day")
            if anchor is None:
                settings, _, now = await state.readmodel.context(shop_id)
                anchor = today(now, settings)
            first, last = period_bounds(kind, anchor)
        else:
            first, last = checked_day(start, "start"), checked_day(end, "end")
            if first is None or last is None:
                missing = "start" if first is None else "end"
                raise ApiError(422, "give start and end (YYYY-MM-DD), or kind", field=missing)
        return await period(state.readmodel, shop_id, first, last)
    except InvalidPeriod as exc:
        raise ApiError(422, f"{exc.field}: {exc.error}", field=exc.field) from None
