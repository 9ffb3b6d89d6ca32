"""/healthz (process up), /readyz (Kafka and Redis reachable), /metrics (Prometheus text)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse
from redis.exceptions import RedisError

from api.errors import error_responses
from api.responses import JsonResponse
from api.state import AppState, get_state

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses=error_responses(503))
async def readyz(state: AppState = Depends(get_state)) -> JsonResponse:
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
async def metrics(state: AppState = Depends(get_state)) -> str:
    c = state.counters
    latencies = sorted(c.push_latency_ms)
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0.0
    lines = [
        "# TYPE kefu_ingest_requests_total counter",
        f"kefu_ingest_requests_total {c.ingest_requests}",
        "# TYPE kefu_ingest_events_total counter",
        f'kefu_ingest_events_total{{result="accepted"}} {c.ingest_events_accepted}',
        f'kefu_ingest_events_total{{result="rejected"}} {c.ingest_events_rejected}',
        "# TYPE kefu_ws_clients gauge",
        f"kefu_ws_clients {state.hub.client_count if state.hub else 0}",
        "# TYPE kefu_ws_frames_sent_total counter",
        f"kefu_ws_frames_sent_total {c.ws_frames_sent}",
        "# TYPE kefu_ws_clients_dropped_total counter",
        f"kefu_ws_clients_dropped_total {c.ws_clients_dropped}",
        "# TYPE kefu_push_latency_p99_ms gauge",
        f"kefu_push_latency_p99_ms {p99:.3f}",
    ]
    return "\n".join(lines) + "\n"
