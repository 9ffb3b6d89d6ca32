"""WS /api/v1/shops/{shop}/stream: snapshot, then updates (≤ every 0.5 s), alerts and heartbeats.

With `?deltas=1` the updates are delta frames (docs/websocket.md): numbered, each the change from the
previous one; the screen sends `{"type": "resync"}` when it misses one and gets a snapshot.

Auth failures close the socket with 4401 (missing/invalid token) or 4403 (not this shop)."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api.auth import VIEW_ROLES, authorize, token_of
from api.errors import ApiError
from api.hub import Client, drain, refuse
from api.state import AppState
from streams.core.events import SHOP_ID_RE

router = APIRouter()


@router.websocket("/api/v1/shops/{shop_id}/stream")
async def stream(websocket: WebSocket, shop_id: str) -> None:
    state: AppState = websocket.app.state.kefu
    token = token_of(websocket.headers, websocket.query_params.get("token"))
    try:
        if not SHOP_ID_RE.fullmatch(shop_id):
            raise ApiError(404, "unknown shop id")
        authorize(state.tokens, token, shop_id, VIEW_ROLES)
    except ApiError as exc:
        await refuse(websocket, exc)
        return
    await websocket.accept()
    client = Client(websocket, deltas=websocket.query_params.get("deltas") in ("1", "true"))
    state.hub.add(shop_id, client)
    sender = asyncio.create_task(client.send_loop(state.counters))
    try:
        if client.deltas:  # the shop's numbered frame, which the deltas that follow build on
            client.offer(await state.hub.current(shop_id))
        else:
            await websocket.send_text((await state.hub.frame(shop_id, "snapshot")).decode())
        receiver = asyncio.create_task(drain(websocket, lambda: client.resync(state.hub.frames.get(shop_id))))
        done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is sender and task.exception() is not None:
                state.counters.ws_clients_dropped += 1
        receiver.cancel()
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass
    finally:
        sender.cancel()
        state.hub.remove(shop_id, client)
        with contextlib.suppress(Exception):
            await websocket.close()
