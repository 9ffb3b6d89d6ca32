"""/healthz (process up), /readyz (Kafka and Redis reachable), /metrics (Prometheus text, api/metrics.py)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse
from redis.exceptions import RedisError

from api.deps import StateDep
from api.errors import error_responses
from api.metrics import render_metrics
from api.responses import JsonResponse

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses=error_responses(503))
async def readyz(state: StateDep) -> JsonResponse:
    try:
        redis_ok = bool(await state.redis.ping())
    except (RedisError, OSError):
        redis_ok = False
    kafka_ok = await state.publisher.ping()
    ready = redis_ok and kafka_ok
    body = {"status": "ready" if ready else "not_ready", "kafka": kafka_ok, "redis": redis_ok}
    if not ready:
        body = {"error": "not_ready", "message": "Kafka or Redis unreachable", **body}
    return JsonResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(state: StateDep) -> str:
    return render_metrics(state.counters, state.hub.client_count if state.hub else 0)
