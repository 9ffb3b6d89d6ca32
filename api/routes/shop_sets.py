"""A set of shops (the multi-shop 作战大屏): REST `GET /api/v1/shop-set` and `WS /api/v1/shop-set/stream`.

`?shops=a,b,c` names the set (up to 100, in board order); omitted, it is the token's own shops. The
token must read every shop named: one it does not hold → 403 (4403 on the stream), never a smaller set.
Both answer `{"shops", "now", "totals", "rows"}` (streams/core/shop_sets.py); the stream sends it as a
`snapshot`, then `update` frames at most every 0.5 s while a shop's figures change, each shop's `alert`
frames, and heartbeats. Auth failures close the socket with 4401, 4403 or 4422 (a bad set).
"""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, Query, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field, create_model

from api.auth import request_token, token_of
from api.deps import StateDep
from api.errors import AUTHORIZED_ERRORS, ApiError, error_responses
from api.figure_models import documented
from api.hub import Client, drain, refuse
from api.responses import JsonResponse
from api.shop_sets import ShopSetStream, authorized_shop_set, set_payload, snapshots_of
from api.state import AppState
from streams.core.catalogue import BY_KEY
from streams.core.shop_sets import ALERTS_FIRING, MAX_SHOPS, ROW_KEYS

router = APIRouter(prefix="/api/v1/shop-set", tags=["shop sets"], default_response_class=JsonResponse,
                   responses=error_responses(*AUTHORIZED_ERRORS))
SHOPS_QUERY = Query(None, max_length=MAX_SHOPS * 65,
                    description=f"the set: shop ids separated by commas, at most {MAX_SHOPS}, in board order; "
                                "omitted: every shop the token lists. Each must be readable with the token (403).")


def _figure_fields() -> dict[str, tuple[object, object]]:
    fields: dict[str, tuple[object, object]] = {}
    for key in ROW_KEYS:
        if key == ALERTS_FIRING:
            fields[key] = (int, Field(title="告警中 · Alerts firing", description="alerts firing now in the shop(s)"))
            continue
        figure = BY_KEY[key]
        kind = figure.unit.json_type | None if figure.can_be_null else figure.unit.json_type
        fields[key] = (kind, Field(title=f"{figure.zh} · {figure.en}", description=figure.definition("en")))
    return fields


ShopSetRow = create_model(
    "ShopSetRow", __doc__="One shop of the set: its team figures of today and its load at now, as on its own wall.",
    shop_id=(str, Field(description="the shop")),
    day=(str | None, Field(description="the shop's statistics day (its own timezone)")), **_figure_fields())
ShopSetTotals = create_model(
    "ShopSetTotals", __doc__="Across the set: counts and money summed, ratios from the summed numerator and "
    "denominator of the metric catalogue, the longest waits the maximum.",
    shops=(int, Field(description="shops in the set")), **_figure_fields())


class ShopSetResponse(BaseModel):
    shops: list[str] = Field(description="the set, in board order")
    now: int = Field(description="when the answer was built, epoch ms")
    totals: ShopSetTotals  # type: ignore[valid-type]
    rows: list[ShopSetRow]  # type: ignore[valid-type]


@router.get("", summary="A set of shops: totals and one row per shop (the multi-shop wall)",
            responses=documented(ShopSetResponse))
async def shop_set(request: Request, state: StateDep, shops: str | None = SHOPS_QUERY):
    chosen = authorized_shop_set(state.tokens, request_token(request), shops)
    return await set_payload(state.redis, chosen, await snapshots_of(state.readmodel.snapshot, chosen))


@router.websocket("/stream")
async def shop_set_stream(websocket: WebSocket) -> None:
    state: AppState = websocket.app.state.kefu
    token = token_of(websocket.headers, websocket.query_params.get("token"))
    try:
        shops = authorized_shop_set(state.tokens, token, websocket.query_params.get("shops"))
    except ApiError as exc:
        await refuse(websocket, exc)
        return
    await websocket.accept()
    client = Client(websocket)
    stream = ShopSetStream(state.hub, shops, client)
    stream.join()
    tasks = [asyncio.create_task(client.send_loop(state.counters))]
    try:
        await websocket.send_text((await stream.frame("snapshot")).decode())
        tasks += [asyncio.create_task(stream.update_loop()), asyncio.create_task(drain(websocket))]
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if tasks[0] in done and tasks[0].exception() is not None:
            state.counters.ws_clients_dropped += 1
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        for task in tasks:
            task.cancel()
        stream.leave()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await websocket.close()
