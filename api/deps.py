"""What a route needs, as `Annotated` FastAPI dependencies (the FastAPI full-stack template's pattern).

  StateDep   the process's AppState (api/state.py)
  ViewerDep  the path's {shop_id}, once the token may read that shop (viewer or admin role)
  AdminDep   the path's {shop_id}, once the token may change that shop (admin role)

A route writes `state: StateDep, shop_id: ViewerDep` instead of repeating `Depends(...)`. The ingest
route has no role alias on purpose: its token is checked inside the route, for each shop its events
name, and only after the request was counted (api/routes/ingest.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from api.auth import ADMIN_ROLES, VIEW_ROLES, authorize, request_token
from api.state import AppState, get_state

StateDep = Annotated[AppState, Depends(get_state)]
ShopId = Path(..., pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="the shop (tenant)")


def viewer_shop(request: Request, state: StateDep, shop_id: str = ShopId) -> str:
    authorize(state.tokens, request_token(request), shop_id, VIEW_ROLES)
    return shop_id


def admin_shop(request: Request, state: StateDep, shop_id: str = ShopId) -> str:
    authorize(state.tokens, request_token(request), shop_id, ADMIN_ROLES)
    return shop_id


ViewerDep = Annotated[str, Depends(viewer_shop)]
AdminDep = Annotated[str, Depends(admin_shop)]
