"""The FastAPI app: ingest, REST figures and settings, WebSocket stream, screens, health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from api import errors
from api.auth import Tokens
from api.hub import Hub
from api.publisher import Publisher
from api.ratelimit import TokenBuckets
from api.routes import alerts, health, ingest, pages, shop_sets, shops, stream, warroom
from api.state import ApiCounters, AppState
from streams.config import Config, get_config
from streams.readside.client import async_redis
from streams.readside.reader import ReadModel


def security_headers(config: Config) -> dict[str, str]:
    """Strict by default: our own scripts only (no inline), frames only from configured origins."""
    ancestors = " ".join(["'self'", *(o.strip() for o in config.frame_ancestors.split(",") if o.strip())])
    headers = {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' ws: wss:; frame-ancestors {ancestors}; base-uri 'none'; form-action 'self'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if not config.frame_ancestors:  # X-Frame-Options cannot list origins: only without configured ones
        headers["X-Frame-Options"] = "SAMEORIGIN"
    return headers


def create_app(config: Config | None = None) -> FastAPI:
    config = config or get_config()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis = async_redis(config, socket_timeout=5, socket_connect_timeout=3)
        counters = ApiCounters()
        readmodel = ReadModel(redis, config)
        state = AppState(
            config,
            redis,
            Tokens.from_config(config),
            Publisher(config.bootstrap_servers, config.partitions),
            readmodel,
            counters,
            TokenBuckets(config.ingest_rate_per_token, config.ingest_burst_per_token),
        )
        state.hub = Hub(redis, readmodel, counters)
        state.hub.start()
        app.state.kefu = state
        try:
            yield
        finally:
            await state.hub.stop()
            await state.publisher.reset()
            await redis.aclose()

    app = FastAPI(
        title="Kefu Pulse API",
        version="0.1.0",
        lifespan=lifespan,
        description="客服脉搏: real-time customer-service figures. Contract: shared/spec/api.md",
    )
    errors.install(app)

    headers = security_headers(config)

    @app.middleware("http")
    async def add_security_headers(request: Request, call_next) -> Response:  # type: ignore[no-untyped-def]
        response = await call_next(request)
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    origins = [o.strip() for o in config.cors_origins.split(",") if o.strip()]
    if origins:  # no CORS headers at all unless origins are configured: browsers then refuse cross-origin
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST", "PUT"],
                           allow_headers=["Authorization", "Content-Type"], allow_credentials=False)

    for module in (ingest, shops, warroom, alerts, stream, shop_sets, health, pages):
        app.include_router(module.router)
    # check_dir=False: an API started before the web build serves the assets once they exist.
    app.mount("/assets", StaticFiles(directory=pages.WEB_DIST / "assets", check_dir=False), name="assets")
    return app


app = create_app()
