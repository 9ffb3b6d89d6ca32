"""The screens (web/dist, built by `make`): /wall, /multishop (a set of shops) and /console, with their assets."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.errors import ApiError

router = APIRouter(include_in_schema=False)
WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"


def page(name: str) -> FileResponse:
    path = WEB_DIST / f"{name}.html"
    if not path.is_file():
        raise ApiError(503, "the screens are not built yet: run `make up` (it builds web/)", "web_not_built")
    return FileResponse(path, media_type="text/html; charset=utf-8")


@router.get("/wall")
async def wall() -> FileResponse:
    return page("wall")


@router.get("/multishop")
async def multishop() -> FileResponse:
    return page("multishop")


@router.get("/console")
async def console() -> FileResponse:
    return page("console")
